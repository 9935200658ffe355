/**
 * The delivery ledger: an append-only, columnar history of one run — every
 * send, server ack, owed delivery, actual delivery, receipt, error, device
 * sign-in and session end, gauge sample and fault. The run only records;
 * `check()` judges afterwards, so the same history can be re-checked and
 * re-rendered (Jepsen/Maelstrom style).
 *
 * Memory: a delivery row is 18 bytes (msg u32, dev u32, at f64, path u8,
 * flags u8) and its expect row 9 bytes (msg u32, dev u32, path u8): 27 bytes
 * per owed-and-delivered event. Measured on Node 20 with 10M expect + 10M
 * deliver rows: 31.0 bytes/event including the 1.5x growth slack (310 MB);
 * with 5M sends (24 B each) and acks (12 B, plus 16 B for the mid) the whole ledger held 494 MB, and
 * check() over it took ~10 s. reports/ledger.test.ts keeps 1M rows under 40 B.
 * Receipts are 17 bytes each; connection rows 15.
 *
 * Workers share one global numbering (msg: driver-assigned, workers use
 * disjoint ranges; dev: population index), so `merge` is a concatenation and
 * the checker's join on (msg, dev) works across workers exactly.
 */
import { Table, rowCount, type ColumnsTransfer, type Schema } from './columns.ts';
import { readTransferFile, writeTransferFile } from './ledger-file.ts';

/**
 * How a message reached a device. `media`: a message with uploaded media,
 * delivered when its object was downloaded intact (whatever path its text
 * took), lost there when the download found no object or corrupt bytes.
 */
export const Paths = ['direct', 'cross-node', 'offline-drain', 'push-wake', 'group-write', 'group-read', 'media'] as const;
export type Path = (typeof Paths)[number];

/** The device saw this mid again (transport duplicate) and dropped it. */
export const DUP_TRANSPORT = 1;
/** The message was shown to the user twice: a guarantee violation. */
export const DUP_VISIBLE = 2;
/** Shown after a higher seq of the same conversation: a guarantee violation. */
export const OUT_OF_ORDER = 4;
/** The device could not decrypt it (end-to-end encryption): it arrived, but the user never saw it. A guarantee violation. */
export const UNDECRYPTABLE = 16;
/** The message carries uploaded media; the row's time is when its download ended. */
export const MEDIA = 32;
/** Its media could not be had (no object, or bytes that fail their SHA-256): not a delivery; lost on the `media` path unless another copy made it. */
export const MEDIA_LOST = 64;
/** Its media had expired (older than the retention): shown as expired, a delivery, not a loss. */
export const MEDIA_EXPIRED = 128;

export type ReceiptKind = 'delivered' | 'read';
export const RECEIPT_DELIVERED = 0;
export const RECEIPT_READ = 1;

/** Connection row kinds: a device authenticated, or an authenticated session ended. */
export const CONN_UP = 0;
export const CONN_DOWN = 1;
/** Normal closure: the device closed the socket itself (backgrounded, run over), so no fault's doing. */
export const CLOSE_NORMAL = 1000;

export interface FaultMark {
  kind: string;
  target: string;
  /** Run clock, like every other ledger time. */
  startMs: number;
  endMs: number;
  /** Nobody scheduled it: the world saw it happen (a process exited or stopped answering). */
  observed?: true;
  /** How an observed fault showed (an exit signal, the probe's failure). */
  detail?: string;
}

/** `lag`: when the load fired the send minus its intended time (the scheduler's own lateness; NaN for closed-model sends). */
export const SendSchema = { msg: Uint32Array, dev: Uint32Array, intended: Float64Array, sent: Float64Array, lag: Float32Array };
export const AckSchema = { msg: Uint32Array, at: Float64Array };
/** The server's mid of an acked message, split so it fits typed columns: hi = its first 11 hex digits, lo = the last 7. */
export const MidSchema = { msg: Uint32Array, hi: Float64Array, lo: Uint32Array };
export const ExpectSchema = { msg: Uint32Array, dev: Uint32Array, path: Uint8Array };
export const DeliverSchema = { msg: Uint32Array, dev: Uint32Array, at: Float64Array, path: Uint8Array, flags: Uint8Array };
export const ReceiptSchema = { msg: Uint32Array, dev: Uint32Array, at: Float64Array, kind: Uint8Array };
/** msg1 = msg + 1, so 0 means "no message". */
export const ErrorSchema = { at: Float64Array, code: Uint16Array, msg1: Uint32Array, retried: Uint8Array };
export const RetryOkSchema = { msg: Uint32Array };
/** kind: CONN_UP | CONN_DOWN; code: the close code of a CONN_DOWN (0 for CONN_UP or unknown). */
export const ConnectionSchema = { dev: Uint32Array, at: Float64Array, kind: Uint8Array, code: Uint16Array };
/** source = which ledger (worker) took the sample; field indexes `sampleFields`. */
export const SampleSchema = { at: Float64Array, source: Uint16Array, field: Uint16Array, value: Float64Array };

