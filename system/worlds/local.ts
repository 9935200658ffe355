import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCassandra, type CassandraServer } from './infra/cassandra-server.ts';
import { startCassandraRing, type CassandraRing } from './infra/cassandra-ring.ts';
import { startCoturn, stunBinding, type CoturnServer } from './infra/coturn-server.ts';
import { UdpLossProxy } from './infra/udp-loss-proxy.ts';
import { freePort } from './infra/tcp-ports.ts';
import { lastErrorLine, ManagedProcess } from './infra/processes.ts';
import { clusterSeeds } from '../drivers/redis-client.ts';
import { startRedisCluster, type RedisCluster } from './infra/redis-cluster.ts';
import { startRedis, type RedisServer } from './infra/redis-server.ts';
import { startSeaweed, type SeaweedServer } from './infra/seaweedfs-server.ts';
import { startToxiproxy, type ProxyLink, type ToxiproxyServer } from './infra/toxiproxy.ts';
import { cqlProbe, httpProbe, redisProbe, Watchdog } from './infra/watchdog.ts';
import { bindNodeControls, type NetworkControl, type WorldControls } from './world.ts';

export interface LocalWorldOptions {
  nodes: number;
  /** Logs and data of everything started go under here. */
  dir: string;
  /** Use a Redis the user already runs instead of starting one (`redis://…`, or `redis-cluster://host:port,…` for a Redis Cluster). */
  redisUrl?: string;
  /**
   * Start a 3-master Redis Cluster instead of one redis-server, and give
   * the nodes its `redis-cluster://` address. Not with `proxies` (a cluster
   * client follows the addresses the cluster announces, past any proxy),
   * and Redis cannot be stopped as a fault then.
   */
  redisCluster?: boolean;
  /** Use a Cassandra the user already runs (host:port) instead of starting one. */
  cassandra?: string;
  /**
   * How many Cassandra nodes to start: 1 (default), or 3, a ring on
   * 127.0.0.1-3 (infra/cassandra-ring.ts) whose keyspace has replication
   * factor 3 and whose clients (the node processes) read and write at
   * LOCAL_QUORUM, so one Cassandra node can be stopped without losing
   * availability. Not with `cassandra` nor `proxies` (the driver reaches
   * every ring node by the address it announces, past any proxy).
   */
  cassandraNodes?: 1 | 3;
  /** Keyspace; a fresh one per run by default so runs never see each other's data. */
  keyspace?: string;
  /**
   * Route every node's Redis and Cassandra traffic, and devices' traffic to
   * each node, through its own Toxiproxy proxy (links `node-N:redis`,
   * `node-N:cassandra`, `node-N:devices`), so network faults can be applied
   * per link. Off by default: a proxy hop costs latency a plain run should not pay.
   */
  proxies?: boolean;
  /** Extra node flags for the chat node processes (benchmarks pass --expose-gc). */
  nodeArgs?: string[];
  /**
   * Start the media service: a real SeaweedFS (S3) object store and the media
   * process (the service and its CDN edges) on loopback. Off by default: a
   * world for a scenario without uploaded media does not pay its ~11 s start.
   */
  media?: boolean;
  /**
   * Start a TURN relay for calls: a real coturn on loopback (`turnserver`,
   * scripts/provision.sh), its URLs and secret handed to every node
   * (CHATLAB_TURN_URLS, CHATLAB_TURN_SECRET) and to the engine (`turn`).
   * Off by default: a scenario without calls does not need one.
   */
  turn?: boolean;
  /** How long a call rings on the nodes (CHATLAB_CALL_RING_MS), ms; default the node's. */
  callRingMs?: number;
  /** With `turn`: devices reach the relay through a lossy UDP link (infra/udp-loss-proxy.ts) that the `relay-loss` fault sets. */
  relayLoss?: boolean;
  /** Wire tap: every node appends each frame in and out to `<frameTap>/<node id>.frames.jsonl` (CHATLAB_FRAME_TAP; see gateway/frame-tap.ts). Off by default. */
  frameTap?: string;
}

