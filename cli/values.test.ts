import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { cpuList, duration, int, positive } from './values.ts';

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
});
