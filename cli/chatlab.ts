import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { compare } from '../reports/compare.ts';
import { renderTerminal } from '../reports/render-terminal.ts';
import { readReport, writeReports } from '../reports/write.ts';
import { builtins } from '../scenarios/registry.ts';
import { runLive } from '../scenarios/engine/live/live.ts';
import { loadCalibration, replaySim, runSim } from '../scenarios/engine/sim/sim.ts';
import { defaultSweepFaults, runSweep, sweepFaults, sweepLine, validateSweep } from '../scenarios/engine/sim/sweep.ts';
import type { Overrides } from '../scenarios/engine/config.ts';
import { buildPlan, CALLS_PLAN_OPTIONS, MEDIA_PLAN_OPTIONS, writePlan } from '../plan/command.ts';
import { planMarkdown } from '../plan/render.ts';
import { verifyPlan } from '../plan/verify.ts';
import { calibrate } from '../scenarios/engine/calibrate.ts';
import { parseDuration } from '../system/clock/duration.ts';
import { cpuList, duration, int, list, positive } from './values.ts';
import { ClusterClient, DEFAULT_STATE_FILE } from '../chaos/cluster.ts';
import { up } from './up.ts';
import { chaosCommand, collectOpt } from './chaos.ts';
import { cellFromEnv, parseCell, runCells, type CellSpec } from '../scenarios/engine/sim/cells.ts';
import { ALLOW_REMOTE_TARGET_ENV, checkTargets, hasRemoteTarget, remoteTargetAllowed } from '../system/worlds/target.ts';
import { defaultStartAt, mergeShards, parseShard, parseStartAt, shardFromEnv, type ShardSpec } from '../scenarios/engine/live/shard.ts';

// `chatlab list | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command();
program
  .name('chatlab')
  .description('A WhatsApp-style reference chat cluster and the testbed that loads it, breaks it and proves what happened.')
  // One hint line after an error, not the whole help: the error is what the reader needs to see.
  .showHelpAfterError('hint: add --help to see every option and its default')
  // Options after a subcommand are that subcommand's (`report merge … --out`); needed for `report`'s own positional options.
  .enablePositionalOptions()
  .configureOutput({ outputError: (s, write) => write(`error: ${s.replace(/^error: /, '')}`) });

