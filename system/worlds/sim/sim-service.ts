/**
 * A process's collector, as the sim charges it to the server it stops: a
 * pause of `pauseMs` every `everyCpuMs` of other work (a scavenge every so
 * much allocation; a major cycle, whose marking live takes the loop's CPU
 * for ~100 ms at a time, every so much promotion).
 */
export interface Pause {
  everyCpuMs: number;
  pauseMs: number;
  /**
   * Work the collector does on the loop's thread before its pause, in steps
   * between the loop's own work (a major cycle's incremental marking): `ms`
   * of it in all, taking `share` of the loop's time while it lasts. Without
   * it the whole cost is `pauseMs`, one block.
   */
  marking?: { ms: number; share: number };
}

/** A socket whose reads a loop pays once a turn (ServiceQueue's `readMs`): the turn of its last read. */
export interface Reader {
  readTurn: number;
}

/**
 * A FIFO queue in front of `servers` identical servers (M/G/c): a node's
 * event loop is one server, a Redis cluster one per shard, a Cassandra ring
 * one per node × concurrency. Work is admitted when it arrives and given the
 * earliest free server, so when arrivals outpace service the wait grows —
 * queues form and saturation shows up as it would live.
 *
 * Work must be admitted in arrival order (callers admit at the arrival
 * instant, in virtual time); then completion order is FIFO per server.
 */
export class ServiceQueue {
  private readonly free: Float64Array;
  /** `wakePer: 'turn'`: when the latest turn takes (or took) its frames. */
  private turnAt = -Infinity;
  /** Work admitted since each pause's last stop (same order as `pauses`). */
  private readonly sincePause: Float64Array;
  /** Each pause's marking still to do (ms; 0 when none is under way), and what it adds to a ms of the loop's own work. */
  private readonly markingLeft: Float64Array;
  private readonly markingPerWork: Float64Array;
  /** Pauses charged since the queue was made, by `pauses` order. */
  readonly pausesTaken: number[];
  /** Requests admitted, total service time and total wait (ms), for gauges and calibration checks. */
  served = 0;
  busyMs = 0;
  waitedMs = 0;
  maxWaitMs = 0;
  /** Service time admitted since the queue was made (never reset): the CPU a run spent, for calibration. */
  totalBusyMs = 0;
  /** Wake-ups paid since the queue was made (never reset): work that found its server idle, or (`wakePer: 'turn'`) opened a turn. */
  totalWakes = 0;
  /** How long the last admitted work waited before its server took it (its wake-up, if any, is service, not wait). */
  lastWaitMs = 0;

  /**
   * `wakeMs`: extra service time for work that finds its server idle (an
   * event loop woken for one frame pays its poll, its read and its timers
   * alone; work that queues behind other work shares them). 0 for stores.
   * `wakePer: 'turn'` (one server): work also pays it when it arrives while
   * a turn runs — an event loop's turn takes what arrived before it began,
   * so such work opens the next turn, which starts when the queued work
   * ends, and work arriving before that joins it free.
   *
   * `readMs` (`turn`, one server): what a socket's read costs the loop on
   * top of the frames it brings. Work admitted with a `Reader` pays it
   * unless that socket was already read in the same turn: live, a turn
   * reads each ready socket once and gets every frame queued in it, so
   * frames of one socket that wait together share a read.
   */
  constructor(
    readonly name: string, readonly servers: number, readonly wakeMs = 0, private readonly pauses: readonly Pause[] = [],
    private readonly wakePer: 'idle' | 'turn' = 'idle', readonly readMs = 0,
  ) {
    if (!Number.isInteger(servers) || servers < 1) throw new RangeError(`${name}: servers must be an integer >= 1, got ${servers}`);
    for (const p of pauses) {
      if (!(p.everyCpuMs > 0) || !(p.pauseMs >= 0)) throw new RangeError(`${name}: a pause needs everyCpuMs > 0 and pauseMs >= 0, got ${JSON.stringify(p)}`);
      if (p.marking && !(p.marking.ms >= 0 && p.marking.share > 0 && p.marking.share < 1)) throw new RangeError(`${name}: a pause's marking needs ms >= 0 and 0 < share < 1, got ${JSON.stringify(p.marking)}`);
    }
    this.markingLeft = new Float64Array(pauses.length);
    this.markingPerWork = Float64Array.from(pauses, (p) => (p.marking ? p.marking.share / (1 - p.marking.share) : 0));
    // A run starts somewhere in each pause's cycle, and where is unknown: the first comes after half a budget, the mean.
    this.sincePause = Float64Array.from(pauses, (p) => p.everyCpuMs / 2);
    this.pausesTaken = pauses.map(() => 0);
    // Free since ever: work at time 0 finds its server idle (and pays its wake-up) like work at any other time.
    this.free = new Float64Array(servers).fill(-Infinity);
  }

