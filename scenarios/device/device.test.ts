import assert from 'node:assert/strict';
import { DeliverFlags, formatCid, parseCid } from './device.ts';
import { harness, START_MS } from './device-harness.ts';
import { mediaMessage, type DeviceMedia, type MediaOutcome } from './media.ts';
import { E2eeStats } from './e2ee/e2ee-stats.ts';
import { ModeledCrypto } from './e2ee/modeled-crypto.ts';
import { DEFAULT_E2EE_COST } from '../../system/worlds/sim/e2ee-cost.ts';

const { DUP_TRANSPORT, DUP_VISIBLE, OUT_OF_ORDER, GAP_SKIPPED } = DeliverFlags;

/** Closes the socket with `code` and returns how long the device waits before connecting again. */
function reconnectDelay(h: ReturnType<typeof harness>, code = 1006): number {
  const before = h.io.connects;
  h.dev.onClose(code);
  const due = h.clock.nextDue();
  assert.ok(due !== undefined, 'a reconnect is scheduled');
  const delay = due - h.clock.now();
  h.clock.runUntil(due);
  assert.equal(h.io.connects, before + 1);
  return delay;
}

describe('VirtualDevice', () => {
  describe('connecting', () => {
    it('says hello with a fresh token on every connection', () => {
      const h = harness();
      h.online();
      assert.equal(h.dev.state, 'online');
      reconnectDelay(h);
      h.welcome();
      assert.deepEqual(h.io.sent('hello').map((f) => f.token), ['tok-1', 'tok-2']);
      assert.deepEqual(h.rec.of('onConnected').map((a) => a[1]), ['n1', 'n1']);
    });

    it('backs off exponentially with seeded jitter, capped at maxMs', () => {
      const delaysFor = (seed: number) => {
        const h = harness({ backoff: { initialMs: 100, maxMs: 3_000, jitter: 0.5 } }, seed);
        h.dev.start();
        return Array.from({ length: 10 }, () => reconnectDelay(h));
      };
      const d = delaysFor(1);
      // Bases 100..1600 double; with jitter 0.5 each delay is at least the previous base.
      for (let i = 1; i < 5; i++) assert.ok(d[i]! >= d[i - 1]!, `delays grow: ${d}`);
      assert.ok(d[0]! >= 50 && d[0]! <= 100, `first delay near initialMs: ${d[0]}`);
      assert.ok(d[4]! >= 800 && d[5]! >= 1_500, `grows to the cap: ${d}`);
      assert.ok(d.every((x) => x <= 3_000), `capped: ${d}`);
      assert.ok(d.slice(-3).every((x) => x >= 1_500), `stays near the cap: ${d}`);
      assert.ok(d.some((x) => ![100, 200, 400, 800, 1600, 3000].includes(x)), `jittered: ${d}`);
      assert.deepEqual(delaysFor(1), d, 'the same seed replays the same delays');
      assert.notDeepEqual(delaysFor(2), d, 'another seed spreads the storm differently');
    });

    it('starts the backoff over after a successful welcome', () => {
      const h = harness({ backoff: { initialMs: 100, maxMs: 10_000, jitter: 0 } });
      h.dev.start();
      assert.deepEqual([reconnectDelay(h), reconnectDelay(h), reconnectDelay(h)], [100, 200, 400]);
      h.welcome();
      assert.equal(reconnectDelay(h), 100);
    });

    it('retries a socket that never gets a welcome after connectTimeoutMs', () => {
      const h = harness({ connectTimeoutMs: 1_000, backoff: { initialMs: 100, jitter: 0 } });
      h.dev.start();
      h.dev.onOpen();
      h.clock.advance(999);
      assert.equal(h.io.closes, 0);
      h.clock.advance(1);
      assert.equal(h.io.closes, 1);
      assert.equal(h.dev.state, 'backoff');
      h.clock.advance(100);
      assert.equal(h.io.connects, 2);
    });

    it('stops for good on 4401 and reports unauthorized', () => {
      const h = harness();
      h.dev.start();
      h.dev.onOpen();
      h.dev.onClose(4401);
      h.clock.advance(3_600_000);
      assert.equal(h.dev.state, 'stopped');
      assert.equal(h.io.connects, 1);
      assert.deepEqual(h.rec.of('onError'), [['unauthorized', undefined, h.clock.now() - 3_600_000, false]]);
    });

    it('stops on 4409 when another connection replaced it', () => {
      const h = harness();
      h.online();
      h.dev.onClose(4409);
      h.clock.advance(3_600_000);
      assert.equal(h.dev.state, 'stopped');
      assert.equal(h.io.connects, 1);
    });

    it('reconnects with backoff after a network drop', () => {
      const h = harness({ backoff: { initialMs: 250, jitter: 0 } });
      h.online();
      h.dev.drop();
      assert.equal(h.io.closes, 1);
      assert.deepEqual(h.rec.of('onDisconnected').map((a) => a[1]), [1006]);
      h.clock.advance(249);
      assert.equal(h.io.connects, 1);
      h.clock.advance(1);
      assert.equal(h.io.connects, 2);
    });
  });

  describe('offline and push', () => {
    it('stays offline until a push wakes it, then flags what it drains', () => {
      const h = harness();
      h.online();
      h.dev.goOffline();
      assert.equal(h.dev.state, 'offline');
      h.clock.advance(600_000);
      assert.equal(h.io.connects, 1, 'no reconnect while backgrounded');
      h.dev.onPush();
      assert.equal(h.io.connects, 2);
      h.welcome();
      h.msg(1);
      h.frame({ t: 'drained', count: 1 });
      h.msg(2);
      const d = h.rec.of('onDeliver');
      assert.deepEqual(d.map((a) => [a[3], a[7], a[8]]), [[1, true, true], [2, false, false]]);
    });

    it('backgrounded with a send awaiting its ack, keeps the socket until the ack (a mobile OS\'s background time), then goes offline', () => {
      const h = harness();
      h.online();
      h.dev.send('u2', 'hello', 7, h.clock.now());
      h.dev.goOffline();
      assert.equal(h.io.closes, 0, 'the send is still on its way');
      assert.equal(h.dev.state, 'online');
      h.ack(formatCid(7), 1);
      assert.equal(h.io.closes, 1, 'acked: the app goes');
      assert.equal(h.dev.state, 'offline');
      assert.equal(h.rec.of('onAck').length, 1);
      h.clock.advance(600_000);
      assert.equal(h.io.connects, 1, 'no reconnect while backgrounded');
    });

    it('goes offline when the background time is up, and sends what is still pending when next online', () => {
      const h = harness({ backgroundGraceMs: 300, sendRetry: { timeoutMs: 10_000 } });
      h.online();
      h.dev.send('u2', 'hello', 7, h.clock.now());
      h.dev.goOffline();
      h.clock.advance(299);
      assert.equal(h.io.closes, 0);
      h.clock.advance(1);
      assert.equal(h.io.closes, 1);
      assert.equal(h.dev.state, 'offline');
      assert.equal(h.dev.stats().pendingSends, 1, 'not failed: pending on the device');
      h.dev.onPush();
      h.welcome();
      assert.deepEqual(h.io.sent('send').map((f) => f.cid), [formatCid(7), formatCid(7)], 'resent once online again');
    });

    it('closes at once when backgrounded with nothing pending, or with backgroundGraceMs 0; foregrounded meanwhile, it stays online', () => {
      const none = harness();
      none.online();
      none.dev.goOffline();
      assert.equal(none.io.closes, 1);
      const zero = harness({ backgroundGraceMs: 0 });
      zero.online();
      zero.dev.send('u2', 'x', 1, zero.clock.now());
      zero.dev.goOffline();
      assert.equal(zero.io.closes, 1);
      const back = harness();
      back.online();
      back.dev.send('u2', 'x', 1, back.clock.now());
      back.dev.goOffline();
      back.dev.comeOnline();
      back.ack(formatCid(1), 1);
      back.clock.advance(60_000);
      assert.equal(back.io.closes, 0, 'foregrounded before its sends settled: it never went');
      assert.equal(back.dev.state, 'online');
    });

    it('ignores a push when wakeOnPush is off', () => {
      const h = harness({ wakeOnPush: false });
      h.online();
      h.dev.goOffline();
      h.dev.onPush();
      assert.equal(h.dev.state, 'offline');
      assert.equal(h.io.connects, 1);
    });

    it('marks drained deliveries without pushWoken when the user opened the app', () => {
      const h = harness();
      h.online();
      h.dev.goOffline();
      h.dev.comeOnline();
      h.welcome();
      h.msg(1);
      assert.deepEqual(h.rec.of('onDeliver').map((a) => [a[7], a[8]]), [[true, false]]);
    });
  });

  describe('sending', () => {
    it('retries with the same cid until acked, then stops', () => {
      const h = harness({ sendRetry: { timeoutMs: 1_000, maxAttempts: 10 } });
      h.online();
      h.dev.send('u2', 'hello', 12345, h.clock.now() - 3);
      h.clock.advance(1_000);
      h.clock.advance(1_000);
      const sends = h.io.sent('send');
      assert.equal(sends.length, 3);
      assert.ok(sends.every((f) => f.cid === formatCid(12345) && f.to === 'u2' && f.body === 'hello'));
      h.ack(formatCid(12345), 1);
      h.ack(formatCid(12345), 1); // the answer to a retry: dup ack
      h.clock.advance(60_000);
      assert.equal(h.io.sent('send').length, 3);
      assert.deepEqual(h.rec.of('onSend'), [[12345, START_MS - 3, START_MS, START_MS]]);
      assert.deepEqual(h.rec.of('onAck'), [[12345, START_MS + 2_000, 'a1', 1, 'd:u1:u2']]);
    });

    it('waits retryAfterMs after a retryable error and gives up on a definite one', () => {
      const h = harness({ sendRetry: { timeoutMs: 5_000 } });
      h.online();
      h.dev.send('u2', 'a', 1, h.clock.now());
      h.dev.send('u2', 'b', 2, h.clock.now());
      h.frame({ t: 'error', code: 'rate_limited', message: '', cid: formatCid(1), retryable: true, retryAfterMs: 700 });
      h.frame({ t: 'error', code: 'forbidden', message: '', cid: formatCid(2), retryable: false });
      h.clock.advance(699);
      assert.equal(h.io.sent('send').length, 2);
      h.clock.advance(1);
      assert.deepEqual(h.io.sent('send').map((f) => f.cid), ['1', '2', '1']);
      h.clock.advance(60_000);
      assert.deepEqual(h.rec.of('onError').map((a) => [a[0], a[1], a[3]]), [
        ['rate_limited', 1, true], ['forbidden', 2, false], ['timeout', 1, false],
      ]);
    });

    it('after rate_limited, sends one queued message at a time from retryAfterMs on, not every refused one at once', () => {
      const h = harness({ sendRetry: { timeoutMs: 5_000, maxAttempts: 40 } });
      h.online();
      for (let k = 1; k <= 50; k++) h.dev.send('u2', 'x', k, h.clock.now());
      assert.equal(h.io.sent('send').length, 50);
      for (let k = 1; k <= 50; k++) h.frame({ t: 'error', code: 'rate_limited', message: '', cid: formatCid(k), retryable: true, retryAfterMs: 20 });
      h.dev.send('u2', 'new', 51, h.clock.now());
      assert.equal(h.io.sent('send').length, 50, 'a new send waits behind the refused ones');
      h.clock.advance(20);
      assert.deepEqual(h.io.sent('send').slice(50).map((f) => f.cid), ['1'], 'one at a time, the oldest first');
      h.ack('1', 1);
      assert.deepEqual(h.io.sent('send').slice(51).map((f) => f.cid), ['2'], 'the next goes when the previous is acked');
      h.frame({ t: 'error', code: 'rate_limited', message: '', cid: '2', retryable: true, retryAfterMs: 20 });
      h.clock.advance(19);
      assert.equal(h.io.sent('send').length, 52, 'refused again: the queue waits retryAfterMs');
      h.clock.advance(1);
      assert.deepEqual(h.io.sent('send').slice(52).map((f) => f.cid), ['2']);
      for (let k = 2; k <= 51; k++) h.ack(formatCid(k), k);
      assert.equal(h.io.sent('send').length, 53 + 49, 'every queued message went exactly once more (3 to 51, one each)');
      assert.equal(h.dev.stats().pendingSends, 0);
      h.dev.send('u2', 'after', 52, h.clock.now());
      assert.equal(h.io.sent('send').at(-1)!.cid, formatCid(52), 'the gate opened once the queue emptied');
    });

    it('fails a send with timeout after maxAttempts transmissions', () => {
      const h = harness({ sendRetry: { timeoutMs: 100, maxAttempts: 3 } });
      h.online();
      h.dev.send('u2', 'x', 9, h.clock.now());
      h.clock.advance(1_000);
      assert.equal(h.io.sent('send').length, 3);
      assert.deepEqual(h.rec.of('onError'), [['timeout', 9, START_MS + 300, false]]);
      assert.equal(h.dev.stats().pendingSends, 0);
    });

    it('re-sends every un-acked message after reconnecting', () => {
      const h = harness({ backoff: { initialMs: 100, jitter: 0 }, sendRetry: { timeoutMs: 60_000 } });
      h.online();
      h.dev.send('u2', 'a', 1, h.clock.now());
      h.dev.send('u3', 'b', 2, h.clock.now());
      h.ack('1', 1);
      h.dev.onClose(1001);
      h.clock.advance(100);
      assert.equal(h.io.sent('send').length, 2, 'nothing goes out before the welcome');
      h.welcome();
      assert.deepEqual(h.io.sent('send').map((f) => f.cid), ['1', '2', '2']);
    });

    it('queues sends while offline and transmits them once online', () => {
      const h = harness();
      h.dev.send('u2', 'early', 5, START_MS);
      h.dev.start();
      h.clock.advance(40);
      h.welcome();
      assert.deepEqual(h.io.sent('send').map((f) => f.cid), ['5']);
      assert.deepEqual(h.rec.of('onSend'), [[5, START_MS, START_MS + 40, START_MS]]);
    });

    it('refuses a send beyond maxPendingSends with queue_full', () => {
      const h = harness({ maxPendingSends: 2 });
      h.dev.send('u2', 'a', 1, START_MS);
      h.dev.send('u2', 'b', 2, START_MS);
      h.dev.send('u2', 'c', 3, START_MS);
      assert.deepEqual(h.rec.of('onError'), [['queue_full', 3, START_MS, false]]);
      h.online();
      assert.deepEqual(h.io.sent('send').map((f) => f.cid), ['1', '2']);
      h.ack('1', 1);
      h.dev.send('u2', 'd', 4, START_MS);
      assert.deepEqual(h.io.sent('send').map((f) => f.cid), ['1', '2', '4']);
    });
  });

  describe('receiving', () => {
    it('drops a duplicate mid but still acks it', () => {
      const h = harness();
      h.online();
      h.msg(1, 'm1');
      h.msg(1, 'm1');
      h.clock.advance(5);
      assert.deepEqual(h.rec.of('onDeliver').map((a) => [a[1], a[5]]), [['m1', 0], ['m1', DUP_TRANSPORT]]);
      assert.deepEqual(h.io.sent('recv'), [{ t: 'recv', ids: ['m1', 'm1'] }]);
    });

    it('takes frames as objects from a link that carries objects, and writes objects back to it', () => {
      const h = harness();
      const written: Record<string, unknown>[] = [];
      Object.assign(h.io, { sendFrame: (f: Record<string, unknown>) => written.push(f) });
      h.dev.start();
      h.dev.onOpen();
      h.dev.onFrame({ t: 'welcome', node: 'n1', device: 'u1.1', serverMs: h.clock.now() });
      assert.equal(h.dev.state, 'online');
      h.dev.onFrame({ t: 'msg', mid: 'm1', seq: 1, conv: 'd:u1:u2', from: 'u2.1', body: 'hi', ts: h.clock.now() });
      h.clock.advance(5);
      assert.deepEqual(h.rec.of('onDeliver').map((a) => [a[1], a[5]]), [['m1', 0]]);
      assert.deepEqual(written.map((f) => f.t), ['hello', 'recv']);
      assert.deepEqual(written[1], { t: 'recv', ids: ['m1'] });
      assert.equal(h.io.frames.length, 0, 'nothing went out as text');
    });

    it('batches recv acks: flushed after recvFlushMs or at recvBatchMax', () => {
      const h = harness({ recvBatchMax: 3 });
      h.online();
      h.msg(1);
      h.msg(2);
      h.clock.advance(4);
      assert.equal(h.io.sent('recv').length, 0);
      h.msg(3);
      assert.deepEqual(h.io.sent('recv'), [{ t: 'recv', ids: ['m1', 'm2', 'm3'] }]);
      h.frame({ t: 'receipt', id: 'r1', kind: 'delivered', conv: 'd:u1:u2', by: 'u2.1', mid: 'x', ts: 0 });
      h.clock.advance(5);
      assert.deepEqual(h.io.sent('recv')[1], { t: 'recv', ids: ['r1'] });
    });

    it('shows out-of-order seqs in order', () => {
      const h = harness();
      h.online();
      h.msg(3);
      h.msg(1);
      assert.deepEqual(h.shown(), [[1, 0]]);
      h.msg(2);
      assert.deepEqual(h.shown(), [[1, 0], [2, 0], [3, 0]]);
    });

    it('skips a gap after reorderWaitMs and flags a late arrival as out of order', () => {
      const h = harness({ reorderWaitMs: 300 });
      h.online();
      h.msg(1);
      h.msg(3);
      h.clock.advance(299);
      assert.deepEqual(h.shown(), [[1, 0]]);
      h.clock.advance(1);
      assert.deepEqual(h.shown(), [[1, 0], [3, GAP_SKIPPED]]);
      h.msg(2);
      assert.deepEqual(h.shown(), [[1, 0], [3, GAP_SKIPPED], [2, OUT_OF_ORDER]]);
    });

    it('does not wait for its own seqs learned from acks', () => {
      const h = harness({ reorderWaitMs: 300 });
      h.online();
      h.dev.send('u2', 'mine', 1, START_MS);
      h.dev.send('u2', 'mine too', 2, START_MS);
      h.ack('1', 1);
      h.msg(2);
      h.msg(4);
      assert.deepEqual(h.shown(), [[2, 0]], 'seq 3 may still be ours');
      h.ack('2', 3);
      assert.deepEqual(h.shown(), [[2, 0], [4, 0]]);
    });

    it('skips the lowest gap at once when the reorder buffer is full', () => {
      const h = harness({ reorderMax: 2, reorderWaitMs: 60_000 });
      h.online();
      h.msg(2);
      h.msg(3);
      assert.deepEqual(h.shown(), []);
      h.msg(4);
      assert.deepEqual(h.shown(), [[2, GAP_SKIPPED], [3, 0], [4, 0]]);
    });

    it('keeps conversations independent', () => {
      const h = harness({ reorderWaitMs: 300 });
      h.online();
      h.msg(2, 'a2', 'd:u1:u2');
      h.msg(1, 'b1', 'g:team');
      assert.deepEqual(h.rec.of('onDeliver').map((a) => a[1]), ['b1']);
    });

    it('shows a duplicate its bounded window forgot, flagged DUP_VISIBLE', () => {
      const h = harness({ dedupWindow: 2 });
      h.online();
      h.msg(1);
      h.msg(2);
      h.msg(1); // still remembered
      h.msg(3);
      h.msg(1); // m1 was forgotten when m3 came
      assert.deepEqual(h.shown(), [[1, 0], [2, 0], [3, 0], [1, DUP_VISIBLE]]);
    });

    it('takes the msgKey of an incoming message from its cid', () => {
      const h = harness();
      h.online();
      h.msg(1, 'm1', 'd:u1:u2', { cid: formatCid(777) });
      h.msg(2, 'm2', 'd:u1:u2', { cid: 'not-ours' });
      assert.deepEqual(h.rec.of('onDeliver').map((a) => a[0]), [777, undefined]);
      assert.equal(parseCid(formatCid(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
      assert.equal(parseCid('007'), undefined);
      assert.equal(parseCid(''), undefined);
    });

    it('reports read up to the highest shown seq after readDelayMs, once per batch', () => {
      const h = harness({ readDelayMs: 500 });
      h.online();
      h.msg(1);
      h.clock.advance(100);
      h.msg(2);
      h.clock.advance(399);
      assert.equal(h.io.sent('read').length, 0);
      h.clock.advance(1);
      assert.deepEqual(h.io.sent('read'), [{ t: 'read', conv: 'd:u1:u2', upTo: 2 }]);
      h.clock.advance(10_000);
      assert.equal(h.io.sent('read').length, 1);
    });

    it('never reads when readDelayMs is -1', () => {
      const h = harness({ readDelayMs: -1 });
      h.online();
      h.msg(1);
      h.clock.advance(60_000);
      assert.equal(h.io.sent('read').length, 0);
    });

    it('reports each receipt once', () => {
      const h = harness();
      h.online();
      const r = { t: 'receipt', id: 'r9', kind: 'read', conv: 'd:u1:u2', by: 'u2.1', upTo: 4, ts: 0 };
      h.frame(r);
      h.frame(r);
      assert.deepEqual(h.rec.of('onReceipt'), [['read', undefined, 'u2.1', START_MS, 'd:u1:u2', 4]]);
    });
  });

  describe('a group message held for its sender key', () => {
    /** A device with end-to-end encryption (the modeled crypto) and a sender, u2.1, with a session to it. */
    function e2eeHarness() {
      const spent = { spentMs: 0 };
      let mine: ModeledCrypto | undefined;
      const h = harness({
        e2ee: {
          enabled: true, stats: new E2eeStats(), cpuNow: () => spent.spentMs,
          crypto: () => (mine = new ModeledCrypto(DEFAULT_E2EE_COST, spent, 1)),
          attachments: { seal: () => ({ key: '', digest: '', blob: '' }), open: () => {} },
        },
      });
      h.online();
      const sender = new ModeledCrypto(DEFAULT_E2EE_COST, spent, 2);
      const b = mine!.bundle(1);
      sender.startSession('u1.1', { device: 'u1.1', identityKey: b.identityKey, signedPreKey: b.signedPreKey });
      const groupMsg = () => h.frame({ t: 'msg', mid: 'gm1', seq: 1, conv: 'g:g1', from: 'u2.1', kind: 'e2e', body: sender.groupEncrypt('g1', 'hi'), ts: h.clock.now() });
      const skdm = () => h.frame({ t: 'skdm', id: 'sk1', from: 'u2.1', gid: 'g1', body: sender.encrypt('u1.1', sender.senderKeyDistribution('g1')), ts: h.clock.now() });
      const acked = () => h.io.sent('recv').flatMap((f) => f.ids as string[]);
      return { h, groupMsg, skdm, acked };
    }

    it('is neither shown nor acked until its key comes, then shown and acked once', () => {
      const { h, groupMsg, skdm, acked } = e2eeHarness();
      groupMsg();
      h.clock.advance(100);
      assert.deepEqual(h.shown(), []);
      assert.ok(!acked().includes('gm1'));
      skdm();
      h.clock.advance(100);
      assert.deepEqual(h.shown(), [[1, 0]]);
      assert.deepEqual(acked().filter((id) => id === 'gm1'), ['gm1']);
    });

    it('is not acked when the inbox offers it again after a reconnect while it waits: the inbox keeps it until it is shown', () => {
      const { h, groupMsg, skdm, acked } = e2eeHarness();
      groupMsg();
      h.dev.drop();
      h.clock.runUntil(h.clock.nextDue()!);
      h.welcome();
      groupMsg();
      h.clock.advance(100);
      assert.ok(!acked().includes('gm1'), `acked before it was shown: ${JSON.stringify(h.io.sent('recv'))}`);
      assert.equal(h.rec.of('onDeliver').length, 0, 'the second copy is not a delivery, not even a duplicate one');
      skdm();
      h.clock.advance(100);
      assert.deepEqual(h.shown(), [[1, 0]]);
      assert.deepEqual(acked().filter((id) => id === 'gm1'), ['gm1']);
    });
  });

  describe('stopping', () => {
    it('closes, cancels every timer and refuses new sends', () => {
      const h = harness();
      h.online();
      h.dev.send('u2', 'x', 1, START_MS);
      h.msg(2);
      h.dev.stop();
      assert.equal(h.clock.nextDue(), undefined);
      h.dev.send('u2', 'y', 2, START_MS);
      assert.deepEqual(h.rec.of('onError').at(-1), ['stopped', 2, START_MS, false]);
      assert.equal(h.io.closes, 1);
    });
  });

  describe('uploaded media', () => {
    const ref = { key: 'a'.repeat(64), sha256: 'a'.repeat(64), size: 10, mime: 'image/jpeg', kind: 'photo' };
    /** A media fetcher the test answers by hand. */
    function fetcher() {
      const asked: { device: string; key: string; done: (o: MediaOutcome) => void }[] = [];
      const media: DeviceMedia = { fetch: (device, m, done) => void asked.push({ device, key: m.key, done }) };
      return { asked, media };
    }

    it('shows a media message when its download ended, with the outcome in the flags', () => {
      const f = fetcher();
      const h = harness({ media: f.media });
      h.online();
      h.msg(1, 'm1', 'd:u1:u2', { kind: 'media', body: mediaMessage('look', ref) });
      h.msg(2, 'm2', 'd:u1:u2', { kind: 'media', body: mediaMessage('and this', ref) });
      h.msg(3, 'm3', 'd:u1:u2', { kind: 'media', body: mediaMessage('gone', ref) });
      h.msg(4);
      assert.deepEqual(f.asked.map((a) => [a.device, a.key]), [['u1.1', ref.key], ['u1.1', ref.key], ['u1.1', ref.key]]);
      // Only the text message is shown so far: media messages wait for their bytes.
      assert.deepEqual(h.rec.of('onDeliver').map((a) => a[1]), ['m4']);
      h.clock.advance(40);
      f.asked[0]!.done('ok');
      f.asked[1]!.done('expired');
      f.asked[2]!.done('lost');
      const flags = new Map(h.rec.of('onDeliver').map((a) => [a[1], a[5] as number]));
      assert.equal(flags.get('m1'), DeliverFlags.MEDIA);
      assert.equal(flags.get('m2'), DeliverFlags.MEDIA | DeliverFlags.MEDIA_EXPIRED);
      assert.equal(flags.get('m3'), DeliverFlags.MEDIA | DeliverFlags.MEDIA_LOST);
      assert.equal(h.rec.of('onDeliver').find((a) => a[1] === 'm1')![4], START_MS + 40, 'the time the media arrived');
    });

    it('fetches nothing for a transport duplicate, and shows a media message at once without a fetcher', () => {
      const f = fetcher();
      const h = harness({ media: f.media });
      h.online();
      h.msg(1, 'm1', 'd:u1:u2', { kind: 'media', body: mediaMessage('look', ref) });
      h.msg(1, 'm1', 'd:u1:u2', { kind: 'media', body: mediaMessage('look', ref) });
      assert.equal(f.asked.length, 1);
      const plain = harness();
      plain.online();
      plain.msg(1, 'm1', 'd:u1:u2', { kind: 'media', body: mediaMessage('look', ref) });
      assert.deepEqual(plain.rec.of('onDeliver').map((a) => [a[1], a[5]]), [['m1', 0]]);
    });
  });
});
