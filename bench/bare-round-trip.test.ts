import assert from 'node:assert/strict';
import { startBareRoundTrip } from './servers/bare-round-trip.ts';

describe("bench:driver's bare round trip (the machine's own floor)", function () {
  this.timeout(60_000);

  it('echoes every scheduled message over one socket and returns its latencies from the intended and the actual send', async () => {
    const m = await startBareRoundTrip(400, 1000, undefined, undefined);
    assert.equal(m.messages, 400);
    // Never sent before its time; each figure a real, ordered measurement (no bound on how fast: that is the bench's).
    assert.ok(m.lagP99 >= 0, `lag p99 ${m.lagP99}`);
    assert.ok(m.p50 > 0 && m.p99 >= m.p50, `p50 ${m.p50}, p99 ${m.p99}`);
    assert.ok(m.sentP99 > 0 && m.sentP99 <= m.p99, `from actual send p99 ${m.sentP99}, from intended ${m.p99}`);
  });
});
