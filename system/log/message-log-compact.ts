import { isNodeId, nodeIdHigh, nodeIdLow, nodeIdOf } from '../protocol/ids.ts';
import type { FaultSwitch } from '../faults/port-faults.ts';
import type { MessageLog, StoredMessage } from './message-log.ts';

export interface CompactMessageLogOptions {
  /** Test hook: arm failures per method name ('append', 'page'). */
  faults?: FaultSwitch;
}

/** Rows per column chunk: columns grow a chunk at a time, never copied whole. */
const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
const ROW_MASK = CHUNK - 1;
/** Numbers per row: seq, ts, the mid as two 36-bit halves, and where the frame's bytes are (offset, length). */
const NUMS = 6;
/** A conversation's row list up to this long is copied to its exact size on insert; longer ones grow by push. */
const EXACT_MAX = 64;
/** Bytes per frame arena chunk. */
const ARENA_CHUNK = 1 << 20;
/** Reference texts kept at most, and the longest one taken. */
const MAX_REFS = 31;
const MAX_REF_CHARS = 4096;
/** A frame whose rest leaves more than this unshared with every reference becomes one (while there is room). */
const NEW_REF_CHARS = 64;
/** Shared prefixes shorter than this are not worth a reference. */
const MIN_SHARED = 16;
/** Packing of nums[o + 5]: arena bytes × BYTES_UNIT + shared chars × REF_SLOTS + (reference + 1). */
const REF_SLOTS = 32;
const BYTES_UNIT = 1 << 20;
/** The mid's first half for a mid of any other form (kept as a string in `oddMids`). */
const ODD = -1;

/**
 * Conversation history as columns, one row per message, and per conversation
 * its rows sorted by seq. The memory and sim worlds use it; `MemoryMessageLog`
 * (message-log-memory.ts) is the plain reference it is tested against.
 *
 * Memory: a simulation appends every message of the run, most conversations
 * hold a message or two, and an object per message (with its conversation
 * and sender strings) cost about twice the frame itself. A row is six
 * numbers in a chunk of a Float64Array (seq, ts, the mid's two 36-bit halves
 * — node mids are 18 hex digits — and the frame's place and make-up in the
 * arena) and the sender in a chunk of an array, interned against the conversation's
 * previous senders; a conversation is its key and either its one row number
 * or an array of row numbers. Mids and frames of any other form are kept as
 * strings aside.
 *
 * Frames are the bulk of it (a message's text and envelope). A frame that
 * begins with the envelope a node writes (`{"t":"msg","mid":…,"seq":…,
 * "conv":…,"from":…,`) is stored without it, as UTF-8 in chunked Buffers
 * outside the JS heap, and rebuilt from the row's fields on read: about a
 * hundred bytes and a string header less each. What follows the envelope is
 * stored as the length of the prefix it shares with one of a few reference
 * texts (earlier frames' rests, kept whole) plus the bytes after it: bodies
 * that share their start (templates, a load generator's filler) then cost
 * a few dozen bytes, others their own length. Any other frame is kept as
 * the string it is.
 *
 * Seqs arrive almost in order (concurrent senders may swap neighbours), so an
 * append is a push in the common case and a short insertion near the end
 * otherwise; a page is a binary search plus a slice: O(log n + limit).
 * Pages are built anew from the columns, so a caller mutating an object it
 * appended or read cannot rewrite history.
 */
export class CompactMessageLog implements MessageLog {
  private readonly faults?: FaultSwitch;
  private readonly convs = new Map<string, number | number[]>();
  private readonly nums: Float64Array[] = [];
  /** Per row: the sender. */
  private readonly strs: string[][] = [];
  /** Frames not in the arena, by row. */
  private oddFrames?: Map<number, string>;
  private rows = 0;
  private readonly arena: Buffer[] = [];
  /** Bytes used in the last arena chunk. */
  private arenaUsed = ARENA_CHUNK;
  /** Reference texts for shared prefixes (see the class comment), longest first tried. */
  private readonly refs: string[] = [];
  private longestRef = -1;
  private oddMids?: Map<number, string>;

  constructor(options: CompactMessageLogOptions = {}) {
    this.faults = options.faults;
  }

  /** Frame bytes held in the arena (for tests and memory accounting). */
  get arenaBytes(): number {
    return this.arena.length === 0 ? 0 : (this.arena.length - 1) * ARENA_CHUNK + this.arenaUsed;
  }

