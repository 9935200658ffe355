/**
 * Joins the ledger's columns for the checker without an object per event:
 * messages get a dense slot (indexed by msg), owed (msg, dev) pairs get a
 * sorted key array, and deliveries and receipts find their pair by binary
 * search. Keys are exact integers in float64: (slot * devSpace + dev).
 */
import { MEDIA_LOST, type Ledger } from './ledger.ts';
import type { ErrorsReport } from './report.ts';

const NO_PATH = 255;
const MAX_EXACT = 2 ** 53;

/** Message slots: dense over [min msg, max msg] of sends and acks, else a Map. */
export class Messages {
  readonly size: number;
  /** Open-model intended send (falls back to the actual send): the e2e reference. */
  readonly ref: Float64Array;
  readonly sent: Float64Array;
  readonly sender: Uint32Array;
  readonly ackAt: Float64Array;
  readonly retryOk: Uint8Array;
  private readonly base: number;
  private readonly map: Map<number, number> | null;
  private bySlot?: Float64Array;

  constructor(ledger: Ledger) {
    const { min, max, rows } = msgRange(ledger);
    const range = rows === 0 ? 0 : max - min + 1;
    const dense = range <= 4 * rows + 1_000_000;
    this.base = min;
    this.map = dense ? null : slotMap(ledger);
    this.size = dense ? range : this.map!.size;
    this.ref = new Float64Array(this.size).fill(NaN);
    this.sent = new Float64Array(this.size).fill(NaN);
    this.sender = new Uint32Array(this.size);
    this.ackAt = new Float64Array(this.size).fill(NaN);
    this.retryOk = new Uint8Array(this.size);
    this.fill(ledger);
  }

  /** Slot of msg, or -1 when the ledger never saw it sent or acked. */
  slot(msg: number): number {
    if (this.map) return this.map.get(msg) ?? -1;
    const s = msg - this.base;
    return s >= 0 && s < this.size ? s : -1;
  }

  msgOf(slot: number): number {
    if (!this.map) return slot + this.base;
    if (!this.bySlot) {
      // Built on first use: the end-of-run store lookup asks for many slots.
      this.bySlot = new Float64Array(this.size).fill(-1);
      for (const [msg, s] of this.map) this.bySlot[s] = msg;
    }
    return this.bySlot[slot] ?? -1;
  }

  acked(slot: number): boolean {
    return slot >= 0 && !Number.isNaN(this.ackAt[slot]);
  }

  private fill(ledger: Ledger): void {
    const s = ledger.sends.cols;
    for (let i = 0; i < ledger.sends.length; i++) {
      const slot = this.slot(s.msg[i]);
      const sent = s.sent[i];
      if (!(sent >= this.sent[slot])) {
        this.sent[slot] = sent;
        this.sender[slot] = s.dev[i];
        const intended = s.intended[i];
        this.ref[slot] = Number.isFinite(intended) && intended <= sent ? intended : sent;
      }
    }
    const a = ledger.acks.cols;
    for (let i = 0; i < ledger.acks.length; i++) {
      const slot = this.slot(a.msg[i]);
      if (!(a.at[i] >= this.ackAt[slot])) this.ackAt[slot] = a.at[i];
    }
    const r = ledger.retryOk.cols.msg;
    for (let i = 0; i < ledger.retryOk.length; i++) {
      const slot = this.slot(r[i]);
      if (slot >= 0) this.retryOk[slot] = 1;
    }
  }
}

function msgRange(ledger: Ledger): { min: number; max: number; rows: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const t of [ledger.sends, ledger.acks]) {
    const m = t.cols.msg;
    for (let i = 0; i < t.length; i++) {
      if (m[i] < min) min = m[i];
      if (m[i] > max) max = m[i];
    }
  }
  return { min: min === Infinity ? 0 : min, max, rows: ledger.sends.length + ledger.acks.length };
}

function slotMap(ledger: Ledger): Map<number, number> {
  const map = new Map<number, number>();
  for (const t of [ledger.sends, ledger.acks]) {
    for (let i = 0; i < t.length; i++) if (!map.has(t.cols.msg[i])) map.set(t.cols.msg[i], map.size);
  }
  return map;
}

/** Owed (msg, dev) pairs from expect(), with what happened to each. */
export class Pairs {
  readonly devSpace: number;
  /** Sorted unique pair keys (slot * devSpace + dev). */
  readonly keys: Float64Array;
  readonly predicted: Uint8Array;
  readonly firstAt: Float64Array;
  /** Path of the earliest delivery (NO_PATH when never delivered). */
  readonly actual: Uint8Array;
  /** OR of delivery flags. */
  readonly flags: Uint8Array;
  /** Earliest receipt seen by the sender, latency from ref: [delivered, read] per pair. */
  readonly receiptMs: Float32Array;
  /** Distinct pairs delivered with no expect row, split by whether the message was acked. */
  unexpectedAcked = 0;
  unexpectedUnacked = 0;
  /** Receipts that match no owed pair (recorded directly, not deduplicated). */
  readonly strayReceipts: { kind: number; ms: number }[] = [];

