import { InvalidArgumentError } from 'commander';
import { ClusterClient } from '../chaos/cluster.ts';
import type { ControlMark } from '../chaos/control.ts';

export interface ChaosCommandOptions {
  cluster: string;
  list?: boolean;
  target?: string;
  duration?: string;
  /** Fault options from `--opt key=value`. */
  opt: Record<string, unknown>;
  /** Wait until the fault has been reverted (default), or return once it is accepted. */
  wait: boolean;
  out: (text: string) => void;
}

const RESERVED = ['fault', 'target', 'duration', 'at'];

/** `--opt key=value`, repeatable: numbers and booleans are typed, so `--opt ms=200` is the scenario's `ms: 200`. */
export function collectOpt(text: string, prev: Record<string, unknown> = {}): Record<string, unknown> {
  const m = /^([A-Za-z][\w-]*)=(.*)$/.exec(text);
  if (!m) throw new InvalidArgumentError(`--opt takes key=value (e.g. --opt ms=200), got ${text}`);
  const [, key, raw] = m as unknown as [string, string, string];
  if (RESERVED.includes(key)) throw new InvalidArgumentError(`--opt ${key}: use --${key === 'fault' ? '<fault> argument' : key}${key === 'at' ? ' (a fault is applied now)' : ''}`);
  if (key in prev) throw new InvalidArgumentError(`--opt ${key} given twice`);
  const value = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
  return { ...prev, [key]: value };
}

/** `chatlab chaos`: injects one fault into the cluster of a state file, or lists the faults it supports. */
export async function chaosCommand(fault: string | undefined, o: ChaosCommandOptions): Promise<number> {
  if (o.list && fault) throw new InvalidArgumentError('--list takes no fault');
  if (!o.list && !fault) throw new InvalidArgumentError('name a fault, e.g. `chatlab chaos node-kill --target node-2 --duration 10s`; `chatlab chaos --list` shows what this cluster supports');
  const { client, info } = await ClusterClient.connect(o.cluster);
  if (o.list) {
    const width = Math.max(...info.faults.supported.map((f) => f.fault.length));
    o.out(`faults the ${info.world} cluster of ${o.cluster} can apply:\n`);
    for (const f of info.faults.supported) o.out(`  ${f.fault.padEnd(width)}  ${f.description}\n`);
    if (info.faults.unsupported.length > 0) {
      o.out('not here:\n');
      for (const f of info.faults.unsupported) o.out(`  ${f.fault.padEnd(width)}  ${f.reason}\n`);
    }
    return 0;
  }
  const accepted = await client.inject({ ...o.opt, fault, ...(o.target ? { target: o.target } : {}), ...(o.duration ? { duration: o.duration } : {}) });
  o.out(`chaos ${accepted.id}: ${accepted.kind} on ${accepted.targets.join(', ')} from ${clock(accepted.startMs)}\n`);
  if (!o.wait) {
    o.out(`not waiting; follow it with: curl ${client.state.control}/faults/${accepted.id}\n`);
    return 0;
  }
  const done = await client.waitUntilDone(accepted.id);
  for (const m of done.marks) o.out(`${describe(m)}\n`);
  return done.error ? 1 : 0;
}

function describe(m: ControlMark): string {
  const span = m.endEpochMs === null
    ? `from ${clock(m.startEpochMs)}, left in place (no --duration)`
    : `from ${clock(m.startEpochMs)} to ${clock(m.endEpochMs)} (${((m.endEpochMs - m.startEpochMs) / 1000).toFixed(1)}s)`;
  return `${m.kind} ${m.target} ${span}${m.error ? ` — failed: ${m.error}` : ''}`;
}

/** Epoch ms as a UTC time of day with ms, which is what lines up with logs. */
function clock(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(11, 23)}Z`;
}
