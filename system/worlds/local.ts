import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCassandra, type CassandraServer } from './infra/cassandra-server.ts';
import { freePort } from './infra/ports.ts';
import { ManagedProcess } from './infra/processes.ts';
import { startRedis, type RedisServer } from './infra/redis-server.ts';

export interface LocalWorldOptions {
  nodes: number;
  /** Logs and data of everything started go under here. */
  dir: string;
  /** Use a Redis the user already runs instead of starting one. */
  redisUrl?: string;
  /** Use a Cassandra the user already runs (host:port) instead of starting one. */
  cassandra?: string;
  /** Keyspace; a fresh one per run by default so runs never see each other's data. */
  keyspace?: string;
}

interface NodeProc {
  id: string;
  number: number;
  port: number;
  url: string;
  proc: ManagedProcess;
  up: boolean;
}

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** tsx resolved from this package, so node processes start from any working directory. */
const TSX = ['--import', import.meta.resolve('tsx')];

/**
 * The local world: a real redis-server, a real Apache Cassandra node, the
 * push service and N chat node processes on loopback, started here and
 * stopped here (also on Ctrl-C and on failure). Logs stay in `dir`.
 */
export class LocalWorld {
  readonly nodes: NodeProc[] = [];
  readonly secret = randomBytes(24).toString('base64url');
  redis?: RedisServer;
  cassandraServer?: CassandraServer;
  push?: ManagedProcess;
  pushUrl = '';
  redisUrl = '';
  cassandra = '';
  keyspace = '';

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
    const [redis, cassandra] = await Promise.all([
      o.redisUrl ? undefined : startRedis({ dir: join(o.dir, 'redis') }),
      o.cassandra ? undefined : startCassandra({ dir: join(o.dir, 'cassandra') }),
    ]);
    this.redis = redis;
    this.cassandraServer = cassandra;
    this.redisUrl = o.redisUrl ?? redis!.url;
    this.cassandra = o.cassandra ?? cassandra!.contactPoint;
    this.keyspace = o.keyspace ?? `run_${randomBytes(4).toString('hex')}`;
    const pushPort = await freePort();
    this.push = new ManagedProcess({
      name: 'push', command: process.execPath, args: [...TSX, join(ROOT, 'system/push/push-process.ts')], cwd: ROOT,
      logFile: join(o.dir, 'push.log'), env: { ...process.env, CHATLAB_PUSH_PORT: String(pushPort) },
    });
    await readyLine(join(o.dir, 'push.log'), this.push, 30_000);
    this.pushUrl = `http://127.0.0.1:${pushPort}`;
    // The first node creates the keyspace and applies migrations; the others then start together.
    this.nodes.push(await this.spawnNode(0, await freePort()));
    const rest = await Promise.all(Array.from({ length: o.nodes - 1 }, async (_, i) => this.spawnNode(i + 1, await freePort())));
    this.nodes.push(...rest);
  }

  private async spawnNode(index: number, port: number): Promise<NodeProc> {
    const id = `node-${index + 1}`;
    const logFile = join(this.opts.dir, `${id}.log`);
    // The log is appended across restarts: only what this start writes counts.
    const offset = existsSync(logFile) ? readFileSync(logFile, 'utf8').length : 0;
    const proc = new ManagedProcess({
      name: id, command: process.execPath, args: [...TSX, join(ROOT, 'system/worlds/node-process.ts')], cwd: ROOT, logFile,
      env: {
        ...process.env, CHATLAB_NODE_ID: id, CHATLAB_NODE_NUMBER: String(index + 1), CHATLAB_PORT: String(port),
        CHATLAB_REDIS_URL: this.redisUrl, CHATLAB_CASSANDRA: this.cassandra, CHATLAB_KEYSPACE: this.keyspace,
        CHATLAB_PUSH_URL: this.pushUrl, CHATLAB_SECRET: this.secret,
      },
    });
    const ready = await readyLine(logFile, proc, 120_000, offset);
    return { id, number: index + 1, port, url: String(ready.url), proc, up: true };
  }

  /** SIGKILL: a crash; its registry entries expire with its heartbeat. */
  async killNode(i: number): Promise<void> {
    const n = this.nodes[i]!;
    n.up = false;
    await n.proc.stop('SIGKILL', 5000);
  }

  /** SIGTERM: drain (devices told to go) and exit. */
  async stopNode(i: number): Promise<void> {
    const n = this.nodes[i]!;
    n.up = false;
    await n.proc.stop('SIGTERM', 15_000);
  }

  async restartNode(i: number): Promise<void> {
    const n = this.nodes[i]!;
    if (n.proc.running) await n.proc.stop('SIGTERM', 15_000);
    this.nodes[i] = await this.spawnNode(i, n.port);
  }

  async pauseNode(i: number): Promise<void> {
    this.nodes[i]!.proc.signal('SIGSTOP');
  }

  async resumeNode(i: number): Promise<void> {
    this.nodes[i]!.proc.signal('SIGCONT');
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => (n.proc.signal('SIGCONT'), n.proc.stop('SIGTERM', 10_000))));
    await Promise.allSettled([this.push?.stop('SIGTERM', 5000), this.redis?.stop(), this.cassandraServer?.stop()]);
  }
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
