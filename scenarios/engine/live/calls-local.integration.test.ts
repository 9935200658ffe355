import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from './live.ts';

const quiet = { progress: false, log: () => {} };

describe('Calls in the local world (node processes over Redis, a real coturn)', function () {
  this.timeout(400_000);

  // One run shows both: relayed calls through a real coturn with packets counted on both ends, and coturn killed mid-call.
  it('relay-failure: relayed calls carry media through coturn until it is killed; those calls end media_lost (counted), every call resolved, no phantom ring', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-relay-failure-'));
    // The drill's calls are long and mostly relayed, so relayed calls carry media when the relay dies.
    const { report } = await runLive({
      scenario: 'relay-failure', world: 'local', seed: 5, outDir, ...quiet, overrides: { devices: 100, duration: '16s', warmup: '0s', e2ee: false },
    });
    const c = report.calls!;
    assert.equal(c.unresolved, 0);
    assert.equal(c.violations.phantomRings, 0);
    assert.equal(c.violations.lateRings, 0);
    const relayHurt = (c.failedBy.media_lost ?? 0) + Object.entries(c.failedBy).filter(([k]) => k.startsWith('turn_')).reduce((n, [, v]) => n + v, 0);
    assert.ok(c.relayed > 0, `relayed ${c.relayed}`);
    // Both legs of the relayed calls counted packets: what one sent the other received, until the relay died.
    assert.ok(c.media.relayedLegs >= 2 * c.relayed, `relayed legs ${c.media.relayedLegs} for ${c.relayed} relayed calls`);
    assert.ok(c.media.packetsReceived > 0.5 * c.media.packetsSent && c.relay.bytes > 0 && c.relay.allocationsPeak > 0, JSON.stringify(c.media));
    assert.ok(relayHurt > 0, `no call felt the relay die: ${JSON.stringify(c.failedBy)}`);
    assert.equal(report.delivery.lost, 0);
  });
});
