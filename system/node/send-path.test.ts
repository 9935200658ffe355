import assert from 'node:assert/strict';
import { retainedPerString } from '../testing/retained.ts';
import { dedupKey, duplicateAck, keptAck } from './send-path.ts';

describe('SendPath dedup values', () => {
  it('a kept ack answers a resend with the original ack\'s fields in order, plus dup', () => {
    const kept = keptAck('7293847561234567890', 42, 1_700_000_000_123.4, 'd:s1-u1 with space|s1-u2');
    assert.equal(
      duplicateAck('c-9', kept),
      '{"t":"ack","cid":"c-9","mid":"7293847561234567890","seq":42,"conv":"d:s1-u1 with space|s1-u2","ts":1700000000123.4,"dup":true}',
    );
  });

  it('is about half the bytes of the ack it stands for', () => {
    const kept = keptAck('7293847561234567890', 42, 1_700_000_000_123, 'd:s1-u100|s1-u200');
    const ack = JSON.stringify({ t: 'ack', cid: 'c-1234567', mid: '7293847561234567890', seq: 42, conv: 'd:s1-u100|s1-u200', ts: 1_700_000_000_123 });
    assert.ok(kept.length * 1.8 < ack.length, `${kept.length} vs ${ack.length}`);
  });

  it('refuses a value that is not a kept ack, naming the cid', () => {
    for (const bad of ['', 'x', '{"t":"ack"}', '1 2', 'm x 3 conv', 'm 1 y conv']) assert.throws(() => duplicateAck('c-1', bad), /no ack for cid c-1/);
  });
});

describe('SendPath dedup memory', () => {
  it('a kept ack is one flat string, no larger than its characters', function () {
    this.timeout(30_000);
    const { ours, flat } = retainedPerString('../node/send-path.ts', "m.keptAck('018f3a2b4c5d60' + (1000 + (i % 9000)), i % 50, 1700000000123.4 + i, 'd:s1-u' + i + ':s1-u' + (i + 7))");
    assert.ok(ours <= flat + 8, `${ours.toFixed(1)} B per kept ack against ${flat.toFixed(1)} B flat`);
  });

  it('a dedup key is one flat string too', function () {
    this.timeout(30_000);
    assert.equal(dedupKey('s1-u12.1', 'c-9'), 's1-u12.1|c-9');
    const { ours, flat } = retainedPerString('../node/send-path.ts', "m.dedupKey('s1-u' + i + '.1', 'c-' + (i % 1000))");
    assert.ok(ours <= flat + 8, `${ours.toFixed(1)} B per kept key against ${flat.toFixed(1)} B flat`);
  });
});
