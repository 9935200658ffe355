import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

/**
 * Violations the tree still has, file → file, each to go with the work that
 * removes it; the rule holds everywhere else. Remove an entry once it is
 * gone. None today: every rule holds.
 */
const STILL_TO_GO: readonly string[] = [];

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/** Runs dependency-cruiser with the project's config in `cwd` over `folders`, and returns what it found. */
function cruise(cwd: string, folders: string[]): { violations: Violation[]; modules: number } {
  const r = spawnSync(process.execPath, [DEPCRUISE, ...folders, '--config', CONFIG, '--output-type', 'json'], { cwd, encoding: 'utf8', timeout: 120_000, maxBuffer: 256 << 20 });
  assert.ok(r.stdout, `dependency-cruiser printed nothing: ${r.stderr}`);
  const { summary } = JSON.parse(r.stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  return { violations: summary.violations, modules: summary.totalCruised };
}

const named = (v: Violation) => `${v.rule.name}: ${v.from} → ${v.to}`;

/** The folders `npm run depcruise` checks, read from its script so the two cannot drift apart. */
function projectFolders(): string[] {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.depcruise!;
  const words = script.split(/\s+/).slice(1);
  return words.slice(0, words.indexOf('--config'));
}

describe('Layering (.dependency-cruiser.cjs)', function () {
  this.timeout(120_000);

  it('finds no import of the project that breaks a layer rule, apart from the ones listed to go', () => {
    const { violations, modules } = cruise(ROOT, projectFolders());
    assert.ok(modules > 200, `only ${modules} modules cruised`);
    assert.deepEqual(violations.map(named).filter((v) => !STILL_TO_GO.includes(v)), []);
  });

  it('flags each kind of forbidden import once: upward from system/, into the worlds, from a driver, from reports/ past the protocol, a loop (but not one through a type-only import)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatlab-layering-'));
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } }),
      'system/protocol/frames.ts': 'export const frame = 1;\n',
      'system/node/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'system/node/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
      'system/node/c.ts': "import type { D } from './d.ts';\nexport type C = { d?: D };\nexport const c = 1;\n",
      'system/node/d.ts': "import { c } from './c.ts';\nexport type D = number;\nexport const d = c;\n",
      'system/worlds/up.ts': "import { s } from '../../scenarios/s.ts';\nexport const up = s;\n",
      'system/drivers/client.ts': "import { frame } from '../protocol/frames.ts';\nimport { a } from '../node/a.ts';\nexport const client = [frame, a];\n",
      'system/log/log.ts': "import { client } from '../drivers/client.ts';\nimport { up } from '../worlds/up.ts';\nexport const log = [client, up];\n",
      'scenarios/s.ts': "import { frame } from '../system/protocol/frames.ts';\nexport const s = frame;\n",
      'reports/ok.ts': "import { frame } from '../system/protocol/frames.ts';\nexport const ok = frame;\n",
      'reports/past.ts': "import { s } from '../scenarios/s.ts';\nimport { a } from '../system/node/a.ts';\nexport const past = [s, a];\n",
    };
    try {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      const found = cruise(dir, ['system', 'scenarios', 'reports']).violations.map(named).sort();
      assert.deepEqual(found, [
        'drivers-below-adapters: system/drivers/client.ts → system/node/a.ts',
        'no-circular: system/node/a.ts → system/node/b.ts',
        'reports-only-protocol: reports/past.ts → scenarios/s.ts',
        'reports-only-protocol: reports/past.ts → system/node/a.ts',
        'system-not-upward: system/worlds/up.ts → scenarios/s.ts',
        'worlds-on-top-of-system: system/log/log.ts → system/worlds/up.ts',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
