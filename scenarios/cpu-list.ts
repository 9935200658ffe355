import { z } from 'zod';

/** CPUs as taskset takes them: `0`, `1-3`, `0,2`. */
export const cpuListSchema = z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, { error: 'expected a CPU list like 0, 1-3 or 0,2' });
