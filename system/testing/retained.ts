import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Heap bytes per value that `make(i)` builds and a Map keeps (as a key, with
 * a number value), measured in a child Node with an exposed GC over `count`
 * values, beside the same strings copied flat (`JSON.parse(JSON.stringify(s))`):
 * a test of what a kept string costs compared with its characters alone.
 * `module` is imported in the child; `expr` builds value i from its exports
 * (`m`), e.g. `m.directConversation('u' + i, 'v' + i)`.
 */
export function retainedPerString(module: string, expr: string, count = 100_000): { ours: number; flat: number } {
  const url = new URL(module, import.meta.url).href;
  const code = `
    const m = await import(${JSON.stringify(url)});
    const measure = (make) => {
      const keep = new Map();
      globalThis.gc(); globalThis.gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < ${count}; i++) keep.set(make(i), i);
      globalThis.gc(); globalThis.gc();
      const per = (process.memoryUsage().heapUsed - before) / keep.size;
      return [per, keep];
    };
    const [ours] = measure((i) => ${expr});
    const [flat] = measure((i) => JSON.parse(JSON.stringify(${expr})));
    process.stdout.write(JSON.stringify({ ours, flat }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`retainedPerString: child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { ours: number; flat: number };
}
