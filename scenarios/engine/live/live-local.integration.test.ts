import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from './live.ts';
import { sharedCassandra } from '../../../system/testing/shared-cassandra.ts';

// The local world: N chat node processes over a real redis-server and a real
// Cassandra. Cassandra is shared by the test files of this mocha process
// (each run gets its own keyspace); redis-server is started by each run.
// Rates are modest: on 2 cores a Cassandra-backed lifecycle is write-bound.
describe('Local world (node processes, real Redis and Cassandra)', function () {
  this.timeout(300_000);
  const quiet = { progress: false, log: () => {} };

  it('runs steady-chat with zero lost messages', async () => {
    const { contactPoint } = await sharedCassandra();
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-local-'));
    const { report } = await runLive({
      scenario: 'steady-chat', world: 'local', cassandra: contactPoint, seed: 11, outDir, ...quiet,
      overrides: { devices: 40, rate: 15, duration: '6s', graceMs: 60_000 },
    });
    assert.equal(report.world, 'local');
    assert.ok(report.messages.acked >= 80, `acked ${report.messages.acked}`);
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.delivery.duplicated, 0);
    const log = readFileSync(join(outDir, 'servers', 'node-1.log'), 'utf8');
    assert.match(log, /"ready":true/, 'node logs stay in the run folder');
  });

  it('loses no acked message when a node process is killed with SIGKILL mid-run', async () => {
    const { contactPoint } = await sharedCassandra();
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-local-'));
    const { report } = await runLive({
      scenario: 'node-failure', world: 'local', cassandra: contactPoint, seed: 12, outDir, ...quiet,
      overrides: { devices: 45, rate: 15, duration: '12s', graceMs: 60_000 },
    });
    assert.equal(report.faults.length, 1);
    assert.equal(report.faults[0]!.kind, 'node-kill');
    assert.ok(report.messages.acked > 100);
    assert.equal(report.delivery.lost, 0, `first lost: ${JSON.stringify(report.delivery.firstLost)}`);
    assert.equal(report.delivery.duplicated, 0);
  });
});
