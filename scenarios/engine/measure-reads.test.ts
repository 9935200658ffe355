import assert from 'node:assert/strict';
import { measureReadCost } from './measure-reads.ts';

describe("What a socket read costs a loop here (measureReadCost, the sim's readMs)", function () {
  this.timeout(120_000);

  it('sends the same frames one to a read and ten to a read, counts the reads, and prices a read from the difference, server and client', async () => {
    const r = await measureReadCost({ rounds: 1, bursts: 150 });
    for (const side of ['server', 'client'] as const) {
      const d = r.detail[side];
      assert.ok(d.spread.framesPerRead < 1.5, `${side}: spread reads one frame each: ${JSON.stringify(d)}`);
      assert.ok(d.bunched.framesPerRead > 5, `${side}: bunched reads several: ${JSON.stringify(d)}`);
      assert.ok(d.spread.usPerFrame > d.bunched.usPerFrame, `${side}: a frame costs more when it comes alone: ${JSON.stringify(d)}`);
    }
    // Microseconds, not nothing and not a frame's whole handling.
    for (const ms of [r.serverMs, r.clientMs]) assert.ok(ms > 0.0005 && ms < 0.1, JSON.stringify(r));
  });
});