interface NodeProc {
  id: string;
  number: number;
  port: number;
  url: string;
  proc: ManagedProcess;
  up: boolean;
  /** The consistency its Cassandra queries run at, as the node reported it when ready ('one' or 'local_quorum'). */
  cassandraConsistency?: string;
}

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** tsx resolved from this package, so node processes start from any working directory. */
const TSX = ['--import', import.meta.resolve('tsx')];

/**
 * The local world: a real redis-server, a real Apache Cassandra node (or a
 * ring of three, `cassandraNodes`), the
 * push service and N chat node processes on loopback, started here and
 * stopped here (also on Ctrl-C and on failure). Logs stay in `dir`.
 */
export class LocalWorld {
  readonly nodes: NodeProc[] = [];
  readonly secret = randomBytes(24).toString('base64url');
  redis?: RedisServer;
  /** The Redis Cluster this world started, with `redisCluster`. */
  redisCluster?: RedisCluster;
  cassandraServer?: CassandraServer;
  /** The Cassandra ring this world started, with `cassandraNodes: 3`. */
  cassandraRing?: CassandraRing;
  push?: ManagedProcess;
  pushUrl = '';
  seaweed?: SeaweedServer;
  mediaProc?: ManagedProcess;
  /** The media service and its edges, when started with `media`. */
  media?: { service: string; edges: string[] };
  coturn?: CoturnServer;
  /** The lossy link in front of coturn, when started with `relayLoss`. */
  relayLink?: UdpLossProxy;
  /** The TURN relay's URLs and secret, when started with `turn`. */
  turn?: { urls: string[]; secret: string };
  redisUrl = '';
  /** Cassandra contact points as the nodes get them (CHATLAB_CASSANDRA): `host:port`, comma-separated for a ring. */
  cassandra = '';
  keyspace = '';
  toxiproxy?: ToxiproxyServer;
  /** Toxiproxy links by name (`node-1:redis`, …), when started with `proxies`. */
  readonly links = new Map<string, ProxyLink>();
  /**
   * Notices a node, Redis or Cassandra that exits or stops answering
   * without this world's own controls having done it (observed faults):
   * each control below keeps its target quiet while it has it down.
   */
  readonly watchdog = new Watchdog();

  private constructor(readonly opts: LocalWorldOptions) {}

  static async start(opts: LocalWorldOptions): Promise<LocalWorld> {
    const w = new LocalWorld(opts);
    try {
      await w.boot();
      return w;
    } catch (err) {
      await w.stop();
      throw err;
    }
  }

