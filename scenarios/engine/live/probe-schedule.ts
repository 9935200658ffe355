import { Trend } from '../../../reports/latency.ts';

/** A probe's figures (ms): arrival from the intended and from the actual send, and the send's lateness. */
export interface ProbeFigures {
  messages: number;
  p50: number;
  p99: number;
  /** From the actual send. */
  sentP99: number;
  /** Actual send minus intended. */
  lagP99: number;
  /** Messages sent (or due) that have not arrived. */
  missing: number;
}

/**
 * The schedule probes send on (the witness, bench:driver's bare round trip)
 * on: `rate` msgs/s for `durationMs`, evenly spaced, fired the way the
 * driver fires its arrivals (every one that is due, then one timer to the
 * next), each arrival recorded once, percentiles as every report takes
 * them (reports/latency.ts).
 */
export class ProbeSchedule {
  readonly n: number;
  private readonly intended: Float64Array;
  private readonly sent: Float64Array;
  private readonly fromIntended = new Trend();
  private readonly fromSent = new Trend();
  private readonly lag = new Trend();
  private arrived = 0;
  /** Messages owed: all of them, or those sent before the sending stopped. */
  private due: number;

  constructor(private readonly rate: number, durationMs: number) {
    this.n = Math.max(0, Math.round((rate * durationMs) / 1000));
    this.intended = new Float64Array(this.n);
    this.sent = new Float64Array(this.n);
    this.due = this.n;
  }

  /** Sends message i with `send(i)` at t0 + i / rate (performance.now() time); returns a function that stops the sending. */
  start(t0: number, send: (i: number) => void): () => void {
    for (let i = 0; i < this.n; i++) this.intended[i] = t0 + (i * 1000) / this.rate;
    let next = 0;
    const tick = () => {
      const now = performance.now();
      for (; next < this.n && this.intended[next]! <= now; next++) {
        this.sent[next] = performance.now();
        this.lag.record(this.sent[next]! - this.intended[next]!);
        send(next);
      }
      if (next < this.n) timer = setTimeout(tick, this.intended[next]! - performance.now());
    };
    let timer: NodeJS.Timeout | undefined;
    const wait = t0 - performance.now();
    if (wait > 0) timer = setTimeout(tick, wait);
    else tick();
    return () => {
      clearTimeout(timer);
      // What was never sent is not owed.
      this.due = next;
    };
  }

  /** Message i arrived now; true when it was the last one owed. A number not sent, or seen before, is ignored. */
  arrive(i: number, now = performance.now()): boolean {
    if (!(i >= 0 && i < this.n) || this.sent[i] === 0) return false;
    this.fromIntended.record(now - this.intended[i]!);
    this.fromSent.record(now - this.sent[i]!);
    this.sent[i] = 0;
    return ++this.arrived === this.due;
  }

  get missing(): number {
    return this.due - this.arrived;
  }

  figures(): ProbeFigures {
    const p = (t: Trend, q: number) => t.percentile(q) ?? NaN;
    return { messages: this.arrived, p50: p(this.fromIntended, 50), p99: p(this.fromIntended, 99), sentP99: p(this.fromSent, 99), lagP99: p(this.lag, 99), missing: this.missing };
  }
}
