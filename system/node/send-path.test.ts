import assert from 'node:assert/strict';
import { retainedPerString } from '../testing/retained.ts';
import { coreCluster } from '../testing/node-harness.ts';
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

describe('SendPath after a node crash', () => {
  it('acks a retry on another node within the liveness TTL of the node that died between claim and complete', async () => {
    const c = await coreCluster(2, { heartbeatIntervalMs: 1000 });
    const [n1, n2] = c.nodes;
    await c.connect('u2.1', 1);
    const a1 = await c.connect('u1.1', 0);
    // n1's log append never answers: the send is claimed, then the node dies before it completes.
    const append = c.ports.log.append;
    c.ports.log.append = () => new Promise(() => {});
    await c.frame(a1, { t: 'send', cid: 'c1', to: 'u2', body: 'hi' }, 0);
    c.ports.log.append = append;
    n1!.node.kill();
    const diedMs = c.clock.now();
    const a2 = await c.connect('u1.1', 1);
    // The device retries every retryAfterMs, as the driver's devices do on in_progress.
    let ackedMs: number | undefined;
    for (let i = 0; i < 60 && ackedMs === undefined; i++) {
      await c.frame(a2, { t: 'send', cid: 'c1', to: 'u2', body: 'hi' }, 1);
      if (n2!.transport.take(a2, 'ack').length > 0) ackedMs = c.clock.now();
      else {
        assert.equal(n2!.transport.take(a2, 'error').at(-1)?.code, 'in_progress');
        c.clock.advance(250);
        await c.settle();
      }
    }
    assert.ok(ackedMs !== undefined, 'the retry was acked');
    const boundMs = 3 * 1000 + 250;
    assert.ok(ackedMs - diedMs <= boundMs, `acked ${ackedMs - diedMs} ms after the crash, bound ${boundMs} ms`);
  });

  it('keeps the claim of a live node whose store is slower than the liveness TTL', async () => {
    const c = await coreCluster(2, { heartbeatIntervalMs: 1000 });
    const [, n2] = c.nodes;
    await c.connect('u2.1', 1);
    const a1 = await c.connect('u1.1', 0);
    let finish!: () => void;
    const append = c.ports.log.append.bind(c.ports.log);
    c.ports.log.append = (m) => new Promise<void>((resolve) => (finish = () => void append(m).then(resolve)));
    await c.frame(a1, { t: 'send', cid: 'c1', to: 'u2', body: 'hi' }, 0);
    const a2 = await c.connect('u1.1', 1);
    for (let i = 0; i < 10; i++) {
      c.clock.advance(1000);
      await c.settle();
    }
    await c.frame(a2, { t: 'send', cid: 'c1', to: 'u2', body: 'hi' }, 1);
    assert.equal(n2!.transport.take(a2, 'error').at(-1)?.code, 'in_progress', 'still held 10 s later: the live node renews it');
    finish();
    await c.settle();
    await c.frame(a2, { t: 'send', cid: 'c1', to: 'u2', body: 'hi' }, 1);
    assert.equal(n2!.transport.take(a2, 'ack').at(-1)?.dup, true, 'the retry gets the first attempt\'s ack: stored once');
  });
});
