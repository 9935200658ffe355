import cliProgress from 'cli-progress';

interface Totals {
  connected: number;
  sent: number;
  acked: number;
  delivered: number;
  errors: number;
  p99Ms: number;
  atMs: number;
}

/**
 * Live progress: a cli-progress bar on a TTY, one plain line every 5 s
 * otherwise (CI logs), with devices connected, msgs/s, p99 so far, errors
 * and time left.
 */
export class Progress {
  private bar?: cliProgress.SingleBar;
  private last?: Totals;
  private lastLine = 0;
  private phase = 'load';

  constructor(private readonly enabled: boolean, private readonly loadEndMs: number, private readonly log: (l: string) => void) {
    if (enabled && process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          format: ' {bar} {percentage}% | {phase} | devices {connected} | {rate} msg/s | p99 {p99} ms | errors {errors} | {left} left',
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(1, Math.round(loadEndMs / 1000)), 0, this.fields(undefined));
    }
  }

  private fields(t: Totals | undefined, rate = 0) {
    const left = t ? Math.max(0, Math.round((this.loadEndMs - t.atMs) / 1000)) : Math.round(this.loadEndMs / 1000);
    return { phase: this.phase, connected: t?.connected ?? 0, rate: Math.round(rate), p99: t?.p99Ms ?? 0, errors: t?.errors ?? 0, left: `${left}s` };
  }

  update(t: Totals): void {
    if (!this.enabled) return;
    const rate = this.last ? ((t.delivered - this.last.delivered) * 1000) / Math.max(1, t.atMs - this.last.atMs) : 0;
    this.last = t;
    if (this.bar) this.bar.update(Math.min(Math.round(t.atMs / 1000), this.bar.getTotal()), this.fields(t, rate));
    else if (t.atMs - this.lastLine >= 5000) {
      this.lastLine = t.atMs;
      const f = this.fields(t, rate);
      this.log(`[${Math.round(t.atMs / 1000)}s] ${f.phase}: devices ${f.connected}, ${f.rate} deliveries/s, p99 ${f.p99} ms, sent ${t.sent}, acked ${t.acked}, errors ${f.errors}, ${f.left} left`);
    }
  }

  note(phase: string): void {
    this.phase = phase;
  }

  stop(): void {
    this.bar?.stop();
  }
}
