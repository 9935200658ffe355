import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PREWARM_MAX_MS, type MainMessage, type WorkerMessage } from '../config.ts';
import { pinToCpus } from './affinity.ts';
import { cpuCount } from '../../cpu-list.ts';
import type { Progress } from './progress.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** tsx resolved from this package, so workers start from any working directory. */
const TSX = import.meta.resolve('tsx');
/** Lets a worker import a scenario file that imports `chatlab/...` from any folder (cli/self-resolve.mjs). */
const SELF_RESOLVE = new URL('../../../cli/self-resolve.mjs', import.meta.url).href;

export type Done = Extract<WorkerMessage, { type: 'done' }>;
type Tick = Extract<WorkerMessage, { type: 'tick' }>;

/** A driver worker: worker.ts forked with tsx; `oneCpu`: it will be pinned to a single CPU. */
function forkWorker(oneCpu: boolean): ChildProcess {
  // CHATLAB_DRIVER_CPU_PROF=<dir>: a V8 CPU profile of each worker (where the driver's time goes).
  const prof = process.env.CHATLAB_DRIVER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CHATLAB_DRIVER_CPU_PROF}`] : [];
  // --expose-gc: a worker collects its setup's garbage before the load (worker.ts collectSetupGarbage).
  // --single-threaded-gc, pinned to one CPU: the collector's helper threads would only queue on that CPU behind
  // the worker's own thread (bench:driver's relay rounds: worker event-loop p99 4.8-7 ms with them, 2.3 without).
  // Unpinned, they shorten each pause on an idle core.
  const gc = oneCpu ? ['--single-threaded-gc'] : [];
  // --no-memory-reducer: V8's memory reducer fires a full collection a few seconds after an isolate's allocation
  // slows. The module loader's thread (tsx's hooks) slows once the modules are in, and collected mid-load on the
  // worker's CPU (--trace-gc, a relay round: 17 ms pause plus 14 ms of marking steps). A worker lives for one run.
  return fork(WORKER, [], { execArgv: ['--expose-gc', '--no-memory-reducer', ...gc, '--import', TSX, '--import', SELF_RESOLVE, ...prof], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

export function summarizeDriver(parts: Done['driver'][]) {
  const cpuPercent = Math.max(...parts.map((p) => p.cpuPercent));
  const eventLoopP99Ms = Math.max(...parts.map((p) => p.eventLoopP99Ms));
  const emfile = parts.find((p) => p.emfile)?.emfile;
  const sum = (f: (p: Done['driver']) => number | undefined) => parts.reduce((n, p) => n + (f(p) ?? 0), 0);
  const frames = sum((p) => p.frames);
  const cpuMs = sum((p) => p.cpuMs);
  const gcCount = sum((p) => p.gc?.count);
  const gcTotalMs = sum((p) => p.gc?.totalMs);
  return {
    cpuPercent,
    eventLoopP99Ms,
    bound: cpuPercent > 90 || eventLoopP99Ms > 100,
    workers: parts.length,
    droppedIterations: parts.reduce((n, p) => n + p.droppedIterations, 0),
    ...(emfile ? { emfile } : {}),
    // Over the load, all workers: CPU a frame read or written, and the collector's pauses (each one stops a worker's loop).
    ...(frames > 0 ? { frames, cpuMsPerFrame: cpuMs / frames } : {}),
    ...(frames > 0 ? {
      gcPauses: {
        count: gcCount, totalMs: gcTotalMs, meanMs: gcCount > 0 ? gcTotalMs / gcCount : 0,
        maxMs: Math.max(0, ...parts.map((p) => p.gc?.maxMs ?? 0)),
        everyCpuMs: gcCount > 0 ? cpuMs / gcCount : null,
        everyFrames: gcCount > 0 ? frames / gcCount : null,
      },
    } : {}),
  };
}

/** How long a driver worker may stay silent once the load has started (it reports every second) before the run fails. */
export const DEFAULT_STALL_MS = 30_000;

/** The driver's worker processes and their latest progress. */
export class WorkerPool {
  private readonly procs: ChildProcess[] = [];
  private readonly ticks = new Map<number, Tick>();
  private readonly ready = new Map<number, number>();
  private readonly prewarmed = new Set<number>();
  private readonly armed = new Set<number>();
  private allArmed?: () => void;
  private readonly done = new Map<number, Done>();
  /** When each worker was last heard from (any message), wall-clock ms. */
  private readonly heard = new Map<number, number>();
  private watchdog?: NodeJS.Timeout;
  private startedAt = 0;
  private failure?: Error;
  onTick?: () => void;

  /** `spawn`: how worker `w` is started (tests give stand-ins); default: worker.ts forked with tsx. */
  constructor(private readonly count: number, children: ChildProcess[], cpus?: string, private readonly stallMs = DEFAULT_STALL_MS, spawn: (w: number) => ChildProcess = (_w) => forkWorker(cpus !== undefined && cpuCount(cpus) === 1)) {
    for (let w = 0; w < count; w++) {
      const p = spawn(w);
      if (cpus !== undefined && p.pid !== undefined) pinToCpus(p.pid, cpus);
      p.on('message', (m: WorkerMessage) => this.onMessage(w, m));
      p.on('exit', (code) => {
        if (!this.done.has(w) && code !== 0) this.failure ??= new Error(`driver worker ${w} exited with code ${code}`);
      });
      this.procs.push(p);
      children.push(p);
    }
  }

  private onMessage(w: number, m: WorkerMessage): void {
    this.heard.set(w, Date.now());
    if (m.type === 'ready') this.ready.set(w, m.connected);
    else if (m.type === 'prewarmed') this.prewarmed.add(w);
    else if (m.type === 'armed') {
      this.armed.add(w);
      if (this.armed.size === this.count) this.allArmed?.();
    }
    else if (m.type === 'tick') {
      this.ticks.set(w, m);
      if (w === 0) this.onTick?.();
    } else if (m.type === 'done') this.done.set(w, m);
    else if (m.type === 'fatal') this.failure ??= new Error(`driver worker ${w}: ${m.message}`);
  }

  broadcast(m: MainMessage): void {
    for (const p of this.procs) p.send(m);
  }

  /**
   * Starts the load, and from then on watches that every worker keeps
   * reporting: one that says nothing for `stallMs` (its event loop blocked,
   * or the process stopped) fails the run, naming it, rather than leaving
   * its devices' figures frozen in the totals until a later timeout.
   */
  async start(t0: number): Promise<void> {
    // Two steps: every worker learns t0 (and says so) before any starts its load, so none can stamp a delivery
    // from another worker's send before it has the clock's origin (the time would be absolute, not from t0).
    const armed = new Promise<void>((resolve) => (this.allArmed = resolve));
    this.broadcast({ type: 'start', t0 });
    // The last 'armed' resolves at once; waitFor only bounds the wait (and sees a worker fail meanwhile).
    await Promise.race([armed, this.waitFor(() => this.armed.size === this.count, 60_000, 'workers to take the run clock', (w) => !this.armed.has(w))]);
    this.broadcast({ type: 'go' });
    this.startedAt = Date.now();
    const every = Math.min(1000, this.stallMs / 4);
    let checkedAt = Date.now();
    this.watchdog = setInterval(() => {
      const now = Date.now();
      const late = now - checkedAt > 2 * every;
      checkedAt = now;
      // This process was held up itself (timers run before the workers' queued messages are read): judge at the next check.
      if (late) return;
      const err = this.stalled();
      if (err) {
        this.failure ??= err;
        clearInterval(this.watchdog);
      }
    }, every);
    this.watchdog.unref();
  }

  /** Stops watching (the run is over, or failed). */
  close(): void {
    clearInterval(this.watchdog);
  }

  /** A failure that has ended the run, if any (a worker's fatal error, exit or stall). */
  get failed(): Error | undefined {
    return this.failure;
  }

  private stalled(): Error | undefined {
    const now = Date.now();
    for (let w = 0; w < this.count; w++) {
      if (this.done.has(w)) continue;
      const last = Math.max(this.heard.get(w) ?? 0, this.startedAt);
      if (now - last < this.stallMs) continue;
      const tick = this.ticks.get(w);
      const lastSeen = tick ? `its last progress was ${(tick.atMs / 1000).toFixed(1)} s into the load` : 'it sent no progress since the load started';
      return new Error(
        `driver worker ${w} (pid ${this.procs[w]?.pid}) has said nothing for ${Math.round((now - last) / 1000)} s (${lastSeen}): ` +
          'its event loop is blocked or the process is stopped, so the run is ended rather than reported with its devices frozen',
      );
    }
    return undefined;
  }

  async init(config: (w: number) => unknown): Promise<void> {
    this.procs.forEach((p, w) => p.send({ type: 'init', config: config(w) } as MainMessage));
    await this.waitFor(() => this.ready.size === this.count, 120_000, 'devices to connect', (w) => !this.ready.has(w));
  }

  /**
   * Every worker sets up its devices' end-to-end sessions and sender keys
   * (after all of them published their keys at `init`, so no contact is
   * looked up before it has any).
   */
  async prewarm(): Promise<void> {
    this.broadcast({ type: 'prewarm' });
    // Each worker stops waiting by itself (and says why) within PREWARM_MAX_MS, once its event loop gets a turn: a burst of
    // handshakes (many devices per user, big groups) can hold it for a while. This only catches a worker that never answers.
    await this.waitFor(() => this.prewarmed.size === this.count, PREWARM_MAX_MS + 60_000, 'devices to set up their end-to-end sessions', (w) => !this.prewarmed.has(w));
  }

  connected(): number {
    return [...this.ready.values()].reduce((a, b) => a + b, 0);
  }

  totals() {
    const t = { connected: 0, sent: 0, acked: 0, delivered: 0, errors: 0, p99Ms: 0, pendingSends: 0, expected: 0, deliveredUnique: 0, callsOpen: 0, atMs: 0 };
    for (const k of this.ticks.values()) {
      t.connected += k.connected;
      t.sent += k.sent;
      t.acked += k.acked;
      t.delivered += k.delivered;
      t.errors += k.errors;
      t.pendingSends += k.pendingSends;
      t.expected += k.expected;
      t.deliveredUnique += k.deliveredUnique;
      t.callsOpen += k.callsOpen ?? 0;
      t.p99Ms = Math.max(t.p99Ms, k.p99Ms);
      t.atMs = Math.max(t.atMs, k.atMs);
    }
    return t;
  }

  /** Waits until nothing is in flight, every owed delivery arrived and no call is open, for two ticks in a row, or the grace ends. */
  async quiesce(graceMs: number, progress: Progress): Promise<void> {
    const deadline = Date.now() + graceMs;
    let calm = 0;
    let lastAt = -1;
    while (Date.now() < deadline) {
      if (this.failure) throw this.failure;
      const t = this.totals();
      if (t.atMs !== lastAt) {
        lastAt = t.atMs;
        calm = t.pendingSends === 0 && t.deliveredUnique >= t.expected && t.callsOpen === 0 ? calm + 1 : 0;
        if (calm >= 2) return;
      }
      progress.note('draining');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async finish(): Promise<Done[]> {
    this.broadcast({ type: 'finish' });
    this.close();
    await this.waitFor(() => this.done.size === this.count, 60_000, 'workers to hand over their ledgers', (w) => !this.done.has(w));
    return [...this.done.entries()].sort((a, b) => a[0] - b[0]).map(([, d]) => d);
  }

  private async waitFor(cond: () => boolean, timeoutMs: number, what: string, waiting: (w: number) => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.failure) throw this.failure;
      if (Date.now() > deadline) {
        const names = this.procs.flatMap((p, w) => (waiting(w) ? [`worker ${w} (pid ${p.pid})`] : [])).join(', ');
        throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${names ? `: no answer from ${names}` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
