import cassandra from 'cassandra-driver';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, LOOPBACK } from './tcp-ports.ts';
import { isTerminating, ManagedProcess, type StartedServer } from './processes.ts';
import { CASSANDRA_LIB, requireProvisioned } from './provisioning.ts';

export interface CassandraOptions {
  /** Data, commitlog, config and log folder; created if missing. The log is `<dir>/cassandra.log`. */
  dir: string;
  /**
   * Listen and RPC (CQL) address, a loopback one: 127.0.0.1 (default), or
   * 127.0.0.N for a node of a local ring (cassandra-ring.ts), so every node
   * of the ring has its own address and the same ports.
   */
  address?: string;
  /** Seed addresses (`host:port`, storage port). Default this node itself: a cluster of one. */
  seeds?: string[];
  /** This node's single token. Default 0 (one node owns the whole ring). */
  initialToken?: string;
  /**
   * Join without streaming data from peers: a node of a fresh, empty ring
   * started together with its peers (cassandra-ring.ts). Default: the yaml's (Cassandra's default).
   */
  autoBootstrap?: boolean;
  /** More JVM options (`-Dcassandra.ring_delay_ms=…`), after the fixed ones. */
  jvmOptions?: string[];
  /** More top-level cassandra.yaml settings (`{ paxos_variant: 'v2' }`), set over the template's. */
  settings?: Record<string, string>;
  /** CQL port on the address; 0 or absent picks a free one. Ports are kept across restarts. */
  nativePort?: number;
  /** Inter-node (gossip) port; 0 or absent picks a free one. */
  storagePort?: number;
  /** Local JMX port (on 127.0.0.1, whatever the address); 0 or absent picks a free one. */
  jmxPort?: number;
  /** JVM heap (Xms = Xmx). Default 1024. */
  heapMb?: number;
  /** Folder of Cassandra's jars. Default `.cache/cassandra/lib` (scripts/provision.sh). */
  libDir?: string;
  /** Default 'java' on PATH (Java 17). */
  java?: string;
  clusterName?: string;
  /** Wait for CQL at most this long. Default 120 s (a cold start on 2 busy cores can take 30+ s). */
  readyTimeoutMs?: number;
}

/** A real Cassandra node started by chatlab (see `startCassandra`). */
export interface CassandraServer extends StartedServer {
  /** `<address>:<nativePort>`, for cassandra-driver's contactPoints. */
  readonly contactPoint: string;
  /** Listen and RPC address (127.0.0.1 unless given). */
  readonly address: string;
  readonly nativePort: number;
  readonly storagePort: number;
  readonly jmxPort: number;
  /** SimpleSnitch's data center, for the driver's `localDataCenter`. */
  readonly localDataCenter: string;
  /** SIGTERM to the process group (Cassandra drains and exits), SIGKILL after 30 s; resolves once gone. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL: a crash) to the group; terminating signals resolve once it is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it if running, then starts it again on the same ports and data, ready. */
  restart(): Promise<void>;
}

const TEMPLATES = fileURLToPath(new URL('./cassandra/', import.meta.url));
const READY_LINE = 'Starting listening for CQL clients';

/** Cassandra's own conf/jvm17-server.options: the module access it needs on Java 17. */
const JAVA17_FLAGS = [
  ...[
    'java.base/jdk.internal.misc', 'java.base/jdk.internal.ref', 'java.base/sun.nio.ch',
    'java.management.rmi/com.sun.jmx.remote.internal.rmi', 'java.rmi/sun.rmi.registry',
    'java.rmi/sun.rmi.server', 'java.sql/java.sql', 'java.base/java.lang.ref', 'jdk.unsupported/sun.misc',
  ].map((m) => `--add-exports=${m}=ALL-UNNAMED`),
  ...[
    'java.base/java.lang.module', 'java.base/jdk.internal.loader', 'java.base/jdk.internal.ref',
    'java.base/jdk.internal.reflect', 'java.base/jdk.internal.math', 'java.base/jdk.internal.module',
    'java.base/jdk.internal.util.jar', 'jdk.management/com.sun.management.internal', 'java.base/sun.nio.ch',
    'java.base/java.io', 'java.base/java.nio', 'java.base/java.util.concurrent', 'java.base/java.util',
    'java.base/java.util.concurrent.atomic', 'java.base/java.lang', 'java.base/java.math',
    'java.base/java.lang.reflect', 'java.base/java.net',
  ].map((m) => `--add-opens=${m}=ALL-UNNAMED`),
];

