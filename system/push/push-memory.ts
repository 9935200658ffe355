import type { DeviceId } from '../protocol/ids.ts';
import type { FaultSwitch } from '../faults/port-faults.ts';
import type { Push, PushReason, PushSubscriber } from './push.ts';

export interface MemoryPushOptions {
  /** Test hook: `failNext('wake')` rejects a wake; `dropNext('wake')` loses one silently. */
  faults?: FaultSwitch;
}

/**
 * Push in one process: wake-ups go to the subscribers registered with
 * `onWake` (the driver's virtual devices, or a test). Delivered in a
 * microtask, never inside `wake`, so a device that connects on its wake-up
 * does not re-enter the node that is still sending.
 */
export class MemoryPush implements Push {
  private readonly faults?: FaultSwitch;
  private readonly subscribers = new Set<PushSubscriber>();
  private readonly perDevice = new Map<DeviceId, number>();
  /** wakes: accepted wake-ups (lost ones included); dropped: lost on the way by an armed drop. */
  readonly stats = { wakes: 0, dropped: 0 };

  constructor(options: MemoryPushOptions = {}) {
    this.faults = options.faults;
  }

  /** Wake-ups accepted for one device. */
  wakesOf(device: DeviceId): number {
    return this.perDevice.get(device) ?? 0;
  }

  /** Registers a subscriber for every device's wake-ups; returns a function that unregisters it. */
  onWake(subscriber: PushSubscriber): () => void {
    // A wrapper, so the same function registered twice is two subscriptions.
    const entry: PushSubscriber = (device, reason) => subscriber(device, reason);
    this.subscribers.add(entry);
    return () => {
      this.subscribers.delete(entry);
    };
  }

  async wake(device: DeviceId, reason: PushReason): Promise<void> {
    this.faults?.check('wake');
    this.stats.wakes++;
    this.perDevice.set(device, (this.perDevice.get(device) ?? 0) + 1);
    if (this.faults?.shouldDrop('wake')) {
      this.stats.dropped++;
      return;
    }
    const to = [...this.subscribers];
    queueMicrotask(() => {
      for (const sub of to) if (this.subscribers.has(sub)) sub(device, reason);
    });
  }
}
