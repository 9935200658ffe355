import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from './live.ts';
import { sharedCassandra } from '../../../system/testing/shared-cassandra.ts';

// The local world over a 3-master Redis Cluster instead of one redis-server:
// every node process reaches it through a redis-cluster:// address, so the
// registry, bus, sequencer, dedup and presence all run on the cluster.
describe('Local world on a Redis Cluster', function () {
  this.timeout(300_000);

  it('runs steady-chat with zero lost messages', async () => {
    const { contactPoint } = await sharedCassandra();
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-local-cluster-'));
    const { report } = await runLive({
      scenario: 'steady-chat', world: 'local', redisCluster: true, cassandra: contactPoint, seed: 13, outDir, progress: false, log: () => {},
      overrides: { devices: 40, rate: 15, duration: '6s', graceMs: 60_000 },
    });
    assert.ok(existsSync(join(outDir, 'servers', 'redis-cluster', 'master-2')), 'the cluster ran in the run folder');
    assert.ok(report.messages.acked >= 80, `acked ${report.messages.acked}`);
    assert.equal(report.delivery.lost, 0, `first lost: ${JSON.stringify(report.delivery.firstLost)}`);
    assert.equal(report.delivery.duplicated, 0);
  });
});
