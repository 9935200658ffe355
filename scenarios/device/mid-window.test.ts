import assert from 'node:assert/strict';
import { MidWindow } from './mid-window.ts';

/** The window's meaning, spelled out: a Set plus a ring of the last `capacity` ids. */
class Reference {
  private readonly seen = new Set<string>();
  private readonly ring: string[] = [];
  private head = 0;
  constructor(private readonly capacity: number) {}
  has(id: string): boolean {
    return this.seen.has(id);
  }
  add(id: string): boolean {
    if (this.seen.has(id)) return false;
    if (this.ring.length < this.capacity) this.ring.push(id);
    else {
      this.seen.delete(this.ring[this.head]!);
      this.ring[this.head] = id;
      this.head = (this.head + 1) % this.capacity;
    }
    this.seen.add(id);
    return true;
  }
}

/** A deterministic stream of 32-bit values (xorshift). */
function stream(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** An 18-hex node id like Snowflake's, drawn from a small space so ids repeat. */
function nodeId(n: number): string {
  return (0x18c00000000 + (n >>> 4)).toString(16).padStart(11, '0') + (n & 3).toString(16).padStart(3, '0') + (n & 0xffff).toString(16).padStart(4, '0');
}

describe('MidWindow', () => {
  it('remembers the last `capacity` ids and forgets the oldest first', () => {
    const w = new MidWindow(2);
    assert.equal(w.add('0000018c0000010001'), true);
    assert.equal(w.add('m2'), true);
    assert.equal(w.add('m2'), false);
    assert.equal(w.has('0000018c0000010001'), true);
    assert.equal(w.add('0000018c0000010002'), true);
    assert.equal(w.has('0000018c0000010001'), false);
    assert.equal(w.has('m2'), true);
    assert.equal(w.add('m3'), true);
    assert.equal(w.has('m2'), false);
    assert.equal(w.size, 2);
  });

  it('tells node ids apart from other strings that parse alike', () => {
    const w = new MidWindow(8);
    assert.equal(w.add('0000018c00000a0001'), true);
    assert.equal(w.has('0000018C00000A0001'), false);
    assert.equal(w.add('0000018C00000A0001'), true);
    assert.equal(w.has('0000018c00000a001'), false);
    assert.equal(w.has('0x00018c00000a0001'), false);
  });

  for (const capacity of [1, 3, 32, 33, 100, 4096]) {
    it(`answers like a Set and a ring at capacity ${capacity}, through the scan, the index and wrap-around`, () => {
      const next = stream(capacity * 7919);
      const w = new MidWindow(capacity);
      const ref = new Reference(capacity);
      const space = capacity * 3 + 10;
      for (let i = 0; i < 40_000; i++) {
        const r = next();
        const id = r % 17 === 0 ? `other-${r % space}` : nodeId(r % space);
        if (r & 0x100) assert.equal(w.has(id), ref.has(id), `has ${id} at ${i}`);
        else assert.equal(w.add(id), ref.add(id), `add ${id} at ${i}`);
      }
      for (let n = 0; n < space; n++) assert.equal(w.has(nodeId(n)), ref.has(nodeId(n)));
    });
  }
});
