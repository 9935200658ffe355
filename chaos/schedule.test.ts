import assert from 'node:assert/strict';
import { planChaos, runChaos, sleepUntilWall, type FaultMark } from './schedule.ts';
import type { World } from '../system/worlds/world.ts';

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
    assert.throws(() => planChaos([{ fault: 'node-kill', at: 'soon' }], world, 10_000), /chaos\[0\]\.at: expected a duration like 500ms, 30s, 2m or 1h30m, or a share of the load like 30%, got "soon"/);
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

  it('rejects dependency and network faults in a world without those controls, naming the world that has them', () => {
    const world = fakeWorld('embedded', embeddedLike);
    assert.throws(() => planChaos([{ fault: 'redis-stop', at: '1s', duration: '2s' }], world, 10_000), /cannot apply in the embedded world \(it has no stopRedis, startRedis\).*--world local/);
    assert.throws(() => planChaos([{ fault: 'cassandra-stop', at: '1s', duration: '2s' }], world, 10_000), /no stopCassandra/);
    assert.throws(() => planChaos([{ fault: 'latency', target: 'cassandra', ms: 200, at: '1s', duration: '2s' }], world, 10_000), /no network.*Toxiproxy/);
  });

  it('resolves network targets to links and checks options before the run', async () => {
    const added: string[] = [];
    const links = ['node-1:redis', 'node-1:cassandra', 'node-2:redis', 'node-2:cassandra'];
    const world = fakeWorld('local', embeddedLike);
    world.control.network = {
      links: () => links,
      addToxic: async (link, t) => (added.push(`+${link} ${t.type} ${t.stream} ${JSON.stringify(t.attributes)}`), async () => void added.push(`-${link}`)),
      cut: async (link) => (added.push(`cut ${link}`), async () => void added.push(`heal ${link}`)),
    };
    world.control.partition = (a, b) => world.control.network!.cut(`${a}:${b}`);
    assert.throws(() => planChaos([{ fault: 'latency', target: 'cassandra', at: '0s', duration: '1s' }], world, 1000), /chaos\[0\]\.ms: expected a number >= 0, got nothing/);
    assert.throws(() => planChaos([{ fault: 'latency', target: 'node-3:redis', ms: 5, at: '0s', duration: '1s' }], world, 1000), /no link node-3:redis/);
    assert.throws(() => planChaos([{ fault: 'reset', target: 'mongo', at: '0s', duration: '1s' }], world, 1000), /chaos\[0\]\.target: expected redis, cassandra, devices or node-<n>:<peer>.*got "mongo"/);
    assert.throws(() => planChaos([{ fault: 'slicer', target: 'redis', averageBytes: 16, variationBytes: 32, at: '0s', duration: '1s' }], world, 1000), /below averageBytes/);
    assert.throws(() => planChaos([{ fault: 'partition', target: 'node-1', peer: 'devices', at: '0s', duration: '1s' }], world, 1000), /only from redis, cassandra/);
    const plan = planChaos([
      { fault: 'latency', target: 'cassandra', ms: 200, jitterMs: 10, at: '0s', duration: '20ms' },
      { fault: 'partition', target: 'node-2', peer: 'redis', at: '40ms', duration: '20ms' },
    ], world, 100);
    const marks: FaultMark[] = [];
    await runChaos(plan, world, performance.timeOrigin + performance.now(), 100, (m) => marks.push(m));
    assert.deepEqual(added, [
      '+node-1:cassandra latency downstream {"latency":200,"jitter":10}', '+node-2:cassandra latency downstream {"latency":200,"jitter":10}',
      '-node-1:cassandra', '-node-2:cassandra', 'cut node-2:redis', 'heal node-2:redis',
    ]);
    assert.deepEqual(marks.map((m) => `${m.kind} ${m.target}`), ['latency cassandra +200ms±10', 'partition node-2|redis']);
  });

  it('waits until the clock that marks a fault has passed its end, even when timers run ahead of it', async () => {
    // A clock 5 ms behind the timers' own: a single timer would wake while it still reads short of the target.
    const lagging = () => performance.now() - 5;
    const until = lagging() + 20;
    await sleepUntilWall(lagging, until);
    assert.ok(lagging() >= until, `woke at ${lagging()} for ${until}`);
  });
});
