import type { DeliveryItem } from '../bus/envelope.ts';
import type { InboxEntry } from '../inbox/inbox.ts';
import type { PushReason } from '../push/push.ts';
import { ChatError, CloseCodes } from '../protocol/errors.ts';
import type { ServerFrame } from '../protocol/frames.ts';
import type { DeviceId, NodeId } from '../protocol/ids.ts';
import { groupOf, isGroupConversation, userOf } from '../protocol/ids.ts';
import type { Connection, SignedIn } from './connection.ts';
import { frameBytes } from './connection.ts';
import type { NodeContext } from './node-context.ts';
import { Redelivery } from './redelivery.ts';

/** One item for some devices, as produced by a send or a receipt. */
export interface Routed {
  devices: DeviceId[];
  item: DeliveryItem;
  /** Wake offline devices with a push (messages yes, receipts no). */
  push?: PushReason;
}

/**
 * Getting items to devices: routing through Registry + Bus, flow control per
 * connection, inbox drains in pages, and what a device's ack sets off
 * (inbox removal, cursor moves, delivered receipts).
 */
export class Delivery {
  /** Second chances for items published over the (at most once) bus. */
  readonly redelivery: Redelivery;

  constructor(private readonly ctx: NodeContext) {
    this.redelivery = new Redelivery({
      ports: ctx.ports, opts: ctx.opts, metrics: ctx.metrics,
      deliverLocal: (devices, item) => this.deliverLocal(devices, item), alive: () => ctx.alive(),
    });
  }

  /**
   * Routes items already written to their inboxes: one registry lookup for
   * all devices, one bus envelope per (node, item), a push for offline
   * devices. Never rejects: the inbox has every item, so a failed route
   * costs latency, not delivery.
   */
  async route(batch: readonly Routed[]): Promise<void> {
    if (batch.length === 1) return this.routeOne(batch[0]!.devices, batch[0]!.item, batch[0]!.push);
    const all = devicesIn(batch);
    if (all.length === 0) return;
    const where = await this.ctx.ports.registry.lookup(all).catch(() => undefined);
    if (!where) return;
    let sends: Promise<void>[] | undefined;
    for (const r of batch) sends = this.dispatch(where, r.devices, r.item, r.push, sends);
    if (sends) await settled(sends);
  }

  /** `route` of one item (a message, a receipt): the common case, without the batch's bookkeeping. */
  async routeOne(devices: readonly DeviceId[], item: DeliveryItem, push?: PushReason): Promise<void> {
    if (devices.length === 0) return;
    const where = await this.ctx.ports.registry.lookup(devices).catch(() => undefined);
    if (!where) return;
    const sends = this.dispatch(where, devices, item, push, undefined);
    if (sends) await settled(sends);
  }

  /** Offers `item` to the devices here, publishes it to the nodes holding the others, wakes the offline ones; adds what it started to `sends`. */
  private dispatch(
    where: ReadonlyMap<DeviceId, NodeId>, devices: readonly DeviceId[], item: DeliveryItem, push: PushReason | undefined, sends: Promise<void>[] | undefined,
  ): Promise<void>[] | undefined {
    const { ports, opts, metrics } = this.ctx;
    let byNode: Map<NodeId, DeviceId[]> | undefined;
    for (const d of devices) {
      const n = where.get(d);
      if (n === undefined) {
        if (push) {
          metrics.pushWakes++;
          (sends ??= []).push(ports.push.wake(d, push));
        }
      } else if (n === opts.nodeId) {
        this.deliverTo(d, item, push);
      } else if (devices.length === 1) {
        // The envelope may share the caller's list: receivers only read it.
        (sends ??= []).push(ports.bus.publish(n, { k: 'deliver', devices: devices as DeviceId[], item, push }));
        this.redelivery.watch(devices, item);
      } else {
        byNode ??= new Map();
        const list = byNode.get(n);
        if (list) list.push(d);
        else byNode.set(n, [d]);
      }
    }
    if (byNode) {
      for (const [n, list] of byNode) {
        (sends ??= []).push(ports.bus.publish(n, { k: 'deliver', devices: list, item, push }));
        this.redelivery.watch(list, item);
      }
    }
    return sends;
  }

  deliverLocal(devices: readonly DeviceId[], item: DeliveryItem, push?: PushReason): void {
    for (const d of devices) this.deliverTo(d, item, push);
  }