  constructor(ledger: Ledger, msgs: Messages) {
    this.devSpace = devSpaceOf(ledger);
    if (Math.max(msgs.size, 1) * this.devSpace * 8 > MAX_EXACT) {
      throw new RangeError(`checker: ${msgs.size} messages x ${this.devSpace} device ids exceed exact 53-bit pair keys`);
    }
    const { keys, predicted } = sortExpects(ledger, msgs, this.devSpace);
    this.keys = keys;
    this.predicted = predicted;
    this.firstAt = new Float64Array(keys.length).fill(Infinity);
    this.actual = new Uint8Array(keys.length).fill(NO_PATH);
    this.flags = new Uint8Array(keys.length);
    this.receiptMs = new Float32Array(keys.length * 2).fill(Infinity);
    this.joinDeliveries(ledger, msgs);
    this.joinReceipts(ledger, msgs);
  }

  find(key: number): number {
    const k = this.keys;
    let lo = 0;
    let hi = k.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = k[mid];
      if (v === key) return mid;
      if (v < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  slotOf(p: number): number {
    return Math.floor(this.keys[p] / this.devSpace);
  }

  devOf(p: number): number {
    return this.keys[p] % this.devSpace;
  }

  private joinDeliveries(ledger: Ledger, msgs: Messages): void {
    const d = ledger.deliveries.cols;
    const strays: string[] = [];
    for (let i = 0; i < ledger.deliveries.length; i++) {
      const slot = msgs.slot(d.msg[i]);
      const p = slot < 0 ? -1 : this.find(slot * this.devSpace + d.dev[i]);
      if (p < 0) {
        strays.push(`${msgs.acked(slot) ? 'a' : 'u'}:${d.msg[i]}:${d.dev[i]}`);
        continue;
      }
      this.flags[p] |= d.flags[i];
      // The message came but its media did not: not a delivery (the checker counts it lost on `media`).
      if (d.flags[i] & MEDIA_LOST) continue;
      if (d.at[i] < this.firstAt[p]) {
        this.firstAt[p] = d.at[i];
        this.actual[p] = d.path[i];
      }
    }
    for (const s of new Set(strays)) {
      if (s[0] === 'a') this.unexpectedAcked++;
      else this.unexpectedUnacked++;
    }
  }

  private joinReceipts(ledger: Ledger, msgs: Messages): void {
    const r = ledger.receipts.cols;
    for (let i = 0; i < ledger.receipts.length; i++) {
      const slot = msgs.slot(r.msg[i]);
      const ms = slot < 0 ? NaN : r.at[i] - msgs.ref[slot];
      if (Number.isNaN(ms)) continue;
      const p = this.find(slot * this.devSpace + r.dev[i]);
      if (p < 0) {
        this.strayReceipts.push({ kind: r.kind[i], ms });
        continue;
      }
      const j = p * 2 + r.kind[i];
      if (ms < this.receiptMs[j]) this.receiptMs[j] = ms;
    }
  }
}

/** Smallest power of two above every device id, so keys split exactly. */
function devSpaceOf(ledger: Ledger): number {
  let max = 0;
  for (const t of [ledger.expects, ledger.deliveries, ledger.receipts]) {
    const dev = t.cols.dev;
    for (let i = 0; i < t.length; i++) if (dev[i] > max) max = dev[i];
  }
  return 2 ** Math.ceil(Math.log2(max + 2));
}

/** Sorts expect rows by pair key with the predicted path folded into the low 3 bits; dedupes. */
function sortExpects(ledger: Ledger, msgs: Messages, devSpace: number): { keys: Float64Array; predicted: Uint8Array } {
  const e = ledger.expects.cols;
  const folded = new Float64Array(ledger.expects.length);
  let n = 0;
  for (let i = 0; i < ledger.expects.length; i++) {
    const slot = msgs.slot(e.msg[i]);
    if (slot < 0) continue; // never sent nor acked: owed to nobody
    folded[n++] = (slot * devSpace + e.dev[i]) * 8 + e.path[i];
  }
  const sorted = folded.subarray(0, n).sort();
  let unique = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0 || Math.floor(sorted[i] / 8) !== Math.floor(sorted[i - 1] / 8)) sorted[unique++] = sorted[i];
  }
  const keys = new Float64Array(unique);
  const predicted = new Uint8Array(unique);
  for (let i = 0; i < unique; i++) {
    keys[i] = Math.floor(sorted[i] / 8);
    predicted[i] = sorted[i] % 8;
  }
  return { keys, predicted };
}

/**
 * Error rows (all, or those with `at` in [fromMs, toMs]) by code: how many,
 * how many the driver retried, and how many of those retried messages were
 * eventually acked.
 */
export function tallyErrors(ledger: Ledger, msgs: Messages, range?: { fromMs: number; toMs: number }): ErrorsReport {
  const e = ledger.errors.cols;
  const byCode: ErrorsReport['byCode'] = {};
  let total = 0;
  for (let i = 0; i < ledger.errors.length; i++) {
    if (range && !(e.at[i] >= range.fromMs && e.at[i] <= range.toMs)) continue;
    total++;
    const c = (byCode[ledger.errorCodes[e.code[i]]] ??= { count: 0, retried: 0, retriedOk: 0 });
    c.count++;
    if (!e.retried[i]) continue;
    c.retried++;
    const slot = e.msg1[i] === 0 ? -1 : msgs.slot(e.msg1[i] - 1);
    if (slot >= 0 && msgs.retryOk[slot]) c.retriedOk++;
  }
  return { total, byCode };
}

export { NO_PATH };
