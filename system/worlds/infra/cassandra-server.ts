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
  /** CQL port on 127.0.0.1; 0 or absent picks a free one. Ports are kept across restarts. */
  nativePort?: number;
  /** Inter-node (gossip) port; 0 or absent picks a free one. */
  storagePort?: number;
  /** Local JMX port; 0 or absent picks a free one. */
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
  /** `127.0.0.1:<nativePort>`, for cassandra-driver's contactPoints. */
  readonly contactPoint: string;
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
 * Starts a real single-node Cassandra 5.0 on 127.0.0.1: writes the project's
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
  const picked = await freePorts(3);
  const ports = {
    nativePort: options.nativePort || picked[0]!,
    storagePort: options.storagePort || picked[1]!,
    jmxPort: options.jmxPort || picked[2]!,
  };
  const server = new LocalCassandra(dir, ports, options);
  await server.start();
  return server;
}

class LocalCassandra implements CassandraServer {
  readonly contactPoint: string;
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
    this.contactPoint = `${LOOPBACK}:${this.nativePort}`;
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
      // One node: nobody to announce a shutdown to, so do not wait 2 s doing it.
      '-Dcassandra.shutdown_announce_in_ms=0',
      `-Dcassandra.storagedir=${this.dir}`,
      `-Dcassandra.logdir=${this.dir}`,
      `-Dcassandra.jmx.local.port=${this.jmxPort}`,
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
    writeFileSync(yaml, fill(readFileSync(join(TEMPLATES, 'cassandra.yaml'), 'utf8')));
    writeFileSync(logback, readFileSync(join(TEMPLATES, 'logback.xml'), 'utf8'));
    return { yaml, logback };
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
