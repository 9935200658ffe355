import type { Accounts } from '../accounts/accounts.ts';
import type { Bus } from '../bus/bus.ts';
import type { Calls } from '../calls/calls.ts';
import type { Clock } from '../clock/clock.ts';
import type { Dedup } from '../dedup/dedup.ts';
import type { Groups } from '../groups/groups.ts';
import type { Inbox } from '../inbox/inbox.ts';
import type { Keys } from '../keys/keys.ts';
import type { MessageLog } from '../log/message-log.ts';
import type { Presence } from '../presence/presence.ts';
import type { Push } from '../push/push.ts';
import type { Random } from '../random/random.ts';
import type { Registry } from '../registry/registry.ts';
import type { Sequencer } from '../sequencer/sequencer.ts';
import type { Stories } from '../stories/stories.ts';

/** Everything a chat node touches outside itself. A world builds one set and hands it to each node. */
export interface Ports {
  clock: Clock;
  random: Random;
  registry: Registry;
  bus: Bus;
  sequencer: Sequencer;
  dedup: Dedup;
  log: MessageLog;
  inbox: Inbox;
  groups: Groups;
  presence: Presence;
  push: Push;
  keys: Keys;
  accounts: Accounts;
  stories: Stories;
  calls: Calls;
}

import type { ServerFrame } from '../protocol/frames.ts';

/** A device connection as the node sees it: a number the transport chose. */
export type ConnId = number;

/**
 * The node's way out to its devices, bound by the gateway (ws) or the
 * simulator. `send` never throws; a transport that cannot keep up closes the
 * connection itself (slow consumer) and tells the node through `onClose`.
 */
export interface Transport {
  send(conn: ConnId, frame: string): void;
  /**
   * Optional: sends a frame the node built as an object, for a transport
   * that carries objects (the simulator), saving the encoding; the node does
   * not touch the object afterwards. Without it the node encodes and `send`s.
   */
  sendFrame?(conn: ConnId, frame: ServerFrame): void;
  close(conn: ConnId, code: number, reason: string): void;
}
