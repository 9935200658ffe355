import assert from 'node:assert/strict';
import { isDuration, parseDuration, parseShare } from './duration.ts';

describe('parseDuration', () => {
  it('reads k6 durations: units, sums of units, decimals, surrounding spaces and a number of ms', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1m30s250ms'), 90_250);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration(' 3s '), 3000);
    assert.equal(parseDuration(250), 250);
  });

  it('refuses anything else, naming what it was for and the value', () => {
    for (const bad of ['', '30', '30 s', '-1s', '1d', 'soon', '1.s']) {
      assert.throws(() => parseDuration(bad, 'timeline at'), new RangeError(`timeline at: expected a duration like 500ms, 30s, 2m or 1h30m, got ${JSON.stringify(bad)}`));
      assert.equal(isDuration(bad), false, bad);
    }
    assert.throws(() => parseDuration(-1), /duration: expected a duration .*, got -1/);
    assert.throws(() => parseDuration(Number.NaN), /got NaN/);
  });

  it('reads a share of the load apart from durations', () => {
    assert.equal(parseShare('30%'), 0.3);
    assert.equal(parseShare('12.5%'), 0.125);
    assert.equal(parseShare('30s'), undefined);
    assert.equal(parseShare('-5%'), undefined);
  });
});
