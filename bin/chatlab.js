#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (resolved from this package, so it works from any folder), without a build step.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = import.meta.resolve('tsx');
// self-resolve lets a scenario file in any folder import `chatlab/...` (see cli/self-resolve.mjs).
const selfResolve = pathToFileURL(join(root, 'cli', 'self-resolve.mjs')).href;
const child = spawn(process.execPath, ['--import', tsx, '--import', selfResolve, join(root, 'cli', 'chatlab.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
// A signal sent to this wrapper's pid reaches the CLI, so `kill <pid>` stops `chatlab up` cleanly.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + constants.signals[signal] : 1)));
