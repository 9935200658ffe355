import assert from 'node:assert/strict';
import { ProbeSchedule } from '../scenarios/engine/live/probe-schedule.ts';

describe("bench's probe schedule (the bare round trip's and the witness's)", () => {
  it('sends each message once at its time, in order, and counts each arrival once', async () => {
    const probe = new ProbeSchedule(200, 100);
    assert.equal(probe.n, 20);
    const at: number[] = [];
    const t0 = performance.now() + 20;
    const all = new Promise<void>((resolve) => {
      probe.start(t0, (i) => {
        at[i] = performance.now();
        assert.equal(probe.arrive(i + 1000), false, 'a number past the schedule is ignored');
        if (probe.arrive(i)) resolve();
        assert.equal(probe.arrive(i), false, 'a second arrival of one message is ignored');
      });
    });
    await all;
    assert.equal(at.length, 20);
    at.forEach((t, i) => assert.ok(t >= t0 + i * 5 - 0.001, `message ${i} sent ${(t - t0).toFixed(3)} ms after t0, due at ${i * 5}`));
    assert.equal(probe.missing, 0);
    const f = probe.figures();
    assert.equal(f.messages, 20);
    assert.ok(f.lagP99 >= 0 && f.p99 >= f.p50 && f.sentP99 <= f.p99 + 0.01, JSON.stringify(f));
  });

  it('says how many never arrived', () => {
    const probe = new ProbeSchedule(10, 1000);
    assert.equal(probe.missing, 10);
    assert.equal(probe.arrive(3), false, 'not sent yet: ignored');
    assert.equal(probe.missing, 10);
  });
});
