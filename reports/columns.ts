/**
 * Growable columnar tables: one typed array per field, no object per row, so
 * millions of rows cost a few bytes each and move between worker threads or
 * processes as plain typed arrays (structured-clone friendly).
 */

export type ColumnCtor =
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Uint32ArrayConstructor
  | Uint16ArrayConstructor
  | Uint8ArrayConstructor;

export type Schema = Record<string, ColumnCtor>;

export type Columns<S extends Schema> = { [K in keyof S]: InstanceType<S[K]> };

/** The transfer form of a table: columns trimmed to `length`. */
export type ColumnsTransfer<S extends Schema> = Columns<S>;

const INITIAL_CAPACITY = 1024;
/** 1.5x growth keeps slack (and the transient copy during growth) lower than doubling. */
const GROWTH = 1.5;
/**
 * Past this many rows a table grows by an eighth: a long run's tables hold
 * tens of millions of rows, where 1.5x left up to a third of each idle and
 * needed 2.5x the data during the copy. The copying stays amortized O(1) a
 * row (each row is copied ~8 times more at most).
 */
const LARGE_ROWS = 1 << 20;
const LARGE_GROWTH = 1.125;

export class Table<S extends Schema> {
  length = 0;
  cols: Columns<S>;
  private capacity: number;

  constructor(
    readonly schema: S,
    capacity = INITIAL_CAPACITY,
  ) {
    this.capacity = Math.max(1, capacity);
    this.cols = allocate(schema, this.capacity);
  }

  /** Returns the index of a new row; read `cols` again after calling (it may grow). */
  reserve(): number {
    if (this.length === this.capacity) this.grow(Math.ceil(this.capacity * (this.capacity >= LARGE_ROWS ? LARGE_GROWTH : GROWTH)));
    return this.length++;
  }

  /** Appends every row of `other` (same schema) in order. */
  append(other: Columns<S>, rows: number): void {
    if (this.length + rows > this.capacity) this.grow(this.length + rows);
    for (const key of Object.keys(this.schema) as (keyof S)[]) {
      const src = other[key] as unknown as ArrayLike<number>;
      const dst = this.cols[key] as unknown as { set(a: ArrayLike<number>, o: number): void };
      dst.set(src.length === rows ? src : (other[key] as unknown as Float64Array).subarray(0, rows), this.length);
    }
    this.length += rows;
  }

  /** Copies of the columns trimmed to the used length. */
  toTransfer(): ColumnsTransfer<S> {
    const out = {} as Record<keyof S, unknown>;
    for (const key of Object.keys(this.schema) as (keyof S)[]) {
      out[key] = (this.cols[key] as unknown as Float64Array).slice(0, this.length);
    }
    return out as ColumnsTransfer<S>;
  }

  /** Bytes held by the backing arrays (capacity, not just length). */
  byteLength(): number {
    let total = 0;
    for (const key of Object.keys(this.schema)) total += (this.cols[key] as unknown as Float64Array).byteLength;
    return total;
  }

  static fromTransfer<S extends Schema>(schema: S, cols: ColumnsTransfer<S>): Table<S> {
    const rows = rowCount(schema, cols);
    const table = new Table(schema, Math.max(rows, 1));
    table.append(cols, rows);
    return table;
  }

  private grow(capacity: number): void {
    const next = allocate(this.schema, capacity);
    for (const key of Object.keys(this.schema) as (keyof S)[]) {
      const dst = next[key] as unknown as Float64Array;
      dst.set((this.cols[key] as unknown as Float64Array).subarray(0, this.length));
    }
    this.cols = next;
    this.capacity = capacity;
  }
}

function allocate<S extends Schema>(schema: S, capacity: number): Columns<S> {
  const out = {} as Record<keyof S, unknown>;
  for (const key of Object.keys(schema) as (keyof S)[]) out[key] = new schema[key](capacity);
  return out as Columns<S>;
}

/** Row count of a transferred table; every column must have the same length and type. */
export function rowCount<S extends Schema>(schema: S, cols: ColumnsTransfer<S>): number {
  let rows = -1;
  for (const key of Object.keys(schema)) {
    const col = cols[key] as unknown;
    if (!(col instanceof schema[key])) {
      throw new TypeError(`ledger column ${key}: expected ${schema[key].name}`);
    }
    const n = (col as Float64Array).length;
    if (rows !== -1 && n !== rows) throw new RangeError(`ledger column ${key}: length ${n} != ${rows}`);
    rows = n;
  }
  return Math.max(rows, 0);
}