/**
 * Starts a real Cassandra 5.0 node, alone on 127.0.0.1 unless `address` and
 * `seeds` make it a node of a local ring (cassandra-ring.ts): writes the project's
 * cassandra.yaml and logback.xml into `dir`, runs CassandraDaemon in the
 * foreground in its own process group, waits for "Starting listening for CQL
 * clients" in its log and then for a real CQL query
 * (`SELECT release_version FROM system.local`).
 *
 * Times measured here (2 cores, Java 17, heap 1 GB, idle machine): 11.7 s
 * from spawn to the first CQL query answered on a fresh folder, about the
 * same on existing data; a graceful stop takes ~3-5 s (Cassandra drains:
 * waits for messaging to quiesce, flushes memtables), so `restart()` is ~15 s.
 */
export async function startCassandra(options: CassandraOptions): Promise<CassandraServer> {
  if (options.libDir === undefined) requireProvisioned({ cassandra: true });
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const address = options.address ?? LOOPBACK;
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) throw new Error(`cassandra address ${address}: loopback only (127.0.0.0/8)`);
  // JMX listens on 127.0.0.1 whatever the address; CQL and gossip on the address.
  const onLoopback = await freePorts(3);
  const onAddress = address === LOOPBACK ? onLoopback : await freePorts(2, address);
  const ports = {
    nativePort: options.nativePort || onAddress[0]!,
    storagePort: options.storagePort || onAddress[1]!,
    jmxPort: options.jmxPort || onLoopback[2]!,
  };
  const server = new LocalCassandra(dir, ports, options);
  await server.start();
  return server;
}

class LocalCassandra implements CassandraServer {
  readonly contactPoint: string;
  readonly address: string;
  readonly localDataCenter = 'datacenter1';
  readonly logFile: string;
  readonly nativePort: number;
  readonly storagePort: number;
  readonly jmxPort: number;
  private proc?: ManagedProcess;

