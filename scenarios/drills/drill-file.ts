import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChaosEntry, Scenario } from '../scenario.ts';

const DRILL = fileURLToPath(new URL('./drill.ts', import.meta.url));

/**
 * A scenario file holding the drill base with this chaos schedule, in a fresh
 * temporary folder. Engines load scenarios by name or path (each driver
 * worker loads it again), so a one-off schedule needs a file. `extra`
 * (plain data) is laid over the drill, as `drill` does.
 */
export function drillFile(name: string, chaos: ChaosEntry[], extra: Partial<Scenario> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'chatlab-drill-'));
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, `import { drill } from ${JSON.stringify(DRILL)};\nexport default drill(${JSON.stringify(name)}, 'one-off drill', ${JSON.stringify(chaos)}, ${JSON.stringify(extra)});\n`);
  return file;
}