  async append(message: StoredMessage): Promise<void> {
    this.faults?.check('append');
    const { conv, seq } = message;
    const kept = this.convs.get(conv);
    if (kept === undefined) {
      this.convs.set(conv, this.addRow(message, message.from));
      return;
    }
    if (typeof kept === 'number') {
      const s = this.seqOf(kept);
      if (s === seq) return; // idempotent retry: the first copy stays
      const row = this.addRow(message, this.internFrom(message.from, kept, kept));
      this.convs.set(conv, s < seq ? [kept, row] : [row, kept]);
      return;
    }
    const last = kept[kept.length - 1]!;
    if (this.seqOf(last) < seq) {
      const row = this.addRow(message, this.internFrom(message.from, last, kept[kept.length - 2]!));
      if (kept.length >= EXACT_MAX) kept.push(row);
      else this.convs.set(conv, insertRow(kept, kept.length, row));
      return;
    }
    const i = this.firstAfter(kept, seq - 1);
    if (i < kept.length && this.seqOf(kept[i]!) === seq) return; // idempotent retry: the first copy stays
    const row = this.addRow(message, this.internFrom(message.from, last, last));
    if (kept.length >= EXACT_MAX) kept.splice(i, 0, row);
    else this.convs.set(conv, insertRow(kept, i, row));
  }

  async page(conversation: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    this.faults?.check('page');
    const kept = this.convs.get(conversation);
    if (kept === undefined || limit <= 0) return [];
    if (typeof kept === 'number') return this.seqOf(kept) > afterSeq ? [this.read(conversation, kept)] : [];
    const from = this.firstAfter(kept, afterSeq);
    const end = Math.min(kept.length, from + limit);
    const out: StoredMessage[] = [];
    for (let i = from; i < end; i++) out.push(this.read(conversation, kept[i]!));
    return out;
  }

  /** Writes a new row and returns its number. */
  private addRow(m: StoredMessage, from: string): number {
    const row = this.rows++;
    const c = row >>> CHUNK_BITS;
    if (c === this.nums.length) {
      this.nums.push(new Float64Array(CHUNK * NUMS));
      this.strs.push([]);
    }
    const nums = this.nums[c]!;
    const o = (row & ROW_MASK) * NUMS;
    nums[o] = m.seq;
    nums[o + 1] = m.ts;
    if (isNodeId(m.mid)) {
      nums[o + 2] = nodeIdHigh(m.mid);
      nums[o + 3] = nodeIdLow(m.mid);
    } else {
      nums[o + 2] = ODD;
      (this.oddMids ??= new Map()).set(row, m.mid);
    }
    const rest = envelopeRest(m);
    if (rest === undefined) {
      nums[o + 4] = 0;
      nums[o + 5] = -1;
      (this.oddFrames ??= new Map()).set(row, m.frame);
    } else {
      let [ref, shared] = this.bestRef(rest);
      if (rest.length - shared > NEW_REF_CHARS && this.refs.length < MAX_REFS && rest.length <= MAX_REF_CHARS) {
        ref = this.refs.length;
        shared = rest.length;
        this.refs.push(rest);
        if (this.longestRef < 0 || rest.length > this.refs[this.longestRef]!.length) this.longestRef = ref;
      }
      // Never split a surrogate pair: the bytes after the shared prefix must be whole UTF-16 text.
      if (shared > 0 && shared < rest.length && (rest.charCodeAt(shared) & 0xfc00) === 0xdc00) shared--;
      if (shared < MIN_SHARED && shared < rest.length) {
        ref = -1;
        shared = 0;
      }
      const tail = shared === 0 ? rest : rest.slice(shared);
      const bytes = Buffer.byteLength(tail, 'utf8');
      if (this.arenaUsed + bytes > ARENA_CHUNK) {
        this.arena.push(Buffer.allocUnsafeSlow(Math.max(ARENA_CHUNK, bytes)));
        this.arenaUsed = 0;
      }
      const chunk = this.arena.length - 1;
      if (bytes > 0) this.arena[chunk]!.write(tail, this.arenaUsed, 'utf8');
      nums[o + 4] = chunk * ARENA_CHUNK + this.arenaUsed;
      nums[o + 5] = bytes * BYTES_UNIT + shared * REF_SLOTS + (ref + 1);
      this.arenaUsed += bytes;
    }
    this.strs[c]!.push(from);
    return row;
  }

