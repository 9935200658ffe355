import type { StoreAnswer, UndeliveredPair } from '../../reports/pending.ts';
import type { Inbox } from '../../system/inbox/inbox.ts';
import type { InboxAccess } from '../../system/worlds/world.ts';

export interface ClassifyOptions {
  /** Devices asked at once (each one `has` call, itself chunked by the adapter). Default 16. */
  devicesInFlightMax?: number;
  /** The whole question gives up after this long (the report then says nothing was classified). Default 60 s. */
  timeoutMs?: number;
}

/** What the engine learnt: the answer for the checker, or null with the reason no store could be asked. */
export type Classification = { stores: StoreAnswer; note: string } | { stores: null; note: string };

/**
 * Asks the recipient devices' inboxes which undelivered (msg, device) pairs
 * they still hold: one `has(device, mids)` per device, a bounded number at
 * once. Pairs on the fan-out-on-read path keep no inbox entry, and pairs
 * without a mid cannot be named: they are not asked (and stay lost). All or
 * nothing: if any question fails, no pair is classified.
 */
export async function askInboxes(
  pairs: readonly UndeliveredPair[],
  deviceId: (dev: number) => string,
  inbox: Inbox,
  atMs: number,
  o: ClassifyOptions = {},
): Promise<StoreAnswer> {
  const byDevice = new Map<number, UndeliveredPair[]>();
  let unasked = 0;
  for (const p of pairs) {
    if (p.mid === null || p.path === 'group-read') {
      unasked++;
      continue;
    }
    let list = byDevice.get(p.dev);
    if (!list) byDevice.set(p.dev, (list = []));
    list.push(p);
  }
  const held: { msg: number; dev: number }[] = [];
  const devices = [...byDevice];
  let next = 0;
  const lane = async () => {
    while (next < devices.length) {
      const [dev, list] = devices[next++]!;
      const answer = await inbox.has(deviceId(dev), list.map((p) => p.mid!));
      list.forEach((p, i) => {
        if (answer[i]) held.push({ msg: p.msg, dev });
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(devices.length, o.devicesInFlightMax ?? 16) }, lane));
  return { atMs, held, unasked };
}

/**
 * The engine's end-of-run step: opens the world's inbox (null: a cluster
 * chatlab has no store access to, like `--target`), asks it, and says what
 * was done. Never throws: a store that cannot answer leaves the run
 * unclassified, as the report then says.
 */
export async function classifyUndelivered(
  open: (() => Promise<InboxAccess>) | undefined,
  pairs: readonly UndeliveredPair[],
  deviceId: (dev: number) => string,
  atMs: number,
  o: ClassifyOptions = {},
): Promise<Classification> {
  if (!open) return { stores: null, note: 'no access to the stores of a cluster chatlab did not start' };
  if (pairs.length === 0) return { stores: { atMs, held: [], unasked: 0 }, note: 'nothing undelivered' };
  let access: InboxAccess | undefined;
  const timeoutMs = o.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ask = (async () => {
      access = await open();
      return askInboxes(pairs, deviceId, access.inbox, atMs, o);
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    const stores = await Promise.race([ask, timeout]);
    return { stores, note: `asked the inboxes about ${pairs.length - stores.unasked} undelivered pairs: ${stores.held.length} still held` };
  } catch (err) {
    return { stores: null, note: `the stores did not answer: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
    await access?.close().catch(() => {});
  }
}
