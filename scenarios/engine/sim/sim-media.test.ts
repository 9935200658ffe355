import assert from 'node:assert/strict';
import { VirtualClock } from '../../../system/clock/clock-virtual.ts';
import { withoutWallClock } from './sim-report.ts';
import { replaySim, runSim } from './sim.ts';
import { DEFAULT_SIM_MEDIA, SimMedia } from './sim-media.ts';
import { MediaStats } from '../media-stats.ts';
import type { UploadedMedia } from '../../device/media.ts';

const quiet = { progress: false, log: () => {} };

describe('Media in the sim', function () {
  this.timeout(300_000);

  it('runs media-mix with modeled links and edges: every media message delivered, the same for the same seed', async () => {
    const run = () => runSim({ scenario: 'media-mix', overrides: { devices: 100, duration: '5s', rate: 40 }, seed: 5, ...quiet });
    const [a, b] = [await run(), await run()];
    const m = a.report.media!;
    assert.equal(m.mode, 'modeled');
    assert.ok(m.uploads.count > 10, `uploads ${m.uploads.count}`);
    assert.equal(m.downloads.count, a.report.paths.media.delivered);
    assert.equal(a.report.paths.media.lost, 0);
    assert.equal(m.edges.reduce((n, e) => n + e.requests, 0), m.downloads.count);
    assert.ok(a.report.passed);
    assert.deepEqual((withoutWallClock(a.report) as { media: unknown }).media, (withoutWallClock(b.report) as { media: unknown }).media);
    // A replay takes the run's media model from the report, whatever the environment says now.
    process.env.CHATLAB_MEDIA_EDGES = '5';
    try {
      const again = await replaySim(a.report, quiet);
      assert.deepEqual(again.diff, []);
      assert.equal(again.report.media!.edges.length, 2);
    } finally {
      delete process.env.CHATLAB_MEDIA_EDGES;
    }
  });

  it('forwards a video without uploading it again (viral-forward): dedup and edge hits climb', async () => {
    const { report } = await runSim({ scenario: 'viral-forward', overrides: { devices: 300 }, seed: 3, ...quiet });
    const m = report.media!;
    assert.equal(m.uploads.count, 1);
    assert.ok(m.forwards >= 5, `forwards ${m.forwards}`);
    assert.equal(m.uploads.deduplicated, m.forwards);
    assert.ok(m.dedupRatio > 0.8 && m.edgeHitRatio > 0.5, `dedup ${m.dedupRatio}, hits ${m.edgeHitRatio}`);
    assert.equal(report.delivery.lost, 0);
  });

  describe('SimMedia', () => {
    const settle = (clock: VirtualClock, ms: number) => clock.advance(ms);

    it('takes the time its links need: round trips plus size over bandwidth, one transfer at a time per device', () => {
      const clock = new VirtualClock(0);
      const stats = new MediaStats();
      const media = new SimMedia(clock, stats);
      const done: [number, UploadedMedia | undefined][] = [];
      media.upload('a.1', 'video', 'video/mp4', 5_000_000, (r) => done.push([clock.now(), r]));
      media.upload('a.1', 'video', 'video/mp4', 5_000_000, (r) => done.push([clock.now(), r]));
      settle(clock, 10_000);
      // 5 MB over 20 Mbit/s is 2 s; the request's round trip before it, half a round trip after.
      const one = DEFAULT_SIM_MEDIA.rttMs + 2000 + DEFAULT_SIM_MEDIA.rttMs / 2;
      assert.deepEqual(done.map(([at]) => at), [one, one + 2000 + DEFAULT_SIM_MEDIA.rttMs / 2]);
    });

    it('answers an expired object as expired, a missing one as lost, and keeps the most recently used bytes at the edge', () => {
      const clock = new VirtualClock(0);
      const stats = new MediaStats();
      const media = new SimMedia(clock, stats, { ...DEFAULT_SIM_MEDIA, edges: 1, retentionMs: 60_000 });
      let ref: UploadedMedia | undefined;
      media.upload('a.1', 'photo', 'image/jpeg', 1000, (r) => (ref = r));
      settle(clock, 1000);
      const outcomes: string[] = [];
      media.fetch('b.1', ref!, (o) => outcomes.push(o));
      media.fetch('c.1', ref!, (o) => outcomes.push(o));
      settle(clock, 1000);
      media.fetch('b.1', { ...ref!, key: 'f'.repeat(64) }, (o) => outcomes.push(o));
      settle(clock, 60_000);
      media.fetch('b.1', ref!, (o) => outcomes.push(o));
      settle(clock, 1000);
      assert.deepEqual(outcomes, ['ok', 'ok', 'lost', 'expired']);
      const [edge] = media.edgeReports();
      assert.deepEqual([edge!.hits, edge!.misses], [1, 1]);
      assert.deepEqual([stats.counts.expired, stats.counts.lost], [1, 1]);
    });
  });
});
