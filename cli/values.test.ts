import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { collectOpt } from './chaos.ts';
import { cpuList, duration, int, list, positive } from './values.ts';

/** The message an option parser refuses `text` with. */
function refusal(parse: (text: string) => unknown, text: string): string {
  try {
    parse(text);
  } catch (e) {
    assert.ok(e instanceof InvalidArgumentError, 'commander prints it as one line and the hint');
    return e.message;
  }
  return assert.fail(`took ${text}`);
}

describe('command-line values', () => {
  it('reads integers within their bounds and refuses others, naming the option', () => {
    assert.equal(int('--nodes', 1, 64)('3'), 3);
    assert.equal(int('--seed', 0, 2 ** 31)('1e3'), 1000);
    assert.equal(refusal(int('--nodes', 1, 64), '65'), '--nodes: expected an integer in [1, 64], got "65"');
    assert.equal(refusal(int('--nodes', 1, 64), '2.5'), '--nodes: expected an integer in [1, 64], got "2.5"');
    assert.equal(refusal(int('--nodes', 1, 64), 'three'), '--nodes: expected an integer in [1, 64], got "three"');
  });

  it('reads positive numbers and refuses zero, negatives, infinity and words', () => {
    assert.equal(positive('--rate')('400'), 400);
    assert.equal(positive('--rate')('0.5'), 0.5);
    for (const bad of ['0', '-5', 'Infinity', 'fast']) assert.equal(refusal(positive('--rate'), bad), `--rate: expected a positive number, got ${JSON.stringify(bad)}`);
  });

  it('keeps durations as written and refuses what the duration parser refuses', () => {
    assert.equal(duration('--duration')('1m30s'), '1m30s');
    assert.equal(refusal(duration('--grace'), '30'), '--grace: expected a duration like 500ms, 30s, 2m or 1h30m, got "30"');
  });

  it('reads taskset CPU lists', () => {
    assert.equal(cpuList('--driver-cpus')('0,2-3'), '0,2-3');
    assert.equal(refusal(cpuList('--driver-cpus'), '1..3'), '--driver-cpus: expected a CPU list like 0, 1-3 or 0,2, got "1..3"');
  });

  it('reads comma-separated lists, each item through its parser and ranges spelled out', () => {
    assert.deepEqual(list('--faults')(' own, node-kill ,,'), ['own', 'node-kill']);
    assert.deepEqual(list('--faults')('1-3'), ['1-3'], 'a list of names has no ranges');
    assert.deepEqual(list('--seeds', int('--seeds', 0, 99))('1,5-7,9'), [1, 5, 6, 7, 9]);
    assert.equal(refusal(list('--faults'), ' , '), '--faults: expected at least one value, comma-separated, got " , "');
    assert.equal(refusal(list('--seeds', int('--seeds', 0, 99)), '9-1'), '--seeds: expected a range low-high of at most 10,000, got "9-1"');
    assert.equal(refusal(list('--seeds', int('--seeds', 0, 99)), '0-10001'), '--seeds: expected a range low-high of at most 10,000, got "0-10001"');
    assert.equal(refusal(list('--seeds', int('--seeds', 0, 99)), '1,x'), '--seeds: expected an integer in [0, 99], got "x"');
  });

  it('types fault options given as key=value, and refuses malformed, reserved and repeated keys', () => {
    const opts = ['ms=200', 'rate=-0.5', 'flag=true', 'off=false', 'name=node-2', 'empty=', 'big=1e3'].reduce<Record<string, unknown>>((o, t) => collectOpt(t, o), {});
    assert.deepEqual(opts, { ms: 200, rate: -0.5, flag: true, off: false, name: 'node-2', empty: '', big: '1e3' });
    assert.equal(refusal(collectOpt, 'ms'), '--opt: expected key=value (e.g. --opt ms=200), got "ms"');
    assert.equal(refusal(collectOpt, 'target=node-2'), '--opt: expected a fault option; target is given as --target, got "target=node-2"');
    assert.equal(refusal(collectOpt, 'at=5s'), '--opt: expected a fault option; at is given as --at (a fault is applied now), got "at=5s"');
    assert.equal(refusal((t) => collectOpt(t, { ms: 1 }), 'ms=2'), '--opt: expected each key once, got ms again');
    assert.deepEqual(collectOpt('constructor=1'), { constructor: 1 });
  });
});