  private async boot(): Promise<void> {
    const o = this.opts;
    mkdirSync(o.dir, { recursive: true });
    if (o.redisCluster && o.redisUrl) throw new Error('redisCluster starts a Redis Cluster: give no redisUrl with it');
    if (o.proxies && (o.redisCluster || (o.redisUrl && clusterSeeds(o.redisUrl)))) throw new Error('proxies cannot stand in front of a Redis Cluster (its client follows the addresses the cluster announces)');
    const ring = (o.cassandraNodes ?? 1) > 1;
    if (o.cassandraNodes !== undefined && o.cassandraNodes !== 1 && o.cassandraNodes !== 3) throw new Error(`cassandraNodes is 1 or 3, not ${String(o.cassandraNodes)}`);
    if (ring && o.cassandra) throw new Error('cassandraNodes starts a Cassandra ring: give no cassandra address with it');
    if (ring && o.proxies) throw new Error('proxies cannot stand in front of a Cassandra ring (its driver follows the addresses the nodes announce)');
    const [redis, cluster, cassandra, cassandraRing, seaweed, coturn] = await Promise.all([
      o.redisUrl || o.redisCluster ? undefined : startRedis({ dir: join(o.dir, 'redis') }),
      o.redisCluster ? startRedisCluster({ dir: join(o.dir, 'redis-cluster'), masters: 3 }) : undefined,
      o.cassandra || ring ? undefined : startCassandra({ dir: join(o.dir, 'cassandra') }),
      ring ? startCassandraRing({ dir: join(o.dir, 'cassandra-ring'), nodes: 3 }) : undefined,
      o.media ? startSeaweed({ dir: join(o.dir, 'seaweedfs') }) : undefined,
      o.turn ? startCoturn({ dir: join(o.dir, 'coturn') }) : undefined,
    ]);
    this.seaweed = seaweed;
    this.coturn = coturn;
    if (coturn) this.turn = { urls: coturn.urls, secret: coturn.secret };
    if (coturn && o.relayLoss) {
      this.relayLink = await UdpLossProxy.start({ target: `127.0.0.1:${coturn.port}` });
      this.turn = { urls: [this.relayLink.turnUrl], secret: coturn.secret };
    }
    this.redis = redis;
    this.redisCluster = cluster;
    this.cassandraServer = cassandra;
    this.cassandraRing = cassandraRing;
    this.redisUrl = o.redisUrl ?? cluster?.url ?? redis!.url;
    this.cassandra = o.cassandra ?? cassandraRing?.contactPoints.join(',') ?? cassandra!.contactPoint;
    this.keyspace = o.keyspace ?? `run_${randomBytes(4).toString('hex')}`;
    const pushPort = await freePort();
    this.push = new ManagedProcess({
      name: 'push', command: process.execPath, args: [...TSX, join(ROOT, 'system/push/push-process.ts')], cwd: ROOT,
      logFile: join(o.dir, 'push.log'), env: { ...process.env, CHATLAB_PUSH_PORT: String(pushPort) },
    });
    await readyLine(join(o.dir, 'push.log'), this.push, 30_000);
    this.pushUrl = `http://127.0.0.1:${pushPort}`;
    if (seaweed) await this.startMedia(seaweed.url);
    const ports = await Promise.all(Array.from({ length: o.nodes }, () => freePort()));
    if (o.proxies) await this.startProxies(ports);
    // The first node creates the keyspace and applies migrations; the others then start together.
    this.nodes.push(await this.spawnNode(0, ports[0]!));
    const rest = await Promise.all(ports.slice(1).map((port, i) => this.spawnNode(i + 1, port)));
    this.nodes.push(...rest);
    this.watch();
  }

  /** The media process: the media service over SeaweedFS's S3 API, and its CDN edges. */
  private async startMedia(s3: string): Promise<void> {
    const logFile = join(this.opts.dir, 'media.log');
    this.mediaProc = new ManagedProcess({
      name: 'media', command: process.execPath, args: [...TSX, join(ROOT, 'system/media/media-process.ts')], cwd: ROOT, logFile,
      env: { ...process.env, CHATLAB_SECRET: this.secret, CHATLAB_MEDIA_S3: s3 },
    });
    const ready = await readyLine(logFile, this.mediaProc, 60_000);
    this.media = { service: String(ready.url), edges: (ready.edges as string[]).map(String) };
  }

  /** Every node, and Redis and Cassandra (started here or not), looked at every 500 ms. */
  private watch(): void {
    const w = this.watchdog;
    this.nodes.forEach((n, i) => w.add({
      name: n.id,
      running: () => this.nodes[i]!.proc.running,
      exitDetail: () => exitText(this.nodes[i]!.proc.exitInfo, this.nodes[i]!.proc.options.logFile),
      probe: () => httpProbe(`http://127.0.0.1:${this.nodes[i]!.port}/health`),
    }));
    const seeds = clusterSeeds(this.redisUrl);
    if (seeds) {
      // Each master of a cluster on its own: one down loses its slots.
      seeds.forEach((seed, i) => w.add({ name: `redis-${i + 1}`, running: () => this.redisCluster?.masters[i]?.running ?? true, probe: () => redisProbe(seed.port) }));
    } else {
      const redisPort = Number(new URL(this.redisUrl).port);
      w.add({ name: 'redis', running: () => this.redis?.running ?? true, probe: () => redisProbe(redisPort) });
    }
    const ring = this.cassandraRing;
    if (ring) {
      // Each ring node on its own: one down is a fault the others ride out.
      ring.nodes.forEach((n, i) => w.add({ name: `cassandra-${i + 1}`, running: () => n.running, probe: () => cqlProbe(n.nativePort, n.address) }));
    } else {
      const cqlPort = Number(this.cassandra.split(':').at(-1));
      w.add({ name: 'cassandra', running: () => this.cassandraServer?.running ?? true, probe: () => cqlProbe(cqlPort) });
    }
    const coturn = this.coturn;
    if (coturn) w.add({ name: 'turn', running: () => coturn.running, probe: () => stunBinding(coturn.port, 1000) });
    w.start();
  }

