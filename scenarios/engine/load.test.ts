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

describe('Load (closed loop, constant-vus)', () => {
  /** VUs over a virtual clock whose "cluster" acks each send `ackMs` later (or never, for keys in `neverAck`). */
  function runVus(vus: number, ackMs: number, durationMs: number, neverAck = new Set<number>()) {
    const clock = new VirtualClock(0);
    const scenario: Scenario = {
      ...steadyChat,
      population: { devices: 20, devicesPerUser: 1 },
      timeline: [],
      options: { ...steadyChat.options, scenarios: { loop: { executor: 'constant-vus', vus, duration: `${durationMs}ms`, exec: 'chat' } } },
    };
    const recorder: LoadHost['recorder'] = { willSend: () => {}, onError: () => {} };
    const sends: { from: number; key: number; at: number }[] = [];
    const devices = new Map<number, { device: VirtualDevice }>();
    for (let d = 0; d < 20; d++) {
      const device = {
        state: 'online',
        send: (_to: string, _body: string, key: number) => {
          sends.push({ from: d, key, at: clock.now() });
          if (!neverAck.has(key)) clock.setTimeout(() => recorder.onSettled?.(key), ackMs);
        },
      };
      devices.set(d, { device: device as unknown as VirtualDevice });
    }
    const load = new Load({
      config: { worker: 0, workers: 1 }, scenario, population: new Population(scenario, 1, 't'), recorder, devices, clock, t0: 0,
      timers: { setTimeout: (fn, ms) => clock.setTimeout(fn, ms), setInterval: (fn, ms) => clock.setInterval(fn, ms), clear: (h) => clock.clear(h) },
    }, new SeededRandom(1));
    load.start();
    clock.advance(durationMs + 100);
    load.stop();
    return sends;
  }

  it('each VU sends its next message only once its own last one is acked: throughput = VUs / answer time', () => {
    const sends = runVus(5, 10, 1000);
    assert.equal(sends.length, 5 * 100, '5 VUs × (1000 ms / 10 ms per round trip)');
    for (let d = 0; d < 5; d++) {
      const mine = sends.filter((s) => s.from === d).map((s) => s.at);
      for (let i = 1; i < mine.length; i++) assert.equal(mine[i]! - mine[i - 1]!, 10, `VU ${d} waits for its own ack, not anyone's`);
    }
    assert.ok(sends.every((s) => s.from < 5), 'only the VUs send');
  });

  it('a VU whose message is never settled sends nothing more (others go on)', () => {
    const sends = runVus(2, 10, 200, new Set([0]));
    assert.equal(sends.filter((s) => s.from === sends[0]!.from).length, 1);
    assert.equal(sends.length, 1 + 20);
  });
});
