import { hash32 } from '../random/random.ts';

/**
 * Which node a device connects to: rendezvous (highest-random-weight) hashing
 * of the device id over the node list. Every device has a stable preference
 * order, so when its node dies only that node's devices move, each to its
 * next choice, and they spread evenly over the survivors.
 */
export function preferenceOrder<T extends string>(device: string, nodes: readonly T[]): T[] {
  return [...nodes]
    .map((n) => ({ n, w: hash32(device, hash32(n)) }))
    .sort((a, b) => b.w - a.w || (a.n < b.n ? -1 : 1))
    .map((x) => x.n);
}

/** `preferenceOrder(device, nodes)[0]` in one pass, with nothing allocated: the choice of almost every connect. */
export function firstChoice<T extends string>(device: string, nodes: readonly T[]): T {
  if (nodes.length === 0) throw new Error('no nodes to connect to');
  let best = nodes[0]!;
  let bestW = hash32(device, hash32(best));
  for (let i = 1; i < nodes.length; i++) {
    const n = nodes[i]!;
    const w = hash32(device, hash32(n));
    if (w > bestW || (w === bestW && n < best)) {
      best = n;
      bestW = w;
    }
  }
  return best;
}

export function pickNode<T extends string>(device: string, nodes: readonly T[], attempt = 0): T {
  if (nodes.length === 0) throw new Error('no nodes to connect to');
  if (attempt % nodes.length === 0) return firstChoice(device, nodes);
  const order = preferenceOrder(device, nodes);
  return order[attempt % order.length]!;
}
