import assert from 'node:assert/strict';
import { VirtualClock } from '../../system/clock/clock-virtual.ts';
import { SeededRandom } from '../../system/random/random.ts';
import { steadyChat } from '../builtin/steady-chat.ts';
import type { VirtualDevice } from '../device/device.ts';
import { Population } from '../population.ts';
import type { Scenario } from '../scenario.ts';
import { Load, type LoadHost } from './load.ts';

/** A wall-time load (no exactArrivals) on a virtual clock: every send's intended time and the time it fired. */
function runLoad(ratePerSec: number, durationMs: number) {
  const clock = new VirtualClock(0);
  const intervals: number[] = [];
  const scenario: Scenario = {
    ...steadyChat,
    population: { devices: 50, devicesPerUser: 1 },
    timeline: [],
    options: { ...steadyChat.options, scenarios: { chat: { executor: 'constant-arrival-rate', rate: ratePerSec, timeUnit: '1s', duration: `${durationMs}ms`, exec: 'chat' } } },
  };
  const population = new Population(scenario, 1, 't');
  const sends: { intended: number; at: number }[] = [];
  const devices = new Map<number, { device: VirtualDevice }>();
  for (let d = 0; d < 50; d++) {
    const device = { state: 'online', send: (_to: string, _body: string, _key: number, intended: number) => sends.push({ intended, at: clock.now() }) };
    devices.set(d, { device: device as unknown as VirtualDevice });
  }
  const host: LoadHost = {
    config: { worker: 0, workers: 1 },
    scenario,
    population,
    recorder: { willSend: () => {}, acked: 0 } as unknown as LoadHost['recorder'],
    devices,
    clock,
    t0: 0,
    timers: {
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      setInterval: (fn, ms) => (intervals.push(ms), clock.setInterval(fn, ms)),
      clear: (h) => clock.clear(h),
    },
  };
  const load = new Load(host, new SeededRandom(1));
  load.start();
  clock.advance(durationMs + 100);
  load.stop();
  return { sends, intervals, dropped: load.dropped };
}

describe('Load (open model, wall-time scheduling)', () => {
  it('fires each arrival at its intended time, by a timer armed for it, not by a polling interval', () => {
    const { sends, intervals } = runLoad(400, 1000);
    assert.deepEqual(intervals, [], 'no polling interval');
    assert.equal(sends.length, 400);
    for (const s of sends) assert.equal(s.at, s.intended, `arrival intended at ${s.intended} fired at ${s.at}`);
  });

  it('never fires an arrival before its intended time, and fires every one of a fast executor', () => {
    const { sends } = runLoad(5000, 200);
    assert.equal(sends.length, 1000);
    assert.ok(sends.every((s) => s.at >= s.intended));
  });
});
