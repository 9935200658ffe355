import assert from 'node:assert/strict';
import { runAccountsSuite } from '../../accounts/accounts.suite.ts';
import type { Bus } from '../../bus/bus.ts';
import { runBusSuite } from '../../bus/bus.suite.ts';
import { ENDED_KEEP_MS } from '../../calls/calls.ts';
import { runCallsSuite } from '../../calls/calls.suite.ts';
import { runDedupSuite } from '../../dedup/dedup.suite.ts';
import { runGroupsSuite } from '../../groups/groups.suite.ts';
import { runInboxSuite } from '../../inbox/inbox.suite.ts';
import { runKeysSuite } from '../../keys/keys.suite.ts';
import { runMessageLogSuite } from '../../log/message-log.suite.ts';
import type { Ports } from '../../node/ports.ts';
import { runPresenceSuite } from '../../presence/presence.suite.ts';
import { runPushSuite } from '../../push/push.suite.ts';
import { runRegistrySuite } from '../../registry/registry.suite.ts';
import { runSequencerSuite } from '../../sequencer/sequencer.suite.ts';
import { LIVE_STORIES_MAX } from '../../stories/stories.ts';
import { runStoriesSuite } from '../../stories/stories.suite.ts';
import { PortError } from '../../protocol/errors.ts';
import { SeededRandom } from '../../random/random.ts';
import { memoryPorts, type PortName } from '../memory-ports.ts';
import { datacenterCalibration, type Calibration } from './calibration.ts';
import type { Dist } from './distribution.ts';
import { SimClock } from './sim-clock.ts';
import { SimNetwork } from './sim-network.ts';
import { simPorts, type SimStores } from './sim-ports.ts';
import { ServiceQueue } from './sim-service.ts';

const k = (ms: number): Dist => ({ kind: 'constant', ms });

/**
 * The sim stores over fixed costs: every node↔store hop 1 ms, every store
 * request 2 ms of service on one server. `ports` is node-1's view; `node(name)`
 * gives another node's view of the same stores.
 */
function world(): { stores: SimStores; ports: Ports; clock: SimClock; node(name: string): Ports } {
  const clock = new SimClock(0, 0.1);
  const random = new SeededRandom(1);
  const calibration: Calibration = {
    ...datacenterCalibration,
    links: { ...datacenterCalibration.links, 'node-store': k(1) },
    stores: { redis: { servers: 1, opMs: { default: k(2) } }, cassandra: { servers: 1, opMs: { default: k(2) } }, push: { servers: 1, opMs: { default: k(2) } } },
  };
  const stores: SimStores = {
    clock, calibration, random: random.fork('service'),
    network: new SimNetwork(calibration.links, random.fork('network'), { resolutionMs: 0.1 }),
    shared: memoryPorts(clock, random.fork('ports')),
    queues: { redis: new ServiceQueue('redis', 1), cassandra: new ServiceQueue('cassandra', 1), push: new ServiceQueue('push', 1) },
    down: new Set(), timeoutMs: 1000, busOrder: new Map(), busLost: { count: 0 },
  };
  const node = (name: string) => simPorts(name, stores, (run) => run());
  return { stores, clock, ports: node('node-1'), node };
}

/** `t` is `ms` to within the slot it fell in (continuations run at the end of their 0.1 ms slot). */
const near = (t: number, ms: number) => t >= ms - 1e-9 && t <= ms + 0.1 + 1e-9;

/** When `p` settles in virtual time, and how. */
async function timed<T>(clock: SimClock, p: Promise<T>): Promise<{ atMs: number; value?: T; error?: unknown }> {
  const out: { atMs: number; value?: T; error?: unknown } = { atMs: -1 };
  p.then((value) => Object.assign(out, { atMs: clock.now(), value }), (error) => Object.assign(out, { atMs: clock.now(), error }));
  await clock.run(10_000, () => out.atMs >= 0);
  return out;
}