/** Structured-clone-friendly snapshot of a ledger (typed arrays + small arrays). */
export interface LedgerTransfer {
  version: 1;
  sends: ColumnsTransfer<typeof SendSchema>;
  acks: ColumnsTransfer<typeof AckSchema>;
  /** Absent in ledgers written before mids were recorded. */
  mids?: ColumnsTransfer<typeof MidSchema>;
  expects: ColumnsTransfer<typeof ExpectSchema>;
  deliveries: ColumnsTransfer<typeof DeliverSchema>;
  receipts: ColumnsTransfer<typeof ReceiptSchema>;
  errors: ColumnsTransfer<typeof ErrorSchema>;
  retryOk: ColumnsTransfer<typeof RetryOkSchema>;
  samples: ColumnsTransfer<typeof SampleSchema>;
  connections: ColumnsTransfer<typeof ConnectionSchema>;
  errorCodes: string[];
  sampleFields: string[];
  /** Number of distinct sample sources (workers) in this ledger. */
  sources: number;
  faults: FaultMark[];
}

const MID = /^[0-9a-f]{18}$/;
const PATH_INDEX = new Map<string, number>(Paths.map((p, i) => [p, i]));
const MAX_U32 = 0xffffffff;

function u32(name: string, n: number): number {
  if (!(n >= 0 && n <= MAX_U32 && Number.isInteger(n))) throw new RangeError(`ledger: ${name} ${n} is not a u32 integer`);
  return n;
}

/** Appends a transferred table and returns its first new row; a table missing from an older ledger file adds none. */
function appendRows<S extends Schema>(table: Table<S>, cols: ColumnsTransfer<S> | undefined): number {
  const start = table.length;
  if (cols !== undefined && Object.keys(cols).length > 0) table.append(cols, rowCount(table.schema, cols));
  return start;
}

export function pathIndex(path: Path): number {
  const i = PATH_INDEX.get(path);
  if (i === undefined) throw new RangeError(`ledger: unknown path ${String(path)}`);
  return i;
}

export class Ledger {
  readonly sends = new Table(SendSchema);
  readonly acks = new Table(AckSchema);
  readonly mids = new Table(MidSchema);
  readonly expects = new Table(ExpectSchema);
  readonly deliveries = new Table(DeliverSchema);
  readonly receipts = new Table(ReceiptSchema, 256);
  readonly errors = new Table(ErrorSchema, 64);
  readonly retryOk = new Table(RetryOkSchema, 64);
  readonly samples = new Table(SampleSchema, 256);
  readonly connections = new Table(ConnectionSchema, 256);
  readonly errorCodes: string[] = [];
  readonly sampleFields: string[] = [];
  readonly faults: FaultMark[] = [];
  /** Sample sources held; a fresh ledger is one source (0). */
  sources = 1;
  private readonly codeIndex = new Map<string, number>();
  private readonly fieldIndex = new Map<string, number>();

  /**
   * intendedMs: the open-model schedule's time (NaN for closed-model sends); sentMs: first write;
   * lagMs: when the load handed it to the device − intendedMs (default: sentMs − intendedMs).
   */
  send(msg: number, senderDev: number, intendedMs: number, sentMs: number, lagMs = sentMs - intendedMs): void {
    const t = this.sends;
    const i = t.reserve();
    t.cols.msg[i] = u32('msg', msg);
    t.cols.dev[i] = u32('dev', senderDev);
    t.cols.intended[i] = intendedMs;
    t.cols.sent[i] = sentMs;
    t.cols.lag[i] = lagMs;
  }

