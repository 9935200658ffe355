import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMigrations, splitStatements } from './cassandra-migrations.ts';

describe('Cassandra migrations', () => {
  it('splits a .cql file into statements, dropping comments', () => {
    const text = `-- header; with a semicolon\nCREATE TABLE a (x int PRIMARY KEY); -- trailing\n\nCREATE TABLE b (\n  y text, -- col\n  PRIMARY KEY (y)\n);\n`;
    assert.deepEqual(splitStatements(text), ['CREATE TABLE a (x int PRIMARY KEY)', 'CREATE TABLE b (\n  y text, \n  PRIMARY KEY (y)\n)']);
  });

  it('ships migration 1 with every table the adapters use', () => {
    const [first, ...rest] = loadMigrations();
    assert.equal(first?.version, 1);
    assert.equal(first?.name, 'init');
    const tables = first!.statements.map((s) => /CREATE TABLE IF NOT EXISTS (\w+)/.exec(s)?.[1]).sort();
    assert.deepEqual(tables, [
      'group_cursors', 'group_member_slots', 'group_receipts', 'groups', 'inbox', 'message_buckets', 'messages',
      'phones', 'prekey_bundles', 'prekeys_one_time', 'user_devices', 'user_groups',
    ]);
    for (const m of rest) assert.ok(m.version > 1);
  });

  it('refuses migrations that are misnamed or skip a number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatlab-migrations-'));
    try {
      writeFileSync(join(dir, '001-init.cql'), 'CREATE TABLE a (x int PRIMARY KEY);');
      writeFileSync(join(dir, '003-later.cql'), 'CREATE TABLE b (x int PRIMARY KEY);');
      assert.throws(() => loadMigrations(dir), /numbered 1, 2, 3/);
      writeFileSync(join(dir, '002 Bad Name.cql'), '');
      assert.throws(() => loadMigrations(dir), /not named NNN-name\.cql/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
