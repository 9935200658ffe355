import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Short name for errors ("redis-server", "cassandra"). */
  name: string;
  command: string;
  args: readonly string[];
  /** The child's stdout and stderr are appended here, so its log stays in its folder. */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Signals that end a process; the others (SIGSTOP, SIGCONT, ...) do not. */
const TERMINATING = new Set<NodeJS.Signals>(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGABRT']);

/**
 * The last error line a process wrote to its log (`TypeError: …`, `Error: …`), read from the log's last
 * 16 KiB: what an uncaught exception printed before Node exited with code 1. Undefined when there is none.
 */
export function lastErrorLine(logFile: string): string | undefined {
  let text: string;
  try {
    const fd = openSync(logFile, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, 16 * 1024);
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, size - length);
      text = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (/^(?:[A-Z][A-Za-z]*)?Error\b.*:|^Uncaught\b|^\[?[A-Z][A-Za-z]*Error\]?$/.test(line)) return line.length > 300 ? `${line.slice(0, 300)}…` : line;
  }
  return undefined;
}

export function isTerminating(signal: NodeJS.Signals): boolean {
  return TERMINATING.has(signal);
}

/**
 * A server process chatlab started: its own process group (so a stop also
 * ends anything it forked), its output in a log file, and registered for
 * cleanup so it never outlives the process that started it — on normal exit,
 * SIGINT or SIGTERM. (A SIGKILL of the parent cannot be caught; the child's
 * pid is in its log folder's launcher output for that case.)
 */
export class ManagedProcess {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  private exit?: ExitInfo;

  constructor(readonly options: SpawnOptions) {
    const log = openSync(options.logFile, 'a');
    try {
      const child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        detached: true,
        stdio: ['ignore', log, log],
      });
      if (child.pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
      this.pid = child.pid;
      this.exited = new Promise((resolve) => {
        child.once('exit', (code, signal) => {
          this.exit = { code, signal };
          live.delete(this);
          resolve(this.exit);
        });
      });
      child.once('error', () => {}); // a failed exec also emits 'exit'; the launcher reports it with the log
      child.unref();
    } finally {
      closeSync(log);
    }
    live.add(this);
    installCleanup();
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** How it ended, once it has. */
  get exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  /** Sends `signal` to the whole process group; a no-op once it is gone. */
  signal(signal: NodeJS.Signals): void {
    signalGroup(this.pid, signal);
  }

  /**
   * Asks the group to end with `signal`, waits up to `timeoutMs`, then
   * SIGKILLs it; resolves once the process has exited and been reaped.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<ExitInfo> {
    if (this.exit) return this.exit;
    this.signal(signal);
    if (!(await this.waitExit(timeoutMs))) this.signal('SIGKILL');
    const info = await this.waitExit(Infinity);
    signalGroup(this.pid, 'SIGKILL'); // anything it forked and left behind
    return info!;
  }

  /**
   * Waits up to `timeoutMs` for the exit; undefined on timeout. Holds a ref'd
   * timer meanwhile: the child itself is unref'd, and an awaited promise
   * alone would not keep Node running until its exit event.
   */
  async waitExit(timeoutMs: number): Promise<ExitInfo | undefined> {
    if (this.exit) return this.exit;
    let timer: NodeJS.Timeout | undefined;
    const limit = Number.isFinite(timeoutMs) ? timeoutMs : 2 ** 31 - 1;
    const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), limit)));
    try {
      return await Promise.race([this.exited, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** True if a process with this pid exists (and is not a reaped zombie of ours). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Process-wide by nature: these are OS processes this Node process must not leak.
const live = new Set<ManagedProcess>();
let installed = false;

/** Processes started here and still running. */
export function liveProcesses(): ManagedProcess[] {
  return [...live];
}

function installCleanup(): void {
  if (installed) return;
  installed = true;
  // 'exit' handlers must be synchronous: SIGKILL is the only certain end.
  process.on('exit', () => {
    for (const p of live) p.signal('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = async (): Promise<void> => {
      await Promise.all([...live].map((p) => p.stop('SIGTERM', 5_000)));
      // Alone on this signal: restore the default behaviour (die by it).
      if (process.listenerCount(sig) === 1) {
        process.off(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/** What every server chatlab starts (Redis, Cassandra, SeaweedFS) offers besides its address. */
export interface StartedServer {
  readonly dir: string;
  readonly logFile: string;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  readonly running: boolean;
  /** Graceful stop; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL: a crash); terminating signals resolve once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}
