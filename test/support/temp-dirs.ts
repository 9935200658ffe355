/**
 * A mocha root hook plugin (every .mocharc's `require`): the temporary
 * folders tests make (`chatlab-*` under the OS temp folder: run reports,
 * one-off drill files, scratch stores) are removed when the run ends. Only
 * folders that appeared during the run are touched, so one made by anything
 * running before it is left alone.
 */
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'chatlab-';

function ours(): string[] {
  try {
    return readdirSync(tmpdir()).filter((n) => n.startsWith(PREFIX));
  } catch {
    return [];
  }
}

const before = new Set(ours());

export const mochaHooks = {
  afterAll(): void {
    if (process.env.CHATLAB_KEEP_TEST_DIRS === '1') return;
    for (const name of ours()) if (!before.has(name)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  },
};
