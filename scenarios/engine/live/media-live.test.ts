import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLive } from './live.ts';

const quiet = { progress: false, log: () => {} };

describe('Media, live against the embedded world', function () {
  this.timeout(180_000);

  it('uploads once, downloads from the edges, and counts a media message delivered when its bytes arrived intact', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-media-'));
    const { report } = await runLive({ scenario: 'media-mix', world: 'embedded', seed: 3, outDir, ...quiet, overrides: { devices: 40, duration: '4s', rate: 25, warmup: '0s' } });
    const m = report.media!;
    assert.ok(m, 'a media section');
    assert.ok(m.uploads.count >= 5, `uploads ${m.uploads.count}`);
    assert.equal(m.uploads.failed, 0);
    assert.equal(report.paths.media.lost, 0);
    assert.ok(report.paths.media.delivered > 0);
    // Every media delivery is one intact download (and, sealed, one attachment opened).
    assert.equal(m.downloads.count, report.paths.media.delivered + report.paths.media.duplicatedTransport);
    assert.equal(report.e2ee!.attachmentsSealed, m.uploads.count);
    assert.equal(report.e2ee!.attachmentsOpened, m.downloads.count);
    assert.equal(m.edges.length, 2);
    assert.equal(m.edges.reduce((n, e) => n + e.requests, 0), m.downloads.count);
    assert.equal(m.service?.uploadsStored, m.uploads.count);
    assert.ok(m.uploadMs.count === m.uploads.count && m.downloadMs.p50 > 0);
    assert.equal(report.delivery.lost, 0);
    assert.ok(report.passed, JSON.stringify(report.thresholds.filter((t) => !t.passed)));
  });

  it('downloads media without end-to-end encryption too (unsealed bytes, the reference in the plain body)', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-media-'));
    const { report } = await runLive({ scenario: 'media-mix', world: 'embedded', seed: 6, outDir, ...quiet, overrides: { devices: 30, duration: '3s', rate: 20, warmup: '0s', e2ee: false } });
    const m = report.media!;
    assert.ok(m.uploads.count > 0);
    assert.equal(report.paths.media.delivered, m.downloads.count);
    assert.ok(m.downloads.count > 0);
    assert.equal(report.delivery.lost, 0);
  });

  it('reports a media message whose object is gone from the store lost on the media path, and fails the run', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-media-'));
    const { report } = await runLive({
      scenario: 'media-mix', world: 'embedded', seed: 4, outDir, ...quiet, overrides: { devices: 40, duration: '3s', rate: 25, warmup: '0s' },
      onLoadStart: (world) => {
        world.embedded!.mediaStore.loseWrites = true;
      },
    });
    const m = report.media!;
    assert.ok(m.uploads.count > 0);
    assert.ok(report.paths.media.lost > 0, 'media messages lost');
    assert.equal(report.paths.media.delivered, 0);
    assert.equal(m.downloads.lost, report.paths.media.lost);
    // The text of each one arrived: only the media path lost anything.
    for (const p of ['direct', 'cross-node', 'group-write'] as const) assert.equal(report.paths[p].lost, 0, p);
    assert.equal(report.delivery.lost, report.paths.media.lost);
    assert.equal(report.passed, false);
  });

  it('forwards a video along contact chains without moving its bytes again (viral-forward) [long]', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'chatlab-media-'));
    let bytesIntoStore = 0;
    const { report } = await runLive({
      scenario: 'viral-forward', world: 'embedded', seed: 2, outDir, ...quiet, overrides: { devices: 120, warmup: '0s' },
      onLoadEnd: (world) => {
        bytesIntoStore = world.embedded!.mediaStore.stats.bytesIn;
      },
    });
    const m = report.media!;
    assert.equal(m.uploads.count, 1, 'one video uploaded');
    assert.ok(m.forwards >= 5, `forwards ${m.forwards}`);
    assert.equal(m.uploads.deduplicated, m.forwards, 'every forward answered "already stored"');
    assert.equal(bytesIntoStore, m.uploads.bytes, 'its bytes went into the store once');
    assert.ok(m.dedupRatio > 0.8, `dedup ratio ${m.dedupRatio}`);
    assert.ok(m.edgeHitRatio > 0.5, `edge hit ratio ${m.edgeHitRatio}`);
    assert.equal(report.paths.media.lost, 0);
    assert.equal(report.paths.media.delivered, m.downloads.count);
    assert.ok(report.passed);
  });
});
