import { execFileSync, spawnSync } from 'node:child_process';
import { cpus as cpuList } from 'node:os';
import { parseOrThrow } from '../../../system/schema/check.ts';
import { cpuListSchema } from '../../cpu-list.ts';

/**
 * Pins a process (all its threads) to a set of CPUs with util-linux's
 * `taskset`, so a measurement can keep the cluster and the driver off each
 * other's cores. `cpus`: a list as taskset takes it, e.g. `0` or `1-3`.
 */
export function pinToCpus(pid: number, cpus: string): void {
  parseOrThrow(cpuListSchema, cpus, 'cpu list');
  const highest = Math.max(...cpus.split(/[,-]/).map(Number));
  // Every CPU of the machine, not the ones this process may use: it may be pinned itself.
  const count = cpuList().length;
  if (highest >= count) throw new RangeError(`cpu list "${cpus}": this machine has CPUs 0..${count - 1}`);
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`could not pin process ${pid} to CPUs ${cpus} with taskset (util-linux): ${(err as Error).message}`);
  }
}

/** Every CPU but CPU 0 as a taskset list (`1`, `1-3`), or undefined on a one-CPU machine: where a driver goes when the cluster has CPU 0. */
export function cpusBesideFirst(): string | undefined {
  const count = cpuList().length;
  return count < 2 ? undefined : count === 2 ? '1' : `1-${count - 1}`;
}

let tasksetFound: boolean | undefined;

/**
 * `command args` to start on every CPU of the machine, whatever this
 * process is pinned to: a child inherits its parent's CPUs, and a run that
 * stands for one a user starts (`chatlab run`, nothing pinned) must not
 * get only the core its pinned parent has. Through `taskset -c 0-N` where
 * util-linux is there and the machine has more than one CPU; as given
 * otherwise.
 */
export function onEveryCpu(command: string, args: readonly string[]): [string, string[]] {
  const count = cpuList().length;
  tasksetFound ??= spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  return count > 1 && tasksetFound ? ['taskset', ['-c', `0-${count - 1}`, command, ...args]] : [command, [...args]];
}
