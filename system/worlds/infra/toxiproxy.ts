import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client';
import { freePort, LOOPBACK } from './tcp-ports.ts';
import { ManagedProcess } from './processes.ts';
import { requireProvisioned, TOXIPROXY_BIN } from './provisioning.ts';

export interface ToxiproxyOptions {
  /** Log folder; created if missing. The log is `<dir>/toxiproxy.log`. */
  dir: string;
  /** API port on 127.0.0.1; absent picks a free one. */
  port?: number;
  /** Default `.cache/bin/toxiproxy-server` (scripts/provision.sh). */
  binary?: string;
  /** How long to wait for the API to answer. Default 10 s. */
  readyTimeoutMs?: number;
}

/** One direction of a TCP link: toward the server (`upstream`) or back to the client (`downstream`). */
export type Stream = 'upstream' | 'downstream';

/** A Toxiproxy toxic: its type and attributes exactly as Toxiproxy's API takes them. */
export interface ToxicSpec {
  type: 'latency' | 'bandwidth' | 'reset_peer' | 'timeout' | 'slicer' | 'slow_close' | 'limit_data';
  stream: Stream;
  attributes: Record<string, number>;
  /** Share of connections affected, 0..1. Default 1. */
  toxicity?: number;
}

/**
 * A TCP proxy on loopback in front of one upstream (a node's path to Redis,
 * say). Clients connect to `listen` instead of the upstream; toxics and cuts
 * apply to traffic through it only, which is what makes a fault on one
 * node's link (a partition) possible.
 */
export interface ProxyLink {
  readonly name: string;
  /** `127.0.0.1:<port>` clients connect to. */
  readonly listen: string;
  readonly listenPort: number;
  /** `host:port` it forwards to. */
  readonly upstream: string;
  /** Adds a toxic; resolves to its removal (idempotent). */
  addToxic(spec: ToxicSpec): Promise<() => Promise<void>>;
  /**
   * Disables the proxy: open connections are closed and new ones refused
   * until the returned heal re-enables it.
   */
  cut(): Promise<() => Promise<void>>;
}

/** A running toxiproxy-server started by chatlab (see `startToxiproxy`). */
export interface ToxiproxyServer {
  /** `http://127.0.0.1:<port>`, the API. */
  readonly apiUrl: string;
  readonly logFile: string;
  /** Creates a proxy listening on a free loopback port (or `listenPort`) forwarding to `upstream`. */
  proxy(name: string, upstream: string, listenPort?: number): Promise<ProxyLink>;
  stop(): Promise<void>;
}

/**
 * Starts Toxiproxy's server on 127.0.0.1 and resolves once its API answers
 * (`GET /version`). Not provisioned: NotProvisionedError naming the build step.
 */
export async function startToxiproxy(options: ToxiproxyOptions): Promise<ToxiproxyServer> {
  if (options.binary === undefined) requireProvisioned({ toxiproxy: true });
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const logFile = join(dir, 'toxiproxy.log');
  const proc = new ManagedProcess({
    name: 'toxiproxy-server', command: options.binary ?? TOXIPROXY_BIN, args: ['-host', LOOPBACK, '-port', String(port)], logFile, cwd: dir,
    // Its default logs every packet (trace); connections and API calls are what a drill's reader needs.
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  const apiUrl = `http://${LOOPBACK}:${port}`;
  const api = new Toxiproxy(apiUrl);
  const deadline = performance.now() + (options.readyTimeoutMs ?? 10_000);
  for (;;) {
    try {
      await api.getVersion();
      break;
    } catch (error) {
      if (!proc.running || performance.now() > deadline) {
        await proc.stop('SIGKILL');
        const log = (() => { try { return readFileSync(logFile, 'utf8'); } catch { return ''; } })();
        throw new Error(`toxiproxy-server on ${apiUrl} not ready (${(error as Error).message}); log:\n${log.split('\n').slice(-15).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    apiUrl,
    logFile,
    async proxy(name, upstream, listenPort) {
      const listen = `${LOOPBACK}:${listenPort ?? (await freePort())}`;
      const p = await api.createProxy({ name, listen, upstream });
      return link(api, p, upstream);
    },
    async stop() {
      await proc.stop('SIGTERM', 5000);
    },
  };
}

let toxicCount = 0;

function link(api: Toxiproxy, created: Proxy, upstream: string): ProxyLink {
  const name = created.name;
  const listenPort = Number(created.listen.split(':').pop());
  const once = (fn: () => Promise<void>) => {
    let done: Promise<void> | undefined;
    return () => (done ??= fn());
  };
  return {
    name,
    listen: `${LOOPBACK}:${listenPort}`,
    listenPort,
    upstream,
    async addToxic(spec) {
      const proxy = await api.get(name);
      const toxic = await proxy.addToxic({
        name: `${spec.type}_${spec.stream}_${++toxicCount}`,
        type: spec.type,
        stream: spec.stream,
        toxicity: spec.toxicity ?? 1,
        attributes: spec.attributes,
      } as never);
      return once(() => toxic.remove());
    },
    async cut() {
      const proxy = await api.get(name);
      await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
      return once(async () => {
        const p = await api.get(name);
        await p.update({ enabled: true, listen: p.listen, upstream: p.upstream });
      });
    },
  };
}
