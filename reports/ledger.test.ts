import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { CLOSE_NORMAL, DUP_TRANSPORT, DUP_VISIBLE, Ledger, OUT_OF_ORDER, type LedgerTransfer } from './ledger.ts';
import { check, type CheckOptions } from './checker.ts';
import { Table } from './columns.ts';
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
  // node-2's kill drops device 3 (back 60 ms later) and device 12 (never back); device 5 signs out by itself.
  a.push((l) => l.disconnected(3, 120, 1006), (l) => l.disconnected(5, 150, CLOSE_NORMAL), (l) => l.connected(3, 180));
  b.push((l) => l.connected(12, 20), (l) => l.disconnected(12, 130, 1001));
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

  it('carries connection rows through the worker-to-parent message and a ledger file', () => {
    const { a, b } = history();
    const rows = (l: Ledger) => {
      const { dev, at, kind, code } = l.connections.toTransfer();
      return Array.from(dev, (d, i) => [d, at[i], kind[i], code[i]]);
    };
    // Driver workers are forked with serialization 'advanced': their messages go through v8 serialize.
    const parts = [replay(a), replay(b)].map((l) => deserialize(serialize(l.toTransfer())) as LedgerTransfer);
    const merged = Ledger.merge(parts);
    assert.deepEqual(rows(merged), [...rows(replay(a)), ...rows(replay(b))]);
    assert.equal(merged.connections.length, 5);
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    try {
      merged.writeTo(join(dir, 'm.ledger'));
      const back = Ledger.readFrom(join(dir, 'm.ledger'));
      assert.deepEqual(rows(back), rows(merged));
      const { reconnects } = check(back, OPTS).faults[0]!.impact!;
      assert.deepEqual(reconnects, { devices: 2, p50Ms: 60, p99Ms: 60, maxMs: 60, notBack: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a ledger file written before connections were recorded as having none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    try {
      const file = join(dir, 'old.ledger');
      new Ledger().writeTo(file);
      const buf = readFileSync(file);
      const header = JSON.parse(buf.toString('utf8', 20, 20 + buf.readUInt32LE(16)));
      delete header.tables.connections;
      const json = Buffer.from(JSON.stringify(header), 'utf8');
      const old = Buffer.alloc(20 + json.length);
      buf.copy(old, 0, 0, 16);
      old.writeUInt32LE(json.length, 16);
      json.copy(old, 20);
      writeFileSync(file, old);
      assert.equal(Ledger.readFrom(file).connections.length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the mid of each acked message through merge and a ledger file', () => {
    const a = new Ledger();
    a.ack(1, 10, '0000abcdef1002ffff');
    a.ack(2, 11, 'not-a-snowflake');
    const b = new Ledger();
    b.ack(3, 12, 'fffffffffff0010000');
    b.ack(4, 13);
    const merged = Ledger.merge([a, deserialize(serialize(b.toTransfer())) as LedgerTransfer]);
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    try {
      merged.writeTo(join(dir, 'm.ledger'));
      const back = Ledger.readFrom(join(dir, 'm.ledger'));
      assert.deepEqual([...back.midsOf(new Set([1, 2, 3, 4]))], [[1, '0000abcdef1002ffff'], [3, 'fffffffffff0010000']]);
      assert.deepEqual([...back.midsOf(new Set([3]))], [[3, 'fffffffffff0010000']]);
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

  it('keeps a large table within an eighth of its rows in slack', () => {
    const t = new Table({ v: Uint8Array });
    // Just past a 1.5x step from the initial capacity: growing by half would hold 5.1M rows here.
    const n = 3_405_097;
    for (let i = 0; i < n; i++) {
      const r = t.reserve();
      t.cols.v[r] = i & 0xff;
    }
    assert.ok(t.byteLength() <= n * 1.125 + 1, `${t.byteLength()} bytes for ${n} rows`);
    assert.equal(t.cols.v[n - 1], (n - 1) & 0xff);
    assert.equal(t.cols.v[1_500_000], 1_500_000 & 0xff);
  });
});