  constructor(
    readonly dir: string,
    ports: { nativePort: number; storagePort: number; jmxPort: number },
    private readonly options: CassandraOptions,
  ) {
    ({ nativePort: this.nativePort, storagePort: this.storagePort, jmxPort: this.jmxPort } = ports);
    this.address = options.address ?? LOOPBACK;
    this.contactPoint = `${this.address}:${this.nativePort}`;
    this.logFile = join(dir, 'cassandra.log');
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { yaml, logback } = this.writeConfig();
    const heapMb = this.options.heapMb ?? 1024;
    const args = [
      `-Xms${heapMb}M`, `-Xmx${heapMb}M`, '-Xss256k', '-XX:+UseG1GC',
      '-XX:+ExitOnOutOfMemoryError', '-Djava.net.preferIPv4Stack=true', '-Djdk.attach.allowAttachSelf=true',
      ...JAVA17_FLAGS,
      `-Dcassandra.config=file://${yaml}`,
      `-Dlogback.configurationFile=file://${logback}`,
      '-Dcassandra-foreground=yes',
      '-Dcassandra.skip_wait_for_gossip_to_settle=0',
      // One node: nobody to announce a shutdown to, so do not wait 2 s doing it. A ring node
      // keeps the announcement: its peers then mark it down at once instead of timing out on it.
      ...(this.alone() ? ['-Dcassandra.shutdown_announce_in_ms=0'] : []),
      `-Dcassandra.storagedir=${this.dir}`,
      `-Dcassandra.logdir=${this.dir}`,
      `-Dcassandra.jmx.local.port=${this.jmxPort}`,
      ...(this.options.jvmOptions ?? []),
      '-cp', `${this.options.libDir ?? CASSANDRA_LIB}/*`,
      'org.apache.cassandra.service.CassandraDaemon',
    ];
    const logStart = fileSize(this.logFile);
    this.proc = new ManagedProcess({ name: 'cassandra', command: this.options.java ?? 'java', args, logFile: this.logFile, cwd: this.dir });
    try {
      await this.waitReady(this.proc, logStart, this.options.readyTimeoutMs ?? 120_000);
    } catch (error) {
      await this.proc.stop('SIGKILL');
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (!this.proc?.running) return;
    this.proc.signal('SIGCONT');
    await this.proc.stop('SIGTERM', 30_000);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc?.running) return;
    proc.signal(signal);
    if (!isTerminating(signal)) return;
    proc.signal('SIGCONT');
    await proc.waitExit(Infinity);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Whether this node is a cluster of its own (its only seed is itself). */
  private alone(): boolean {
    const seeds = this.options.seeds;
    return !seeds || seeds.every((seed) => seed === `${this.address}:${this.storagePort}`);
  }

  private writeConfig(): { yaml: string; logback: string } {
    const values: Record<string, string> = {
      CLUSTER_NAME: this.options.clusterName ?? 'chatlab',
      DIR: this.dir,
      STORAGE_PORT: String(this.storagePort),
      NATIVE_PORT: String(this.nativePort),
    };
    const fill = (text: string) =>
      text.replace(/\$\{([A-Z_]+)\}/g, (_, key: string) => {
        if (!(key in values)) throw new Error(`cassandra.yaml template: unknown placeholder \${${key}}`);
        return values[key]!;
      });
    const yaml = join(this.dir, 'cassandra.yaml');
    const logback = join(this.dir, 'logback.xml');
    writeFileSync(yaml, this.placed(fill(readFileSync(join(TEMPLATES, 'cassandra.yaml'), 'utf8'))));
    writeFileSync(logback, readFileSync(join(TEMPLATES, 'logback.xml'), 'utf8'));
    return { yaml, logback };
  }

  /**
   * The template describes one node on 127.0.0.1 (the Cassandra image is
   * built from it too: scripts/provision-docker.sh); this sets the address,
   * seeds, token and bootstrap of this node on top of it.
   */
  private placed(yaml: string): string {
    const o = this.options;
    const set = (text: string, key: string, value: string) => {
      const line = new RegExp(`^${key}:.*$`, 'm');
      if (line.test(text)) return text.replace(line, `${key}: ${value}`);
      return `${text.trimEnd()}\n${key}: ${value}\n`;
    };
    let out = yaml;
    out = set(out, 'listen_address', this.address);
    out = set(out, 'rpc_address', this.address);
    if (o.initialToken !== undefined) out = set(out, 'initial_token', o.initialToken);
    if (o.autoBootstrap !== undefined) out = set(out, 'auto_bootstrap', String(o.autoBootstrap));
    for (const [key, value] of Object.entries(o.settings ?? {})) {
      if (!/^[a-z_]+$/.test(key)) throw new Error(`cassandra.yaml setting ${key}: expected a top-level key`);
      out = set(out, key, value);
    }
    const seeds = (o.seeds ?? [`${this.address}:${this.storagePort}`]).join(',');
    if (!/^( *- seeds: )".*"$/m.test(out)) throw new Error('cassandra.yaml template: no seeds line');
    return out.replace(/^( *- seeds: )".*"$/m, `$1"${seeds}"`);
  }

  /** Log line first (cheap to poll), then a real CQL query: the port may open before queries work. */
  private async waitReady(proc: ManagedProcess, logStart: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const fail = (why: string) => new Error(`cassandra ${why}; log ${this.logFile}:\n${this.tail(logStart)}`);
    while (!this.logSince(logStart).includes(READY_LINE)) {
      if (!proc.running) throw fail(`exited (${JSON.stringify(proc.exitInfo)}) before it was ready`);
      if (performance.now() > deadline) throw fail(`not ready after ${timeoutMs} ms`);
      await sleep(200);
    }
    for (;;) {
      try {
        await queryReleaseVersion(this.contactPoint, this.localDataCenter);
        return;
      } catch (error) {
        if (!proc.running) throw fail('exited while answering its first query');
        if (performance.now() > deadline) throw fail(`answers no CQL query: ${(error as Error).message}`);
        await sleep(200);
      }
    }
  }

  private logSince(offset: number): string {
    try {
      return readFileSync(this.logFile).subarray(offset).toString('utf8');
    } catch {
      return '';
    }
  }

  private tail(offset: number): string {
    return this.logSince(offset).split('\n').slice(-30).join('\n');
  }
}

/** `SELECT release_version FROM system.local` on a fresh connection; resolves with the version. */
export async function queryReleaseVersion(contactPoint: string, localDataCenter = 'datacenter1'): Promise<string> {
  const client = new cassandra.Client({
    contactPoints: [contactPoint],
    localDataCenter,
    socketOptions: { connectTimeout: 2000, readTimeout: 5000 },
  });
  try {
    const rs = await client.execute('SELECT release_version FROM system.local');
    return String(rs.first()?.get('release_version'));
  } finally {
    await client.shutdown();
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