  /**
   * The server's "sent" tick; only acked messages are owed to recipients.
   * `mid` (the server's id, 18 hex digits) lets the end-of-run check ask the
   * stores about the message; other forms are not recorded.
   */
  ack(msg: number, ackMs: number, mid?: string): void {
    const t = this.acks;
    const i = t.reserve();
    t.cols.msg[i] = u32('msg', msg);
    t.cols.at[i] = ackMs;
    if (mid !== undefined && MID.test(mid)) {
      const m = this.mids;
      const j = m.reserve();
      m.cols.msg[j] = msg;
      m.cols.hi[j] = parseInt(mid.slice(0, 11), 16);
      m.cols.lo[j] = parseInt(mid.slice(11), 16);
    }
  }

  /** mid of each message in `msgs` that has one recorded (the first seen). */
  midsOf(msgs: ReadonlySet<number>): Map<number, string> {
    const out = new Map<number, string>();
    const { msg, hi, lo } = this.mids.cols;
    for (let i = 0; i < this.mids.length; i++) {
      if (!msgs.has(msg[i]) || out.has(msg[i])) continue;
      out.set(msg[i], hi[i].toString(16).padStart(11, '0') + lo[i].toString(16).padStart(7, '0'));
    }
    return out;
  }

  /** Recipient device `dev` must receive `msg`, predicted to travel by `path`. */
  expect(msg: number, dev: number, path: Path): void {
    const t = this.expects;
    const i = t.reserve();
    t.cols.msg[i] = u32('msg', msg);
    t.cols.dev[i] = u32('dev', dev);
    t.cols.path[i] = pathIndex(path);
  }

  /** `dev` received `msg` by the actual `path`; flags: DUP_TRANSPORT | DUP_VISIBLE | OUT_OF_ORDER | UNDECRYPTABLE. */
  deliver(msg: number, dev: number, atMs: number, path: Path, flags = 0): void {
    const t = this.deliveries;
    const i = t.reserve();
    t.cols.msg[i] = u32('msg', msg);
    t.cols.dev[i] = u32('dev', dev);
    t.cols.at[i] = atMs;
    t.cols.path[i] = pathIndex(path);
    t.cols.flags[i] = flags;
  }

  /** The sender saw a `kind` receipt for `msg` from `byDev`. */
  receipt(msg: number, byDev: number, kind: ReceiptKind, atMs: number): void {
    const t = this.receipts;
    const i = t.reserve();
    t.cols.msg[i] = u32('msg', msg);
    t.cols.dev[i] = u32('dev', byDev);
    t.cols.at[i] = atMs;
    t.cols.kind[i] = kind === 'read' ? RECEIPT_READ : RECEIPT_DELIVERED;
  }

  /** An error seen by the driver; msg = -1 when not about one message. */
  error(atMs: number, code: string, msg: number, retried: boolean): void {
    const t = this.errors;
    const i = t.reserve();
    t.cols.at[i] = atMs;
    t.cols.code[i] = this.intern(code, this.errorCodes, this.codeIndex);
    t.cols.msg1[i] = msg < 0 ? 0 : u32('msg', msg + 1);
    t.cols.retried[i] = retried ? 1 : 0;
  }

  /** A message that hit a retried error was eventually acked. */
  retrySucceeded(msg: number): void {
    const t = this.retryOk;
    const i = t.reserve();
    t.cols.msg[i] = u32('msg', msg);
  }

  /** `dev` authenticated (welcome): it is online from `atMs`. */
  connected(dev: number, atMs: number): void {
    this.connection(dev, atMs, CONN_UP, 0);
  }

  /**
   * An authenticated session of `dev` ended (failed connection attempts are
   * not sessions); `closeCode` is the WebSocket close code, CLOSE_NORMAL when
   * the device closed it itself. Codes outside u16 are stored as 0 (unknown).
   */
  disconnected(dev: number, atMs: number, closeCode: number): void {
    const code = Number.isInteger(closeCode) && closeCode >= 0 && closeCode <= 0xffff ? closeCode : 0;
    this.connection(dev, atMs, CONN_DOWN, code);
  }

  private connection(dev: number, atMs: number, kind: number, code: number): void {
    const t = this.connections;
    const i = t.reserve();
    t.cols.dev[i] = u32('dev', dev);
    t.cols.at[i] = atMs;
    t.cols.kind[i] = kind;
    t.cols.code[i] = code;
  }

