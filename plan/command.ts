import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Calibration } from '../system/worlds/sim/calibration.ts';
import { capacityFrom, DEFAULT_MEDIA_MIX, mixText, parseCount, parseDays, parseMediaMix, plan, PlanInputError, resolvePlanInput, type Plan, type PlanInput } from './plan.ts';
import { planHtml, planJson, planMarkdown, type Verdict } from './render.ts';

/** The `chatlab plan` options as commander hands them over (strings; camelCase keys). */
export type PlanOptions = Partial<Record<
  'dau' | 'msgsPerUserDay' | 'peakFactor' | 'devicesPerUser' | 'groupShare' | 'groupSize' | 'onlineShare' | 'concurrent' | 'retention' |
  'messageBytes' | 'connsPerNode' | 'framesPerNodeSec' | 'writesPerStoreNode' | 'replication' | 'headroom' |
  'mediaShare' | 'mediaMix' | 'mediaRetention' | 'mediaDedup' | 'edgeHitRatio' | 'edgeBitsPerSec' | 'mediaRecipients' |
  'callsPerUserDay' | 'callMinutes' | 'callVideoShare' | 'callRelayedShare' | 'callAudioKbps' | 'callVideoKbps' | 'relayBitsPerSec', string>>;

/**
 * The media options of `chatlab plan` (flags and help, in the style of the
 * others): the command adds each with `.option(flags, help)`.
 */
export const MEDIA_PLAN_OPTIONS: readonly (readonly [flags: string, help: string])[] = [
  ['--media-share <x>', 'share of messages that carry media, 0..1 (default 0.1)'],
  ['--media-mix <list>', `media kinds sent: kind=weight[:mean-bytes], comma-separated; kinds not named are not sent (default ${mixText(DEFAULT_MEDIA_MIX)})`],
  ['--media-retention <d>', 'how long media is kept after upload, e.g. 30d (default 30d)'],
  ['--media-dedup <x>', 'share of offered media bytes already stored (forwards): not uploaded or stored again, 0..1 (default 0.3)'],
  ['--edge-hit-ratio <x>', 'share of media downloads a CDN edge answers from its cache, 0..1 (default 0.8)'],
  ['--edge-bits-per-sec <n>', 'bits per second one CDN edge serves, e.g. 10G (default 10G: 10 Gbit/s)'],
  ['--media-recipients <n>', 'devices that download each media message (default: the plan\'s recipient devices per message)'],
];

/**
 * The calls options of `chatlab plan`: how much users call, for how long,
 * how much of it is video and relayed, at what bitrates, and what one relay
 * server forwards. The defaults and the figures behind them are in
 * PlanDefaults (plan.ts).
 */
export const CALLS_PLAN_OPTIONS: readonly (readonly [flags: string, help: string])[] = [
  ['--calls-per-user-day <x>', 'voice and video calls each user places a day (default 2)'],
  ['--call-minutes <x>', 'mean length of a call in minutes (default 5)'],
  ['--call-video-share <x>', 'share of calls that are video calls, 0..1 (default 0.3)'],
  ['--call-relayed-share <x>', 'share of calls relayed through TURN (both ends behind symmetric NAT), 0..1 (default 0.2)'],
  ['--call-audio-kbps <n>', 'payload kbit/s of an audio call, one direction (default 32)'],
  ['--call-video-kbps <n>', 'payload kbit/s of a video call, one direction, its audio included (default 800)'],
  ['--relay-bits-per-sec <n>', 'bits per second one relay server forwards, used to (1 - headroom), e.g. 10G (default 10G: 10 Gbit/s)'],
];

const OPTIONAL: [keyof PlanOptions, keyof PlanInput, string][] = [
  ['devicesPerUser', 'devicesPerUser', 'devices-per-user'], ['groupShare', 'groupShare', 'group-share'], ['groupSize', 'groupSize', 'group-size'],
  ['onlineShare', 'onlineShare', 'online-share'], ['concurrent', 'concurrent', 'concurrent'], ['messageBytes', 'messageBytes', 'message-bytes'],
  ['connsPerNode', 'connsPerNode', 'conns-per-node'], ['framesPerNodeSec', 'framesPerNodeSec', 'frames-per-node-sec'],
  ['writesPerStoreNode', 'writesPerStoreNode', 'writes-per-store-node'], ['replication', 'replication', 'replication'], ['headroom', 'headroom', 'headroom'],
  ['mediaShare', 'mediaShare', 'media-share'], ['mediaDedup', 'mediaDedup', 'media-dedup'], ['edgeHitRatio', 'edgeHitRatio', 'edge-hit-ratio'],
  ['edgeBitsPerSec', 'edgeBitsPerSec', 'edge-bits-per-sec'], ['mediaRecipients', 'mediaRecipients', 'media-recipients'],
  ['callsPerUserDay', 'callsPerUserDay', 'calls-per-user-day'], ['callMinutes', 'callMinutes', 'call-minutes'],
  ['callVideoShare', 'callVideoShare', 'call-video-share'], ['callRelayedShare', 'callRelayedShare', 'call-relayed-share'],
  ['callAudioKbps', 'callAudioKbps', 'call-audio-kbps'], ['callVideoKbps', 'callVideoKbps', 'call-video-kbps'],
  ['relayBitsPerSec', 'relayBitsPerSec', 'relay-bits-per-sec'],
];

/** Parses the options (every figure checked, errors name the option), applies a calibration's measured capacities, computes the plan. */
export function buildPlan(o: PlanOptions, calibration?: Calibration): Plan {
  const raw: Partial<PlanInput> & Pick<PlanInput, 'dau' | 'msgsPerUserDay' | 'peakFactor'> = {
    dau: parseCount(o.dau, 'dau'),
    msgsPerUserDay: parseCount(o.msgsPerUserDay, 'msgs-per-user-day'),
    peakFactor: parseCount(o.peakFactor, 'peak-factor'),
  };
  if (o.retention !== undefined) raw.retentionDays = parseDays(o.retention, 'retention');
  if (o.mediaRetention !== undefined) raw.mediaRetentionDays = parseDays(o.mediaRetention, 'media-retention');
  if (o.mediaMix !== undefined) raw.mediaMix = parseMediaMix(o.mediaMix, 'media-mix');
  let source = 'defaults (100k connections and 50k frames/s per gateway node, 20k writes/s per store node)';
  if (calibration) {
    Object.assign(raw, capacityFrom(calibration));
    source = `calibration "${calibration.source}" (CPU per frame and store service times)`;
  }
  for (const [opt, key, name] of OPTIONAL) if (o[opt] !== undefined) (raw as Record<string, unknown>)[key] = parseCount(o[opt], name);
  if (calibration && (o.framesPerNodeSec || o.writesPerStoreNode)) source += '; overridden on the command line';
  return plan(resolvePlanInput(raw), source);
}

export interface WrittenPlan {
  json: string;
  md: string;
  html: string;
}

export function writePlan(p: Plan, outDir: string, verdict?: Verdict): WrittenPlan {
  mkdirSync(outDir, { recursive: true });
  const files = { json: join(outDir, 'plan.json'), md: join(outDir, 'plan.md'), html: join(outDir, 'plan.html') };
  writeFileSync(files.json, planJson(p, verdict));
  writeFileSync(files.md, planMarkdown(p, verdict));
  writeFileSync(files.html, planHtml(p, verdict));
  return files;
}

export { PlanInputError };
