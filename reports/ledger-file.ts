/**
 * Ledger files: a shard's history on disk, so `chatlab report merge` can join
 * shard outputs after the fact.
 *
 * Layout (little-endian): 16-byte magic "CHATLAB-LEDGER1\n", u32 header
 * length, UTF-8 JSON header (names, faults, and for every column its type,
 * byte offset and row count), zero padding to 8 bytes, then the raw column
 * bytes, each 8-byte aligned. Raw bytes keep a 10M-row ledger a few hundred
 * MB and load without parsing. A table missing from the header (a file
 * written before that table existed) reads as empty.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import type { LedgerTransfer } from './ledger.ts';

const MAGIC = 'CHATLAB-LEDGER1\n';
const TABLES = ['sends', 'acks', 'mids', 'expects', 'deliveries', 'receipts', 'errors', 'retryOk', 'samples', 'connections'] as const;
type TableName = (typeof TABLES)[number];
type AnyColumn = Float64Array | Float32Array | Uint32Array | Uint16Array | Uint8Array;

const CTORS = { Float64Array, Float32Array, Uint32Array, Uint16Array, Uint8Array } as const;
type CtorName = keyof typeof CTORS;

interface ColumnEntry {
  type: CtorName;
  offset: number;
  length: number;
}

interface Header {
  version: 1;
  errorCodes: string[];
  sampleFields: string[];
  sources: number;
  faults: LedgerTransfer['faults'];
  tables: Record<TableName, Record<string, ColumnEntry>>;
}

function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new Error('ledger files are little-endian; this host is big-endian');
}

function columnsOf(t: LedgerTransfer, name: TableName): [string, AnyColumn][] {
  return Object.entries((t[name] ?? {}) as Record<string, AnyColumn>);
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

function buildHeader(t: LedgerTransfer, dataStart: number): Header {
  const tables = {} as Header['tables'];
  let offset = dataStart;
  for (const name of TABLES) {
    tables[name] = {};
    for (const [col, arr] of columnsOf(t, name)) {
      tables[name][col] = { type: arr.constructor.name as CtorName, offset, length: arr.length };
      offset = align8(offset + arr.byteLength);
    }
  }
  const { errorCodes, sampleFields, sources, faults } = t;
  return { version: 1, errorCodes, sampleFields, sources, faults, tables };
}

/** The header's own size shifts data offsets, so settle it by iterating until stable. */
function encodeHeader(t: LedgerTransfer): { bytes: Buffer; header: Header } {
  let dataStart = 0;
  for (;;) {
    const header = buildHeader(t, dataStart);
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const needed = align8(MAGIC.length + 4 + json.length);
    if (needed === dataStart) {
      const bytes = Buffer.alloc(needed);
      bytes.write(MAGIC, 0, 'latin1');
      bytes.writeUInt32LE(json.length, MAGIC.length);
      json.copy(bytes, MAGIC.length + 4);
      return { bytes, header };
    }
    dataStart = needed;
  }
}

export function writeTransferFile(path: string, t: LedgerTransfer): void {
  assertLittleEndian();
  const { bytes, header } = encodeHeader(t);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
    for (const name of TABLES) {
      for (const [col, arr] of columnsOf(t, name)) {
        const view = Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
        writeSync(fd, view, 0, view.length, header.tables[name][col].offset);
      }
    }
  } finally {
    closeSync(fd);
  }
}

function parseHeader(buf: Buffer, path: string): Header {
  if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw new Error(`${path}: not a chatlab ledger file (bad magic)`);
  }
  const len = buf.readUInt32LE(MAGIC.length);
  const header = JSON.parse(buf.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + len)) as Header;
  if (header.version !== 1) throw new Error(`${path}: unsupported ledger file version ${String(header.version)}`);
  return header;
}

function readColumn(buf: Buffer, entry: ColumnEntry, path: string): AnyColumn {
  const Ctor = CTORS[entry.type];
  if (!Ctor) throw new Error(`${path}: unknown column type ${entry.type}`);
  const bytes = entry.length * Ctor.BYTES_PER_ELEMENT;
  if (bytes > 0 && entry.offset + bytes > buf.length) throw new Error(`${path}: truncated ledger file`);
  // Copy into a fresh, aligned buffer: the file buffer's offset may not be aligned.
  const copy = new Ctor(entry.length);
  new Uint8Array(copy.buffer).set(buf.subarray(entry.offset, entry.offset + bytes));
  return copy;
}

export function readTransferFile(path: string): LedgerTransfer {
  assertLittleEndian();
  const buf = readFileSync(path);
  const header = parseHeader(buf, path);
  const out: Record<string, unknown> = {
    version: 1,
    errorCodes: header.errorCodes,
    sampleFields: header.sampleFields,
    sources: header.sources,
    faults: header.faults,
  };
  for (const name of TABLES) {
    const cols: Record<string, AnyColumn> = {};
    for (const [col, entry] of Object.entries(header.tables[name] ?? {})) cols[col] = readColumn(buf, entry, path);
    out[name] = cols;
  }
  return out as unknown as LedgerTransfer;
}
