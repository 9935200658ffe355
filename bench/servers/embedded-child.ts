/**
 * The embedded cluster (embedded-server.ts) as a child process a benchmark
 * watches: its URLs and token secret once ready, its RSS from /proc, and its
 * exit — with the exception that ended it, when one escaped.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CRASH_LINE } from './crash-report.ts';
import type { ErrorTally, ServerReport } from './ipc.ts';
import type { Inbox } from '../../system/inbox/inbox.ts';
import type { InboxAccess } from '../../system/worlds/world.ts';

export interface Escape {
  origin: string;
  name?: string;
  message: string;
  stack?: string;
}

export interface ChildExit {
  code: number | null;
  signal: string | null;
  /** What escaped to the process before it ended, if anything did. */
  escapes: Escape[];
}

export interface EmbeddedChildOptions {
  nodes: number;
  /** Extra node flags for the child (e.g. --max-semi-space-size=64). */
  execArgv: string[];
  readyTimeoutMs: number;
}

const SERVER = fileURLToPath(new URL('./embedded-server.ts', import.meta.url));

export class EmbeddedChild {
  /** Set once the child has exited; `stop()` marks its own exit as expected. */
  exit?: ChildExit;
  readonly exited: Promise<ChildExit>;
  private stopping = false;

  private constructor(readonly proc: ChildProcess, readonly urls: string[], readonly secret: string, readonly escapes: Escape[]) {
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: string | null) => resolve((this.exit = { code, signal, escapes: this.escapes }));
      if (proc.exitCode !== null || proc.signalCode !== null) done(proc.exitCode, proc.signalCode);
      else proc.once('exit', done);
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** True when the child ended without being asked to. */
  get crashed(): boolean {
    return this.exit !== undefined && !this.stopping;
  }

  static async start(opts: Partial<EmbeddedChildOptions> = {}): Promise<EmbeddedChild> {
    const o: EmbeddedChildOptions = { nodes: 3, execArgv: [], readyTimeoutMs: 30_000, ...opts };
    const secret = randomBytes(24).toString('base64url');
    const proc = fork(SERVER, [], {
      execArgv: ['--import', 'tsx', ...o.execArgv],
      env: { ...process.env, BENCH_NODES: String(o.nodes), BENCH_SECRET: secret },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const escapes: Escape[] = [];
    watchStderr(proc, escapes);
    const ready = await new Promise<Extract<ServerReport, { t: 'ready' }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`embedded cluster (pid ${proc.pid}) not ready in ${o.readyTimeoutMs} ms`)), o.readyTimeoutMs);
      proc.on('message', (m: ServerReport) => {
        if (m.t === 'ready') resolve(m);
        if (m.t === 'fatal') reject(new Error(`embedded cluster failed to start: ${m.message}`));
      });
      proc.once('exit', (code, sig) => reject(new Error(`embedded cluster exited (${sig ?? code}) before it was ready`)));
      proc.once('exit', () => clearTimeout(timer));
      proc.once('message', () => clearTimeout(timer));
    }).catch((err: Error) => {
      proc.kill('SIGKILL');
      throw err;
    });
    return new EmbeddedChild(proc, ready.urls, secret, escapes);
  }

  /** Resident set size of the child now, MB (0 once it is gone). */
  rssMb(): number {
    try {
      return (Number(readFileSync(`/proc/${this.pid}/statm`, 'latin1').split(' ')[1]) * 4096) / 1048576;
    } catch {
      return 0;
    }
  }

  /** Every error frame the cluster has sent so far, by code (see embedded-server.ts). */
  errors(timeoutMs = 60_000): Promise<Record<string, ErrorTally>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (this.proc.off('message', on), reject(new Error('the cluster did not answer `errors`'))), timeoutMs);
      const on = (m: ServerReport) => {
        if (m.t !== 'errors') return;
        clearTimeout(timer);
        this.proc.off('message', on);
        resolve(m.byCode);
      };
      this.proc.on('message', on);
      this.proc.send({ cmd: 'errors' });
    });
  }

  /**
   * The cluster's inboxes, asked over IPC: lets a run driven with `target`
   * still tell a late delivery (pending in an inbox) from a lost one.
   */
  inboxAccess(): InboxAccess {
    let next = 0;
    const has = (device: string, ids: readonly string[]) =>
      new Promise<boolean[]>((resolve, reject) => {
        const req = next++;
        const on = (m: ServerReport) => {
          if (m.t !== 'inbox-has' || m.req !== req) return;
          this.proc.off('message', on);
          if (m.held) resolve(m.held);
          else reject(new Error(m.error ?? 'inbox-has failed'));
        };
        this.proc.on('message', on);
        this.proc.send({ cmd: 'inbox-has', req, device, ids: [...ids] });
      });
    // Only `has` is asked at the end of a run (scenarios/engine/classify.ts).
    return { inbox: { has } as unknown as Inbox, close: async () => {} };
  }

  /** Asks the child to stop, then kills it by PID if it has not within `ms`. */
  async stop(ms = 5000): Promise<void> {
    if (this.exit) return;
    this.stopping = true;
    if (this.proc.connected) this.proc.send({ cmd: 'stop' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Crash lines from the child's stderr go to `escapes`; every other line is passed on. */
function watchStderr(proc: ChildProcess, escapes: Escape[]): void {
  let rest = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith(CRASH_LINE)) escapes.push(JSON.parse(line.slice(CRASH_LINE.length)) as Escape);
      else process.stderr.write(`${line}\n`);
    }
  });
}
