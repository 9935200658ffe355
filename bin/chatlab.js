#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (resolved from this package, so it works from any folder), without a build step.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = import.meta.resolve('tsx');
const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'cli', 'chatlab.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