  /** One proxy per node and peer, so a fault can hit one node's link alone (a partition). */
  private async startProxies(nodePorts: number[]): Promise<void> {
    this.toxiproxy = await startToxiproxy({ dir: join(this.opts.dir, 'toxiproxy') });
    const redis = new URL(this.redisUrl).host;
    await Promise.all(nodePorts.map(async (port, i) => {
      const id = `node-${i + 1}`;
      for (const [peer, upstream] of [['redis', redis], ['cassandra', this.cassandra], ['devices', `127.0.0.1:${port}`]] as const) {
        this.links.set(`${id}:${peer}`, await this.toxiproxy!.proxy(`${id}:${peer}`, upstream));
      }
    }));
  }

  /** Where devices connect to node `i`: its gateway, or the proxy in front of it. */
  deviceUrl(i: number): string {
    const n = this.nodes[i]!;
    const proxy = this.links.get(`${n.id}:devices`);
    if (!proxy) return n.url;
    const url = new URL(n.url);
    url.port = String(proxy.listenPort);
    return url.href;
  }

  /** What a node connects to: the servers, or its proxies in front of them. */
  private dependencyEnv(id: string): NodeJS.ProcessEnv {
    const redis = this.links.get(`${id}:redis`);
    const cassandra = this.links.get(`${id}:cassandra`);
    return {
      CHATLAB_REDIS_URL: redis ? `redis://${redis.listen}` : this.redisUrl,
      CHATLAB_CASSANDRA: cassandra ? cassandra.listen : this.cassandra,
      ...(cassandra ? { CHATLAB_CASSANDRA_ADDRESS_MAP: `${this.cassandra}=${cassandra.listen}` } : {}),
      // A ring: the keyspace replicated to all three nodes, every query at LOCAL_QUORUM (2 of 3), set
      // explicitly rather than left to the driver's guess from the nodes it sees at connect time.
      ...(this.cassandraRing ? { CHATLAB_CASSANDRA_REPLICATION_FACTOR: String(this.cassandraRing.nodes.length), CHATLAB_CASSANDRA_CONSISTENCY: 'local_quorum' } : {}),
    };
  }

  private async spawnNode(index: number, port: number): Promise<NodeProc> {
    const id = `node-${index + 1}`;
    const logFile = join(this.opts.dir, `${id}.log`);
    // The log is appended across restarts: only what this start writes counts.
    const offset = existsSync(logFile) ? readFileSync(logFile, 'utf8').length : 0;
    const proc = new ManagedProcess({
      name: id, command: process.execPath, args: [...(this.opts.nodeArgs ?? []), ...TSX, join(ROOT, 'system/worlds/node-process.ts')], cwd: ROOT, logFile,
      env: {
        ...process.env, CHATLAB_NODE_ID: id, CHATLAB_NODE_NUMBER: String(index + 1), CHATLAB_PORT: String(port),
        ...this.dependencyEnv(id), CHATLAB_KEYSPACE: this.keyspace,
        CHATLAB_PUSH_URL: this.pushUrl, CHATLAB_SECRET: this.secret,
        ...(this.turn ? { CHATLAB_TURN_SECRET: this.turn.secret, CHATLAB_TURN_URLS: this.turn.urls.join(',') } : {}),
        ...(this.opts.callRingMs ? { CHATLAB_CALL_RING_MS: String(this.opts.callRingMs) } : {}),
        ...(this.opts.frameTap ? { CHATLAB_FRAME_TAP: resolve(this.opts.frameTap) } : {}),
      },
    });
    const ready = await readyLine(logFile, proc, 120_000, offset);
    return { id, number: index + 1, port, url: String(ready.url), proc, up: true, ...(ready.cassandraConsistency ? { cassandraConsistency: String(ready.cassandraConsistency) } : {}) };
  }

