import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder (this file is system/worlds/infra/provisioning.ts). */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

export const CASSANDRA_VERSION = '5.0.6';

/** Where scripts/provision.sh puts Cassandra's jars (gitignored). */
export const CASSANDRA_LIB = join(PROJECT_ROOT, '.cache', 'cassandra', 'lib');

/** Written by provision.sh once every jar is in place; a half-finished download lacks it. */
const CASSANDRA_MARKER = join(CASSANDRA_LIB, `.complete-${CASSANDRA_VERSION}`);

const HOW_TO =
  'Run `bash scripts/provision.sh` (Debian, as root), or use `--world containers`, ' +
  'or point chatlab at servers you already run with `--redis redis://HOST:PORT` / `--cassandra HOST:PORT`.';

/** Something the local world needs is not installed; the message says what to do. */
export class NotProvisionedError extends Error {
  readonly code = 'not_provisioned';
  constructor(readonly missing: string[]) {
    super(`not provisioned: missing ${missing.join(', ')}. ${HOW_TO}`);
    this.name = 'NotProvisionedError';
  }
}

/** Absolute path of an executable on PATH, if any. */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, command);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Major version of `java` on PATH (0 when there is none). */
export function javaMajor(java = 'java'): number {
  // `java -version` prints to stderr.
  const run = spawnSync(java, ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return run.error ? 0 : parseJavaMajor(`${run.stderr}${run.stdout}`);
}

function parseJavaMajor(text: string): number {
  const m = /version "(\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

/** What is missing for a real redis-server (empty when ready). */
export function redisMissing(): string[] {
  return which('redis-server') ? [] : ['redis-server (apt-get install redis-server)'];
}

let javaChecked: number | undefined;

/** What is missing for a real Cassandra (empty when ready). */
export function cassandraMissing(libDir = CASSANDRA_LIB): string[] {
  const missing: string[] = [];
  javaChecked ??= javaMajor();
  if (javaChecked < 17) missing.push('Java 17 (apt-get install openjdk-17-jre-headless)');
  const marker = libDir === CASSANDRA_LIB ? CASSANDRA_MARKER : join(libDir, `.complete-${CASSANDRA_VERSION}`);
  if (!existsSync(marker)) missing.push(`Cassandra ${CASSANDRA_VERSION} jars in ${libDir}`);
  return missing;
}

/** What is missing for a real coturn TURN relay (empty when ready). */
export function coturnMissing(): string[] {
  return which('turnserver') ? [] : ['turnserver (apt-get install coturn)'];
}

/** Where scripts/provision.sh builds Toxiproxy's server (`go install`, then copied here). */
export const TOXIPROXY_BIN = join(PROJECT_ROOT, '.cache', 'bin', 'toxiproxy-server');

/** What is missing for network faults through Toxiproxy (empty when ready). */
export function toxiproxyMissing(): string[] {
  try {
    accessSync(TOXIPROXY_BIN, constants.X_OK);
    return [];
  } catch {
    return [`toxiproxy-server in ${TOXIPROXY_BIN} (built by scripts/provision.sh with go)`];
  }
}

/** Where scripts/provision.sh builds SeaweedFS's `weed` (the media service's S3 store). */
export const SEAWEED_BIN = join(PROJECT_ROOT, '.cache', 'bin', 'weed');

/** What is missing for a real SeaweedFS (empty when ready). */
export function seaweedMissing(): string[] {
  try {
    accessSync(SEAWEED_BIN, constants.X_OK);
    return [];
  } catch {
    return [`weed (SeaweedFS) in ${SEAWEED_BIN} (built by scripts/provision.sh with go)`];
  }
}

/** Throws NotProvisionedError naming everything missing for the given servers. */
export function requireProvisioned(what: { redis?: boolean; cassandra?: boolean; toxiproxy?: boolean; seaweed?: boolean; coturn?: boolean }): void {
  const missing = [
    ...(what.redis ? redisMissing() : []),
    ...(what.coturn ? coturnMissing() : []),
    ...(what.cassandra ? cassandraMissing() : []),
    ...(what.toxiproxy ? toxiproxyMissing() : []),
    ...(what.seaweed ? seaweedMissing() : []),
  ];
  if (missing.length > 0) throw new NotProvisionedError(missing);
}

let scratchCount = 0;

/**
 * A fresh folder for one server's data and logs under `.cache/run/` in the
 * project (gitignored), so logs of a failed test are still there to read.
 */
export function scratchDir(name: string): string {
  const dir = join(PROJECT_ROOT, '.cache', 'run', `${name}-${process.pid}-${++scratchCount}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}
