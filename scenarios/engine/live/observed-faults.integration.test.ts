import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from './live.ts';
import type { Report } from '../../../reports/report.ts';
import { sharedCassandra } from '../../../system/testing/shared-cassandra.ts';
import { requireProvisioned } from '../../../system/worlds/infra/provisioning.ts';

// A node process of the local world killed from outside chatlab, as an
// operator's `kill -9` would: no chaos schedule, no control API. The report
// must name the fault (observed, not scheduled) and no send may be left
// unacknowledged: the dead node's in-progress dedup claims lapse with its
// liveness, so every retry is acked on a surviving node.
describe('Observed faults in the local world', function () {
  this.timeout(400_000);

  before(() => {
    requireProvisioned({ redis: true, cassandra: true });
  });

  it('reports a node SIGKILLed from outside as an observed fault, with every send acked and nothing acked lost', async () => {
    const cassandra = (await sharedCassandra()).contactPoint;
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-observed-'));
    const killAfterMs = 6000;
    let killedAtMs = NaN;
    let loadStartMs = NaN;
    const { report } = await runLive({
      scenario: 'steady-chat', world: 'local', cassandra, seed: 23, outDir, progress: false, log: () => {},
      overrides: { devices: 200, duration: '20s', rate: 40, nodes: 3, graceMs: 60_000 },
      onLoadStart: (world) => {
        loadStartMs = Date.now();
        const victim = world.local!.nodes[1]!;
        setTimeout(() => {
          killedAtMs = Date.now() - loadStartMs;
          process.kill(victim.proc.pid, 'SIGKILL');
        }, killAfterMs);
      },
    }) as { report: Report };
    const seen = report.faults.filter((f) => f.observed);
    assert.equal(seen.length, 1, JSON.stringify(report.faults));
    const f = seen[0]!;
    assert.deepEqual([f.kind, f.target, f.detail], ['process-exit', 'node-2', 'killed by SIGKILL']);
    // The run clock starts ~300 ms after onLoadStart; the watchdog looks every 500 ms.
    assert.ok(Math.abs(f.startMs - killedAtMs) < 1500, `marked at ${f.startMs} ms, killed at ~${Math.round(killedAtMs)} ms`);
    assert.ok(f.impact && f.impact.reconnects.devices > 0, 'its devices were cut off and counted');
    assert.equal(report.messages.failed, 0, 'every send a device retried was acked: none stuck in_progress');
    assert.equal(report.delivery.lost, 0, JSON.stringify(report.delivery.firstLost));
    assert.equal(report.delivery.duplicated, 0);
  });
});