  /**
   * A live delivery to a device the registry places on this node. The device
   * may have gone since the sender's lookup (it closed while the envelope was
   * on the bus): then nobody else would wake it, as the sender saw it
   * online, so an item that wakes offline devices (`push`) wakes it here.
   */
  private deliverTo(device: DeviceId, item: DeliveryItem, push?: PushReason): void {
    const c = this.ctx.connections.byDevice.get(device);
    if (c && !c.closed) return this.offer(c, item);
    if (!push || !this.ctx.alive()) return;
    this.ctx.metrics.pushWakes++;
    void this.ctx.ports.push.wake(device, push).catch(() => {});
  }

  /**
   * A connection closed with deliveries it never acked (or a drain still
   * owed): they wait in its inbox, and nobody else would wake the device, as
   * senders saw it online. One push brings it back to drain them.
   */
  wakeIfOwed(c: Connection): void {
    if (!this.ctx.alive() || !c.device || (c.unacked.size === 0 && !c.needsDrain && c.held.length === 0)) return;
    this.ctx.metrics.pushWakes++;
    void this.ctx.ports.push.wake(c.device, 'msg').catch(() => {});
  }

  /** A live delivery to one connection, subject to drain state and the unacked window. */
  offer(c: Connection, item: DeliveryItem): void {
    if (c.closed || c.unacked.has(item.id)) return;
    if (c.draining) {
      if (c.held.length < this.ctx.opts.drainBufferMax) c.held.push(item);
      else c.needsDrain = true;
      return;
    }
    const bytes = frameBytes(item.frame);
    const o = this.ctx.opts;
    // One delivery larger than the byte window still goes when nothing is outstanding, or it could never go.
    if (c.unacked.size >= o.unackedWindowMax || (c.unacked.size > 0 && c.unackedBytes + bytes > o.unackedWindowMaxBytes)) {
      c.needsDrain = true;
      return;
    }
    this.push(c, item, bytes);
  }

  private push(c: Connection, item: DeliveryItem, bytes = frameBytes(item.frame)): void {
    c.track(item, bytes);
    this.ctx.metrics.deliveriesSent++;
    this.ctx.sendRaw(c, item.frame);
  }

  /**
   * Sends the device everything pending, a page at a time, each page only
   * after the previous one is acked: the inbox first (ends with a pass from
   * the start, which catches entries whose ids sort before the cursor but were
   * written late), then each fan-out-on-read group's log after the device's
   * cursor. Live deliveries held meanwhile go out afterwards.
   */
  async drain(c: SignedIn): Promise<void> {
    const { metrics, opts } = this.ctx;
    let count = 0;
    do {
      c.draining = true;
      c.needsDrain = false;
      metrics.drains++;
      count += await this.drainInbox(c);
      for (const gid of c.readGroups) count += await this.drainGroup(c, gid);
      if (c.closed || !this.ctx.alive()) return;
      c.draining = false;
      const held = c.held;
      c.held = [];
      for (const item of held) this.offer(c, item);
    } while (c.needsDrain && belowHalfWindow(c, opts));
    this.ctx.reply(c, { t: 'drained', count });
  }

  private async drainInbox(c: SignedIn): Promise<number> {
    const { inbox } = this.ctx.ports;
    const size = this.ctx.opts.drainPageSize;
    let after: string | null = null;
    let restarted = false;
    let count = 0;
    for (;;) {
      const page = await inbox.page(c.device, after, size);
      if (c.closed) return count;
      const fresh = page.filter((e) => !c.unacked.has(e.id)).map(itemOf);
      count += fresh.length;
      await this.sendPages(c, fresh);
      if (c.closed) return count;
      if (page.length === size) after = page[page.length - 1]!.id;
      else if (after === null || restarted) return count;
      else [after, restarted] = [null, true];
    }
  }

  private async drainGroup(c: SignedIn, gid: string): Promise<number> {
    const { groups, log } = this.ctx.ports;
    const size = this.ctx.opts.drainPageSize;
    let cursor = await groups.cursor(gid, c.device);
    let count = 0;
    for (;;) {
      const page = await log.page(`g:${gid}`, cursor, size);
      if (c.closed) return count;
      const fresh = page
        .filter((m) => m.from !== c.device && !c.unacked.has(m.mid))
        .map((m): DeliveryItem => ({ id: m.mid, kind: 'msg', frame: m.frame, from: m.from, conv: m.conv, seq: m.seq, group: gid }));
      count += fresh.length;
      await this.sendPages(c, fresh);
      if (page.length < size || c.closed) return count;
      cursor = page[page.length - 1]!.seq;
      if (fresh.length === 0) await groups.advanceCursor(gid, c.device, cursor);
    }
  }

