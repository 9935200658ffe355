import type { DeviceId, NodeId } from '../protocol/ids.ts';

/**
 * Where each connected device is: device -> node.
 *
 * Guarantees:
 * - Last write wins per device: a reconnect on another node replaces the entry.
 * - `remove` deletes only if the entry still names that node, so a late
 *   disconnect on an old node never hides a newer connection.
 * - A node is alive while its heartbeat is fresh (within the TTL it gave);
 *   `lookup` never returns a device on a dead node, so entries of a crashed
 *   node vanish when its heartbeat expires, without anyone cleaning up.
 * - Best effort, not a source of truth: a stale entry only costs a Bus
 *   envelope that nobody delivers; the Inbox still holds the message.
 */
export interface Registry {
  /** Maps device to node; returns the node it was mapped to before (alive or not), if any. */
  put(device: DeviceId, node: NodeId): Promise<NodeId | undefined>;
  /** Removes the mapping if it still names `node`. */
  remove(device: DeviceId, node: NodeId): Promise<void>;
  /** Online devices among `devices`, each with its (alive) node. Missing = offline. */
  lookup(devices: readonly DeviceId[]): Promise<Map<DeviceId, NodeId>>;
  /** Marks `node` alive for `ttlMs` from now. */
  heartbeat(node: NodeId, ttlMs: number): Promise<void>;
  /** Declares `node` dead at once (graceful stop). */
  retire(node: NodeId): Promise<void>;
  /** Nodes whose heartbeat is fresh. */
  nodes(): Promise<NodeId[]>;
  /** Records that `node` holds online members of a large group (fan-out on read). */
  joinGroup(group: string, node: NodeId): Promise<void>;
  leaveGroup(group: string, node: NodeId): Promise<void>;
  /** Alive nodes holding online members of `group`. */
  groupNodes(group: string): Promise<NodeId[]>;
}
