import type { DeviceId } from '../protocol/ids.ts';
import type { Push, PushReason } from './push.ts';

export interface HttpPushOptions {
  /** Base URL of the push service, e.g. http://127.0.0.1:7100 */
  url: string;
  /** Wake-ups are batched for this long before one POST. Default 5 ms. */
  batchMs?: number;
  /** Wake-ups waiting at most; beyond it new ones are dropped (push is at most once). Default 10,000. */
  queueMax?: number;
}

/**
 * The Push port over HTTP: wake-ups are batched and POSTed to the push
 * service's `/wake`. At most once, best effort: a failed POST loses its batch,
 * which costs latency only (the inbox holds the messages).
 */
export class HttpPush implements Push {
  private queue: { device: DeviceId; reason: PushReason }[] = [];
  private timer?: NodeJS.Timeout;
  readonly stats = { wakes: 0, dropped: 0, failedPosts: 0 };
  private readonly batchMs: number;
  private readonly queueMax: number;

  constructor(private readonly opts: HttpPushOptions) {
    this.batchMs = opts.batchMs ?? 5;
    this.queueMax = opts.queueMax ?? 10_000;
  }

  async wake(device: DeviceId, reason: PushReason): Promise<void> {
    if (this.queue.length >= this.queueMax) {
      this.stats.dropped++;
      return;
    }
    this.stats.wakes++;
    this.queue.push({ device, reason });
    this.timer ??= setTimeout(() => void this.flush(), this.batchMs);
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    try {
      const res = await fetch(`${this.opts.url}/wake`, { method: 'POST', body: JSON.stringify(batch), headers: { 'content-type': 'application/json' } });
      if (!res.ok) this.stats.failedPosts++;
    } catch {
      this.stats.failedPosts++;
    }
  }
}
