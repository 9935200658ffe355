import { mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { LOOPBACK, portOrFree } from './tcp-ports.ts';
import { isTerminating, ManagedProcess, type StartedServer } from './processes.ts';
import { requireProvisioned } from './provisioning.ts';

export interface RedisOptions {
  /** Data and log folder; created if missing. The log is `<dir>/redis.log`. */
  dir: string;
  /** TCP port on 127.0.0.1; 0 or absent picks a free one. Kept across restarts. */
  port?: number;
  /**
   * 'aof' (default): append-only file, fsync every second. What the node
   * keeps in Redis is mostly soft state (registry, presence, dedup), but the
   * Sequencer's counters are not: losing them on a Redis restart would hand
   * out seqs again, and the MessageLog keeps the first copy of a
   * (conversation, seq), so a chaos drill that restarts Redis would lose
   * messages for a reason no production Redis has. With AOF a graceful
   * restart keeps everything and a crash loses at most ~1 s of writes.
   * 'none': nothing survives a restart (pure cache).
   */
  persistence?: 'aof' | 'none';
  /** Default 'redis-server' on PATH. */
  binary?: string;
  /** How long to wait for PING to be answered. Default 10 s. */
  readyTimeoutMs?: number;
  /** Extra config as command-line pairs, e.g. ['--maxmemory', '256mb']. */
  args?: readonly string[];
}

/** A real redis-server started by chatlab (see `startRedis`). */
export interface RedisServer extends StartedServer {
  /** `redis://127.0.0.1:<port>`; the same across restarts. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Graceful stop (SIGTERM: Redis flushes its AOF and exits); resolves once the process is gone. */
  stop(): Promise<void>;
  /**
   * Sends `signal` (default SIGKILL: a crash). Terminating signals resolve once
   * the process is gone; SIGSTOP/SIGCONT (pause/resume) resolve at once.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it if running, then starts it again on the same port and folder, ready. */
  restart(): Promise<void>;
}

/**
 * Starts a real `redis-server` on 127.0.0.1 and resolves once it answers on its
 * port (not after a sleep): `INFO server` must come back with its own pid, so
 * a server still loading its AOF (-LOADING) or another redis holding the port
 * does not count as ready. Measured here: ready ~20-40 ms after spawn (redis 7.0).
 */
export async function startRedis(options: RedisOptions): Promise<RedisServer> {
  requireProvisioned({ redis: options.binary === undefined });
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const port = await portOrFree(options.port);
  const server = new LocalRedis(dir, port, options);
  await server.start();
  return server;
}

class LocalRedis implements RedisServer {
  readonly host = LOOPBACK;
  readonly url: string;
  readonly logFile: string;
  private proc?: ManagedProcess;

  constructor(
    readonly dir: string,
    readonly port: number,
    private readonly options: RedisOptions,
  ) {
    this.url = `redis://${LOOPBACK}:${port}`;
    this.logFile = join(dir, 'redis.log');
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const aof = (this.options.persistence ?? 'aof') === 'aof';
    const args = [
      '--port', String(this.port),
      '--bind', LOOPBACK,
      '--protected-mode', 'yes',
      '--dir', this.dir,
      '--logfile', this.logFile,
      '--save', '',
      '--appendonly', aof ? 'yes' : 'no',
      '--appendfsync', 'everysec',
      '--daemonize', 'no',
      ...(this.options.args ?? []),
    ];
    this.proc = new ManagedProcess({ name: 'redis-server', command: this.options.binary ?? 'redis-server', args, logFile: join(this.dir, 'redis.stdout.log'), cwd: this.dir });
    try {
      await this.waitReady(this.proc, this.options.readyTimeoutMs ?? 10_000);
    } catch (error) {
      await this.proc.stop('SIGKILL');
      throw error;
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc?.running) return;
    await proc.stop('SIGTERM', 10_000);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc?.running) return;
    if (!isTerminating(signal)) return proc.signal(signal);
    proc.signal(signal);
    proc.signal('SIGCONT'); // a paused server must run to act on the signal
    await proc.waitExit(Infinity);
  }

  async restart(): Promise<void> {
    if (this.running) {
      this.proc!.signal('SIGCONT');
      await this.stop();
    }
    await this.start();
  }

  private async waitReady(proc: ManagedProcess, timeoutMs: number): Promise<void> {
    const started = performance.now();
    let last = '';
    while (performance.now() - started < timeoutMs) {
      if (!proc.running) {
        throw new Error(`redis-server exited (${JSON.stringify(proc.exitInfo)}) before it was ready; log:\n${this.tail()}`);
      }
      const pid = await serverPid(this.port).catch((error: Error) => error.message);
      if (pid === proc.pid) return;
      last = typeof pid === 'number' ? `port ${this.port} answered by another redis (pid ${pid})` : pid;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`redis-server on port ${this.port} not ready after ${timeoutMs} ms (last: ${last}); log:\n${this.tail()}`);
  }

  private tail(): string {
    const read = (f: string) => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return '';
      }
    };
    return (read(join(this.dir, 'redis.stdout.log')) + read(this.logFile)).split('\n').slice(-20).join('\n');
  }
}

/**
 * Sends PING and `INFO server` (inline, pipelined) over a fresh socket and
 * resolves with the pid that answered, once PING got +PONG (a server loading
 * its AOF answers -LOADING but would still answer INFO). Answering is not enough: another redis may already hold the port
 * while ours is failing to bind, so readiness means "our pid answers".
 * Rejects with the error reply otherwise.
 */
function serverPid(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: LOOPBACK, port });
    let data = '';
    const done = (error?: Error, pid?: number) => {
      socket.destroy();
      if (error) reject(error);
      else resolve(pid!);
    };
    socket.setTimeout(1000, () => done(new Error('INFO timed out')));
    socket.once('error', done);
    socket.once('connect', () => socket.write('PING\r\nINFO server\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (data.startsWith('-')) return done(new Error(data.split('\r\n')[0]));
      if (data.length >= 7 && !data.startsWith('+PONG\r\n')) return done(new Error(`unexpected reply ${data.slice(0, 40)}`));
      const m = /process_id:(\d+)\r\n/.exec(data);
      if (m) done(undefined, Number(m[1]));
    });
    socket.once('end', () => done(new Error(`connection closed: ${data.slice(0, 80)}`)));
  });
}