  /** Sends what a store page read, in pages of at most `drainPageMaxBytes` (pagesByBytes), each once the previous one is acked. */
  private async sendPages(c: Connection, items: DeliveryItem[]): Promise<void> {
    for (const page of pagesByBytes(items, this.ctx.opts.drainPageMaxBytes)) {
      await this.sendPage(c, page);
      if (c.closed) return;
    }
  }

  /** Sends a page and waits until the device has acked all of it (or the connection ends). */
  private sendPage(c: Connection, items: DeliveryItem[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    const { clock } = this.ctx.ports;
    c.pageOutstanding = new Set(items.map((i) => i.id));
    for (const item of items) this.push(c, item);
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => {
        this.ctx.close(c.id, CloseCodes.slowConsumer, 'drain page not acked in time');
        c.pageWaiter?.();
      }, this.ctx.opts.drainAckTimeoutMs);
      c.pageWaiter = () => {
        clock.clear(timer);
        c.pageWaiter = undefined;
        resolve();
      };
    });
  }

  /** The device acked `ids`: forget them, remove inbox entries, move cursors, send delivered receipts. */
  async onRecv(c: SignedIn, ids: readonly string[]): Promise<void> {
    const { inbox, groups } = this.ctx.ports;
    const inboxIds: string[] = [];
    let receipts: DeliveryItem[] | undefined;
    /** Group store writes this ack sets off: cursor moves, group receipt marks. */
    let cursorMoves: Promise<void>[] | undefined;
    for (const id of ids) {
      const item = c.unacked.get(id);
      c.untrack(id);
      c.pageOutstanding.delete(id);
      if (!item) {
        inboxIds.push(id);
        continue;
      }
      this.ctx.metrics.deliveriesAcked++;
      if (item.group) {
        (cursorMoves ??= []).push(groups.advanceCursor(item.group, c.device, item.seq!));
        cursorMoves.push(groups.markReceipt(item.group, item.seq!, c.user, 'delivered'));
        continue;
      }
      inboxIds.push(id);
      if (item.kind !== 'msg' || !item.from || userOf(item.from) === c.user) continue;
      if (isGroupConversation(item.conv!)) (cursorMoves ??= []).push(groups.markReceipt(groupOf(item.conv!), item.seq!, c.user, 'delivered'));
      else (receipts ??= []).push(item);
    }
    if (c.pageOutstanding.size === 0) c.pageWaiter?.();
    const acked = inboxIds.length > 0 ? inbox.ack(c.device, inboxIds) : undefined;
    if (cursorMoves) {
      if (acked) cursorMoves.push(acked);
      await Promise.all(cursorMoves);
    } else if (acked) await acked;
    if (receipts) await this.sendReceipts(c, receipts);
    if (c.needsDrain && !c.draining && c.state === 'ready' && belowHalfWindow(c, this.ctx.opts)) {
      void this.drain(c).catch(() => this.ctx.close(c.id, CloseCodes.goingAway, 'drain failed, reconnect'));
    }
  }

  /** `delivered` receipts for direct messages, to every device of each sender's user (queued in their inboxes). */
  private async sendReceipts(c: SignedIn, items: DeliveryItem[]): Promise<void> {
    const dir = this.ctx.directory;
    // One sender (the usual ack of one message) whose devices are cached: no read, no promise.
    const only = items.length === 1 ? dir.cachedDevices(userOf(items[0]!.from!)) : undefined;
    const devicesOf = only ? undefined : await dir.devicesOf([...new Set(items.map((i) => userOf(i.from!)))]);
    const now = this.ctx.ports.clock.now();
    const out = new ReceiptBatch();
    for (const i of items) {
      const frame = { t: 'receipt', id: this.ctx.ids.next(), kind: 'delivered', conv: i.conv!, by: c.device, mid: i.id, ts: now } as const;
      this.addReceipt(out, frame, only ?? devicesOf!.get(userOf(i.from!)) ?? []);
    }
    await this.sendReceiptFrames(out);
  }

  private addReceipt(out: ReceiptBatch, frame: ServerFrame & { t: 'receipt' }, devices: DeviceId[]): void {
    const text = JSON.stringify(frame);
    for (const d of devices) out.entries.push({ device: d, id: frame.id, kind: 'receipt', frame: text });
    out.routed.push({ devices, item: { id: frame.id, kind: 'receipt', frame: text } });
    this.ctx.metrics.receiptsSent += devices.length;
  }

  /** Receipts are queued in the inbox of every device of the sender (offline ones get them on their next drain), then routed to the online ones. */
  private async sendReceiptFrames(out: ReceiptBatch): Promise<void> {
    if (out.entries.length > 0) await this.ctx.ports.inbox.put(out.entries);
    void this.route(out.routed).catch(noop);
  }

  /**
   * A read marker: `read` receipts to the other side of a direct chat and
   * to the reader's other devices, a bitmap mark in a group (seen only
   * through `group.receipts`). Refused before anything is stored or sent:
   * a conversation the reader is not part of (`forbidden`, a group that does
   * not exist included) and an `upTo` past the conversation's last seq
   * (`bad_frame`).
   */
  async onRead(c: SignedIn, conv: string, upTo: number): Promise<void> {
    const group = isGroupConversation(conv) ? await this.ctx.directory.group(groupOf(conv)) : undefined;
    const [, a, b] = conv.split(':');
    const member = group ? group.members.has(c.user) : !isGroupConversation(conv) && (a === c.user || b === c.user);
    if (!member) throw new ChatError('forbidden', 'read: conv is not a conversation of yours');
    const last = await this.ctx.ports.sequencer.current(conv);
    if (upTo > last) throw new ChatError('bad_frame', `read: upTo must not exceed the conversation's last seq (${last})`);
    if (group) return this.ctx.ports.groups.markReceipt(group.info.id, upTo, c.user, 'read');
    const other = a === c.user ? b! : a!;
    const devices = await this.ctx.directory.devicesOf([other, c.user]);
    const targets = [...(devices.get(other) ?? []), ...(devices.get(c.user) ?? []).filter((d) => d !== c.device)];
    const frame = { t: 'receipt', id: this.ctx.ids.next(), kind: 'read', conv, by: c.device, upTo, ts: this.ctx.ports.clock.now() } as const;
    const out = new ReceiptBatch();
    this.addReceipt(out, frame, targets);
    await this.sendReceiptFrames(out);
  }
}

