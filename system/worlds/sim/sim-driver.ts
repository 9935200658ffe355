import type { Clock } from '../../clock/clock.ts';
import type { DriverModel } from './calibration.ts';
import type { SimClock } from './sim-clock.ts';
import { ServiceQueue, type Reader } from './sim-service.ts';

/**
 * One load-driver worker's event loop, as the sim models it (see
 * Calibration.driver): a single server every frame its devices read or
 * write waits for, `frameMs` of CPU each and `wakeMs` more for each turn
 * of the loop (a frame that finds it idle pays one alone; a frame that
 * arrives while a turn runs waits for the next, which the frames arriving
 * before it begins share), with a
 * collector pause of `gcPauseMs` charged to every `gcEveryFrames`th frame.
 * Live, a delivery is stamped and a send leaves when the worker's loop gets
 * to it; here too.
 */
export class DriverLoop {
  private readonly queue: ServiceQueue;
  private sinceGc = 0;
  /** Frames handled and pauses since the loop was made. */
  frames = 0;
  pauses = 0;

  /**
   * `device`: CPU the devices spent that the model charges elsewhere (the
   * sim's modeled crypto: one counter for all devices, ms, never falling),
   * how much of it the loops took already, and, while a loop runs a frame's
   * handler (`read`), where the counter stood when it began. A device
   * encrypts just before it writes, so a send carries its own encryption
   * (`admit` takes what was spent since the last one); what a handler
   * spends (a delivery's decryption) is its own loop's, and the device's
   * clock (`DeviceCpu.clock`) moves with it, as live's does while it works.
   * The total is kept, its loop only nearly.
   */
  constructor(readonly clock: SimClock, private readonly model: DriverModel, private readonly device?: DeviceCpu) {
    // A worker is a Node event loop, as a node is: a turn takes what arrived before it began, and what arrives while
    // it runs waits for the next one, which pays the wake-up again (ServiceQueue's `turn`).
    this.queue = new ServiceQueue('driver', 1, model.wakeMs ?? 0, [], 'turn', model.readMs ?? 0);
  }

  /** A frame to read (from `reader`'s socket) or write at the clock's now: the time the loop is done with it. */
  admit(reader?: Reader): number {
    let cost = this.model.frameMs;
    if (this.device) {
      const spent = this.device.spentMs();
      cost += spent - this.device.taken;
      this.device.taken = spent;
    }
    if (++this.sinceGc >= this.model.gcEveryFrames) {
      this.sinceGc -= this.model.gcEveryFrames;
      cost += this.model.gcPauseMs;
      this.pauses++;
    }
    this.frames++;
    return this.queue.admit(this.clock.now(), cost, reader);
  }

  /**
   * Runs the handler of a frame the loop got to (at the clock's now). What
   * the device spends in it (its decryption) holds this loop that much
   * longer, and the device's clock reads that much later meanwhile: live, a
   * delivery is stamped after its own decryption. A function of two
   * arguments: no closure per frame on the sim's hottest path.
   */
  read<A, B>(handler: (a: A, b: B) => void, a: A, b: B): void {
    const device = this.device;
    if (!device) return handler(a, b);
    const start = device.spentMs();
    device.runningSince = start;
    try {
      handler(a, b);
    } finally {
      device.runningSince = undefined;
    }
    const spent = device.spentMs() - start;
    if (spent <= 0) return;
    device.taken += spent;
    this.queue.extend(this.clock.now(), spent);
  }

  /** CPU the loop spent since it was made (ms: frames, wake-ups, pauses, modeled crypto). */
  get busyMs(): number {
    return this.queue.totalBusyMs;
  }
}

/** The devices' modeled CPU, shared by the driver loops (see DriverLoop's constructor). */
export class DeviceCpu {
  taken = 0;
  /** Set while a loop runs a frame's handler: the counter when it began. */
  runningSince: number | undefined;

  constructor(readonly spentMs: () => number) {}

  /**
   * The clock a device reads: the sim's, later by what its handler has
   * spent so far; its timers are the worker's (`timers`: nodeTimers, as a
   * live device's are Node's, in whole ms of its loop's time).
   */
  clock(clock: SimClock, timers: Pick<Clock, 'setTimeout'> = clock): Clock {
    return {
      now: () => clock.now() + (this.runningSince === undefined ? 0 : this.spentMs() - this.runningSince),
      setTimeout: (fn, ms) => timers.setTimeout(fn, ms),
      setInterval: (fn, ms) => clock.setInterval(fn, ms),
      clear: (h) => clock.clear(h),
    };
  }
}

/**
 * A live driver worker's timers, in virtual time. Node keeps its loop's
 * time in whole ms and a timer of `ms` (at least 1) armed at loop time L
 * runs once that time has reached L + ms: a timer due 0.3 ms ahead runs 1
 * to 2 ms later, and arrivals a ms apart fire together at the next whole
 * ms. Live, an open-model arrival waits for such a timer (Load's wall-time
 * path), and the report shows what that cost as the send lag; with the
 * driver modeled, the sim's arrivals wait the same way. The loop's whole
 * ms fall `phaseMs` (0 to 1) after the sim's: live, where a run's intended
 * times fall between the loop's ticks is anyone's guess.
 */
export function nodeTimers(clock: SimClock, phaseMs = 0): Pick<SimClock, 'setTimeout' | 'setInterval' | 'clear'> {
  const delay = (ms: number) => {
    const now = clock.now();
    return Math.ceil(Math.floor(now - phaseMs) + Math.max(1, ms)) + phaseMs - now;
  };
  return {
    setTimeout: (fn, ms) => clock.setTimeout(fn, delay(ms)),
    setInterval: (fn, ms) => clock.setInterval(fn, ms),
    clear: (h) => clock.clear(h),
  };
}
