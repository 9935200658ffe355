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

  it('turns read markers into one receipt per acked send, per reader, in seq order', () => {
    const ledger = new Ledger();
    const population = { recipients: () => [], deviceIndex: (id: string) => Number(id.slice(4)) } as unknown as Population;
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
      const { msg, dev } = ledger.receipts.toTransfer();
      const out = Array.from(msg, (m, i) => [m, dev[i]!]);
      ledger.receipts.length = 0;
      return out;
    };
    for (const [k, seq] of [[30, 3], [10, 1], [20, 2], [50, 5]] as const) ack(k, seq);
    read(1, 2);
    assert.deepEqual(receipts(), [[10, 1], [20, 1]]);
    read(1, 2);
    read(1, 1);
    assert.deepEqual(receipts(), []);
    read(1, 5);
    assert.deepEqual(receipts(), [[30, 1], [50, 1]]);
    // More readers than are scanned: the marks move to a Map and keep their values.
    for (let by = 2; by <= 21; by++) read(by, 1);
    assert.deepEqual(receipts(), Array.from({ length: 20 }, (_, i) => [10, i + 2]));
    read(3, 3);
    read(1, 5);
    read(21, 1);
    assert.deepEqual(receipts(), [[20, 3], [30, 3]]);
    // Sends acked after the readers' marks, with many readers and with few.
    ack(40, 4);
    read(5, 4);
    assert.deepEqual(receipts(), [[20, 5], [30, 5], [40, 5]]);
    read(1, 1, 'd:m:n');
    ack(70, 2, 'd:m:n');
    ack(71, 1, 'd:m:n');
    read(2, 2, 'd:m:n');
    read(1, 2, 'd:m:n');
    assert.deepEqual(receipts(), [[71, 2], [70, 2], [70, 1]]);
    // A marker that came before the send it covers still counts as read for later markers.
    read(40, 9, 'd:x:y');
    ack(60, 4, 'd:x:y');
    read(40, 9, 'd:x:y');
    read(40, 10, 'd:x:y');
    assert.deepEqual(receipts(), []);
  });
});
