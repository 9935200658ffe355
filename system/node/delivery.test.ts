import assert from 'node:assert/strict';
import type { DeliveryItem } from '../bus/envelope.ts';
import { pagesByBytes } from './delivery.ts';

const item = (id: string, bytes: number): DeliveryItem => ({ id, kind: 'msg', frame: 'x'.repeat(bytes) });
const sizes = (pages: DeliveryItem[][]) => pages.map((p) => p.map((i) => i.frame.length));

describe('Drain paging (pagesByBytes)', () => {
  it('keeps every page within the byte bound, in order, losing nothing', () => {
    const items = [30, 30, 30, 50, 10, 60, 40, 1].map((n, i) => item(`m${i}`, n));
    const pages = pagesByBytes(items, 100);
    assert.deepEqual(sizes(pages), [[30, 30, 30], [50, 10], [60, 40], [1]]);
    assert.deepEqual(pages.flat().map((i) => i.id), items.map((i) => i.id));
  });

  it('sends an entry larger than the bound alone', () => {
    const pages = pagesByBytes([item('a', 10), item('b', 500), item('c', 10)], 100);
    assert.deepEqual(sizes(pages), [[10], [500], [10]]);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const euro = (id: string): DeliveryItem => ({ id, kind: 'msg', frame: '€'.repeat(20) });
    assert.deepEqual(pagesByBytes([euro('a'), euro('b')], 100).map((p) => p.length), [1, 1]);
  });

  it('makes no page of nothing', () => {
    assert.deepEqual(pagesByBytes([], 100), []);
  });
});