  /** Gauges for the timeline; `connected` is summed across workers. Non-finite values are skipped. */
  sample(atMs: number, values: { connected: number; [field: string]: number | undefined }): void {
    for (const [field, value] of Object.entries(values)) {
      if (value === undefined || !Number.isFinite(value)) continue;
      const t = this.samples;
      const i = t.reserve();
      t.cols.at[i] = atMs;
      t.cols.source[i] = 0;
      t.cols.field[i] = this.intern(field, this.sampleFields, this.fieldIndex);
      t.cols.value[i] = value;
    }
  }

  fault(mark: FaultMark): void {
    const f: FaultMark = { kind: mark.kind, target: mark.target, startMs: mark.startMs, endMs: mark.endMs };
    if (mark.observed) f.observed = true;
    if (mark.detail !== undefined) f.detail = mark.detail;
    this.faults.push(f);
  }

  /** Approximate bytes held (typed-array capacity). */
  byteLength(): number {
    return [this.sends, this.acks, this.mids, this.expects, this.deliveries, this.receipts, this.errors, this.retryOk, this.samples, this.connections]
      .reduce((sum, t) => sum + t.byteLength(), 0);
  }

  toTransfer(): LedgerTransfer {
    return {
      version: 1,
      sends: this.sends.toTransfer(),
      acks: this.acks.toTransfer(),
      mids: this.mids.toTransfer(),
      expects: this.expects.toTransfer(),
      deliveries: this.deliveries.toTransfer(),
      receipts: this.receipts.toTransfer(),
      errors: this.errors.toTransfer(),
      retryOk: this.retryOk.toTransfer(),
      samples: this.samples.toTransfer(),
      connections: this.connections.toTransfer(),
      errorCodes: [...this.errorCodes],
      sampleFields: [...this.sampleFields],
      sources: this.sources,
      faults: this.faults.map((f) => ({ ...f })),
    };
  }

  /** Writes the ledger to a binary file (see ledger-file.ts for the layout). */
  writeTo(path: string): void {
    writeTransferFile(path, this.toTransfer());
  }

  static readFrom(path: string): Ledger {
    return Ledger.fromTransfer(readTransferFile(path));
  }

  static fromTransfer(transfer: LedgerTransfer): Ledger {
    return Ledger.merge([transfer]);
  }

  /** Exact union of worker ledgers (or their transfers): rows concatenate, names re-interned. */
  static merge(parts: (Ledger | LedgerTransfer)[]): Ledger {
    const out = new Ledger();
    out.sources = 0;
    for (const part of parts) out.appendTransfer(part instanceof Ledger ? part.toTransfer() : part);
    out.sources = Math.max(out.sources, 1);
    return out;
  }

  private appendTransfer(t: LedgerTransfer): void {
    if (t.version !== 1) throw new RangeError(`ledger: unsupported transfer version ${String(t.version)}`);
    appendRows(this.sends, t.sends);
    appendRows(this.acks, t.acks);
    appendRows(this.mids, t.mids);
    appendRows(this.expects, t.expects);
    appendRows(this.deliveries, t.deliveries);
    appendRows(this.receipts, t.receipts);
    appendRows(this.retryOk, t.retryOk);
    appendRows(this.connections, t.connections);
    this.appendErrors(t);
    this.appendSamples(t);
    this.faults.push(...t.faults.map((f) => ({ ...f })));
    this.sources += t.sources;
  }

  private appendErrors(t: LedgerTransfer): void {
    const start = appendRows(this.errors, t.errors);
    const remap = t.errorCodes.map((c) => this.intern(c, this.errorCodes, this.codeIndex));
    const code = this.errors.cols.code;
    for (let i = start; i < this.errors.length; i++) code[i] = remap[code[i]];
  }

  private appendSamples(t: LedgerTransfer): void {
    const start = appendRows(this.samples, t.samples);
    const remap = t.sampleFields.map((f) => this.intern(f, this.sampleFields, this.fieldIndex));
    const { field, source } = this.samples.cols;
    for (let i = start; i < this.samples.length; i++) {
      field[i] = remap[field[i]];
      source[i] += this.sources;
    }
  }

  private intern(name: string, names: string[], index: Map<string, number>): number {
    let i = index.get(name);
    if (i === undefined) {
      if (names.length >= 0xffff) throw new RangeError(`ledger: too many distinct names (at ${name})`);
      i = names.length;
      names.push(name);
      index.set(name, i);
    }
    return i;
  }
}
