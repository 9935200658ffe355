import { createHmac } from 'node:crypto';
import { isDeviceId } from '../../system/protocol/ids.ts';
/**
 * The fuzz run: an embedded cluster in a child process (so its exit is seen
 * and counted, and whatever escaped before it), fuzz lanes over real
 * WebSockets, a bystander pair exchanging messages throughout, and the
 * child's RSS sampled. Bounded by a frame budget and a time cap; stops
 * itself, and stops at once when the cluster process ends.
 */
import { TokenIssuer } from '../../system/auth/tokens.ts';
import { WallClock } from '../../system/clock/clock-wall.ts';
import { SeededRandom } from '../../system/random/random.ts';
import { EmbeddedChild, type ChildExit } from '../servers/embedded-child.ts';
import { AnswerChecker, newTally, type Tally } from './answers.ts';
import { BYSTANDER_USERS, BystanderPair, type BystanderResult } from './bystander.ts';
import { readDocumented } from './documented.ts';
import { FrameSource } from './frames.ts';
import { runLane } from './lanes.ts';

export interface FuzzOptions {
  /** Fuzz frames to send (pacing pings, sign-ins and acks not counted). */
  frames: number;
  /** Sockets fuzzing at once. */
  lanes: number;
  /** Time cap, seconds: the run stops there even short of `frames`. */
  maxSeconds: number;
  /** The child's RSS may not pass this, MB. */
  rssMaxMb: number;
  seed: number;
  nodes: number;
  batch: number;
  perConnection: number;
  helloShare: number;
  answerTimeoutMs: number;
  /** One bystander send every this many ms. */
  bystanderIntervalMs: number;
  progressEveryMs: number;
  log: (line: string) => void;
}

export const defaultFuzzOptions: FuzzOptions = {
  frames: 1_000_000,
  lanes: 32,
  maxSeconds: 1800,
  rssMaxMb: 1024,
  seed: 1,
  nodes: 3,
  batch: 16,
  perConnection: 200,
  helloShare: 0.7,
  answerTimeoutMs: 5000,
  bystanderIntervalMs: 20,
  progressEveryMs: 10_000,
  log: (l) => process.stderr.write(`${l}\n`),
};

export interface FuzzResult {
  frames: number;
  seconds: number;
  /** Cluster process exits not asked for (0 or 1: the run stops at the first). */
  crashes: number;
  exit?: ChildExit;
  /** The last frames sent before the cluster process was seen to end. */
  lastFrames: string[];
  /** Exceptions and rejections that escaped in the cluster process. */
  escaped: number;
  undocumented: number;
  tally: Tally;
  bystander: BystanderResult;
  rssMb: number;
  rssMaxMb: number;
  /** The time cap ended the run before `frames` were sent. */
  timedOut: boolean;
}

export async function runFuzz(opts: Partial<FuzzOptions> = {}): Promise<FuzzResult> {
  const o: FuzzOptions = { ...defaultFuzzOptions, ...opts };
  const doc = readDocumented();
  const child = await EmbeddedChild.start({ nodes: o.nodes });
  const t0 = performance.now();
  const deadline = t0 + o.maxSeconds * 1000;
  const tokens = new TokenIssuer(child.secret, new WallClock());
  const tally = newTally();
  const checker = new AnswerChecker(doc, tally);
  const fuzzUsers = Array.from({ length: o.lanes }, (_, i) => `fz${i}`);
  const source = new FrameSource({ users: [...fuzzUsers, ...BYSTANDER_USERS], signInUsers: fuzzUsers, token: (d, ttl) => (isDeviceId(d) ? tokens.issue(d, ttl) : signedClaims(child.secret, d, ttl)) }, o.seed);
  const random = new SeededRandom(o.seed);
  const last: string[] = [];
  let lastAtExit: string[] = [];
  void child.exited.then(() => (lastAtExit = [...last]));
  let rssMb = child.rssMb();
  const sampler = setInterval(() => (rssMb = Math.max(rssMb, child.rssMb())), 500);
  const progress = setInterval(() => o.log(`fuzz: ${tally.frames} frames, ${tally.connections} sockets, ${tally.undocumented} undocumented, rss ${rssMb.toFixed(0)} MB, ${((performance.now() - t0) / 1000).toFixed(0)} s`), o.progressEveryMs);
  const bystanders = new BystanderPair({ urls: child.urls, token: (d) => tokens.issue(d, 3600_000), intervalMs: o.bystanderIntervalMs });
  const more = () => tally.frames < o.frames && performance.now() < deadline && !child.crashed;
  try {
    await Promise.all(Array.from({ length: o.lanes }, (_, lane) => runLane(lane, {
      urls: child.urls, source, checker, token: (d) => tokens.issue(d, 3600_000),
      batch: o.batch, perConnection: o.perConnection, helloShare: o.helloShare, answerTimeoutMs: o.answerTimeoutMs,
      more, clusterDown: () => child.exit !== undefined, random: () => random.next(),
      onSent: (d) => {
        if (last.push(d) > 8) last.shift();
      },
    })));
    // Cuts are judged a second after they happen (lanes.ts): let the last ones be judged.
    await new Promise((r) => setTimeout(r, 1100));
    const bystander = await bystanders.stop();
    const seconds = (performance.now() - t0) / 1000;
    rssMb = Math.max(rssMb, child.rssMb());
    return {
      frames: tally.frames, seconds, crashes: child.crashed ? 1 : 0, exit: child.exit, lastFrames: child.crashed ? lastAtExit : [],
      escaped: child.escapes.length, undocumented: tally.undocumented, tally, bystander, rssMb, rssMaxMb: o.rssMaxMb,
      timedOut: tally.frames < o.frames && !child.crashed,
    };
  } finally {
    clearInterval(sampler);
    clearInterval(progress);
    await child.stop();
  }
}