/** Receipts on their way: inbox entries for every device, one routed item per receipt. */
class ReceiptBatch {
  readonly entries: InboxEntry[] = [];
  readonly routed: Routed[] = [];
}

/** Waits for every promise, ignoring failures (Promise.allSettled without its result array for the usual single one). */
function settled(promises: Promise<void>[]): Promise<unknown> {
  return promises.length === 1 ? promises[0]!.catch(noop) : Promise.allSettled(promises);
}

function noop(): void {}

function devicesIn(batch: readonly Routed[]): readonly DeviceId[] {
  if (batch.length === 1) return batch[0]!.devices;
  const set = new Set<DeviceId>();
  for (const r of batch) for (const d of r.devices) set.add(d);
  return [...set];
}

/** Below half of the unacked window, in count and in bytes: room for a drain to start again. */
function belowHalfWindow(c: Connection, o: { unackedWindowMax: number; unackedWindowMaxBytes: number }): boolean {
  return c.unacked.size <= o.unackedWindowMax / 2 && c.unackedBytes <= o.unackedWindowMaxBytes / 2;
}

/**
 * The drain paging rule: consecutive items, in order, in pages of at most
 * `maxBytes` of frames (UTF-8); an item larger than `maxBytes` alone makes a
 * page. So a device that acks each page drains any inbox without the
 * node's send buffer ever holding more than one page (or one item).
 */
export function pagesByBytes(items: readonly DeliveryItem[], maxBytes: number): DeliveryItem[][] {
  const pages: DeliveryItem[][] = [];
  let page: DeliveryItem[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = frameBytes(item.frame);
    if (page.length > 0 && bytes + n > maxBytes) {
      pages.push(page);
      page = [];
      bytes = 0;
    }
    page.push(item);
    bytes += n;
  }
  if (page.length > 0) pages.push(page);
  return pages;
}

function itemOf(e: InboxEntry): DeliveryItem {
  return { id: e.id, kind: e.kind, frame: e.frame, from: e.from, conv: e.conv, seq: e.seq };
}
