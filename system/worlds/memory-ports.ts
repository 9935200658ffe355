import { MemoryAccounts } from '../accounts/accounts-memory.ts';
import { MemoryBus } from '../bus/bus-memory.ts';
import { MemoryCalls } from '../calls/calls-memory.ts';
import type { Clock } from '../clock/clock.ts';
import { MemoryDedup } from '../dedup/dedup-memory.ts';
import { MemoryGroups } from '../groups/groups-memory.ts';
import { MemoryInbox } from '../inbox/inbox-memory.ts';
import { MemoryKeys } from '../keys/keys-memory.ts';
import { CompactMessageLog } from '../log/message-log-compact.ts';
import type { Ports } from '../node/ports.ts';
import { MemoryPresence } from '../presence/presence-memory.ts';
import { MemoryPush } from '../push/push-memory.ts';
import type { Random } from '../random/random.ts';
import { MemoryRegistry } from '../registry/registry-memory.ts';
import { MemorySequencer } from '../sequencer/sequencer-memory.ts';
import { MemoryStories } from '../stories/stories-memory.ts';
import { FaultSwitch } from '../faults/port-faults.ts';

export type PortName = Exclude<keyof Ports, 'clock' | 'random'>;

/** One fault switch per port, so a test can fail `inbox.put` without touching `groups`. */
export type PortFaults = Record<PortName, FaultSwitch>;

export function makePortFaults(): PortFaults {
  const names: PortName[] = ['registry', 'bus', 'sequencer', 'dedup', 'log', 'inbox', 'groups', 'presence', 'push', 'keys', 'accounts', 'stories', 'calls'];
  return Object.fromEntries(names.map((n) => [n, new FaultSwitch()])) as PortFaults;
}

export interface MemoryPorts extends Ports {
  bus: MemoryBus;
  push: MemoryPush;
  inbox: MemoryInbox;
  stories: MemoryStories;
  calls: MemoryCalls;
}

/** The memory adapters of every port, shared by all nodes of one process (embedded and sim worlds). */
export function memoryPorts(clock: Clock, random: Random, faults: PortFaults = makePortFaults()): MemoryPorts {
  return {
    clock,
    random,
    registry: new MemoryRegistry({ clock, faults: faults.registry }),
    bus: new MemoryBus({ faults: faults.bus }),
    sequencer: new MemorySequencer({ faults: faults.sequencer }),
    dedup: new MemoryDedup({ clock, faults: faults.dedup }),
    log: new CompactMessageLog({ faults: faults.log }),
    inbox: new MemoryInbox({ clock, faults: faults.inbox }),
    groups: new MemoryGroups({ faults: faults.groups }),
    presence: new MemoryPresence({ clock, faults: faults.presence }),
    push: new MemoryPush({ faults: faults.push }),
    keys: new MemoryKeys({ faults: faults.keys }),
    accounts: new MemoryAccounts({ faults: faults.accounts }),
    stories: new MemoryStories({ clock, faults: faults.stories }),
    calls: new MemoryCalls({ clock, faults: faults.calls }),
  };
}
