import type { Clock } from '../clock/clock.ts';
import type { DeviceId, NodeId } from '../protocol/ids.ts';
import type { FaultSwitch } from '../faults/port-faults.ts';
import type { Registry } from './registry.ts';

export interface MemoryRegistryOptions {
  /** Decides which heartbeats are fresh. */
  clock: Clock;
  /** Test hook: arm failures per method name ('put', 'lookup', ...). */
  faults?: FaultSwitch;
}

/**
 * The Registry as maps in one process, shared by every node of that process.
 *
 * Device entries are never swept: a device on a dead node is simply hidden by
 * `lookup`, exactly as the Redis adapter does, so memory is bounded by the
 * number of distinct devices, not by time. Heartbeats of dead nodes are
 * dropped when `nodes()` notices them.
 */
export class MemoryRegistry implements Registry {
  private readonly clock: Clock;
  private readonly faults?: FaultSwitch;
  private readonly devices = new Map<DeviceId, NodeId>();
  /** node -> time its heartbeat goes stale. */
  private readonly aliveUntil = new Map<NodeId, number>();
  private readonly groups = new Map<string, Set<NodeId>>();

  constructor(options: MemoryRegistryOptions) {
    this.clock = options.clock;
    this.faults = options.faults;
  }

  async put(device: DeviceId, node: NodeId): Promise<NodeId | undefined> {
    this.faults?.check('put');
    const before = this.devices.get(device);
    this.devices.set(device, node);
    return before;
  }

  async remove(device: DeviceId, node: NodeId): Promise<void> {
    this.faults?.check('remove');
    if (this.devices.get(device) === node) this.devices.delete(device);
  }

  async lookup(devices: readonly DeviceId[]): Promise<Map<DeviceId, NodeId>> {
    this.faults?.check('lookup');
    const now = this.clock.now();
    const found = new Map<DeviceId, NodeId>();
    for (const device of devices) {
      const node = this.devices.get(device);
      if (node !== undefined && this.isAlive(node, now)) found.set(device, node);
    }
    return found;
  }

  async heartbeat(node: NodeId, ttlMs: number): Promise<void> {
    this.faults?.check('heartbeat');
    this.aliveUntil.set(node, this.clock.now() + ttlMs);
  }

  async retire(node: NodeId): Promise<void> {
    this.faults?.check('retire');
    this.aliveUntil.delete(node);
  }

  async nodes(): Promise<NodeId[]> {
    this.faults?.check('nodes');
    const now = this.clock.now();
    const alive: NodeId[] = [];
    for (const [node, until] of this.aliveUntil) {
      if (now < until) alive.push(node);
      else this.aliveUntil.delete(node);
    }
    return alive;
  }

  async joinGroup(group: string, node: NodeId): Promise<void> {
    this.faults?.check('joinGroup');
    let nodes = this.groups.get(group);
    if (!nodes) this.groups.set(group, (nodes = new Set()));
    nodes.add(node);
  }

  async leaveGroup(group: string, node: NodeId): Promise<void> {
    this.faults?.check('leaveGroup');
    const nodes = this.groups.get(group);
    if (!nodes) return;
    nodes.delete(node);
    if (nodes.size === 0) this.groups.delete(group);
  }

  async groupNodes(group: string): Promise<NodeId[]> {
    this.faults?.check('groupNodes');
    const nodes = this.groups.get(group);
    if (!nodes) return [];
    const now = this.clock.now();
    return [...nodes].filter((node) => this.isAlive(node, now));
  }

  private isAlive(node: NodeId, now: number): boolean {
    const until = this.aliveUntil.get(node);
    return until !== undefined && now < until;
  }
}
