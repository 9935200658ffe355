import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './infra/provisioning.ts';

/** The images the containers world runs. Every one can be replaced (env or CLI flags). */
export interface ContainerImages {
  /** The chat node image; it also runs the push service. `./Dockerfile` builds it. */
  node: string;
  /** Any image whose `redis-server` takes command-line flags: the official `redis:7` works. */
  redis: string;
  /**
   * A Cassandra 5.0 image that honours MAX_HEAP_SIZE, JVM_EXTRA_OPTS and the
   * CASSANDRA_*_ADDRESS variables: the official `cassandra:5.0` works.
   */
  cassandra: string;
  /** SeaweedFS (`weed` as entrypoint), the media service's object store: the official `chrislusf/seaweedfs` works. */
  seaweedfs: string;
  /** coturn's `turnserver` as entrypoint (the TURN relay of calls; it takes its options as arguments): the official `coturn/coturn` works. */
  coturn: string;
}

/**
 * Defaults: the project's local images, which scripts/provision-docker.sh
 * builds from binaries on this machine (no registry here). With a normal
 * Docker install, point these at official images and `docker build -t
 * chatlab/node .`, e.g. CHATLAB_REDIS_IMAGE=redis:7.2 CHATLAB_CASSANDRA_IMAGE=cassandra:5.0.
 */
export const LOCAL_IMAGES: ContainerImages = {
  node: 'chatlab/node:local',
  redis: 'chatlab/redis:local',
  cassandra: 'chatlab/cassandra:local',
  seaweedfs: 'chatlab/seaweedfs:local',
  coturn: 'chatlab/coturn:local',
};

/**
 * The load driver's image (`chatlab run`, `chatlab report merge` in a
 * container, and the Helm chart's driver and merge Jobs): CHATLAB_DRIVER_IMAGE,
 * else the local `chatlab/driver:local` scripts/provision-docker.sh builds.
 * Not one of the world's images: the containers world never starts it.
 */
export const LOCAL_DRIVER_IMAGE = 'chatlab/driver:local';
export function driverImage(env: NodeJS.ProcessEnv = process.env): string {
  return env.CHATLAB_DRIVER_IMAGE || LOCAL_DRIVER_IMAGE;
}

export function containerImages(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ContainerImages> = {}): ContainerImages {
  return {
    node: overrides.node ?? (env.CHATLAB_NODE_IMAGE || LOCAL_IMAGES.node),
    redis: overrides.redis ?? (env.CHATLAB_REDIS_IMAGE || LOCAL_IMAGES.redis),
    cassandra: overrides.cassandra ?? (env.CHATLAB_CASSANDRA_IMAGE || LOCAL_IMAGES.cassandra),
    seaweedfs: overrides.seaweedfs ?? (env.CHATLAB_SEAWEEDFS_IMAGE || LOCAL_IMAGES.seaweedfs),
    coturn: overrides.coturn ?? (env.CHATLAB_COTURN_IMAGE || LOCAL_IMAGES.coturn),
  };
}

/** Local images (tag `local`) exist only on this engine: never pull them. Others are pulled when missing. */
export function isLocalImage(image: string): boolean {
  return image.endsWith(':local');
}

/** The engine or a local image is missing or stale; the message says what to run. */
export class ContainersNotReadyError extends Error {
  readonly code = 'containers_not_provisioned';
  constructor(readonly detail: string) {
    super(
      `the containers world cannot start: ${detail.trim()}\n` +
        'Run `bash scripts/provision-docker.sh` (Debian, as root: installs docker.io, starts dockerd, builds the local images), ' +
        'or, with a normal Docker install, build the node image (`docker build -t chatlab/node .`) and set ' +
        'CHATLAB_NODE_IMAGE=chatlab/node CHATLAB_REDIS_IMAGE=redis:7.2 CHATLAB_CASSANDRA_IMAGE=cassandra:5.0.',
    );
    this.name = 'ContainersNotReadyError';
  }
}

const SCRIPT = join(PROJECT_ROOT, 'scripts', 'provision-docker.sh');

/**
 * Runs scripts/provision-docker.sh: `check` only reports (engine up, local
 * images present and built from the current sources), `provision` installs,
 * starts and builds what is missing. Throws ContainersNotReadyError with the
 * script's own words when it fails. About 1 s when everything is in place.
 */
export function provisionDocker(mode: 'check' | 'provision'): void {
  const run = spawnSync('bash', mode === 'check' ? [SCRIPT, '--check'] : [SCRIPT], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 15 * 60_000,
  });
  if (run.error) throw new ContainersNotReadyError(`${SCRIPT}: ${run.error.message}`);
  if (run.status !== 0) throw new ContainersNotReadyError(`${SCRIPT}${mode === 'check' ? ' --check' : ''} failed:\n${run.stderr}${run.stdout}`);
}
