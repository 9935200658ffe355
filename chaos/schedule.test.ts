import assert from 'node:assert/strict';
import { planChaos, runChaos, type FaultMark } from './schedule.ts';
import type { World } from '../scenarios/engine/worlds.ts';

function fakeWorld(kind: string, control: World['control']): World & { calls: string[] } {
  const calls: string[] = [];
  const wrap = (name: string) => async (i: number) => void calls.push(`${name}:${i}`);
  const c: World['control'] = {};
  for (const k of Object.keys(control)) (c as Record<string, unknown>)[k] = wrap(k);
  return {
    kind, secret: 's', calls, control: c, stop: async () => {},
    nodes: [1, 2, 3].map((n) => ({ id: `node-${n}`, url: `ws://127.0.0.1:${9000 + n}/ws`, number: n })),
  };
}

const embeddedLike = { killNode: async () => {}, stopNode: async () => {}, restartNode: async () => {} };

describe('Chaos schedule', () => {
  it('rejects a fault the world cannot apply before the run starts (SIGSTOP in embedded)', () => {
    const world = fakeWorld('embedded', embeddedLike);
    assert.throws(() => planChaos([{ fault: 'node-pause', at: '1s', duration: '2s' }], world, 10_000), /cannot apply in the embedded world.*--world local/);
  });

  it('rejects unknown faults, unknown targets and times after the load', () => {
    const world = fakeWorld('embedded', embeddedLike);
    assert.throws(() => planChaos([{ fault: 'meteor', at: '1s' }], world, 10_000), /unknown fault; known: node-kill/);
    assert.throws(() => planChaos([{ fault: 'node-kill', target: 'node-9', at: '1s' }], world, 10_000), /node-1..node-3/);
    assert.throws(() => planChaos([{ fault: 'node-kill', at: '20s' }], world, 10_000), /after the load ends/);
    assert.throws(() => planChaos([{ fault: 'node-kill', at: 'soon' }], world, 10_000), /not a duration/);
  });

  it('scales percentages with the load and applies and reverts faults in order, marking each', async () => {
    const world = fakeWorld('local', { ...embeddedLike, pauseNode: async () => {}, resumeNode: async () => {} });
    const plan = planChaos([{ fault: 'node-kill', target: 'node-2', at: '20%', duration: '20%' }, { fault: 'node-pause', target: '3', at: '0%', duration: '10%' }], world, 300);
    assert.deepEqual(plan.map((p) => [p.atMs, p.durationMs, p.targets]), [[60, 60, [1]], [0, 30, [2]]]);
    const marks: FaultMark[] = [];
    await runChaos(plan, world, performance.timeOrigin + performance.now(), 300, (m) => marks.push(m));
    assert.deepEqual(world.calls, ['pauseNode:2', 'resumeNode:2', 'killNode:1', 'restartNode:1']);
    assert.deepEqual(marks.map((m) => [m.kind, m.target]), [['node-pause', 'node-3'], ['node-kill', 'node-2']]);
    const kill = marks[1]!;
    assert.ok(kill.startMs >= 55 && kill.endMs - kill.startMs >= 55, `kill from ${kill.startMs} to ${kill.endMs}`);
  });
});
