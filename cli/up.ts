import { join, dirname } from 'node:path';
import { ControlServer } from '../chaos/control.ts';
import { ClusterClient, DEFAULT_STATE_FILE, NoCluster, removeClusterState, writeClusterState, type ClusterState } from '../chaos/cluster.ts';
import type { World } from '../system/worlds/world.ts';
import { worlds } from '../system/worlds/worlds.ts';

export interface UpOptions {
  world: 'embedded' | 'local' | 'containers';
  nodes: number;
  seed: number;
  /** local world: put Toxiproxy on every link, so network faults can be injected. */
  proxies: boolean;
  redisUrl?: string;
  /** local world: a 3-master Redis Cluster instead of one redis-server. */
  redisCluster?: boolean;
  cassandra?: string;
  /** local world: 3 starts a 3-node Cassandra ring (replication factor 3, LOCAL_QUORUM). */
  cassandraNodes?: 1 | 3;
  stateFile: string;
  /** Port of the control API on 127.0.0.1; 0 picks a free one. */
  controlPort: number;
  out: (text: string) => void;
  log: (line: string) => void;
}

/**
 * `chatlab up`: starts a world and keeps it until SIGINT or SIGTERM, with a
 * control API for `chatlab chaos` and a state file for `chatlab run
 * --cluster`. Stopping stops everything it started and removes the file.
 */
export async function up(o: UpOptions): Promise<void> {
  if (o.proxies && o.world !== 'local') throw new Error('--proxies applies to --world local only (Toxiproxy on every link)');
  if ((o.redisUrl || o.cassandra) && o.world === 'embedded') throw new Error('--redis and --cassandra apply to --world local or containers');
  if (o.redisCluster && o.world !== 'local') throw new Error('--redis-cluster applies to --world local only');
  if (o.cassandraNodes !== undefined && o.world !== 'local') throw new Error('--cassandra-nodes applies to --world local only');
  await refuseRunning(o.stateFile);
  const outDir = join(dirname(o.stateFile), `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const world = await worlds[o.world]!({ nodes: o.nodes, seed: o.seed, outDir, redisUrl: o.redisUrl, redisCluster: o.redisCluster, cassandra: o.cassandra, cassandraNodes: o.cassandraNodes, proxies: o.proxies });
  let server: ControlServer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (why: string) => {
    stopping ??= (async () => {
      o.log(`chatlab: ${why}: stopping the cluster`);
      removeClusterState(o.stateFile);
      await server?.close();
      // Faults in progress are left behind: their reverts would act on a stopped world.
      await world.stop();
      o.log('chatlab: cluster stopped');
    })();
    return stopping;
  };
  const onSignal = (sig: NodeJS.Signals) => void stop(sig).then(() => process.exit(0), (err: Error) => {
    o.log(`chatlab: stopping failed: ${err.message}`);
    process.exit(1);
  });
  // Kept (not `once`) for as long as the process lives: a second Ctrl-C waits for the same stop, and the
  // process-cleanup handler (infra/processes.ts) sees it is not alone and does not re-raise the signal.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  try {
    const state: Omit<ClusterState, 'control'> = {
      world: world.kind, pid: process.pid, nodes: world.nodes, secret: world.secret, pushUrl: world.pushUrl, startedAt: new Date().toISOString(),
    };
    server = await ControlServer.start(world, {
      port: o.controlPort,
      describe: () => ({ world: state.world, pid: state.pid, nodes: state.nodes, pushUrl: state.pushUrl, startedAt: state.startedAt }),
      desk: { log: o.log },
    });
    writeClusterState(o.stateFile, { ...state, control: server.url });
    o.out(banner(world, server.url, o.stateFile, server.desk.supported().supported.map((f) => f.fault)));
  } catch (err) {
    await stop('start failed');
    throw err;
  }
  // Runs until a signal: the listeners keep the process alive.
}

async function refuseRunning(file: string): Promise<void> {
  try {
    const { client } = await ClusterClient.connect(file);
    throw new Error(`a cluster is already running (pid ${client.state.pid}, ${client.state.control}, ${file}); stop it with Ctrl-C in its terminal or \`kill ${client.state.pid}\`, or use --state`);
  } catch (err) {
    if (!(err instanceof NoCluster)) throw err;
  }
}

function banner(world: World, control: string, stateFile: string, faults: string[]): string {
  const cluster = stateFile === DEFAULT_STATE_FILE ? '' : ` --cluster ${stateFile}`;
  const width = Math.max(7, ...world.nodes.map((n) => n.id.length));
  return [
    `chatlab: ${world.kind} cluster up — ${world.nodes.length} nodes (pid ${process.pid})`,
    ...world.nodes.map((n) => `  ${n.id.padEnd(width)}  ${n.url}`),
    ...(world.pushUrl ? [`  ${'push'.padEnd(width)}  ${world.pushUrl}`] : []),
    `  ${'control'.padEnd(width)}  ${control}`,
    `  ${'secret'.padEnd(width)}  ${world.secret.slice(0, 4)}… (in ${stateFile}, owner-only)`,
    `  ${'faults'.padEnd(width)}  ${faults.join(', ')}`,
    '',
    'use it:',
    `  chatlab run steady-chat --cluster ${stateFile}`,
    `  chatlab chaos node-kill --target node-2 --duration 10s${cluster}`,
    `  chatlab chaos --list${cluster}`,
    'stop: Ctrl-C',
    '',
  ].join('\n');
}
