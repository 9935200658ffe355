/**
 * `npm run fuzz`: fast-check generated and mutated client frames against a
 * live embedded cluster (3 nodes in a child process, real WebSockets on
 * 127.0.0.1), with a bystander pair chatting throughout. See bench/fuzz/.
 * Last line: `frames=<n> crashes=<c> undocumented=<u> bystanderLost=<l> rssMB=<m>`;
 * exit code 1 when the cluster process ended, an exception escaped, an answer
 * is not in docs/protocol.md, a bystander message was lost, RSS passed its
 * bound, or the time cap came before the frame budget.
 */
import { Command, InvalidArgumentError } from 'commander';
import { broken, runFuzz, summary } from './fuzz/run.ts';

const int = (min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return n;
};
const o = new Command('fuzz')
  .description('fuzzed frames against a live embedded cluster')
  .option('--frames <n>', 'fuzz frames to send', int(1), 1_000_000)
  .option('--lanes <n>', 'sockets fuzzing at once', int(1), 32)
  .option('--max-seconds <s>', 'time cap', int(1), 1800)
  .option('--rss-max-mb <mb>', 'bound on the cluster process RSS', int(1), 1024)
  .option('--seed <n>', 'fast-check seed of the first frame batch', int(0), 1)
  .parse()
  .opts<{ frames: number; lanes: number; maxSeconds: number; rssMaxMb: number; seed: number }>();

const hard = setTimeout(() => {
  console.error('fuzz: overall time limit reached');
  process.exit(2);
}, (o.maxSeconds + 120) * 1000);
hard.unref();
console.log(`fuzz: ${o.frames} frames, ${o.lanes} lanes, seed ${o.seed}, at most ${o.maxSeconds} s, RSS bound ${o.rssMaxMb} MB`);
const r = await runFuzz(o);
for (const line of summary(r)) console.log(line);
process.exitCode = broken(r).length > 0 ? 1 : 0;
