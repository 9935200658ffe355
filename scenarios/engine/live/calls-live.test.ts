import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from './live.ts';

const quiet = { progress: false, log: () => {} };

describe('Calls, live against the embedded world (real UDP, the in-process relay)', function () {
  this.timeout(240_000);

  it('calls-evening: outcomes for every call, relayed and direct media counted on both ends, no late or phantom ring', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-calls-'));
    // A call is relayed with chance ~1/4: 120 devices at the scenario's 2 attempts a second for 10 s (7-14
    // connected) left no relayed call about once in ten runs. 240 devices at 4 a second for 15 s connect ~28
    // (none relayed: ~0.03%).
    const { report } = await runLive({ scenario: 'calls-evening', world: 'embedded', seed: 3, outDir, ...quiet, overrides: { devices: 240, duration: '15s', warmup: '0s', e2ee: false, callsPerSec: 4 } });
    const c = report.calls!;
    assert.ok(c.attempted >= 10, `attempted ${c.attempted}`);
    assert.equal(c.answered + c.rejected + c.busy + c.timedOut + c.failed + c.skipped, c.attempted);
    assert.equal(c.unresolved, 0);
    assert.deepEqual(c.failedBy, {});
    assert.ok(c.relayed > 0 && c.direct > 0, `relayed ${c.relayed}, direct ${c.direct}`);
    console.log(`      calls-evening: attempted ${c.attempted}, connected ${c.connected}, relayed ${c.relayed}, direct ${c.direct}, skipped ${c.skipped}, busy ${c.busy}`);
    // Every packet a leg sent was counted by its peer (loopback loses nothing at these rates).
    assert.ok(c.media.legs >= 2 * c.connected, `legs ${c.media.legs} for ${c.connected} connected calls`);
    assert.ok(c.media.packetsSent > 1000 && c.media.packetsReceived >= c.media.packetsSent * 0.99, `sent ${c.media.packetsSent}, received ${c.media.packetsReceived}`);
    assert.ok(c.relay.allocationsPeak > 0 && c.relay.bytes > 0 && c.relay.peakMbps > 0);
    assert.ok(c.setup.ringMs.count > 0 && c.setup.ringMs.p99 < 1000);
    assert.deepEqual(c.violations, { lateRings: 0, phantomRings: 0, unjudged: 0 });
    assert.equal(report.delivery.lost, 0);
  });

  it('call-node-death: a node killed while calls ring; every caller gets an outcome, no phantom or late ring [long]', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-calls-'));
    const { report } = await runLive({ scenario: 'call-node-death', world: 'embedded', seed: 2, outDir, ...quiet, overrides: { devices: 100, duration: '10s', warmup: '0s', e2ee: false } });
    const c = report.calls!;
    assert.ok(report.faults.some((f) => f.kind === 'node-kill'), 'the node was killed');
    assert.equal(c.unresolved, 0);
    assert.deepEqual(c.violations, { lateRings: 0, phantomRings: 0, unjudged: 0 });
    assert.equal(report.delivery.lost, 0);
  });

  it('relay-loss: packet loss on the relay link shows in the relayed legs\' loss, and only there [long]', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-calls-'));
    const { report } = await runLive({ scenario: 'relay-loss', world: 'embedded', seed: 1, outDir, ...quiet, overrides: { devices: 120, duration: '12s', warmup: '0s', e2ee: false } });
    const c = report.calls!;
    assert.ok(c.media.relayedLegs > 0);
    // 5% each way for the middle 40% of the run: the relayed legs lose a share of that, direct legs nothing.
    assert.ok(c.media.relayedLossPct > 0.3 && c.media.relayedLossPct < 5, `relayed loss ${c.media.relayedLossPct}%`);
    assert.ok(c.media.lossPct <= c.media.relayedLossPct);
    assert.equal(c.unresolved, 0);
  });
});
