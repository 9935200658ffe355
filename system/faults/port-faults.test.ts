import assert from 'node:assert/strict';
import { FaultSwitch } from './port-faults.ts';

describe('FaultSwitch', () => {
  it('fails the armed number of calls of one operation, then passes', () => {
    const f = new FaultSwitch();
    f.failNext('put', 2);
    assert.throws(() => f.check('put'), { name: 'PortError', code: 'unavailable', definite: false });
    assert.throws(() => f.check('put'));
    f.check('put');
    f.check('page');
  });

  it('throws the error it was given', () => {
    const f = new FaultSwitch();
    f.failNext('claim', 1, new RangeError('boom'));
    assert.throws(() => f.check('claim'), RangeError);
  });

  it('drops the armed number of units, then keeps them', () => {
    const f = new FaultSwitch();
    f.dropNext('put', 2);
    assert.deepEqual([f.shouldDrop('put'), f.shouldDrop('get'), f.shouldDrop('put'), f.shouldDrop('put')], [true, false, true, false]);
  });

  it('keeps failing until cleared when armed with Infinity', () => {
    const f = new FaultSwitch();
    f.failNext('publish', Infinity);
    for (let i = 0; i < 5; i++) assert.throws(() => f.check('publish'));
    f.clear('publish');
    f.check('publish');
  });

  it('disarms every operation on clear()', () => {
    const f = new FaultSwitch();
    f.failNext('a');
    f.dropNext('b');
    f.clear();
    f.check('a');
    assert.equal(f.shouldDrop('b'), false);
  });
});