program
  .command('run')
  .description('run a scenario against a world and write report.json, report.html and summary.md')
  .argument('<scenario>', `built-in name (${Object.keys(builtins).join(', ')}) or path to a scenario .ts file`)
  .addOption(new Option('--world <world>', 'where the cluster runs (sim: deterministic simulation in virtual time)').choices(['embedded', 'local', 'containers', 'sim']).default('embedded'))
  .option('--nodes <n>', 'chat nodes to start', int('--nodes', 1, 64))
  .option('--devices <n>', 'virtual devices (overrides the scenario)', int('--devices', 2, 10_000_000))
  .option('--devices-per-user <n>', 'devices per user, 1..9 (overrides the scenario): multi-device fan-out and sync', int('--devices-per-user', 1, 9))
  .option('--duration <d>', 'load duration of every executor, e.g. 30s (a ramping one keeps its shape, its stages scaled to fit)', duration('--duration'))
  .option('--rate <r>', 'messages per second of every constant-arrival-rate executor', positive('--rate'))
  .option('--calls <per-second>', 'add voice/video calls at this rate to any scenario (the call behaviour of docs/protocol.md, Calls; steady-chat has none by default)', positive('--calls'))
  .option('--vus <n>', 'closed loop instead: every executor becomes constant-vus with n devices each sending, waiting for the ack, sending again (finds the saturation throughput)', int('--vus', 1, 10_000_000))
  .option('--grace <d>', 'how long after the load deliveries still count, e.g. 30s', duration('--grace'))
  .option('--warmup <d>', 'load run before the measured window and left out of latencies and thresholds, e.g. 3s; 0s for none (default: the scenario\'s own)', duration('--warmup'))
  .option('--seed <s>', 'seed of the population and the load', int('--seed', 0, 2 ** 31), 1)
  .option('--workers <n>', 'driver worker processes (default: 2, or one per 15,000 devices)', int('--workers', 1, 64))
  .option('--target <urls>', 'drive a cluster that is already running (comma-separated ws:// URLs; loopback only unless --allow-remote-target) instead of starting a world')
  .option('--allow-remote-target', 'let --target name hosts beyond loopback (or CHATLAB_ALLOW_REMOTE_TARGET=1): only for a cluster you are allowed to load')
  .option('--secret <secret>', 'token secret of the --target cluster (or CHATLAB_SECRET)')
  .option('--cluster <file>', `drive the cluster \`chatlab up\` started (its state file, e.g. ${DEFAULT_STATE_FILE}); faults injected with \`chatlab chaos\` during the load go into the report`)
  .option('--redis <url>', 'local and containers worlds: use this Redis instead of starting one (redis-cluster://host:port,… for a Redis Cluster)')
  .option('--redis-cluster', 'local world: start a 3-master Redis Cluster instead of one redis-server')
  .option('--cassandra-nodes <n>', 'local world: 3 starts a 3-node Cassandra ring on 127.0.0.1-3 (replication factor 3, LOCAL_QUORUM) instead of one node', cassandraNodes)
  .option('--cassandra <host:port>', 'local and containers worlds: use this Cassandra instead of starting one')
  .option('--node-image <image>', 'containers world: chat node image (or CHATLAB_NODE_IMAGE; default chatlab/node:local)')
  .option('--redis-image <image>', 'containers world: Redis image, e.g. redis:7.2 (or CHATLAB_REDIS_IMAGE; default chatlab/redis:local)')
  .option('--cassandra-image <image>', 'containers world: Cassandra image, e.g. cassandra:5.0 (or CHATLAB_CASSANDRA_IMAGE; default chatlab/cassandra:local)')
  .option('--out <dir>', 'output folder (default: out/<scenario>-<time>)')
  .option('--frame-tap <dir>', 'embedded and local worlds: append every WebSocket frame each node receives and sends to <dir>/<node>.frames.jsonl (a debugging aid)')
  .option('--calibration <file>', 'sim world: calibration file written by `chatlab calibrate` (default: built-in figures)')
  .option('--no-e2ee', 'devices send plaintext: no end-to-end encryption (on by default), to compare its cost with `chatlab compare`')
  .option('--no-progress', 'no live progress display')
  .option('--witness <msgs/s>', 'live worlds: a witness beside the load, a few devices of its own at this rate in a nearly idle process on the driver\'s CPUs; the driver line gives its e2e p99 and the driver\'s own share of the run\'s (docs/report-schema.md, driver.witness)', positive('--witness'))
  .option('--shard <i/n>', 'drive shard i of n (0-based) of the population against --target or --cluster; every shard writes its ledger for `chatlab report merge` (also from JOB_COMPLETION_INDEX and CHATLAB_SHARDS when both are set)')
  .option('--shard-from-env', 'take the shard from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job\'s) and CHATLAB_SHARDS')
  .option('--cells <n>', 'sim world: split the run into n cells (users u % n), each a sim in its own process, merged into one report (docs/sim.md, Cells)', int('--cells', 1, 1024))
  .option('--parallel <p>', 'with --cells: cells running at once (default: the number of CPUs)', int('--parallel', 1, 1024))
  .option('--cell <i/n>', 'sim world: run cell i of n (0-based) alone and write its ledger for `chatlab report merge` (also from JOB_COMPLETION_INDEX and CHATLAB_CELLS)')
  .option('--start-at <epoch-ms>', 'with --shard: when the load starts on every shard (or CHATLAB_START_AT; default: now + 5 s rounded up to the next 10 s)')
  .action(async (scenario: string, o, cmd: Command) => {
    const name = scenario.replace(/^.*\//, '').replace(/\.ts$/, '');
    if (o.cluster) refuseWithCluster(o, cmd);
    const allowRemoteTarget = targetPolicy(o);
    const shard = runShard(o);
    if (shard && (o.world === 'sim' || o.calibration)) throw new InvalidArgumentError('--shard does not apply to --world sim');
    if ((o.cells !== undefined || o.cell !== undefined || o.parallel !== undefined) && o.world !== 'sim') throw new InvalidArgumentError('--cells, --cell and --parallel apply to --world sim only');
    if ((o.world === 'sim' || o.calibration) && o.witness !== undefined) throw new InvalidArgumentError('--witness applies to live worlds only: the sim has no driver process to witness');
    if (o.world === 'sim' || o.calibration) return runSimCommand(scenario, name, o);
    if (o.redisCluster && o.world !== 'local') throw new InvalidArgumentError('--redis-cluster applies to --world local only');
    if (o.cassandraNodes !== undefined && o.world !== 'local') throw new InvalidArgumentError('--cassandra-nodes applies to --world local only');
    const cluster = o.cluster ? (await ClusterClient.connect(o.cluster)).client : undefined;
    // The containers world reads its image names from the environment (containers-images.ts).
    if (o.nodeImage) process.env.CHATLAB_NODE_IMAGE = o.nodeImage;
    if (o.redisImage) process.env.CHATLAB_REDIS_IMAGE = o.redisImage;
    if (o.cassandraImage) process.env.CHATLAB_CASSANDRA_IMAGE = o.cassandraImage;
    const outDir = o.out ?? join('out', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const { report, files } = await runLive({
      scenario,
      world: o.world,
      overrides: runOverrides(o),
      seed: o.seed,
      outDir,
      workers: o.workers,
      target: o.target,
      allowRemoteTarget,
      secret: o.secret ?? process.env.CHATLAB_SECRET,
      cluster,
      redisUrl: o.redis,
      redisCluster: o.redisCluster === true,
      cassandra: o.cassandra,
      cassandraNodes: o.cassandraNodes,
      progress: o.progress,
      frameTap: o.frameTap,
      shard,
      witness: o.witness,
    });
    process.stdout.write(`${renderTerminal(report)}\n`);
    process.stdout.write(`\nreports: ${files.html}\n         ${files.md}\n         ${files.json}\n`);
    // One shard's report is a partial view (its cross-shard messages look lost or unacked): the merge judges the run.
    if (shard) process.stdout.write(`shard ${shard.index}/${shard.count} done: chatlab report merge <the shards' --out folders>\n`);
    process.exitCode = report.passed || shard ? 0 : 1;
  });

/** The shard `chatlab run` drives: --shard, else the environment (Kubernetes Indexed Job); undefined: the whole population. */
function runShard(o: Record<string, unknown>): ShardSpec | undefined {
  let spec: { index: number; count: number } | undefined;
  try {
    if (o.shard !== undefined) spec = parseShard(o.shard as string);
    else if (o.shardFromEnv) {
      spec = shardFromEnv(process.env);
      if (!spec) throw new Error('--shard-from-env: JOB_COMPLETION_INDEX and CHATLAB_SHARDS are not set');
    } else if (process.env.JOB_COMPLETION_INDEX !== undefined && process.env.CHATLAB_SHARDS !== undefined) spec = shardFromEnv(process.env);
    if (!spec) {
      if (o.startAt !== undefined) throw new Error('--start-at applies with --shard only');
      return undefined;
    }
    if (!o.target && !o.cluster) throw new Error(`--shard ${spec.index}/${spec.count} drives a slice of the load against a cluster someone runs: give --target <urls> (or --cluster <state file> of \`chatlab up\`)`);
    const at = (o.startAt as string | undefined) ?? process.env.CHATLAB_START_AT;
    return { ...spec, startAt: at !== undefined ? parseStartAt(at) : defaultStartAt() };
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/**
 * The --target policy (system/worlds/target.ts): loopback always, other hosts
 * only with --allow-remote-target or CHATLAB_ALLOW_REMOTE_TARGET=1. Checked
 * before anything starts; says so when a remote target is allowed.
 */
function targetPolicy(o: Record<string, unknown>): boolean {
  try {
    if (typeof o.target !== 'string') {
      if (o.allowRemoteTarget) throw new Error('--allow-remote-target applies with --target only');
      return false;
    }
    const allowed = remoteTargetAllowed(o.allowRemoteTarget as boolean | undefined);
    const urls = checkTargets(o.target, allowed);
    if (hasRemoteTarget(urls)) process.stderr.write(`chatlab: target beyond loopback (${urls.join(', ')}), allowed by ${o.allowRemoteTarget ? '--allow-remote-target' : ALLOW_REMOTE_TARGET_ENV}\n`);
    return allowed;
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The `chatlab run` options each cell of a `--cells` run gets (the cells run from the project's folder: paths made absolute). */
function cellArgs(o: Record<string, unknown>): string[] {
  const args = ['--seed', String(o.seed)];
  const given: [string, unknown][] = [
    ['--nodes', o.nodes], ['--devices', o.devices], ['--devices-per-user', o.devicesPerUser], ['--duration', o.duration], ['--rate', o.rate],
    ['--calls', o.calls], ['--vus', o.vus], ['--grace', o.grace], ['--warmup', o.warmup],
    ['--calibration', typeof o.calibration === 'string' && existsSync(o.calibration) ? resolve(o.calibration) : o.calibration],
  ];
  for (const [flag, value] of given) if (value !== undefined) args.push(flag, String(value));
  if (o.e2ee === false) args.push('--no-e2ee');
  if (o.progress === false) args.push('--no-progress');
  return args;
}

/** What `chatlab run`'s options change in the scenario (undefined: the scenario's own). */
function runOverrides(o: Record<string, unknown>): Overrides {
  return {
    nodes: o.nodes as number | undefined, devices: o.devices as number | undefined, devicesPerUser: o.devicesPerUser as number | undefined,
    duration: o.duration as string | undefined, rate: o.rate as number | undefined, vus: o.vus as number | undefined, graceMs: o.grace ? parseDuration(o.grace as string) : undefined,
    warmup: o.warmup as string | undefined,
    callsPerSec: o.calls as number | undefined,
    // Only `--no-e2ee` overrides: without it the scenario's own setting (on by default) holds.
    e2ee: o.e2ee === false ? false : undefined,
  };
}

/** `--cassandra-nodes`: 1 (one Cassandra) or 3 (a ring). */
function cassandraNodes(value: string): 1 | 3 {
  if (value !== '1' && value !== '3') throw new InvalidArgumentError('--cassandra-nodes is 1 or 3');
  return Number(value) as 1 | 3;
}

/** `--cluster` names the whole cluster: options that would start or pick another one are errors. */
function refuseWithCluster(o: Record<string, unknown>, cmd: Command): void {
  for (const opt of ['target', 'secret', 'nodes', 'redis', 'redisCluster', 'cassandra', 'cassandraNodes', 'nodeImage', 'redisImage', 'cassandraImage', 'calibration', 'frameTap'] as const) {
    if (o[opt] !== undefined) throw new InvalidArgumentError(`--${opt.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply with --cluster (the cluster is already running)`);
  }
  if (cmd.getOptionValueSource('world') !== 'default') throw new InvalidArgumentError('--world does not apply with --cluster (the cluster is already running)');
}

async function runSimCommand(scenario: string, name: string, o: Record<string, unknown>): Promise<void> {
  if (o.world !== 'sim') throw new InvalidArgumentError('--calibration applies to --world sim only');
  for (const opt of ['target', 'workers', 'redis', 'redisCluster', 'cassandra', 'cassandraNodes', 'frameTap'] as const) {
    if (o[opt] !== undefined) throw new InvalidArgumentError(`--${opt.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply to --world sim`);
  }
  const outDir = (o.out as string | undefined) ?? join('out', `${name}-sim-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  process.stderr.write(`chatlab: seed ${String(o.seed)}\n`);
  if (o.cells !== undefined) {
    if (o.cell !== undefined) throw new InvalidArgumentError('--cells runs every cell; --cell runs one: give one of them');
    const { report, files, orphans } = await runCells({
      scenario: existsSync(scenario) ? resolve(scenario) : scenario, args: cellArgs(o), count: o.cells as number,
      parallel: (o.parallel as number | undefined) ?? availableParallelism(), outDir: resolve(outDir),
    });
    process.stdout.write(`${renderTerminal(report)}\n`);
    if (orphans.count > 0) process.stdout.write(`\nmerge: ${orphans.count} deliveries of messages in no cell's sends (first msgKeys: ${orphans.keys.join(', ')})\n`);
    process.stdout.write(`\nreports: ${files.html}\n         ${files.md}\n         ${files.json}\n`);
    process.exitCode = report.passed && orphans.count === 0 ? 0 : 1;
    return;
  }
  if (o.parallel !== undefined) throw new InvalidArgumentError('--parallel applies with --cells only');
  let cell: CellSpec | undefined;
  try {
    cell = o.cell !== undefined ? parseCell(o.cell as string) : cellFromEnv(process.env);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  const { report, files } = await runSim({
    scenario,
    overrides: runOverrides(o),
    seed: o.seed as number,
    outDir,
    calibration: o.calibration as string | undefined,
    progress: o.progress as boolean,
    cell,
  });
  if (cell) {
    // One cell's report is its slice's view: the merge of every cell judges the run.
    process.stdout.write(`${renderTerminal(report)}\n\ncell ${cell.index}/${cell.count} written: ${files!.json}; chatlab report merge <every cell's --out folder>\n`);
    return;
  }
  process.stdout.write(`${renderTerminal(report)}\n`);
  process.stdout.write(`\nreports: ${files!.html}\n         ${files!.md}\n         ${files!.json}\n`);
  process.stdout.write(`replay:  chatlab replay ${files!.json}   (seed ${String(o.seed)})\n`);
  process.exitCode = report.passed ? 0 : 1;
}

program
  .command('replay')
  .description('rerun a sim run exactly from its report.json (same seed, scenario, calibration and injected faults) and check the result is identical')
  .argument('<report>', 'report.json of a --world sim run')
  .option('--out <dir>', 'where to write the replay (default: <report folder>/replay)')
  .option('--no-progress', 'no progress lines')
  .action(async (path: string, o) => {
    const old = readReport(path);
    const outDir = o.out ?? join(path, '..', 'replay');
    process.stderr.write(`chatlab: replaying ${path} (seed ${String(old.seed)})\n`);
    const { report, files, diff } = await replaySim(old, { outDir, progress: o.progress });
    process.stdout.write(`${renderTerminal(report)}\n\nreports: ${files!.json}\n`);
    if (diff.length === 0) process.stdout.write(`replay: identical to ${path} (wall-clock fields aside)\n`);
    else process.stdout.write(`replay: DIFFERS from ${path}:\n  ${diff.join('\n  ')}\n`);
    process.exitCode = diff.length === 0 ? (report.passed ? 0 : 1) : 3;
  });

program
  .command('calibrate')
  .description('measure a live world and write a calibration file for --world sim --calibration: embedded — a closed-loop run (CPU per message, saturation), a light run (link latency) and what a socket read costs (readMs); local — the light run; both — what end-to-end encryption costs a device here (the e2ee section)')
  .addOption(new Option('--world <world>', 'the live world to measure').choices(['embedded', 'local']).default('embedded'))
  .option('--devices <n>', 'devices of the calibration runs (default: steady-chat\'s 1000)', int('--devices', 2, 20_000))
  .option('--rate <r>', 'messages per second of the light run (default: steady-chat\'s 400)', positive('--rate'))
  .option('--duration <d>', 'load duration of the closed-loop and open-load runs (default 15s); embedded, the light runs are the main job\'s own 30 s; local, they run this long', duration('--duration'))
  .option('--driver-cpus <list>', 'pin the driver\'s workers to these CPUs (taskset list, e.g. 1); pin chatlab itself with `taskset -c 0 npx chatlab calibrate …`', cpuList('--driver-cpus'))
  .option('--seed <s>', 'seed', int('--seed', 0, 2 ** 31), 1)
  .option('--out <file>', 'where to write it', 'calibration.json')
  .action(async (o) => {
    const overrides = Object.fromEntries(Object.entries({ devices: o.devices, rate: o.rate, duration: o.duration }).filter(([, v]) => v !== undefined));
    const { calibration, file } = await calibrate({ world: o.world, overrides, seed: o.seed, out: o.out, driverCpus: o.driverCpus });
    process.stdout.write(`${JSON.stringify(calibration.notes, null, 2)}\ne2ee: ${JSON.stringify(calibration.e2ee)}\ncalibration: ${file}\nuse it: chatlab run steady-chat --world sim --calibration ${file}\n`);
  });

const planCommand = program
  .command('plan')
  .description('capacity plan from traffic figures: peak msgs/s, connections, gateway and store nodes, storage, bandwidth, pushes, media storage and CDN edges, concurrent calls and call relays, each with its formula')
  .requiredOption('--dau <n>', 'daily active users, e.g. 500M')
  .requiredOption('--msgs-per-user-day <n>', 'messages each user sends per day, e.g. 40')
  .requiredOption('--peak-factor <x>', 'peak-hour rate over the daily average, e.g. 3')
  .option('--devices-per-user <x>', 'devices per user (default 1.5)')
  .option('--group-share <x>', 'share of messages sent to groups, 0..1 (default 0.2)')
  .option('--group-size <n>', 'members of an average group (default 8)')
  .option('--online-share <x>', 'share of devices connected at the peak, 0..1 (default 0.6)')
  .option('--concurrent <n>', 'concurrent connections at the peak, if known (overrides --online-share for connections)')
  .option('--retention <d>', 'how long messages are kept, e.g. 30d (default 30d)')
  .option('--message-bytes <n>', 'average stored message size in bytes (default 300)')
  .option('--conns-per-node <n>', 'connections one gateway node holds (default 100k)')
  .option('--frames-per-node-sec <n>', 'frames per second one gateway node processes (default 50k, or from --calibration)')
  .option('--writes-per-store-node <n>', 'writes per second one store node sustains (default 20k, or from --calibration)')
  .option('--replication <n>', 'store replication factor (default 3)')
  .option('--headroom <x>', 'spare capacity kept on every tier, 0..1 (default 0.3)')
  .option('--calibration <file>', 'use the per-node capacities measured by `chatlab calibrate`')
  .option('--verify', 'simulate one cell at the planned per-node load with a node failure and say whether the SLOs hold')
  .option('--slo-p99-ms <ms>', 'with --verify: the e2e p99 the plan must hold (default 1000)', positive('--slo-p99-ms'))
  .option('--out <dir>', 'where to write plan.json, plan.md and plan.html (default: out/plan-<time>)');
for (const [flags, help] of [...MEDIA_PLAN_OPTIONS, ...CALLS_PLAN_OPTIONS]) planCommand.option(flags, help);
planCommand
  .action(async (o) => {
    const cal = o.calibration ? loadCalibration(o.calibration).calibration : undefined;
    const p = buildPlan(o, cal);
    const outDir = o.out ?? join('out', `plan-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const verdict = o.verify ? await verifyPlan(p, { calibration: cal, sloP99Ms: o.sloP99Ms, outDir: join(outDir, 'verify') }) : undefined;
    const files = writePlan(p, outDir, verdict);
    process.stdout.write(`${planMarkdown(p, verdict)}\nplan: ${files.md}\n      ${files.html}\n      ${files.json}\n`);
    if (verdict && !verdict.holds) process.exitCode = 1;
  });

program
  .command('sweep')
  .description('play scenarios × fault mixes × devices per user × seeds in the sim world and report every run that loses or duplicates what was acked (each replayable)')
  .option('--scenarios <list>', 'built-in names or scenario files, comma-separated', list('--scenarios'), ['steady-chat', 'group-fanout', 'offline-burst', 'reconnect-storm'])
  .option('--faults <list>', `fault mixes, comma-separated: ${Object.keys(sweepFaults).join(', ')}`, list('--faults'), defaultSweepFaults)
  .option('--seeds <list>', 'seeds: 1,5,9 or a range 1-8', list('--seeds', int('--seeds', 0, 2 ** 31)), [1, 2])
  .option('--devices-per-user <list>', 'devices per user, e.g. 1,2', list('--devices-per-user', int('--devices-per-user', 1, 9)), [1, 2])
  .option('--devices <n>', 'virtual devices of every run (default: each scenario\'s own)', int('--devices', 2, 10_000_000))
  .option('--duration <d>', 'load duration of every run (default: each scenario\'s own)', duration('--duration'))
  .option('--nodes <n>', 'chat nodes of every run', int('--nodes', 1, 64))
  .option('--out <dir>', 'where sweep.json and the reports of failing runs go (default: out/sweep-<time>)')
  .action(async (o) => {
    try {
      validateSweep(o);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    const outDir = o.out ?? join('out', `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const combos = o.scenarios.length * o.faults.length * o.devicesPerUser.length * o.seeds.length;
    process.stderr.write(`chatlab sweep: ${combos} runs in the sim world\n`);
    for (const f of o.faults as string[]) process.stderr.write(`  ${f.padEnd(16)} ${sweepFaults[f]!.description}\n`);
    const runs = await runSweep({
      scenarios: o.scenarios, faults: o.faults, seeds: o.seeds, devicesPerUser: o.devicesPerUser, outDir,
      overrides: { devices: o.devices, duration: o.duration, nodes: o.nodes },
      onRun: (r) => process.stdout.write(`${sweepLine(r)}\n`),
    });
    const bad = runs.filter((r) => r.violation);
    process.stdout.write(`\nsweep: ${runs.length} runs, ${bad.length} with a violation (lost or shown twice, an unhandled failure, or a failed run); ${join(outDir, 'sweep.json')}\n`);
    for (const r of bad) if (r.report) process.stdout.write(`replay: chatlab replay ${r.report}\n`);
    process.exitCode = bad.length === 0 ? 0 : 1;
  });

program
  .command('list')
  .description('list the built-in scenarios')
  .action(() => {
    for (const [name, make] of Object.entries(builtins)) process.stdout.write(`${name.padEnd(18)} ${make().description}\n`);
  });

const reportCommand = program
  .command('report')
  // `report merge … --out dir`: an option after the subcommand is the subcommand's, not `report`'s own --out.
  .enablePositionalOptions()
  .description('re-render report.html and summary.md from a report.json; `report merge` joins the shards of a sharded run')
  .argument('<report>', 'path to report.json')
  .option('--out <dir>', 'where to write (default: next to the report)')
  .action((path: string, o) => {
    const report = readReport(path);
    const files = writeReports(report, o.out ?? join(path, '..'));
    process.stdout.write(`${renderTerminal(report)}\n\nreports: ${files.html}\n         ${files.md}\n`);
  });

/** `merged/` beside the shard folders: in the folder of shard folders given, else in the first shard folder's parent. */
function mergedDir(inputs: readonly string[]): string {
  const first = inputs[0]!;
  const shardDir = first.endsWith('.json') ? join(first, '..') : first;
  const parent = existsSync(join(shardDir, 'shard.json')) ? join(shardDir, '..') : shardDir;
  return join(parent, 'merged');
}

reportCommand
  .command('merge')
  .description('join the shards of a `chatlab run --shard` run into one report: their ledgers joined and checked as one run (exact counts and latencies)')
  .argument('<inputs...>', 'shard folders (holding shard.json), shard.json files, or a folder of shard folders')
  .option('--out <dir>', 'where to write report.json, report.html and summary.md (default: merged/ in the folder of shard folders given, else beside the first shard folder)')
  .action(async (inputs: string[], o) => {
    const outDir = o.out ?? mergedDir(inputs);
    const { report, files, orphans } = await mergeShards(inputs, outDir, (l) => process.stderr.write(`${l}\n`));
    process.stdout.write(`${renderTerminal(report)}\n`);
    if (orphans.count > 0) process.stdout.write(`\nmerge: ${orphans.count} deliveries of messages in no shard's sends (first msgKeys: ${orphans.keys.join(', ')})\n`);
    process.stdout.write(`\nreports: ${files.html}\n         ${files.md}\n         ${files.json}\n`);
    process.exitCode = report.passed && orphans.count === 0 ? 0 : 1;
  });

program
  .command('compare')
  .description('two runs side by side with deltas')
  .argument('<a>', 'first report.json')
  .argument('<b>', 'second report.json')
  .action((a: string, b: string) => {
    process.stdout.write(`${compare(readReport(a), readReport(b))}\n`);
  });

program
  .command('up')
  .description('start a cluster and keep it running (until Ctrl-C) for `chatlab run --cluster` and `chatlab chaos`')
  .addOption(new Option('--world <world>', 'where the cluster runs').choices(['embedded', 'local', 'containers']).default('embedded'))
  .option('--nodes <n>', 'chat nodes to start', int('--nodes', 1, 64), 3)
  .option('--proxies', 'local world: Toxiproxy on every link, so network faults (latency, partition, …) can be injected')
  .option('--redis <url>', 'local and containers worlds: use this Redis instead of starting one (redis-cluster://host:port,… for a Redis Cluster)')
  .option('--redis-cluster', 'local world: start a 3-master Redis Cluster instead of one redis-server')
  .option('--cassandra-nodes <n>', 'local world: 3 starts a 3-node Cassandra ring on 127.0.0.1-3 (replication factor 3, LOCAL_QUORUM) instead of one node', cassandraNodes)
  .option('--cassandra <host:port>', 'local and containers worlds: use this Cassandra instead of starting one')
  .option('--seed <s>', 'seed of the cluster', int('--seed', 0, 2 ** 31), 1)
  .option('--state <file>', 'where to write the state file the other commands read', DEFAULT_STATE_FILE)
  .option('--control-port <p>', 'port of the control API on 127.0.0.1 (default: a free one)', int('--control-port', 0, 65_535), 0)
  .action(async (o) => {
    await up({
      world: o.world, nodes: o.nodes, seed: o.seed, proxies: o.proxies === true, redisUrl: o.redis, redisCluster: o.redisCluster === true, cassandra: o.cassandra, cassandraNodes: o.cassandraNodes,
      stateFile: o.state, controlPort: o.controlPort, out: (t) => process.stdout.write(t), log: (l) => process.stderr.write(`${l}\n`),
    });
  });

program
  .command('chaos')
  .description('inject a fault into the cluster `chatlab up` runs, now; waits until it has been reverted and prints its mark')
  .argument('[fault]', 'fault kind, e.g. node-kill (chatlab chaos --list shows what the cluster supports)')
  .option('--target <target>', 'node-2, 2, all (node faults; default the last node) or redis, node-2:redis, … (network faults)')
  .option('--duration <d>', 'how long until it is reverted, e.g. 10s (without it a node fault stays in place)', duration('--duration'))
  .option('--opt <key=value>', 'a fault option, repeatable, e.g. --opt ms=200 --opt jitterMs=20', collectOpt)
  .option('--cluster <file>', 'state file written by `chatlab up`', DEFAULT_STATE_FILE)
  .option('--no-wait', 'return once the fault is applied, without waiting for its revert')
  .option('--list', 'list the faults this cluster supports')
  .action(async (fault: string | undefined, o) => {
    process.exitCode = await chaosCommand(fault, { ...o, opt: o.opt ?? {}, out: (t: string) => process.stdout.write(t) });
  });

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`error: ${err.message}\n`);
  process.exitCode = 2;
});