describe('simPorts (a node\'s stores in the sim)', () => {
  it('answers a store call after the hop there, the service time and the hop back', async () => {
    const { ports, clock } = world();
    const r = await timed(clock, ports.sequencer.next('d:a:b'));
    assert.equal(r.value, 1);
    assert.ok(near(r.atMs, 4), `answered at ${r.atMs} ms`);
  });

  it('queues calls to a busy store first in, first out', async () => {
    const { ports, clock } = world();
    const answered: number[] = [];
    const calls = [1, 2, 3].map((n) => ports.sequencer.next('d:a:b').then((seq) => answered.push(seq) && clock.now()));
    await clock.run(100);
    const times = await Promise.all(calls);
    assert.deepEqual(answered, [1, 2, 3]);
    assert.ok([4, 6, 8].every((ms, i) => near(times[i]!, ms)), `answered at ${times.join(', ')} ms: each waits for the one before on the single server`);
  });

  it('fails a call to a store that is down after the store timeout, as a PortError, and has no effect', async () => {
    const { ports, clock, stores } = world();
    stores.down.add('redis');
    const r = await timed(clock, ports.sequencer.next('d:a:b'));
    assert.ok(r.error instanceof PortError, String(r.error));
    assert.ok(near(r.atMs, 1000), `failed at ${r.atMs} ms`);
    stores.down.delete('redis');
    assert.equal((await timed(clock, ports.sequencer.next('d:a:b'))).value, 1, 'the failed call took no number');
  });

  it('fails a call across a partition between the node and its store', async () => {
    const { ports, clock, stores } = world();
    const heal = stores.network.partition('node-1', 'cassandra');
    assert.ok((await timed(clock, ports.inbox.count('a.1'))).error instanceof PortError);
    assert.equal((await timed(clock, ports.sequencer.next('d:a:b'))).value, 1, 'redis is still reachable');
    heal();
    assert.equal((await timed(clock, ports.inbox.count('a.1'))).value, 0);
  });
});

/** Runs every call of a port to completion on the sim clock, so a suite can await it like a real store call. */
function settled<T extends object>(clock: SimClock, port: T): T {
  return new Proxy(port, {
    get: (target, key) => {
      const v = (target as Record<string | symbol, unknown>)[key];
      return typeof v === 'function' ? (...args: unknown[]) => clock.settle((v as (...a: unknown[]) => Promise<unknown>).apply(target, args)) : v;
    },
  });
}

/**
 * What every suite's factory shares in the sim: one world, time that passes
 * only when the clock runs, and each node's ports settled on that clock.
 */
function simHarness() {
  const { clock, node, stores } = world();
  return {
    clock,
    stores,
    advance: async (ms: number) => void (await clock.run(clock.now() + ms)),
    close: async () => {},
    /** Port `name` as node `at` sees it. */
    port: <K extends PortName>(name: K, at = 'node-1'): Ports[K] => settled(clock, node(at)[name]),
  };
}

runInboxSuite('sim', async () => {
  const { port, stores, ...h } = simHarness();
  return { ...h, inbox: port('inbox'), retentionMs: stores.shared.inbox.retentionMs };
});

runRegistrySuite('sim', async () => {
  const { port, ...h } = simHarness();
  return { ...h, registry: port('registry'), peer: async () => port('registry', 'node-2') };
});

runSequencerSuite('sim', async () => {
  const { port, ...h } = simHarness();
  return { ...h, sequencer: port('sequencer'), peer: async () => port('sequencer', 'node-2') };
});

runDedupSuite('sim', async () => {
  const { port, ...h } = simHarness();
  return { ...h, dedup: port('dedup'), peer: async () => port('dedup', 'node-2') };
});

runPresenceSuite('sim', async () => {
  const { port, ...h } = simHarness();
  return { ...h, presence: port('presence') };
});

runMessageLogSuite('sim', async () => {
  const { port, ...h } = simHarness();
  return { ...h, log: port('log') };
});

runGroupsSuite('sim', async () => {
  const { port, ...h } = simHarness();
  return { ...h, groups: port('groups') };
});

runKeysSuite('sim', async () => {
  const { port, ...h } = simHarness();
  return { ...h, keys: port('keys'), peer: async () => port('keys', 'node-2') };
});

runAccountsSuite('sim', async () => {
  const { port, ...h } = simHarness();
  return { ...h, accounts: port('accounts'), peer: async () => port('accounts', 'node-2') };
});

runStoriesSuite('sim', async () => {
  const { port, ...h } = simHarness();
  return { ...h, stories: port('stories'), maxLive: LIVE_STORIES_MAX, peer: async () => port('stories', 'node-2') };
});

runCallsSuite('sim', async () => {
  const { port, ...h } = simHarness();
  return { ...h, calls: port('calls'), endedKeepMs: ENDED_KEEP_MS, peer: async () => port('calls', 'node-2') };
});

runPushSuite('sim', async () => {
  const { port, stores, ...h } = simHarness();
  return { ...h, push: port('push'), subscribe: (s) => stores.shared.push.onWake(s) };
});

/**
 * A published envelope reaches its subscriber one node↔node hop after the
 * publish is answered, and the suite waits for it in real time: so each
 * publish here also runs the world until nothing is left in flight.
 */
runBusSuite('sim', async () => {
  const { clock, port, ...h } = simHarness();
  const drained = (bus: Bus): Bus => ({
    publish: async (target, envelope) => {
      await bus.publish(target, envelope);
      await clock.run(clock.now() + 1000, () => clock.pending === 0);
    },
    subscribe: (target, handler) => bus.subscribe(target, handler),
    close: () => bus.close(),
  });
  return { ...h, clock, bus: drained(port('bus')), peer: async () => drained(port('bus', 'node-2')) };
});
