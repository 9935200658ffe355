import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DUP_TRANSPORT, DUP_VISIBLE, Ledger, OUT_OF_ORDER } from './ledger.ts';
import { check, type CheckOptions } from './checker.ts';
import { sampleLedger } from './sample-history.ts';

const OPTS: CheckOptions = { startMs: 0, endMs: 1000, graceMs: 500, lateMs: 50, startedAt: 0 };

type Event = (l: Ledger) => void;

/**
 * A two-worker history: worker A owns devices 0..9 and msgs 0..99, worker B
 * devices 10..19 and msgs 100..199; each sends to the other's devices, so
 * every delivery is recorded in a different worker than its send.
 */
function history(): { a: Event[]; b: Event[] } {
  const a: Event[] = [];
  const b: Event[] = [];
  for (let i = 0; i < 100; i++) {
    for (const [mine, theirs, base, senderDev, rcptDev] of [
      [a, b, 0, i % 10, 10 + (i % 10)],
      [b, a, 100, 10 + (i % 10), i % 10],
    ] as const) {
      const msg = base + i;
      const t = i * 5;
      mine.push((l) => l.send(msg, senderDev, t, t + 0.5));
      mine.push((l) => l.ack(msg, t + 1));
      mine.push((l) => l.expect(msg, rcptDev, 'cross-node'));
      if (i !== 42) theirs.push((l) => l.deliver(msg, rcptDev, t + 3 + (i % 7), 'cross-node'));
      if (i % 10 === 3) theirs.push((l) => l.deliver(msg, rcptDev, t + 20, 'cross-node', DUP_TRANSPORT));
      if (i === 17) theirs.push((l) => l.deliver(msg, rcptDev, t + 21, 'cross-node', DUP_VISIBLE | OUT_OF_ORDER));
      mine.push((l) => l.receipt(msg, rcptDev, 'delivered', t + 15));
    }
  }
  a.push((l) => l.sample(0, { connected: 10, inflight: 3 }), (l) => l.error(10, 'E_TIMEOUT', 5, true), (l) => l.retrySucceeded(5));
  b.push((l) => l.sample(0, { connected: 10 }), (l) => l.sample(600, { connected: 4 }), (l) => l.error(11, 'E_RATE', -1, false));
  b.push((l) => l.fault({ kind: 'kill', target: 'node-2', startMs: 100, endMs: 200 }));
  return { a, b };
}

function replay(events: Event[], into = new Ledger()): Ledger {
  for (const e of events) e(into);
  return into;
}

describe('Ledger', () => {
  it('merges worker ledgers into exactly what one ledger with the same events reports', () => {
    const { a, b } = history();
    const single = new Ledger();
    single.sources = 1;
    replay([...a, ...b], single);
    const merged = Ledger.merge([replay(a), replay(b)]);
    const one = check(single, OPTS);
    const two = check(merged, OPTS);
    // gauges differ by design: two workers' `connected` add up, one ledger's overwrite
    const { timeline: t1, devices: d1, ...rest1 } = one;
    const { timeline: t2, devices: d2, ...rest2 } = two;
    assert.deepEqual(rest2, rest1);
    assert.deepEqual(t2.buckets.map((x) => ({ ...x, connected: 0 })), t1.buckets.map((x) => ({ ...x, connected: 0 })));
    assert.equal(two.delivery.lost, 2, 'msg 42 and 142 were never delivered');
    assert.equal(two.delivery.delivered, 198);
    assert.equal(two.delivery.duplicatedTransport, 20);
    assert.equal(two.delivery.duplicated, 2);
    assert.equal(two.delivery.reordered, 2);
    assert.equal(d2.connectedPeak, 20);
  });

  it('sums a gauge across workers, each holding its latest value', () => {
    const { a, b } = history();
    const r = check(Ledger.merge([replay(a), replay(b)]), OPTS);
    assert.deepEqual(r.timeline.buckets.map((x) => x.connected), [14]);
    assert.deepEqual(r.timeline.gauges.inflight, [3]);
    assert.equal(r.devices.connectedPeak, 20);
  });

  it('survives structured cloning of its transfer form', () => {
    const { a } = history();
    const l = replay(a);
    const copy = Ledger.fromTransfer(structuredClone(l.toTransfer()));
    assert.deepEqual(check(copy, OPTS), check(l, OPTS));
  });

  it('writes to and reads from a file, then merges shard files exactly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    try {
      const { a, b } = history();
      replay(a).writeTo(join(dir, 'a.ledger'));
      replay(b).writeTo(join(dir, 'b.ledger'));
      const fromFiles = Ledger.merge([Ledger.readFrom(join(dir, 'a.ledger')), Ledger.readFrom(join(dir, 'b.ledger'))]);
      const inMemory = Ledger.merge([replay(a), replay(b)]);
      assert.deepEqual(check(fromFiles, OPTS), check(inMemory, OPTS));
      writeFileSync(join(dir, 'bad.ledger'), 'hello');
      assert.throws(() => Ledger.readFrom(join(dir, 'bad.ledger')), /not a chatlab ledger file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('round-trips an empty ledger', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    try {
      new Ledger().writeTo(join(dir, 'e.ledger'));
      assert.equal(Ledger.readFrom(join(dir, 'e.ledger')).sends.length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a realistic history identical through a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    try {
      const l = sampleLedger(2000);
      l.writeTo(join(dir, 's.ledger'));
      const opts = { ...OPTS, endMs: 60_000 };
      assert.deepEqual(check(Ledger.readFrom(join(dir, 's.ledger')), opts), check(l, opts));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects message and device keys that are not u32 integers, and unknown paths', () => {
    const l = new Ledger();
    assert.throws(() => l.send(-1, 0, 0, 0), /msg -1/);
    assert.throws(() => l.expect(1.5, 0, 'direct'), /msg 1.5/);
    assert.throws(() => l.deliver(1, 2 ** 32, 0, 'direct'), /dev/);
    assert.throws(() => l.expect(1, 1, 'carrier-pigeon' as 'direct'), /unknown path/);
  });

  it('stores a million deliveries with their expects in under 40 bytes per event', () => {
    const l = new Ledger();
    const n = 1_000_000;
    for (let i = 0; i < n; i++) {
      l.expect(i >>> 2, i & 1023, 'direct');
      l.deliver(i >>> 2, i & 1023, i, 'direct');
    }
    const perEvent = (l.expects.byteLength() + l.deliveries.byteLength()) / n;
    assert.ok(perEvent < 40, `${perEvent.toFixed(1)} bytes per delivered event`);
    assert.ok(perEvent >= 27, 'an expect (9 B) and a delivery (18 B) at least');
  });
});
