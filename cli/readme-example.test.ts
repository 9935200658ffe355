import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** The TypeScript example under "Writing a scenario" in README.md, as written there. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Writing a scenario'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'README.md has a ```ts block under "Writing a scenario"');
  return m[1]!;
}

describe("README's scenario example", function () {
  this.timeout(120_000);

  it('runs as written from a folder outside the package and passes its thresholds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatlab-example-'));
    writeFileSync(join(dir, 'evening-peak.ts'), readmeExample());
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'chatlab.js'), 'run', './evening-peak.ts'], { cwd: dir, encoding: 'utf8', timeout: 110_000 });
    assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /PASSED/);
    assert.match(r.stdout, /^evening-peak +world=embedded/m);
    const report = JSON.parse(readFileSync(join(dir, /reports: (\S+)report\.html/.exec(r.stdout)![1]!, 'report.json'), 'utf8'));
    assert.ok(report.messages?.acked > 0 || JSON.stringify(report).includes('"acked"'), 'the report counts acked messages');
  });

  it('imports chatlab modules only through the package name', () => {
    const imports = [...readmeExample().matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
    assert.ok(imports.length > 0);
    for (const spec of imports) assert.match(spec, /^chatlab\//);
  });
});

describe('README and docs links', () => {
  it('point only at files inside the repository, and every one exists', () => {
    for (const doc of ['README.md', 'docs/architecture.md', 'docs/design.md', 'docs/protocol.md', 'docs/report-schema.md', 'docs/sim.md', 'chaos/README.md']) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      const base = join(ROOT, doc, '..');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)|`(\.\.\/[^`\s]+)`/g)) {
        const target = m[1] ?? m[2]!;
        if (/^[a-z]+:/.test(target)) continue;
        const abs = resolve(base, target);
        assert.ok(abs.startsWith(ROOT + '/'), `${doc} links ${target}, outside the repository`);
        assert.ok(existsSync(abs), `${doc} links ${target}, which does not exist`);
      }
    }
  });
});
