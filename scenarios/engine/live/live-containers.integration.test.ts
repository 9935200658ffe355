import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from './live.ts';
import { provisionDocker } from '../../../system/worlds/containers-images.ts';

const quiet = { progress: false, log: () => {} };

/**
 * Needs a Docker engine and the local images: `before` runs
 * scripts/provision-docker.sh (about 1 s when done) and FAILS, with the
 * script's words, when it cannot provision them: never a silent skip.
 */
describe('The containers world (Testcontainers)', function () {
  this.timeout(400_000);

  before(function () {
    this.timeout(900_000);
    provisionDocker('provision');
  });

  // One world for both: chat and media over the same containers (a containers world takes ~20 s to start).
  it('runs media-mix on Redis, Cassandra, push, SeaweedFS, the media service and 3 node containers: chat and media delivered, media intact, nothing lost', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-containers-'));
    let timings: Record<string, number> = {};
    const { report } = await runLive({
      scenario: 'media-mix', world: 'containers', overrides: { devices: 60, duration: '4s', rate: 30, nodes: 3 }, seed: 13, outDir, ...quiet,
      onLoadStart: (world) => (timings = { ...world.containers!.timings }),
    });
    console.log(`      containers world ready in ${JSON.stringify(timings)} ms; run ${report.wallMs} ms`);
    assert.equal(report.world, 'containers');
    assert.equal(report.nodes, 3);
    assert.ok(report.messages.acked > 100, `acked ${report.messages.acked}`);
    assert.equal(report.delivery.lost, 0);
    assert.equal(report.delivery.duplicated, 0);
    assert.equal(report.delivery.delivered, report.delivery.expected);
    assert.ok(report.paths['cross-node'].delivered > 0, 'some messages crossed nodes over the Redis bus');
    // Latency thresholds are not asserted: on 2 shared cores with a cold Cassandra they measure the machine.
    assert.equal(report.thresholds.find((t) => t.metric === 'lost')?.passed, true);
    const m = report.media!;
    assert.ok(m.uploads.count > 0 && m.uploads.failed === 0, `uploads ${m.uploads.count}, failed ${m.uploads.failed}`);
    assert.ok(report.paths.media.delivered > 0);
    assert.equal(report.paths.media.lost, 0);
    assert.equal(m.service?.uploadsStored, m.uploads.count);
    assert.match(readFileSync(join(outDir, 'servers', 'media.log'), 'utf8'), /"store":"s3"/);
  });

  it('loses nothing acked when a node container is docker-killed mid-run (node-failure)', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-containers-'));
    // Modest load, as in the local world's test: on 2 cores a Cassandra-backed lifecycle is write-bound.
    const { report } = await runLive({ scenario: 'node-failure', world: 'containers', overrides: { devices: 45, duration: '10s', rate: 20, graceMs: 30_000 }, seed: 12, outDir, ...quiet });
    assert.equal(report.faults.length, 1);
    assert.equal(report.faults[0]!.kind, 'node-kill');
    const node2 = readFileSync(join(outDir, 'servers', 'node-2.log'), 'utf8');
    assert.equal(node2.match(/"ready":true/g)?.length, 2, 'node-2 came back in a new container on its port');
    assert.ok(report.messages.acked > 100, `acked ${report.messages.acked}`);
    assert.equal(report.delivery.lost, 0, `lost ${report.delivery.lost}; first: ${JSON.stringify(report.delivery.firstLost)}; logs in ${outDir}/servers`);
    assert.equal(report.delivery.duplicated, 0);
    assert.ok(report.paths['offline-drain'].delivered + report.paths['cross-node'].delivered > 0);
  });

  it('reports a node container docker-killed from outside chatlab as an observed fault [long]', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-containers-'));
    let killedAtMs = NaN;
    const { report } = await runLive({
      scenario: 'steady-chat', world: 'containers', overrides: { devices: 45, duration: '12s', rate: 20, graceMs: 30_000 }, seed: 13, outDir, ...quiet,
      onLoadStart: (world) => {
        const t0 = Date.now();
        const id = world.containers!.nodes[1]!.container!.getId();
        // As an operator would, with the docker CLI: no chatlab control is involved.
        setTimeout(() => {
          killedAtMs = Date.now() - t0;
          spawnSync('docker', ['kill', id], { stdio: 'ignore', timeout: 30_000 });
        }, 5000);
      },
    });
    const seen = report.faults.filter((f) => f.observed);
    assert.equal(seen.length, 1, JSON.stringify(report.faults));
    assert.deepEqual([seen[0]!.kind, seen[0]!.target], ['unresponsive', 'node-2']);
    assert.ok(Math.abs(seen[0]!.startMs - killedAtMs) < 3000, `marked at ${seen[0]!.startMs} ms, killed at ~${Math.round(killedAtMs)} ms`);
    assert.equal(report.delivery.lost, 0, JSON.stringify(report.delivery.firstLost));
  });
});
