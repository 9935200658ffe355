import assert from 'node:assert/strict';
import { FaultSwitch } from '../faults/port-faults.ts';
import { virtualHarness } from '../testing/harness.ts';
import { MemoryGroups } from './groups-memory.ts';
import type { GroupInfo } from './groups.ts';
import { bit, runGroupsSuite } from './groups.suite.ts';

runGroupsSuite('memory', async () => ({ ...virtualHarness(), groups: new MemoryGroups() }));

const info: GroupInfo = { id: 'g1', name: 'g', owner: 'a', createdMs: 0, fanout: 'write' };

describe('MemoryGroups', () => {
  it('refuses to change the members of a group that does not exist', async () => {
    const groups = new MemoryGroups();
    await assert.rejects(groups.add('nope', ['a']), { code: 'not_found' });
    await assert.rejects(groups.remove('nope', ['a']), { code: 'not_found' });
  });

  it('gives a member who rejoins a new bit at the end', async () => {
    const groups = new MemoryGroups();
    await groups.create(info, ['a', 'b']);
    await groups.remove('g1', ['a']);
    await groups.add('g1', ['a']);
    assert.deepEqual(await groups.members('g1'), ['b', 'a']);
    await groups.markReceipt('g1', 1, 'a', 'read');
    const r = await groups.receipts('g1', 1);
    assert.equal(bit(r.readBitmap, 0), false);
    assert.equal(bit(r.readBitmap, 2), true);
  });

  it('forgets the receipts of the oldest messages beyond its limit', async () => {
    const groups = new MemoryGroups({ receiptsPerGroupMax: 3 });
    await groups.create(info, ['a']);
    for (let seq = 1; seq <= 5; seq++) await groups.markReceipt('g1', seq, 'a', 'delivered');
    assert.equal((await groups.receipts('g1', 2)).delivered, 0);
    assert.equal((await groups.receipts('g1', 3)).delivered, 1);
    assert.equal((await groups.receipts('g1', 5)).delivered, 1);
  });

  it('returns copies, so a caller cannot change stored receipts or info', async () => {
    const groups = new MemoryGroups();
    await groups.create(info, ['a']);
    await groups.markReceipt('g1', 1, 'a', 'read');
    (await groups.receipts('g1', 1)).readBitmap[0] = 0;
    (await groups.get('g1'))!.name = 'changed';
    assert.equal(bit((await groups.receipts('g1', 1)).readBitmap, 0), true);
    assert.equal((await groups.get('g1'))!.name, 'g');
  });

  it('records nothing when an armed markReceipt fails', async () => {
    const faults = new FaultSwitch();
    const groups = new MemoryGroups({ faults });
    await groups.create(info, ['a']);
    faults.failNext('markReceipt');
    await assert.rejects(groups.markReceipt('g1', 1, 'a', 'read'), { code: 'unavailable' });
    assert.equal((await groups.receipts('g1', 1)).read, 0);
  });
});
