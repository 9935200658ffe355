import type { PushReason } from '../push/push.ts';
import type { DeviceId, NodeId, UserId } from '../protocol/ids.ts';

/** A frame for some devices, already serialized, tagged with what it is for flow control and receipts. */
export interface DeliverEnvelope {
  k: 'deliver';
  /** Devices on the receiving node to push the frame to. */
  devices: DeviceId[];
  item: DeliveryItem;
  /** Set for items that wake offline devices: a listed device no longer connected there is woken by the receiving node. */
  push?: PushReason;
}

/** One inbox item as the node tracks it until the device acks it. */
export interface DeliveryItem {
  /** Inbox entry id (a mid for messages, a receipt id for receipts, a distribution's or introduction's id for `skdm` and `intro`). */
  id: string;
  /** Only `msg` produces receipts on ack and push wake-ups; `receipt`, `skdm` and `intro` are acked and forgotten. */
  kind: 'msg' | 'receipt' | 'skdm' | 'intro';
  /** Serialized server frame. */
  frame: string;
  /** For messages: who sent it, so the device's ack can produce a `delivered` receipt. */
  from?: DeviceId;
  conv?: string;
  seq?: number;
  /** Set for a large group's message (fan-out on read): the ack moves the member's cursor instead of an inbox entry. */
  group?: string;
}

/** A message appended to a large group's log (fan-out on read): one per node holding members. */
export interface GroupEnvelope {
  k: 'group';
  group: string;
  seq: number;
  mid: string;
  from: DeviceId;
  frame: string;
}

export interface TypingEnvelope {
  k: 'typing';
  devices: DeviceId[];
  frame: string;
}

export interface PresenceEnvelope {
  k: 'presence';
  devices: DeviceId[];
  frame: string;
}

/** A story frame (`story.viewed`) for devices online on the receiving node now: sent to those, dropped for the others. */
export interface StoryEnvelope {
  k: 'story';
  devices: DeviceId[];
  frame: string;
}

/**
 * A call signalling frame (`call.*`) for devices on the receiving node now:
 * sent to those signed in, never kept for the others. An offer carries
 * `until`, its ring deadline: at or after it the frame is dropped, so no
 * device rings for a call past its deadline; and `push`, so a listed device
 * no longer connected there is woken (it gets the offer at sign-in).
 */
export interface CallEnvelope {
  k: 'call';
  devices: DeviceId[];
  frame: string;
  /** Clock ms at and after which the frame is not delivered (a `call.offer`'s ringUntil). */
  until?: number;
  /** Wake a listed device that is not connected (with reason 'call'). */
  push?: boolean;
}

/** The device connected elsewhere: close the old connection. */
export interface KickEnvelope {
  k: 'kick';
  device: DeviceId;
  newNode: NodeId;
}

export interface MembershipEnvelope {
  k: 'membership';
  group: string;
  added: UserId[];
  removed: UserId[];
}

export type Envelope =
  | DeliverEnvelope
  | GroupEnvelope
  | TypingEnvelope
  | PresenceEnvelope
  | StoryEnvelope
  | CallEnvelope
  | KickEnvelope
  | MembershipEnvelope;
