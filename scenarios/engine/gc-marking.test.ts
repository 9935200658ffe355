import assert from 'node:assert/strict';
import { constants } from 'node:perf_hooks';
import { GcSampler, gcSamplesOf, majorCyclesOf } from './gc-marking.ts';
import { collectGarbage } from './calibrate.ts';

const { NODE_PERFORMANCE_GC_MINOR: MINOR, NODE_PERFORMANCE_GC_MAJOR: MAJOR, NODE_PERFORMANCE_GC_INCREMENTAL: INCREMENTAL } = constants;

describe('gc-marking: a major cycle\'s marking from a CPU profile', () => {
  it('takes a profile\'s (garbage collector) samples, each lasting until the next, on performance.now()\'s clock', () => {
    const profile = {
      nodes: [{ id: 1, callFrame: { functionName: '(root)' } }, { id: 2, callFrame: { functionName: '(garbage collector)' } }, { id: 3, callFrame: { functionName: 'send' } }, { id: 4, callFrame: { functionName: '(idle)' } }],
      startTime: 5_000_000, // µs on the monotonic clock
      samples: [3, 2, 2, 3, 4, 2],
      timeDeltas: [1000, 1000, 1500, 1000, 2000, 1000],
    };
    // performance.now() = monotonic ms - 4000; the idle sample is left out, the loop's own work marked.
    assert.deepEqual(gcSamplesOf(profile, 4000), [
      { at: 1001, ms: 1, work: true }, { at: 1002, ms: 1.5 }, { at: 1003.5, ms: 1 }, { at: 1004.5, ms: 2, work: true }, { at: 1007.5, ms: 1 },
    ]);
    assert.deepEqual(gcSamplesOf({ ...profile, samples: undefined, timeDeltas: undefined }, 4000), [], 'an empty profile');
  });

  it('charges each major cycle the collector\'s samples from its marking\'s start to its final pause, less scavenges', () => {
    const entries = [
      { kind: MINOR, at: 100, ms: 5 },
      { kind: INCREMENTAL, at: 200, ms: 1 },
      { kind: INCREMENTAL, at: 250, ms: 1 },
      { kind: MINOR, at: 300, ms: 6 },
      { kind: MAJOR, at: 380, ms: 20 },
      { kind: MAJOR, at: 900, ms: 12 }, // no marking entry before it: its own pause only
    ];
    const samples = [
      { at: 101, ms: 1 }, // a scavenge before marking began
      { at: 210, ms: 1 }, { at: 260, ms: 2 }, { at: 302, ms: 1 }, // the middle one inside the scavenge at 300
      { at: 370, ms: 3 },
      { at: 385, ms: 1 }, // the final pause (its own entry counts it)
      { at: 600, ms: 1 }, // between cycles
      { at: 150, ms: 4, work: true as const }, // the loop's work before marking began
      { at: 220, ms: 3, work: true as const }, { at: 340, ms: 2, work: true as const }, // and while it marked
      { at: 700, ms: 5, work: true as const }, // between cycles
    ].sort((a, b) => a.at - b.at);
    assert.deepEqual(majorCyclesOf(entries, samples), [
      { markingMs: 6, finalMs: 20, wallMs: 180, workMs: 5 },
      { markingMs: 0, finalMs: 12, wallMs: 0, workMs: 0 },
    ]);
  });

  it('sees this thread\'s collector in a real profile, at the time it ran', async () => {
    const sampler = new GcSampler();
    await sampler.start();
    // A heap worth marking: a full collection of it takes well over the 1 ms sampling interval.
    const kept = Array.from({ length: 400_000 }, (_, i) => ({ i, s: `x${i}` }));
    const from = performance.now();
    collectGarbage();
    collectGarbage();
    const to = performance.now();
    const samples = await sampler.stop();
    assert.ok(kept.length > 0);
    const during = samples.filter((s) => !s.work && s.at >= from - 2 && s.at <= to + 2);
    assert.ok(during.length > 0, `collector samples between ${from.toFixed(1)} and ${to.toFixed(1)}: ${JSON.stringify(samples.slice(-5))}`);
    const inside = during.reduce((n, s) => n + s.ms, 0);
    assert.ok(inside >= (to - from) * 0.3, `the collections took ${(to - from).toFixed(1)} ms, the profile saw ${inside.toFixed(1)} ms of collector`);
  });
});
