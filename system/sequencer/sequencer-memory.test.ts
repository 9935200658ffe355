import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemorySequencer } from './sequencer-memory.ts';
import { runSequencerSuite } from './sequencer.suite.ts';

runSequencerSuite('memory', async () => {
  const sequencer = new MemorySequencer();
  return { ...virtualHarness(), sequencer, peer: async () => sequencer };
});

describe('MemorySequencer', () => {
  it('hands out no number when an armed failure hits next', async () => {
    const faults = new FaultSwitch();
    const sequencer = new MemorySequencer({ faults });
    faults.failNext('next');
    await assert.rejects(sequencer.next('c'), { code: 'unavailable' });
    assert.equal(await sequencer.next('c'), 1);
  });
});
