import assert from 'node:assert/strict';
import { runSim } from './sim.ts';

const quiet = { progress: false, log: () => {} };

describe('Calls in the sim (real signalling, modeled media)', function () {
  this.timeout(180_000);

  it('runs calls-evening: every call has an outcome, a share relayed, no late or phantom ring, the same figures for the same seed', async () => {
    const run = () => runSim({ scenario: 'calls-evening', overrides: { devices: 160, duration: '15s' }, seed: 5, ...quiet });
    const [a, b] = [await run(), await run()];
    const c = a.report.calls!;
    assert.ok(c.attempted >= 20, `attempted ${c.attempted}`);
    assert.equal(c.answered + c.rejected + c.busy + c.timedOut + c.failed + c.skipped, c.attempted);
    assert.equal(c.unresolved, 0);
    assert.ok(c.answered > 0 && c.rings >= c.placed, `answered ${c.answered}, rings ${c.rings}`);
    assert.ok(c.relayed > 0 && c.direct > 0, `relayed ${c.relayed}, direct ${c.direct}`);
    // Both legs of every connected call report what they measured.
    assert.ok(c.media.legs >= 2 * c.connected, `legs ${c.media.legs} for ${c.connected} connected`);
    assert.ok(c.relay.allocationsPeak > 0 && c.relay.bytes > 0);
    assert.deepEqual(c.violations, { lateRings: 0, phantomRings: 0, unjudged: 0 });
    assert.equal(a.report.passed, true);
    assert.deepEqual(c, b.report.calls);
  });

  it('a node killed while calls ring: every caller still gets an outcome and no device rings on (call-node-death)', async () => {
    const { report } = await runSim({ scenario: 'call-node-death', overrides: { devices: 160, duration: '15s' }, seed: 2, ...quiet });
    const c = report.calls!;
    assert.equal(c.unresolved, 0);
    assert.equal(c.violations.phantomRings, 0);
    assert.equal(c.violations.lateRings, 0);
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.passed, true, JSON.stringify(report.thresholds.filter((t) => !t.passed)));
  });

  it('--calls adds calls to a scenario that has none (steady-chat), at the rate asked', async () => {
    const { report } = await runSim({ scenario: 'steady-chat', overrides: { devices: 200, duration: '10s', callsPerSec: 2, graceMs: 25_000 }, seed: 4, ...quiet });
    const c = report.calls!;
    // 2 attempts a second for the 10 s load and its 2 s warm-up, less iterations whose caller was already in a call.
    assert.ok(c.attempted >= 16 && c.attempted <= 24, `attempted ${c.attempted}`);
    assert.equal(c.unresolved, 0);
    assert.equal(report.delivery.lost, 0);
  });
});
