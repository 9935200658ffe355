import type cassandra from 'cassandra-driver';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the versioned schema lives: `NNN-name.cql`, applied in NNN order. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./cassandra-migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** The migrations shipped with this code, in version order. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith('.cql'))
    .map((file) => {
      const m = /^(\d+)-([a-z0-9-]+)\.cql$/.exec(file);
      if (!m) throw new Error(`migration file ${file} is not named NNN-name.cql`);
      return { version: Number(m[1]), name: m[2]!, statements: splitStatements(readFileSync(join(dir, file), 'utf8')) };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 1, 2, 3...; found ${m.version} at position ${i + 1}`);
  });
  return migrations;
}

/** Statements of a .cql file: `--` comments dropped, split on `;` at the end of a line. */
export function splitStatements(text: string): string[] {
  const code = text
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n');
  return code
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Applies the migrations not yet recorded in `<keyspace>.schema_migrations`,
 * in order; returns the versions applied now. Statements use IF NOT EXISTS,
 * so two processes migrating at once (or a run cut short between a statement
 * and its record) apply them harmlessly twice; a version is recorded only
 * after all its statements succeeded, and the driver waits for schema
 * agreement after each DDL statement.
 */
export async function migrate(client: cassandra.Client, keyspace: string, dir = MIGRATIONS_DIR): Promise<number[]> {
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${keyspace}.schema_migrations (version int PRIMARY KEY, name text, applied_at timestamp)`,
    [],
    { prepare: false },
  );
  const done = new Set(
    (await client.execute(`SELECT version FROM ${keyspace}.schema_migrations`, [], { prepare: false })).rows.map((r) =>
      Number(r.get('version')),
    ),
  );
  const applied: number[] = [];
  for (const migration of loadMigrations(dir)) {
    if (done.has(migration.version)) continue;
    for (const statement of migration.statements) await client.execute(statement, [], { prepare: false });
    await client.execute(
      `INSERT INTO ${keyspace}.schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
      [migration.version, migration.name, new Date()],
      { prepare: true },
    );
    applied.push(migration.version);
  }
  return applied;
}
