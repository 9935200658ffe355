import { z } from 'zod';

/** CPUs as taskset takes them: `0`, `1-3`, `0,2`. */
export const cpuListSchema = z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, { error: 'expected a CPU list like 0, 1-3 or 0,2' });

/** How many CPUs a list names (`0,2-3`: 3). */
export function cpuCount(list: string): number {
  let n = 0;
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    n += b === undefined ? 1 : Math.max(0, b - a + 1);
  }
  return n;
}
