import assert from 'node:assert/strict';
import { componentOf, cpuBreakdown, formatBreakdown, type CpuProfile } from './cpu-profile.ts';

const root = 'file:///home/u/chatlab';

function profile(frames: [string, string][], samples: number[], deltas: number[], endTime: number): CpuProfile {
  return {
    nodes: frames.map(([functionName, url], i) => ({ id: i + 1, callFrame: { functionName, url } })),
    startTime: 0,
    endTime,
    samples,
    timeDeltas: deltas,
  };
}

describe('cpu profile breakdown', () => {
  it('names the component of each part of chatlab by its path', () => {
    assert.equal(componentOf(`${root}/system/node/delivery.ts`, 'onRecv'), 'node core');
    assert.equal(componentOf(`${root}/system/protocol/parse.ts`, ''), 'node core');
    assert.equal(componentOf(`${root}/system/inbox/inbox-memory.ts`, 'put'), 'stores and caches');
    assert.equal(componentOf(`${root}/system/cache/ttl-cache.ts`, 'live'), 'stores and caches');
    assert.equal(componentOf(`${root}/system/worlds/sim/sim-transport.ts`, 'deliver'), 'sim world');
    assert.equal(componentOf(`${root}/system/clock/clock-virtual.ts`, 'runUntil'), 'sim world');
    assert.equal(componentOf(`${root}/scenarios/device/device.ts`, 'onFrame'), 'devices');
    assert.equal(componentOf(`${root}/scenarios/population.ts`, 'recipients'), 'devices');
    assert.equal(componentOf(`${root}/scenarios/engine/device-ledger.ts`, 'onAck'), 'engine');
    assert.equal(componentOf(`${root}/reports/join.ts`, ''), 'engine');
    assert.equal(componentOf('', '(garbage collector)'), 'gc');
    assert.equal(componentOf('', 'runMicrotasks'), 'promise jobs');
    assert.equal(componentOf('node:internal/process/task_queues', 'processTicksAndRejections'), 'promise jobs');
    assert.equal(componentOf(`${root}/node_modules/quick-lru/index.js`, 'get'), 'other');
    assert.equal(componentOf(`${root}/node_modules/x/system/node/y.js`, 'f'), 'other');
    assert.equal(componentOf('', '(idle)'), 'other');
  });

  it('gives each sample the time to the next one, the last the time to the end', () => {
    const p = profile(
      [['(root)', ''], ['onFrame', `${root}/system/node/chat-node.ts`], ['(garbage collector)', ''], ['onFrame', `${root}/scenarios/device/device.ts`]],
      [2, 3, 2, 4],
      // Samples at 100, 400, 500, 1000 µs; the profile ends at 2000.
      [100, 300, 100, 500],
      2000,
    );
    const b = cpuBreakdown(p);
    const s = Object.fromEntries(b.components.map((c) => [c.component, c.seconds * 1e6]));
    assert.equal(b.spanSeconds, 0.002);
    assert.equal(s['node core'], 300 + 500);
    assert.equal(s.gc, 100);
    assert.equal(s.devices, 1000);
    assert.equal(s.other, 0);
    const shares = b.components.reduce((a, c) => a + c.share, 0);
    assert.ok(Math.abs(shares - 0.95) < 1e-9, `the first 100 µs have no sample: ${shares}`);
  });

  it('prints seconds, shares and microseconds per message, busiest first', () => {
    const p = profile([['a', `${root}/system/node/a.ts`], ['b', `${root}/scenarios/device/b.ts`]], [1, 2], [0, 1_000_000], 4_000_000);
    const lines = formatBreakdown(cpuBreakdown(p), 1000);
    assert.deepEqual(lines, [
      'main thread over 4.0 s, 1000 messages sent in it: 4000 µs a message',
      'devices: 3.0 s (75.0%), 3000 µs a message',
      'node core: 1.0 s (25.0%), 1000 µs a message',
    ]);
    assert.equal(formatBreakdown(cpuBreakdown(p), 0)[1], 'devices: 3.0 s (75.0%)');
  });

  it('refuses a profile whose samples and time deltas disagree, or that names a missing node', () => {
    assert.throws(() => cpuBreakdown(profile([['a', '']], [1, 1], [1], 10)), /2 samples but 1 time deltas/);
    assert.throws(() => cpuBreakdown(profile([['a', '']], [7], [1], 10)), /node 7/);
  });
});