/** Why a run failed, one line each; empty when every promise held. */
export function broken(r: FuzzResult): string[] {
  const out: string[] = [];
  if (r.crashes > 0) out.push(`the cluster process ended (${r.exit?.signal ?? `exit code ${r.exit?.code}`})`);
  if (r.escaped > 0) out.push(`${r.escaped} exception(s) or rejection(s) escaped in the cluster process`);
  if (r.undocumented > 0) out.push(`${r.undocumented} answer(s) not documented in docs/protocol.md`);
  if (r.bystander.lost > 0) out.push(`${r.bystander.lost} acked bystander message(s) never delivered`);
  if (r.rssMb > r.rssMaxMb) out.push(`cluster RSS ${r.rssMb.toFixed(0)} MB over the bound of ${r.rssMaxMb} MB`);
  if (r.timedOut) out.push(`the time cap ended the run at ${r.frames} frames`);
  return out;
}

/** The run's figures as lines, the verdict line last: `frames=<n> crashes=<c> undocumented=<u> bystanderLost=<l> rssMB=<m>`. */
export function summary(r: FuzzResult): string[] {
  const t = r.tally;
  const top = (m: Map<string | number, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const lines = [
    `fuzz: ${r.frames} frames over ${t.connections} sockets in ${r.seconds.toFixed(1)} s (${Math.round(r.frames / r.seconds)} frames/s); ${t.answers} answers`,
    `errors by code: ${top(t.errorsByCode)}`,
    `closes by code: ${top(t.closesByCode)}`,
    `pacing pings unanswered within the timeout: ${t.unanswered}`,
    `bystanders: ${r.bystander.sent} sent, ${r.bystander.acked} acked, ${r.bystander.delivered} delivered, ${r.bystander.lost} lost, ${r.bystander.reconnects} reconnects${r.bystander.refused.length ? `; refused: ${r.bystander.refused.join(' ')}` : ''}`,
    `cluster RSS peak ${r.rssMb.toFixed(0)} MB (bound ${r.rssMaxMb} MB)`,
  ];
  if (t.examples.length > 0) lines.push('first undocumented answers:', ...t.examples.map((e) => `  ${e}`));
  if (r.crashes > 0) {
    lines.push(`the cluster process ended: ${r.exit?.signal ?? `exit code ${r.exit?.code}`}; the last frames sent before:`, ...r.lastFrames.map((f) => `  ${f}`));
    for (const e of r.exit?.escapes ?? []) lines.push(`escaped (${e.origin}): ${e.stack ?? e.message}`);
  }
  for (const b of broken(r)) lines.push(`FAILED: ${b}`);
  lines.push(`frames=${r.frames} crashes=${r.crashes} undocumented=${r.undocumented} bystanderLost=${r.bystander.lost} rssMB=${Math.round(r.rssMb)}`);
  return lines;
}

/**
 * A correctly signed token whose claims name something that is not a device
 * (`fz1.0`): the issuer refuses to mint it, and the node must refuse it too.
 */
function signedClaims(secret: string, device: string, ttlMs: number): string {
  const body = Buffer.from(JSON.stringify({ u: device.split('.')[0], d: device, exp: Date.now() + ttlMs })).toString('base64url');
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
