import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryMessageLog } from './message-log-memory.ts';
import { runMessageLogSuite } from './message-log.suite.ts';

runMessageLogSuite('memory', async () => ({ ...virtualHarness(), log: new MemoryMessageLog() }));

describe('MemoryMessageLog', () => {
  it('fails an armed append or page and works again after it', async () => {
    const faults = new FaultSwitch();
    const log = new MemoryMessageLog({ faults });
    const m = { conv: 'c', seq: 1, mid: 'm1', from: 'a.1', frame: 'f', ts: 1 };
    faults.failNext('append');
    await assert.rejects(log.append(m), { code: 'unavailable' });
    await log.append(m);
    faults.failNext('page');
    await assert.rejects(log.page('c', 0, 10), { code: 'unavailable' });
    assert.deepEqual(await log.page('c', 0, 10), [m]);
  });
});
