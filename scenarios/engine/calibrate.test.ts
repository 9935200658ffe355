import assert from 'node:assert/strict';
import { constants } from 'node:perf_hooks';
import { GcPauseMeter } from './live/gc-pauses.ts';
import { collectGarbage, gapsAroundMean, majorCycles, minorShare, scavenges, type ClusterGc } from './calibrate.ts';

describe('calibrate: the cluster process\'s collections', () => {
  const gc: ClusterGc = { cpuMs: 10_000, minor: { count: 150, totalMs: 1_000, meanMs: 1_000 / 150 }, major: { count: 2, totalMs: 30, meanMs: 15, gapsAroundMeanMs: 62.5 } };

  it('turns a run\'s scavenges into the sim\'s pauses: their mean, every so much of the CPU besides them', () => {
    assert.deepEqual(scavenges(gc), { everyCpuMs: 60, pauseMs: 6.6667 });
  });

  it('turns its major cycles into the sim\'s blocks: the loop\'s time in gaps around each, every so much of the CPU besides the scavenges', () => {
    assert.deepEqual(majorCycles(gc), { everyCpuMs: 4500, pauseMs: 62.5 });
    assert.equal(majorCycles({ ...gc, major: { count: 0, totalMs: 0, meanMs: 0, gapsAroundMeanMs: 0 } }), undefined, 'no cycle: no block');
    const cycles = [{ at: 1000, ms: 12 }, { at: 5000, ms: 20 }];
    const gaps = [{ at: 600, ms: 80 }, { at: 800, ms: 40 }, { at: 950, ms: 45 }, { at: 1012, ms: 30 }, { at: 3000, ms: 90 }];
    // Elsewhere: 80 + 90 ms of gaps in 10,000 - (412 + 420) ms of load; the first cycle's 412 ms window takes ~7.6 ms of that as usual.
    const usual = (170 / (10_000 - 832)) * 412;
    assert.equal(gapsAroundMean(cycles, gaps, 10_000), (40 + 45 + 30 - usual + 20) / 2, 'gaps from 300 ms before a cycle to 100 ms after, less the usual; a cycle with none, its own pause');
    assert.equal(gapsAroundMean([], gaps, 10_000), 0);
  });

  it('takes the scavenges\' share of the CPU off the frame costs, and never more than half of it', () => {
    assert.equal(minorShare(gc), 0.1);
    assert.equal(minorShare({ ...gc, cpuMs: 0 }), 0, 'no CPU: no share');
    assert.equal(minorShare({ ...gc, minor: { ...gc.minor, totalMs: 9_000 } }), 0.5);
  });

  it('collects this process\'s heap in full on demand (each measured run starts from one)', async () => {
    const seen = new GcPauseMeter(true);
    seen.start();
    collectGarbage();
    await new Promise((r) => setTimeout(r, 50));
    seen.stop();
    const kinds = seen.entries.map((e) => e.kind);
    assert.ok(kinds.includes(constants.NODE_PERFORMANCE_GC_MAJOR), `kinds seen: ${kinds.join(', ')}`);
  });
});