  /** SIGKILL: a crash; its registry entries expire with its heartbeat. */
  async killNode(i: number): Promise<void> {
    const n = this.nodes[i]!;
    n.up = false;
    this.watchdog.quiet(n.id, true);
    await n.proc.stop('SIGKILL', 5000);
  }

  /** SIGTERM: drain (devices told to go) and exit. */
  async stopNode(i: number): Promise<void> {
    const n = this.nodes[i]!;
    n.up = false;
    this.watchdog.quiet(n.id, true);
    await n.proc.stop('SIGTERM', 15_000);
  }

  async restartNode(i: number): Promise<void> {
    const n = this.nodes[i]!;
    this.watchdog.quiet(n.id, true);
    if (n.proc.running) await n.proc.stop('SIGTERM', 15_000);
    this.nodes[i] = await this.spawnNode(i, n.port);
    this.watchdog.quiet(n.id, false);
  }

  async pauseNode(i: number): Promise<void> {
    this.watchdog.quiet(this.nodes[i]!.id, true);
    this.nodes[i]!.proc.signal('SIGSTOP');
  }

  async resumeNode(i: number): Promise<void> {
    this.nodes[i]!.proc.signal('SIGCONT');
    this.watchdog.quiet(this.nodes[i]!.id, false);
  }

  /** Graceful stop of the Redis this world started (AOF flushed); nodes see connection errors until `startRedis`. */
  async stopRedis(): Promise<void> {
    this.watchdog.quiet('redis', true);
    await this.own(this.redis, 'Redis').stop();
  }

  /** Starts the stopped Redis again on the same port and data; resolves once it answers. */
  async startRedis(): Promise<void> {
    await this.own(this.redis, 'Redis').restart();
    this.watchdog.quiet('redis', false);
  }

  /** Graceful stop of the Cassandra this world started (drains, flushes; ~3-5 s). */
  async stopCassandra(): Promise<void> {
    this.watchdog.quiet('cassandra', true);
    await this.own(this.cassandraServer, 'Cassandra').stop();
  }

  /** Starts the stopped Cassandra again on the same ports and data (~12 s); resolves once CQL answers. */
  async startCassandra(): Promise<void> {
    await this.own(this.cassandraServer, 'Cassandra').restart();
    this.watchdog.quiet('cassandra', false);
  }

  /**
   * Stops one node of the Cassandra ring (`n` from 1): gracefully (it
   * announces its shutdown to its peers, drains and flushes; ~3-5 s) or with
   * SIGKILL (a crash: its peers notice through gossip within seconds and keep
   * hints for it). The other two still make a quorum of the three replicas.
   */
  async stopCassandraNode(n: number, how: 'stop' | 'kill' = 'stop'): Promise<void> {
    const node = this.ringNode(n);
    this.watchdog.quiet(`cassandra-${n}`, true);
    await (how === 'kill' ? node.kill('SIGKILL') : node.stop());
  }

  /** Starts a stopped ring node again on its address, ports and data (~6 s idle, ~15 s in a drill); resolves once it answers CQL (it rejoins the ring by gossip). */
  async startCassandraNode(n: number): Promise<void> {
    await this.ringNode(n).restart();
    this.watchdog.quiet(`cassandra-${n}`, false);
  }

  private ringNode(n: number): CassandraServer {
    const ring = this.cassandraRing;
    if (!ring) throw new Error('this local world runs no Cassandra ring (start it with cassandraNodes: 3)');
    const node = ring.nodes[n - 1];
    if (!node) throw new Error(`no Cassandra node cassandra-${n}: the ring has cassandra-1..cassandra-${ring.nodes.length}`);
    return node;
  }

  /** SIGKILL of the coturn this world started: every allocation dies with it, relayed calls go silent. */
  async stopTurn(): Promise<void> {
    this.watchdog.quiet('turn', true);
    await this.relay().kill('SIGKILL');
  }

