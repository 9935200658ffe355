import type { World } from '../system/worlds/world.ts';
import type { ToxicSpec } from '../system/worlds/infra/toxiproxy.ts';
import type { FaultKind } from './faults.ts';
import { NETWORK_PEERS, NETWORK_TARGET, type EntryOf, type Stream } from './fault-schema.ts';

/**
 * The links a network fault's `target` selects: a peer on every node
 * ('redis', 'cassandra', 'devices') or one node's link ('node-2:redis').
 */
export function selectLinks(target: unknown, links: readonly string[], where: string): string[] {
  const t = String(target ?? '');
  const m = NETWORK_TARGET.exec(t);
  if (!m) throw new Error(`${where}: target must be ${NETWORK_PEERS.join(', ')} or node-<n>:<peer> (e.g. node-2:redis), got ${t || 'nothing'}`);
  const chosen = m[1] ? links.filter((l) => l === t) : links.filter((l) => l.endsWith(`:${m[2]}`));
  if (chosen.length === 0) throw new Error(`${where}: no link ${t} in this world; links: ${links.join(', ')}`);
  return chosen;
}

type ToxicName = 'latency' | 'bandwidth' | 'reset' | 'timeout' | 'slicer';

function streams(s: Stream): ('upstream' | 'downstream')[] {
  return s === 'both' ? ['upstream', 'downstream'] : [s];
}

interface ToxicFault<E extends EntryOf<ToxicName>> {
  description: string;
  /** Direction the toxic applies to unless the entry says `stream`. */
  stream: Stream;
  type: ToxicSpec['type'];
  /** Toxiproxy attributes from the entry's options (checked by `chaosEntrySchema`), defaults filled in. */
  attributes(entry: E): Record<string, number>;
  /** What the report shows after the target. */
  label(entry: E): string;
}

/** A Toxiproxy toxic on every selected link for the fault's duration, removed afterwards. */
function toxicFault<E extends EntryOf<ToxicName>>(f: ToxicFault<E>): FaultKind<E> {
  return {
    description: f.description,
    needs: ['network'],
    durationRequired: true,
    nodeTarget: false,
    network: true,
    hint: 'network faults go through Toxiproxy: --world local',
    validate(entry, where, world) {
      selectLinks(entry.target, world.control.network?.links() ?? [], where);
    },
    async apply(world: World, _t, entry) {
      const net = world.control.network!;
      const where = `chaos (${entry.fault})`;
      const attributes = f.attributes(entry);
      const removals = await Promise.all(
        selectLinks(entry.target, net.links(), where).flatMap((link) =>
          streams(entry.stream ?? f.stream).map((stream) => net.addToxic(link, { type: f.type, stream, attributes }))),
      );
      return async () => void (await Promise.all(removals.map((r) => r())));
    },
    label: (entry) => `${entry.target} ${f.label(entry)}`,
  };
}

/** Network faults through Toxiproxy proxies (the local world routes traffic through them when a schedule has one). */
export const networkFaults: { [K in ToxicName]: FaultKind<EntryOf<K>> } = {
  latency: toxicFault<EntryOf<'latency'>>({
    description: '`ms` (± `jitterMs`) added to every round trip on the target links (`stream` downstream by default: once per request/response)',
    stream: 'downstream',
    type: 'latency',
    attributes: (e) => ({ latency: e.ms, jitter: e.jitterMs ?? 0 }),
    label: (e) => `+${e.ms}ms${e.jitterMs ? `±${e.jitterMs}` : ''}`,
  }),
  bandwidth: toxicFault<EntryOf<'bandwidth'>>({
    description: 'limit the target links to `kbPerSecond` KB/s (downstream by default)',
    stream: 'downstream',
    type: 'bandwidth',
    attributes: (e) => ({ rate: e.kbPerSecond }),
    label: (e) => `${e.kbPerSecond}KB/s`,
  }),
  reset: toxicFault<EntryOf<'reset'>>({
    description: 'connection reset: every connection on the target links is reset by peer (after `afterMs`, default at once) while the fault lasts',
    stream: 'upstream',
    type: 'reset_peer',
    attributes: (e) => ({ timeout: e.afterMs ?? 0 }),
    label: () => 'reset',
  }),
  timeout: toxicFault<EntryOf<'timeout'>>({
    description: 'blackhole: data on the target links stops; connections close after `afterMs` (default 0 = held open, data delivered when the fault ends)',
    stream: 'upstream',
    type: 'timeout',
    attributes: (e) => ({ timeout: e.afterMs ?? 0 }),
    label: (e) => `blackhole${e.afterMs ? ` ${e.afterMs}ms` : ''}`,
  }),
  slicer: toxicFault<EntryOf<'slicer'>>({
    description: 'slice TCP data into `averageBytes` (± `variationBytes`, below the average; default half) pieces with `delayUs` µs between them (downstream by default)',
    stream: 'downstream',
    type: 'slicer',
    attributes: (e) => {
      const average = e.averageBytes ?? 64;
      return { average_size: average, size_variation: e.variationBytes ?? Math.floor(average / 2), delay: e.delayUs ?? 1000 };
    },
    label: (e) => `sliced ${e.averageBytes ?? 64}B`,
  }),
};
