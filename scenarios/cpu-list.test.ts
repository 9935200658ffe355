import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { cpuCount } from './cpu-list.ts';
import { defaultWorkers } from './engine/config.ts';

describe('cpu lists', () => {
  it('counts the CPUs a taskset list names', () => {
    assert.equal(cpuCount('1'), 1);
    assert.equal(cpuCount('1-3'), 3);
    assert.equal(cpuCount('0,2-3'), 3);
    assert.equal(cpuCount('0,2,4-7'), 6);
  });

  it('gives a pinned driver one worker a CPU, an unpinned one two, and more when the sockets need them', () => {
    assert.equal(defaultWorkers(1000, '1'), 1);
    assert.equal(defaultWorkers(1000, '1-3'), 3);
    assert.equal(defaultWorkers(1000), 2);
    assert.equal(defaultWorkers(40_000, '1'), 3);
    assert.equal(defaultWorkers(40_000), 3);
  });
});
