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
});
