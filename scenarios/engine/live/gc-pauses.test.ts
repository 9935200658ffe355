import assert from 'node:assert/strict';
import { GcPauseMeter } from './gc-pauses.ts';

describe('GcPauseMeter (a driver worker\'s collector pauses)', () => {
  it('counts the collections between start and stop, with their total and longest pause', async () => {
    const meter = new GcPauseMeter();
    meter.start();
    // Short-lived garbage well past the young generation's size: scavenges, each a pause. The objects escape into an
    // array that lives a while, so the compiler cannot leave them unallocated.
    let batch: { i: number; s: string }[] = [];
    let keep = 0;
    for (let i = 0; i < 2_000_000; i++) {
      batch.push({ i, s: `n${i}` });
      if (batch.length === 1000) {
        keep += batch.length;
        batch = [];
      }
    }
    // perf_hooks hands the entries over on a later turn of the loop.
    await new Promise((r) => setTimeout(r, 50));
    const gc = meter.stop();
    assert.ok(keep > 0);
    assert.ok(gc.count > 0, 'collections seen');
    assert.ok(gc.totalMs > 0 && gc.maxMs > 0 && gc.maxMs <= gc.totalMs, JSON.stringify(gc));
  });

  it('adds pauses it is told of, and reads zero when nothing ran', () => {
    const meter = new GcPauseMeter();
    meter.add(2);
    meter.add(5);
    assert.deepEqual(meter.stop(), { count: 2, totalMs: 7, maxMs: 5 });
    assert.deepEqual(new GcPauseMeter().stop(), { count: 0, totalMs: 0, maxMs: 0 });
  });
});
