import assert from 'node:assert/strict';
import { EmbeddedChild } from './servers/embedded-child.ts';
import { startProtocolRelay } from './servers/protocol-relay-child.ts';
import { startWitness, type Witness, type WitnessPriority } from '../scenarios/engine/live/witness.ts';

/** A witness at `rate` through a fresh protocol relay, stopped (and the relay with it) after `fn`. */
async function throughRelay(rate: number, priority: WitnessPriority, fn: (w: Witness) => Promise<void>): Promise<void> {
  const relay = await startProtocolRelay();
  try {
    const witness = await startWitness(relay.urls[0]!, relay.secret, rate, undefined, priority);
    try {
      await fn(witness);
    } finally {
      witness.stop();
    }
  } finally {
    await relay.stop();
  }
}

describe("bench:driver's witness (a few devices beside the load, through the same target)", function () {
  this.timeout(60_000);

  it('signs in through the protocol, gets every scheduled message to its receiving device, and returns its latencies', () =>
    throughRelay(300, 'nice', async (witness) => {
      // Root may raise it; anyone else runs it as the driver runs.
      assert.ok(['nice', 'normal'].includes(witness.priority), witness.priority);
      const m = await witness.run(1000);
      assert.equal(m.messages, 300);
      assert.ok(m.lagP99 >= 0, `lag p99 ${m.lagP99}`);
      assert.ok(m.p50 > 0 && m.p99 >= m.p50, `p50 ${m.p50}, p99 ${m.p99}`);
      assert.ok(m.sentP99 > 0 && m.sentP99 <= m.p99, `from actual send p99 ${m.sentP99}, from intended ${m.p99}`);
    }));

  it('stops when finished early and returns what it saw: no more sends, and a sent message not yet in counts missing', () =>
    throughRelay(100, 'normal', async (witness) => {
      const running = witness.run(3000);
      await new Promise((r) => setTimeout(r, 500));
      const f = await witness.finish();
      assert.ok(f.messages >= 20 && f.messages <= 80, `arrived ${f.messages} of the ~50 due by then`);
      assert.ok(f.missing <= 3, `missing ${f.missing}`);
      assert.deepEqual(await running, f, 'the run resolves with the same figures');
      await new Promise((r) => setTimeout(r, 300));
      const again = await witness.finish();
      assert.equal(again.messages + again.missing, f.messages + f.missing, 'nothing was sent after finish');
    }));

  it('goes through a real node as any client does (one sender per 20 msgs/s, each msg received): every message arrives', async () => {
    const cluster = await EmbeddedChild.start({ nodes: 2 });
    try {
      const witness = await startWitness(cluster.urls[1]!, cluster.secret, 120, undefined, 'normal');
      try {
        const m = await witness.run(1000);
        assert.equal(m.messages, 120);
        assert.ok(m.p99 >= m.p50 && m.p50 > 0, `p50 ${m.p50}, p99 ${m.p99}`);
      } finally {
        witness.stop();
      }
    } finally {
      await cluster.stop();
    }
  });

  it('fails, naming the reason, when its devices cannot sign in', async () => {
    const relay = await startProtocolRelay();
    try {
      await assert.rejects(startWitness(relay.urls[0]!, 'not-the-relays-secret-at-all', 100, undefined, 'normal'), /witness: .*closed 4401/);
    } finally {
      await relay.stop();
    }
  });
});
