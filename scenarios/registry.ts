import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { groupFanout } from './builtin/group-fanout.ts';
import { offlineBurst } from './builtin/offline-burst.ts';
import { reconnectStorm } from './builtin/reconnect-storm.ts';
import { steadyChat } from './builtin/steady-chat.ts';
import { mediaMix } from './builtin/media-mix.ts';
import { viralForward } from './builtin/viral-forward.ts';
import { storiesPeak } from './builtin/stories-peak.ts';
import { callsEvening } from './builtin/calls-evening.ts';
import type { Scenario } from './scenario.ts';
import { nodeFailure } from './drills/node-failure.ts';
import { rollingRestart } from './drills/rolling-restart.ts';
import { redisOutage } from './drills/redis-outage.ts';
import { cassandraSlow } from './drills/cassandra-slow.ts';
import { cassandraRingNodeFailure } from './drills/cassandra-ring-node-failure.ts';
import { partition } from './drills/partition.ts';
import { callNodeDeath, relayFailure, relayLoss } from './drills/call-drills.ts';

/** Built-in scenarios by name: the one registry the CLI and the engines read. */
export const builtins: Record<string, () => Scenario> = {
  'steady-chat': () => steadyChat,
  'media-mix': () => mediaMix,
  'viral-forward': () => viralForward,
  'stories-peak': () => storiesPeak,
  'calls-evening': () => callsEvening,
  'offline-burst': () => offlineBurst(),
  'group-fanout': () => groupFanout,
  'reconnect-storm': () => reconnectStorm,
  'node-failure': () => nodeFailure,
  'rolling-restart': () => rollingRestart,
  'redis-outage': () => redisOutage,
  'cassandra-slow': () => cassandraSlow,
  'cassandra-ring-node-failure': () => cassandraRingNodeFailure,
  partition: () => partition,
  'call-node-death': () => callNodeDeath,
  'relay-failure': () => relayFailure,
  'relay-loss': () => relayLoss,
};

/** A built-in by name, or a scenario file (TypeScript/JavaScript) exporting `default` or `scenario`. */
export async function loadScenario(nameOrPath: string): Promise<Scenario> {
  const make = Object.hasOwn(builtins, nameOrPath) ? builtins[nameOrPath] : undefined;
  if (make) return make();
  if (!/\.(ts|js|mjs)$/.test(nameOrPath)) {
    throw new Error(`unknown scenario "${nameOrPath}": use one of ${Object.keys(builtins).join(', ')} or a path to a .ts file`);
  }
  const mod = await import(pathToFileURL(resolve(nameOrPath)).href);
  const s = (mod.default ?? mod.scenario) as Scenario | undefined;
  if (!s || typeof s !== 'object') throw new Error(`${nameOrPath} must export a scenario as default or as "scenario"`);
  return s;
}
