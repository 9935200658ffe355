import assert from 'node:assert/strict';
import type { DeviceId } from '../protocol/ids.ts';
import { type Harness, sleep, unique, waitFor } from '../testing/harness.ts';
import type { Push, PushReason, PushSubscriber } from './push.ts';

export interface PushHarness extends Harness {
  push: Push;
  /** The receiving side: registers for wake-ups of any device; returns a function that unregisters. */
  subscribe(subscriber: PushSubscriber): () => void;
}

/** Conformance suite: every Push adapter must pass it. */
export function runPushSuite(name: string, make: () => Promise<PushHarness>): void {
  describe(`Push (${name})`, () => {
    let h: PushHarness;
    const device = () => `${unique(h, 'u')}.1`;
    /** Wake-ups for the devices this test made, so a shared push service's other traffic is ignored. */
    const collect = (devices: DeviceId[]) => {
      const got: [DeviceId, PushReason][] = [];
      const off = h.subscribe((d, r) => {
        if (devices.includes(d)) got.push([d, r]);
      });
      return { got, off };
    };

    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.close();
    });

    it('wakes the device with the reason given', async () => {
      const d = device();
      const { got } = collect([d]);
      await h.push.wake(d, 'msg');
      await waitFor(() => got.length === 1, 'the wake-up');
      assert.deepEqual(got, [[d, 'msg']]);
    });

    it('delivers each wake-up at most once', async () => {
      const [a, b] = [device(), device()];
      const { got } = collect([a, b]);
      await h.push.wake(a, 'msg');
      await h.push.wake(b, 'receipt');
      await h.push.wake(a, 'group');
      await h.push.wake(b, 'call');
      await waitFor(() => got.length >= 4, 'four wake-ups');
      await sleep(20);
      assert.deepEqual(
        got.map(([d, r]) => `${d}:${r}`).sort(),
        [`${a}:msg`, `${b}:receipt`, `${a}:group`, `${b}:call`].sort(),
      );
    });

    it('stops waking a subscriber that unregistered', async () => {
      const d = device();
      const first = collect([d]);
      first.off();
      const second = collect([d]);
      await h.push.wake(d, 'msg');
      await waitFor(() => second.got.length === 1, 'the wake-up');
      assert.deepEqual(first.got, []);
    });

    it('resolves a wake-up nobody is listening for', async () => {
      await h.push.wake(device(), 'msg');
    });
  });
}
