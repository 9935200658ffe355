import { connect } from 'node:net';

/** A fault nobody scheduled, as the watchdog saw it; times are epoch ms. */
export interface ObservedMark {
  /** `process-exit` (the process is gone) or `unresponsive` (it runs and does not answer its probe). */
  kind: 'process-exit' | 'unresponsive';
  /** What failed: `node-2`, `redis`, `cassandra`. */
  target: string;
  startEpochMs: number;
  /** When it answered again; null while it has not. */
  endEpochMs: number | null;
  /** The exit code or signal, or the probe's failure. */
  detail: string;
}

/** One thing the watchdog follows. Read through functions: a restart replaces the process behind a name. */
export interface WatchTarget {
  name: string;
  /** False once the process has exited; `detail` says how. */
  running(): boolean;
  exitDetail?(): string;
  /** Resolves when the server answers; rejects (or never settles) when it does not. */
  probe(): Promise<void>;
}

export interface WatchdogOptions {
  /** Time between two looks at every target. */
  intervalMs: number;
  /** A probe unanswered this long counts as not answering. */
  probeTimeoutMs: number;
  /** Marks kept, at most; beyond it new ones are not recorded. */
  marksMax: number;
}

/**
 * Notices the processes and servers of a world that exit or stop answering
 * without chatlab having caused it — an operator's `kill -9`, the OOM
 * killer, a SIGSTOP from outside — and records each as an observed fault
 * with its start and, when the target answers again, its end.
 *
 * What chatlab's own controls do (a scheduled kill, stop or pause) is not
 * observed: the world marks the target `quiet` for as long as it has it
 * down. A target is looked at every `intervalMs`; a probe that does not
 * answer within `probeTimeoutMs` opens an `unresponsive` mark dated from when
 * that probe was sent, so a stall shows only once it outlasts the timeout.
 */
export class Watchdog {
  readonly marks: ObservedMark[] = [];
  private readonly targets = new Map<string, WatchTarget>();
  private readonly open = new Map<string, ObservedMark>();
  private readonly quietNames = new Set<string>();
  private readonly probing = new Set<string>();
  /**
   * When each target's last answered probe was sent (epoch ms): it was
   * alive then, so whatever cut it off came later. A mark starts there —
   * at most one interval early — and so covers the devices it disconnected,
   * which the driver sees before the process's exit reaches us.
   */
  private readonly lastAnswered = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly o: WatchdogOptions;

  constructor(opts: Partial<WatchdogOptions> = {}) {
    this.o = { intervalMs: 500, probeTimeoutMs: 2000, marksMax: 1000, ...opts };
  }

  add(target: WatchTarget): void {
    this.targets.set(target.name, target);
  }

  start(): void {
    this.timer ??= setInterval(() => this.look(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** chatlab itself takes `name` down (true) or has brought it back (false): no mark meanwhile. */
  quiet(name: string, on: boolean): void {
    if (on) this.quietNames.add(name);
    else this.quietNames.delete(name);
  }

  private look(): void {
    for (const t of this.targets.values()) {
      if (this.quietNames.has(t.name) || this.probing.has(t.name)) continue;
      if (!t.running()) {
        this.begin(t.name, 'process-exit', Date.now(), t.exitDetail?.() ?? 'exited');
        continue;
      }
      void this.check(t);
    }
  }

  private async check(t: WatchTarget): Promise<void> {
    this.probing.add(t.name);
    const sentMs = Date.now();
    try {
      await withTimeout(t.probe(), this.o.probeTimeoutMs);
      if (!this.quietNames.has(t.name) && t.running()) {
        this.lastAnswered.set(t.name, sentMs);
        this.end(t.name, Date.now());
      }
    } catch (err) {
      // A killed process refuses its probe before its exit is reported to us: give the exit a moment to
      // arrive, so one kill is one `process-exit` mark (from the probe's time), not `unresponsive` first.
      if (t.running()) await new Promise((r) => setTimeout(r, EXIT_GRACE_MS).unref());
      if (this.quietNames.has(t.name)) return;
      if (t.running()) this.begin(t.name, 'unresponsive', sentMs, (err as Error).message);
      else this.begin(t.name, 'process-exit', sentMs, t.exitDetail?.() ?? 'exited');
    } finally {
      this.probing.delete(t.name);
    }
  }

  private begin(target: string, kind: ObservedMark['kind'], seenMs: number, detail: string): void {
    const now = this.open.get(target);
    if (now?.kind === kind || now?.kind === 'process-exit') return;
    // From the last sign of life, unless a mark already open (unresponsive, then exited) ends here.
    const atMs = now ? seenMs : Math.min(seenMs, this.lastAnswered.get(target) ?? seenMs);
    if (now) now.endEpochMs = atMs;
    if (this.marks.length >= this.o.marksMax) return;
    const m: ObservedMark = { kind, target, startEpochMs: atMs, endEpochMs: null, detail };
    this.open.set(target, m);
    this.marks.push(m);
  }

  private end(target: string, atMs: number): void {
    const m = this.open.get(target);
    if (!m) return;
    m.endEpochMs = atMs;
    this.open.delete(target);
  }
}

/** How long a failed probe waits for the process's exit to be reported before calling it unresponsive. */
const EXIT_GRACE_MS = 300;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e) => (clearTimeout(t), reject(e)));
  });
}

/**
 * Opens a TCP connection to `host`:`port` (127.0.0.1 unless given), writes `request` and resolves
 * once the reply starts with `expect`; rejects on any other reply, a refused
 * connection or a close. The caller bounds the wait (a stopped server
 * accepts the connection and never answers).
 */
export function tcpProbe(port: number, request: Buffer | string, expect: (reply: Buffer) => boolean, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const done = (err?: Error) => {
      s.destroy();
      if (err) reject(err);
      else resolve();
    };
    s.setTimeout(10_000, () => done(new Error('probe timed out')));
    s.once('connect', () => s.write(request));
    s.once('data', (b: Buffer) => done(expect(b) ? undefined : new Error(`unexpected reply ${JSON.stringify(b.subarray(0, 16).toString('latin1'))}`)));
    s.once('error', (err) => done(err));
    s.once('close', () => done(new Error('closed without a reply')));
  });
}

/** Redis answers `PING` with `+PONG`. */
export function redisProbe(port: number): Promise<void> {
  return tcpProbe(port, 'PING\r\n', (b) => b.toString('latin1').startsWith('+PONG'));
}

/** Cassandra answers a CQL v4 OPTIONS frame (header only) with SUPPORTED (opcode 0x06); a ring node on its own loopback `host`. */
export function cqlProbe(port: number, host = '127.0.0.1'): Promise<void> {
  return tcpProbe(port, Buffer.from([0x04, 0, 0, 0, 0x05, 0, 0, 0, 0]), (b) => b.length >= 5 && b[0] === 0x84 && b[4] === 0x06, host);
}

/** A chat node answers `GET /health` with 200. */
export async function httpProbe(url: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
}
