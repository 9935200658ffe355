import { VirtualClock } from '../../system/clock/clock-virtual.ts';
import { SeededRandom } from '../../system/random/random.ts';
import { VirtualDevice, type DeviceIO, type DeviceObserver, type DeviceOptions } from './device.ts';

/** Test double for the socket: records what the device did. */
export class FakeIO implements DeviceIO {
  connects = 0;
  closes = 0;
  readonly frames: Record<string, unknown>[] = [];

  connect(): void {
    this.connects++;
  }

  send(text: string): void {
    this.frames.push(JSON.parse(text) as Record<string, unknown>);
  }

  close(): void {
    this.closes++;
  }

  /** Frames of one type, in order. */
  sent(t: string): Record<string, unknown>[] {
    return this.frames.filter((f) => f.t === t);
  }
}

export type Event = { hook: keyof DeviceObserver; args: unknown[] };

/** Records every observer call as `{hook, args}`. */
export function recorder(): { events: Event[]; observer: DeviceObserver; of(hook: keyof DeviceObserver): unknown[][] } {
  const events: Event[] = [];
  const hook = (name: keyof DeviceObserver) => (...args: unknown[]) => void events.push({ hook: name, args });
  const observer: DeviceObserver = {
    onSend: hook('onSend'),
    onAck: hook('onAck'),
    onDeliver: hook('onDeliver'),
    onReceipt: hook('onReceipt'),
    onError: hook('onError'),
    onConnected: hook('onConnected'),
    onDisconnected: hook('onDisconnected'),
  };
  return { events, observer, of: (name) => events.filter((e) => e.hook === name).map((e) => e.args) };
}

export const START_MS = Date.UTC(2026, 0, 1);

/** A device on a virtual clock, with helpers that play the server's side. */
export function harness(extra: Partial<DeviceOptions> = {}, seed = 7) {
  const clock = new VirtualClock(START_MS);
  const io = new FakeIO();
  const rec = recorder();
  let tokens = 0;
  const dev = new VirtualDevice(
    { id: 'u1.1', token: () => `tok-${++tokens}`, clock, random: new SeededRandom(seed), recvFlushMs: 5, ...extra },
    io,
    rec.observer,
  );
  const frame = (f: Record<string, unknown>) => dev.onFrame(JSON.stringify(f));
  const welcome = () => {
    dev.onOpen();
    frame({ t: 'welcome', node: 'n1', device: 'u1.1', serverMs: clock.now(), pending: 0 });
  };
  return {
    clock, io, dev, rec, frame,
    /** Opens the socket the device asked for and authenticates it. */
    welcome,
    /** start() plus welcome. */
    online() {
      dev.start();
      welcome();
    },
    msg(seq: number, mid = `m${seq}`, conv = 'd:u1:u2', extraFields: Record<string, unknown> = {}) {
      frame({ t: 'msg', mid, seq, conv, from: 'u2.1', body: 'hi', ts: clock.now(), ...extraFields });
    },
    ack(cid: string, seq: number, conv = 'd:u1:u2', mid = `a${seq}`) {
      frame({ t: 'ack', cid, mid, seq, conv, ts: clock.now() });
    },
    /** Seqs shown to the user (onDeliver without DUP_TRANSPORT), with their flags. */
    shown(): [number, number][] {
      return rec.of('onDeliver').filter((a) => ((a[5] as number) & 1) === 0).map((a) => [a[3] as number, a[5] as number]);
    },
  };
}
