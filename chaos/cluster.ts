import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { NodeRef, World } from '../system/worlds/world.ts';
import { targetWorld } from '../system/worlds/target.ts';
import { parseOrThrow } from '../system/schema/check.ts';
import type { ControlMark, Injection } from './control.ts';
import type { FaultMark } from './schedule.ts';

export const DEFAULT_STATE_FILE = 'out/cluster.json';

const nodeRefSchema = z.object({ id: z.string(), url: z.string(), number: z.number() });
// A node of the state file is a NodeRef: this fails to compile if they drift apart.
const nodeRefMatches: z.ZodType<NodeRef, unknown> = nodeRefSchema;
void nodeRefMatches;

/** What `chatlab up` writes so other commands can find its cluster: `run --cluster`, `chaos` (cluster.json). */
export const clusterStateSchema = z.object({
  world: z.string(),
  /** The `chatlab up` process. */
  pid: z.number().int(),
  nodes: z.array(nodeRefSchema),
  /** Token secret: the file is readable by its owner only. */
  secret: z.string(),
  pushUrl: z.string().optional(),
  /** Control API, http://127.0.0.1:<port>: it is only ever spoken to on loopback. */
  control: z.string().regex(/^http:\/\/127\.\d+\.\d+\.\d+:\d+$/, { error: 'expected a control API on 127.0.0.0/8, like http://127.0.0.1:<port>' }),
  startedAt: z.string(),
});
export type ClusterState = z.infer<typeof clusterStateSchema>;

/** `GET /` of the control API. */
export interface ClusterInfo {
  world: string;
  pid: number;
  nodes: NodeRef[];
  faults: { supported: { fault: string; description: string }[]; unsupported: { fault: string; reason: string }[] };
}

/** No cluster answers where the state file says (or there is no state file). */
export class NoCluster extends Error {
  readonly code = 'no_cluster';
  constructor(where: string, detail: string, options?: ErrorOptions) {
    super(`no running cluster at ${where} (${detail}) — start one with \`chatlab up\``, options);
    this.name = 'NoCluster';
  }
}

/** A fault the cluster refused (400): nothing was applied. */
export class FaultRefused extends Error {
  readonly code = 'fault_refused';
  readonly definite = true;
  constructor(message: string) {
    super(message);
    this.name = 'FaultRefused';
  }
}

/** Written atomically, owner-only: it holds the token secret. */
export function writeClusterState(file: string, state: ClusterState): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Removes the state file if it is still this process's (a newer `chatlab up` may have taken it over). */
export function removeClusterState(file: string, pid = process.pid): void {
  try {
    if ((JSON.parse(readFileSync(file, 'utf8')) as ClusterState).pid === pid) rmSync(file);
  } catch {
    // Already gone or unreadable: nothing of ours to remove.
  }
}

export function readClusterState(file: string): ClusterState {
  if (!existsSync(file)) throw new NoCluster(file, 'no state file');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new NoCluster(file, `unreadable state file: ${(err as Error).message}`, { cause: err });
  }
  return parseOrThrow(clusterStateSchema, raw, '', (problem) => new NoCluster(file, `not a state file written by \`chatlab up\`: ${problem}`));
}

/** The control API of a cluster started by `chatlab up`. */
export class ClusterClient {
  constructor(readonly state: ClusterState, readonly file: string, private readonly timeoutMs = 5000) {}

  /** Reads the state file and checks that the cluster answers. */
  static async connect(file: string): Promise<{ client: ClusterClient; info: ClusterInfo }> {
    const client = new ClusterClient(readClusterState(file), file);
    return { client, info: await client.info() };
  }

  info(): Promise<ClusterInfo> {
    return this.request('GET', '/') as Promise<ClusterInfo>;
  }

  /** Applies a fault now; FaultRefused when the cluster cannot apply it. */
  async inject(body: Record<string, unknown>): Promise<Pick<Injection, 'id' | 'kind' | 'targets' | 'startMs'>> {
    return this.request('POST', '/faults', body) as Promise<Injection>;
  }

  marks(): Promise<ControlMark[]> {
    return this.request('GET', '/faults') as Promise<ControlMark[]>;
  }

  injection(id: string): Promise<Injection & { marks: ControlMark[] }> {
    return this.request('GET', `/faults/${encodeURIComponent(id)}`) as Promise<Injection & { marks: ControlMark[] }>;
  }

  /** Polls until the injection has ended on every target. */
  async waitUntilDone(id: string, pollMs = 200): Promise<Injection & { marks: ControlMark[] }> {
    for (;;) {
      const i = await this.injection(id);
      if (i.done) return i;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.state.control}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new NoCluster(this.state.control, `${this.file}, pid ${this.state.pid}: ${cause}`, { cause: err });
    }
    const answer = (await res.json().catch(() => ({}))) as { error?: string };
    if (res.status === 400) throw new FaultRefused(answer.error ?? 'refused');
    if (!res.ok) throw new Error(`${method} ${this.state.control}${path}: ${res.status} ${answer.error ?? ''}`.trim());
    return answer;
  }
}

/** The cluster as the live engine drives it: like `--target`, with the real node names and numbers. */
export function clusterWorld(state: ClusterState): World {
  const w = targetWorld(state.nodes.map((n) => n.url).join(','), state.secret, state.pushUrl);
  return { ...w, kind: state.world, nodes: state.nodes.map((n) => ({ ...n })) };
}

/**
 * The marks overlapping a run's load window, on the run's clock (ms since
 * `t0`, an epoch time). A fault still in place ends now, and lasts at least
 * to the end of the load, as a scheduled one without a duration does.
 */
export function marksDuring(
  marks: readonly Pick<ControlMark, 'kind' | 'target' | 'startEpochMs' | 'endEpochMs'>[], t0: number, loadEndMs: number, nowEpochMs: number,
): FaultMark[] {
  return marks
    .map((m) => ({
      kind: m.kind,
      target: m.target,
      startMs: m.startEpochMs - t0,
      endMs: m.endEpochMs === null ? Math.max(nowEpochMs - t0, loadEndMs) : m.endEpochMs - t0,
    }))
    .filter((f) => f.startMs < loadEndMs && f.endMs > 0);
}
