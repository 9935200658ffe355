import assert from 'node:assert/strict';
import { FaultSwitch } from '../testing/faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryMessageLog } from './message-log-memory.ts';
import { runMessageLogSuite } from './message-log.suite.ts';
import type { StoredMessage } from './message-log.ts';

runMessageLogSuite('memory', async () => ({ ...virtualHarness(), log: new MemoryMessageLog() }));

const msg = (seq: number): StoredMessage => ({ conv: 'c', seq, mid: `m${seq}`, from: 'a.1', frame: 'f', ts: seq });

describe('MemoryMessageLog', () => {
  it('stores nothing when an armed append fails', async () => {
    const faults = new FaultSwitch();
    const log = new MemoryMessageLog({ faults });
    faults.failNext('append');
    await assert.rejects(log.append(msg(1)), { code: 'unavailable' });
    assert.deepEqual(await log.page('c', 0, 10), []);
  });

  it('appends and pages a long history quickly', async function () {
    this.timeout(2500); // a page linear in the history length would take several seconds here
    const log = new MemoryMessageLog();
    const n = 200_000;
    for (let s = 1; s <= n; s++) await log.append(msg(s));
    for (let i = 0; i < 20_000; i++) {
      const after = (i * 17) % n;
      const page = await log.page('c', after, 50);
      assert.equal(page[0]!.seq, after + 1);
    }
  });
});
