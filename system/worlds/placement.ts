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

export function pickNode<T extends string>(device: string, nodes: readonly T[], attempt = 0): T {
  if (nodes.length === 0) throw new Error('no nodes to connect to');
  const order = preferenceOrder(device, nodes);
  return order[attempt % order.length]!;
}
