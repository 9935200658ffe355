// Prints, one per line, the node_modules folders the chat node needs at run
// time: the closure of package.json's dependencies (optional ones included
// when installed, e.g. esbuild's platform binary for tsx), minus the packages
// named on the command line and everything only they need (testcontainers:
// the CLI's, never the node's). Resolution follows Node's: a dependency of
// node_modules/a is node_modules/a/node_modules/d if present, else
// node_modules/d. Reads package-lock.json; run from the project root.
//
// Usage: node docker/runtime-modules.mjs [--exclude name]...
import { existsSync, readFileSync } from 'node:fs';

const exclude = new Set();
for (let i = 2; i < process.argv.length; i++) if (process.argv[i] === '--exclude') exclude.add(process.argv[++i]);

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const packages = lock.packages;
const root = packages[''];
const seen = new Set();

function resolve(from, name) {
  for (let dir = from; ; ) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut < 0 ? '' : dir.slice(0, cut);
  }
}

function visit(path) {
  if (seen.has(path)) return;
  seen.add(path);
  const p = packages[path];
  const deps = { ...p.dependencies, ...p.optionalDependencies };
  for (const name of Object.keys(deps)) {
    const dep = resolve(path, name);
    if (dep && existsSync(dep)) visit(dep);
    else if (!(name in (p.optionalDependencies ?? {}))) throw new Error(`${path}: dependency ${name} is not installed (npm ci first)`);
  }
}

for (const name of Object.keys(root.dependencies ?? {})) {
  if (exclude.has(name)) continue;
  const path = resolve('', name);
  if (!path || !existsSync(path)) throw new Error(`dependency ${name} is not installed (npm ci first)`);
  visit(path);
}
process.stdout.write([...seen].sort().join('\n') + '\n');
