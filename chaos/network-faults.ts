import type { ChaosEntry } from './entry.ts';
import type { World } from '../system/worlds/world.ts';
import type { Stream, ToxicSpec } from '../system/worlds/infra/toxiproxy.ts';
import type { FaultKind } from './faults.ts';

const PEERS = ['redis', 'cassandra', 'devices'] as const;
const STREAMS = ['upstream', 'downstream', 'both'] as const;

/**
 * The links a network fault's `target` selects: a peer on every node
 * ('redis', 'cassandra', 'devices') or one node's link ('node-2:redis').
 */
export function selectLinks(target: unknown, links: readonly string[], where: string): string[] {
  const t = String(target ?? '');
  const m = /^(?:(node-\d+):)?(redis|cassandra|devices)$/.exec(t);
  if (!m) throw new Error(`${where}: target must be ${PEERS.join(', ')} or node-<n>:<peer> (e.g. node-2:redis), got ${t || 'nothing'}`);
  const chosen = m[1] ? links.filter((l) => l === t) : links.filter((l) => l.endsWith(`:${m[2]}`));
  if (chosen.length === 0) throw new Error(`${where}: no link ${t} in this world; links: ${links.join(', ')}`);
  return chosen;
}

function num(entry: ChaosEntry, name: string, where: string, fallback: number | undefined, min = 0): number {
  const v = entry[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new Error(`${where}: ${name} must be a number >= ${min}, got ${String(entry[name])}`);
  return v;
}

function streams(entry: ChaosEntry, fallback: (typeof STREAMS)[number], where: string): Stream[] {
  const s = entry.stream ?? fallback;
  if (!STREAMS.includes(s as never)) throw new Error(`${where}: stream must be one of ${STREAMS.join(', ')}, got ${String(s)}`);
  return s === 'both' ? ['upstream', 'downstream'] : [s as Stream];
}

interface ToxicFault {
  description: string;
  /** Direction the toxic applies to unless the entry says `stream`. */
  stream: (typeof STREAMS)[number];
  type: ToxicSpec['type'];
  /** Toxiproxy attributes from the entry's options (validated: throws naming `where`). */
  attributes(entry: ChaosEntry, where: string): Record<string, number>;
  /** What the report shows after the target. */
  label(entry: ChaosEntry): string;
}

/** A Toxiproxy toxic on every selected link for the fault's duration, removed afterwards. */
function toxicFault(f: ToxicFault): FaultKind {
  return {
    description: f.description,
    needs: ['network'],
    durationRequired: true,
    nodeTarget: false,
    network: true,
    hint: 'network faults go through Toxiproxy: --world local',
    validate(entry, where, world) {
      f.attributes(entry, where);
      streams(entry, f.stream, where);
      selectLinks(entry.target, world.control.network?.links() ?? [], where);
    },
    async apply(world: World, _t, entry) {
      const net = world.control.network!;
      const where = `chaos (${entry.fault})`;
      const attributes = f.attributes(entry, where);
      const removals = await Promise.all(
        selectLinks(entry.target, net.links(), where).flatMap((link) =>
          streams(entry, f.stream, where).map((stream) => net.addToxic(link, { type: f.type, stream, attributes }))),
      );
      return async () => void (await Promise.all(removals.map((r) => r())));
    },
    label: (entry) => `${String(entry.target)} ${f.label(entry)}`,
  };
}

/** Network faults through Toxiproxy proxies (the local world routes traffic through them when a schedule has one). */
export const networkFaults: Record<string, FaultKind> = {
  latency: toxicFault({
    description: '`ms` (± `jitterMs`) added to every round trip on the target links (`stream` downstream by default: once per request/response)',
    stream: 'downstream',
    type: 'latency',
    attributes: (e, w) => ({ latency: num(e, 'ms', w, undefined), jitter: num(e, 'jitterMs', w, 0) }),
    label: (e) => `+${String(e.ms)}ms${e.jitterMs ? `±${String(e.jitterMs)}` : ''}`,
  }),
  bandwidth: toxicFault({
    description: 'limit the target links to `kbPerSecond` KB/s (downstream by default)',
    stream: 'downstream',
    type: 'bandwidth',
    attributes: (e, w) => ({ rate: num(e, 'kbPerSecond', w, undefined, 1) }),
    label: (e) => `${String(e.kbPerSecond)}KB/s`,
  }),
  reset: toxicFault({
    description: 'connection reset: every connection on the target links is reset by peer (after `afterMs`, default at once) while the fault lasts',
    stream: 'upstream',
    type: 'reset_peer',
    attributes: (e, w) => ({ timeout: num(e, 'afterMs', w, 0) }),
    label: () => 'reset',
  }),
  timeout: toxicFault({
    description: 'blackhole: data on the target links stops; connections close after `afterMs` (default 0 = held open, data delivered when the fault ends)',
    stream: 'upstream',
    type: 'timeout',
    attributes: (e, w) => ({ timeout: num(e, 'afterMs', w, 0) }),
    label: (e) => `blackhole${e.afterMs ? ` ${String(e.afterMs)}ms` : ''}`,
  }),
  slicer: toxicFault({
    description: 'slice TCP data into `averageBytes` (± `variationBytes`, below the average; default half) pieces with `delayUs` µs between them (downstream by default)',
    stream: 'downstream',
    type: 'slicer',
    attributes: (e, w) => {
      const average = num(e, 'averageBytes', w, 64, 2);
      const variation = num(e, 'variationBytes', w, Math.floor(average / 2));
      // Toxiproxy 2.5's slicer panics (slice bounds out of range) when the variation is not below the average.
      if (variation >= average) throw new Error(`${w}: variationBytes (${variation}) must be below averageBytes (${average})`);
      return { average_size: average, size_variation: variation, delay: num(e, 'delayUs', w, 1000) };
    },
    label: (e) => `sliced ${String(e.averageBytes ?? 64)}B`,
  }),
};