  /** Starts the coturn again on the same port, range and secret (~50 ms); devices must allocate again. */
  async startTurn(): Promise<void> {
    await this.relay().restart();
    this.watchdog.quiet('turn', false);
  }

  /**
   * The chaos controls this world offers, bound to it: every node control;
   * stopping and starting only the servers it started itself; network faults
   * only on the links it proxies.
   */
  controls(): WorldControls {
    const link = (name: string) => {
      const l = this.links.get(name);
      if (!l) throw new Error(`no network link ${name}; links: ${[...this.links.keys()].join(', ')}`);
      return l;
    };
    const network: NetworkControl | undefined = this.links.size === 0 ? undefined : {
      links: () => [...this.links.keys()],
      addToxic: (name, toxic) => link(name).addToxic(toxic),
      cut: (name) => link(name).cut(),
    };
    return {
      ...bindNodeControls(this),
      ...(this.redis ? { stopRedis: () => this.stopRedis(), startRedis: () => this.startRedis() } : {}),
      ...(this.cassandraServer ? { stopCassandra: () => this.stopCassandra(), startCassandra: () => this.startCassandra() } : {}),
      ...(this.cassandraRing ? {
        cassandraNodes: () => this.cassandraRing!.nodes.length,
        stopCassandraNode: (n: number, how?: 'stop' | 'kill') => this.stopCassandraNode(n, how),
        startCassandraNode: (n: number) => this.startCassandraNode(n),
      } : {}),
      ...(this.coturn ? { stopTurn: () => this.stopTurn(), startTurn: () => this.startTurn() } : {}),
      ...(this.relayLink ? { setRelayLoss: (share: number) => this.relayLink!.setLoss(share) } : {}),
      ...(network ? { network, partition: (a: string, b: string) => network.cut(`${a}:${b}`) } : {}),
    };
  }

  private relay(): CoturnServer {
    if (!this.coturn) throw new Error('this local world runs no TURN relay (start it with turn: true)');
    return this.coturn;
  }

  private own<T>(server: T | undefined, what: string): T {
    if (!server) throw new Error(`this local world uses a ${what} it did not start (--redis/--cassandra): it cannot stop it`);
    return server;
  }

  async stop(): Promise<void> {
    this.watchdog.stop();
    await Promise.allSettled(this.nodes.map((n) => (n.proc.signal('SIGCONT'), n.proc.stop('SIGTERM', 10_000))));
    await Promise.allSettled([
      this.push?.stop('SIGTERM', 5000), this.mediaProc?.stop('SIGTERM', 5000), this.redis?.stop(), this.redisCluster?.stop(), this.cassandraServer?.stop(), this.cassandraRing?.stop(), this.toxiproxy?.stop(),
      this.coturn?.stop(), this.relayLink?.stop(),
      // Its data is this run's only: a kill, not its ~16 s graceful stop.
      this.seaweed?.kill(),
    ]);
  }
}

/** How a process ended, for an observed fault's detail; an error exit with the last error its log shows (an uncaught exception's). */
function exitText(e: { code: number | null; signal: NodeJS.Signals | null } | undefined, logFile?: string): string {
  if (!e) return 'exited';
  if (e.signal) return `killed by ${e.signal}`;
  const error = e.code !== 0 && logFile ? lastErrorLine(logFile) : undefined;
  return `exited with code ${e.code}${error ? ` (its log: ${error})` : ''}`;
}

/** Waits for the `{"ready":true,…}` line a chatlab process prints, failing with its log if it exits first. */
async function readyLine(logFile: string, proc: ManagedProcess, timeoutMs: number, fromOffset = 0): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(fromOffset) : '';
    const line = text.split('\n').reverse().find((l) => l.startsWith('{"ready":true'));
    if (line) return JSON.parse(line) as Record<string, unknown>;
    if (!proc.running || Date.now() > deadline) {
      throw new Error(`${proc.options.name} ${proc.running ? 'did not become ready in time' : 'exited'}; last log lines:\n${text.split('\n').slice(-15).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