  /** Socket reads paid since the queue was made (never reset; `readMs`). */
  totalReads = 0;

  /** Admits work arriving at `nowMs` needing `serviceMs` (read from `reader`'s socket, if given); returns when it completes. */
  admit(nowMs: number, serviceMs: number, reader?: Reader): number {
    const f = this.free;
    let best = 0;
    for (let i = 1; i < f.length; i++) if (f[i]! < f[best]!) best = i;
    const idle = f[best]! < nowMs;
    const start = idle ? nowMs : f[best]!;
    let wakes = idle;
    if (this.wakePer === 'turn' && f.length === 1) {
      if (idle) this.turnAt = nowMs;
      else if (nowMs > this.turnAt) {
        // The running turn took its frames before this arrived: the next turn takes it, when the queued work ends.
        wakes = true;
        this.turnAt = start;
      }
    }
    let work = wakes ? serviceMs + this.wakeMs : serviceMs;
    if (wakes) this.totalWakes++;
    if (reader !== undefined && this.readMs > 0) {
      // The turn that takes this work began (or begins) at turnAt; without turns, every read is its own.
      const turn = this.wakePer === 'turn' && f.length === 1 ? this.turnAt : NaN;
      if (reader.readTurn !== turn) {
        reader.readTurn = turn;
        work += this.readMs;
        this.totalReads++;
      }
    }
    // The work that fills a pause's budget stops the process: its own service and the pause, one block. A pause with
    // marking begins it there instead: the work after takes longer by the marking's share of the loop until the marking
    // is done, and the work that finishes it pays the pause.
    let cost = work;
    for (let i = 0; i < this.pauses.length; i++) {
      const p = this.pauses[i]!;
      let left = this.markingLeft[i]!;
      if (left > 0) {
        const step = Math.min(left, work * this.markingPerWork[i]!);
        cost += step;
        left -= step;
        this.markingLeft[i] = left;
        if (left <= 0) {
          cost += p.pauseMs;
          this.pausesTaken[i]!++;
        }
        continue;
      }
      const since = this.sincePause[i]! + work;
      if (since >= p.everyCpuMs) {
        this.sincePause[i] = since - p.everyCpuMs;
        if (p.marking && p.marking.ms > 0) this.markingLeft[i] = p.marking.ms;
        else {
          cost += p.pauseMs;
          this.pausesTaken[i]!++;
        }
      } else this.sincePause[i] = since;
    }
    const done = start + cost;
    f[best] = done;
    const wait = start - nowMs;
    this.lastWaitMs = wait;
    this.served++;
    this.busyMs += cost;
    this.totalBusyMs += cost;
    this.waitedMs += wait;
    if (wait > this.maxWaitMs) this.maxWaitMs = wait;
    return done;
  }

  /**
   * More service for the work a server is doing at `nowMs` (one server; no
   * wake-up, no pause): what that work found it had to do once it ran. Work
   * admitted before keeps the times it was given; work admitted later waits
   * for this too.
   */
  extend(nowMs: number, serviceMs: number): void {
    if (this.free.length !== 1) throw new RangeError(`${this.name}: extend needs one server, it has ${this.free.length}`);
    this.free[0] = Math.max(this.free[0]!, nowMs) + serviceMs;
    this.busyMs += serviceMs;
    this.totalBusyMs += serviceMs;
  }

  /** True when some server is idle at `nowMs` (new work starts at once). */
  idleAt(nowMs: number): boolean {
    const f = this.free;
    for (let i = 0; i < f.length; i++) if (f[i]! <= nowMs) return true;
    return false;
  }

  /** How long new work arriving now would wait before starting, ms. */
  backlogMs(nowMs: number): number {
    let min = Infinity;
    for (const t of this.free) min = Math.min(min, t);
    return Math.max(0, min - nowMs);
  }

  /** Forgets queued work (a restarted process starts with an empty queue). */
  reset(nowMs: number): void {
    this.free.fill(nowMs);
    this.markingLeft.fill(0);
    this.turnAt = -Infinity;
  }

  /** Takes and clears the counters since the last call: served, utilisation over `windowMs`, mean wait. */
  window(windowMs: number): { served: number; utilisation: number; meanWaitMs: number; maxWaitMs: number } {
    const out = {
      served: this.served,
      utilisation: windowMs > 0 ? this.busyMs / (windowMs * this.servers) : 0,
      meanWaitMs: this.served > 0 ? this.waitedMs / this.served : 0,
      maxWaitMs: this.maxWaitMs,
    };
    this.served = 0;
    this.busyMs = 0;
    this.waitedMs = 0;
    this.maxWaitMs = 0;
    return out;
  }
}