  /** `from` as the string already held for one of the conversation's rows `a`, `b` when equal (a conversation has few senders). */
  private internFrom(from: string, a: number, b: number): string {
    const fa = this.fromOf(a);
    if (fa === from) return fa;
    const fb = this.fromOf(b);
    return fb === from ? fb : from;
  }

  /** The reference sharing the longest prefix with `text` and that length: the longest reference first, the rest only when it shares little. */
  private bestRef(text: string): [number, number] {
    let best = -1;
    let shared = 0;
    if (this.longestRef >= 0) {
      best = this.longestRef;
      shared = sharedPrefix(text, this.refs[best]!);
    }
    if (text.length - shared > NEW_REF_CHARS) {
      for (let r = 0; r < this.refs.length; r++) {
        if (r === this.longestRef) continue;
        const n = sharedPrefix(text, this.refs[r]!);
        if (n > shared) {
          best = r;
          shared = n;
        }
      }
    }
    return [best, shared];
  }

  private seqOf(row: number): number {
    return this.nums[row >>> CHUNK_BITS]![(row & ROW_MASK) * NUMS]!;
  }

  private fromOf(row: number): string {
    return this.strs[row >>> CHUNK_BITS]![row & ROW_MASK]!;
  }

  private read(conv: string, row: number): StoredMessage {
    const nums = this.nums[row >>> CHUNK_BITS]!;
    const strs = this.strs[row >>> CHUNK_BITS]!;
    const o = (row & ROW_MASK) * NUMS;
    const hi = nums[o + 2]!;
    const mid = hi === ODD ? this.oddMids!.get(row)! : nodeIdOf(hi, nums[o + 3]!);
    const seq = nums[o]!;
    const from = strs[row & ROW_MASK]!;
    const code = nums[o + 5]!;
    let frame: string;
    if (code < 0) frame = this.oddFrames!.get(row)!;
    else {
      const bytes = Math.floor(code / BYTES_UNIT);
      const shared = Math.floor(code / REF_SLOTS) % (BYTES_UNIT / REF_SLOTS);
      const ref = (code % REF_SLOTS) - 1;
      const at = nums[o + 4]!;
      const start = at % ARENA_CHUNK;
      frame = envelope(mid, seq, conv, from);
      if (ref >= 0) frame += this.refs[ref]!.slice(0, shared);
      if (bytes > 0) frame += this.arena[(at - start) / ARENA_CHUNK]!.toString('utf8', start, start + bytes);
    }
    return { conv, seq, mid, from, frame, ts: nums[o + 1]! };
  }

  /** Index of the first row with seq > `seq` (rows.length when none). */
  private firstAfter(rows: readonly number[], seq: number): number {
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqOf(rows[mid]!) <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A copy of `rows` with `row` inserted at `i`, of the exact size: push would leave 16 slots or more idle in a short list. */
function insertRow(rows: readonly number[], i: number, row: number): number[] {
  const out = new Array<number>(rows.length + 1);
  for (let j = 0; j < i; j++) out[j] = rows[j]!;
  out[i] = row;
  for (let j = i; j < rows.length; j++) out[j + 1] = rows[j]!;
  return out;
}

/** Length of the common prefix of `a` and `b`. */
function sharedPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** The start of the frame a node writes for a message, up to its body. */
function envelope(mid: string, seq: number, conv: string, from: string): string {
  return `{"t":"msg","mid":${JSON.stringify(mid)},"seq":${seq},"conv":${JSON.stringify(conv)},"from":${JSON.stringify(from)},`;
}

/** The frame after its envelope, when it has that envelope and survives a UTF-8 round trip; otherwise undefined. */
function envelopeRest(m: StoredMessage): string | undefined {
  const head = envelope(m.mid, m.seq, m.conv, m.from);
  return m.frame.startsWith(head) && (m.frame as unknown as WellFormed).isWellFormed() ? m.frame.slice(head.length) : undefined;
}

/** ES2024's String.prototype.isWellFormed (Node 20 has it; no lone surrogates, so UTF-8 keeps the text exactly). */
interface WellFormed {
  isWellFormed(): boolean;
}
