import assert from 'node:assert/strict';
import { broken, runFuzz, summary } from './fuzz/run.ts';

describe('Fuzzing a live embedded cluster', function () {
  this.timeout(180_000);

  it('ends no process, answers every one of 50,000 fuzzed frames as documented, and loses no bystander message', async () => {
    const r = await runFuzz({ frames: 50_000, lanes: 16, maxSeconds: 150, seed: 23, log: () => {} });
    const report = summary(r).join('\n');
    assert.deepEqual(broken(r), [], report);
    assert.equal(r.frames, 50_000, report);
    assert.ok(r.bystander.acked > 0, `the bystanders exchanged no message:\n${report}`);
  });
});
