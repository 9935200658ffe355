import assert from 'node:assert/strict';
import { Population } from '../../population.ts';
import { steadyChat } from '../../builtin/steady-chat.ts';
import { defaultStartAt, parseShard, parseStartAt, shardFromEnv, shardTag } from './shard.ts';

describe('shard spec', () => {
  it('parses i/n (0-based) and names a bad one', () => {
    assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
    assert.throws(() => parseShard('3/3'), /i must be below n/);
    assert.throws(() => parseShard('1-3'), /expected i\/n/);
  });

  it('reads a Kubernetes Indexed Job\'s index and CHATLAB_SHARDS, both or neither', () => {
    assert.deepEqual(shardFromEnv({ JOB_COMPLETION_INDEX: '4', CHATLAB_SHARDS: '10' }), { index: 4, count: 10 });
    assert.equal(shardFromEnv({}), undefined);
    assert.throws(() => shardFromEnv({ JOB_COMPLETION_INDEX: '4' }), /both/);
  });

  it('agrees on a start and a tag from the seed and the start', () => {
    assert.equal(defaultStartAt(1_700_000_001_000), 1_700_000_010_000);
    assert.equal(defaultStartAt(1_700_000_004_999), 1_700_000_010_000);
    assert.equal(parseStartAt('1700000010000'), 1_700_000_010_000);
    assert.throws(() => parseStartAt('soon'), /epoch milliseconds/);
    assert.equal(shardTag(7, 1_700_000_010_000), shardTag(7, 1_700_000_010_000));
    assert.notEqual(shardTag(7, 1_700_000_010_000), shardTag(7, 1_700_000_020_000));
  });

  it('splits the devices by user: disjoint, complete, a user\'s devices in one shard', () => {
    const p = new Population({ ...steadyChat, population: { devices: 101, devicesPerUser: 3 } }, 1, 't');
    const all: number[] = [];
    for (let s = 0; s < 4; s++) {
      for (let w = 0; w < 2; w++) {
        const devs = p.shardSlice(s, 4, w, 2);
        for (const d of devs) assert.equal(p.userOf(d) % 4, s);
        all.push(...devs);
      }
    }
    assert.deepEqual(all.sort((a, b) => a - b), Array.from({ length: 101 }, (_, d) => d));
  });
});
