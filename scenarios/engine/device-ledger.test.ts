import assert from 'node:assert/strict';
import { CONN_DOWN, CONN_UP, Ledger } from '../../reports/ledger.ts';
import type { Population } from '../population.ts';
import type { Scenario } from '../scenario.ts';
import { DeviceLedger } from './device-ledger.ts';

/** Connection events use neither the population nor the scenario. */
function recorder(ledger: Ledger, t0: () => number): DeviceLedger {
  const nodes = [{ id: 'node-1', url: 'ws://127.0.0.1:1', number: 1 }];
  return new DeviceLedger(ledger, {} as Population, { nodes }, {} as Scenario, t0);
}

function rows(l: Ledger): number[][] {
  const { dev, at, kind, code } = l.connections.toTransfer();
  return Array.from(dev, (d, i) => [d, at[i], kind[i], code[i]]);
}

describe('DeviceLedger', () => {
  it('records sign-ins and session ends on the run clock once the run has started', () => {
    const ledger = new Ledger();
    let t0 = 0;
    const r = recorder(ledger, () => t0);
    const io = { connected() {} };
    const dev7 = r.observerFor(7, io);
    const dev8 = r.observerFor(8, io);
    dev7.onConnected(1_000_000, 'node-1'); // setup, before the run has an origin
    dev8.onConnected(1_000_010, 'node-1');
    t0 = 1_000_500;
    r.runStarted();
    dev7.onDisconnected(1_002_000, 1006);
    dev7.onDisconnected(1_002_100, 4002); // a failed attempt in backoff: no session ended
    dev7.onConnected(1_002_400, 'node-1');
    dev8.onDisconnected(1_003_000, 1000);
    assert.deepEqual(rows(ledger), [
      [7, 1500, CONN_DOWN, 1006],
      [7, 1900, CONN_UP, 0],
      [8, 2500, CONN_DOWN, 1000],
    ]);
    assert.equal(r.connected, 1);
  });

  it('samples the connected gauge at every sign-in and session end of the run, so a short mass drop is not missed', () => {
    const ledger = new Ledger();
    let t0 = 0;
    const r = recorder(ledger, () => t0);
    const io = { connected() {} };
    const devs = [1, 2, 3].map((d) => r.observerFor(d, io));
    devs.forEach((d, i) => d.onConnected(1000 + i, 'node-1'));
    t0 = 2000;
    r.runStarted();
    devs.forEach((d, i) => d.onDisconnected(12_000 + i, 1006));
    devs.forEach((d, i) => d.onConnected(12_300 + i, 'node-1'));
    const { at, value } = ledger.samples.toTransfer();
    assert.deepEqual(Array.from(at), [10_000, 10_001, 10_002, 10_300, 10_301, 10_302]);
    assert.deepEqual(Array.from(value), [2, 1, 0, 1, 2, 3]);
  });

  it('turns read markers into one receipt per acked send, per reader, in seq order, and keeps a send only until its readers have read it', () => {
    const ledger = new Ledger();
    let readers = [1];
    const population = { recipients: () => readers, deviceIndex: (id: string) => Number(id.slice(4)), deviceId: (d: number) => `dev-${d}` } as unknown as Population;
    const scenario = { behaviour: { readDelayMs: 0 } } as Scenario;
    const nodes = [{ id: 'node-1', url: 'ws://127.0.0.1:1', number: 1 }];
    const r = new DeviceLedger(ledger, population, { nodes }, scenario, () => 0);
    const sender = r.observerFor(0, { connected() {} });
    const ack = (k: number, seq: number, conv = 'd:a:b') => {
      r.willSend(k, 0, 'b');
      sender.onAck(k, 1, `mid${k}`, seq, conv);
    };
    const read = (by: number, upTo: number, conv = 'd:a:b') => sender.onReceipt('read', undefined, `dev-${by}`, 2, conv, upTo);
    const receipts = () => {
      const { msg, dev, at } = ledger.receipts.toTransfer();
      const out = Array.from(msg, (m, i) => (at[i] === 2 ? [m, dev[i]!] : [m, dev[i]!, at[i]!]));
      ledger.receipts.length = 0;
      return out;
    };
    for (const [k, seq] of [[30, 3], [10, 1], [20, 2], [50, 5]] as const) ack(k, seq);
    assert.equal(r.unreadConversations, 1);
    read(1, 2);
    assert.deepEqual(receipts(), [[10, 1], [20, 1]]);
    read(1, 2);
    read(1, 1);
    assert.deepEqual(receipts(), []);
    read(1, 5);
    assert.deepEqual(receipts(), [[30, 1], [50, 1]]);
    assert.equal(r.unreadConversations, 0, 'every send read by its one reader: the conversation is forgotten');

    // More readers than are scanned: the marks move to a Map and keep their values.
    readers = Array.from({ length: 21 }, (_, i) => i + 1);
    for (const [k, seq] of [[110, 1], [120, 2], [130, 3]] as const) ack(k, seq, 'd:c:d');
    for (let by = 2; by <= 21; by++) read(by, 1, 'd:c:d');
    assert.deepEqual(receipts(), Array.from({ length: 20 }, (_, i) => [110, i + 2]));
    read(3, 3, 'd:c:d');
    read(21, 1, 'd:c:d');
    assert.deepEqual(receipts(), [[120, 3], [130, 3]]);
    // A send acked after a reader's marker covers it (a late ack) was read: receipted with the ack.
    ack(125, 2, 'd:c:d');
    assert.deepEqual(receipts(), [[125, 3, 1]]);
    read(1, 3, 'd:c:d');
    assert.deepEqual(receipts(), [[110, 1], [120, 1], [125, 1], [130, 1]]);
    for (let by = 2; by <= 21; by++) read(by, 3, 'd:c:d');
    assert.equal(receipts().length, 19 * 3, 'each reader but 3 (which had read all) reads 120, 125 and 130');
    assert.equal(r.unreadConversations, 0, 'read by all 21: forgotten, marks and all');

    // Few readers, a late ack with another send still waiting.
    readers = [1, 2];
    ack(70, 2, 'd:m:n');
    read(2, 3, 'd:m:n');
    ack(71, 1, 'd:m:n');
    read(1, 2, 'd:m:n');
    assert.deepEqual(receipts(), [[70, 2], [71, 2, 1], [71, 1], [70, 1]]);
    assert.equal(r.unreadConversations, 0);

    // A marker for a conversation with nothing waiting is not kept: the reader's next marker covers a late ack.
    readers = [40];
    read(40, 9, 'd:x:y');
    assert.equal(r.unreadConversations, 0);
    ack(60, 4, 'd:x:y');
    read(40, 10, 'd:x:y');
    assert.deepEqual(receipts(), [[60, 40]]);
    // The sending device's own marker (it read the other side's later messages) is no read of its own send.
    readers = [1];
    ack(90, 1, 'd:s:t');
    read(0, 2, 'd:s:t');
    assert.deepEqual(receipts(), []);
    assert.equal(r.unreadConversations, 1);
    read(1, 2, 'd:s:t');
    assert.deepEqual(receipts(), [[90, 1]]);
    assert.equal(r.unreadConversations, 0);
    // Sends nobody reads (no reader owed them) are not kept at all.
    readers = [];
    ack(80, 1, 'd:p:q');
    assert.equal(r.unreadConversations, 0);
  });
});
