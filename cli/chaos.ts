import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { ClusterClient } from '../chaos/cluster.ts';
import type { ControlMark } from '../chaos/control.ts';
import { optionValue } from './values.ts';

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

const OPT = /^([A-Za-z][\w-]*)=(.*)$/;

/** A fault option's value as typed: a decimal number, a boolean, or else the text itself. */
const optValueSchema = z.union([
  z.string().regex(/^-?\d+(\.\d+)?$/).transform(Number),
  z.enum(['true', 'false']).transform((v) => v === 'true'),
  z.string(),
]);

/** `key=value` with a key that is not one of the command's own options. */
const optSchema = z
  .string()
  .regex(OPT, { error: 'expected key=value (e.g. --opt ms=200)' })
  .refine((text) => !RESERVED.includes(OPT.exec(text)?.[1] ?? ''), {
    error: (issue) => {
      const key = OPT.exec(String(issue.input))![1]!;
      return `expected a fault option; ${key} is given as ${key === 'fault' ? 'the <fault> argument' : `--${key}`}${key === 'at' ? ' (a fault is applied now)' : ''}`;
    },
  })
  .transform((text) => {
    const [, key, raw] = OPT.exec(text)! as unknown as [string, string, string];
    return { key, value: optValueSchema.parse(raw) };
  });

/** `--opt key=value`, repeatable: numbers and booleans are typed, so `--opt ms=200` is the scenario's `ms: 200`. */
export function collectOpt(text: string, prev: Record<string, unknown> = {}): Record<string, unknown> {
  const { key, value } = optionValue('--opt', optSchema)(text);
  if (Object.hasOwn(prev, key)) throw new InvalidArgumentError(`--opt: expected each key once, got ${key} again`);
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
