import assert from 'node:assert/strict';
import { Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datacenterCalibration } from '../system/worlds/sim/calibration.ts';
import { buildPlan, CALLS_PLAN_OPTIONS, MEDIA_PLAN_OPTIONS, type PlanOptions, writePlan } from './command.ts';
import { meanMediaBytes, parseCount, parseDays, plan, PlanDefaults, PlanInputError, resolvePlanInput } from './plan.ts';
import { planHtml, planMarkdown, value as planValue } from './render.ts';
import { verifyPlan } from './verify.ts';

const value = (p: ReturnType<typeof plan>, key: string) => p.lines.find((l) => l.key === key)!.value;
const line = (p: ReturnType<typeof plan>, key: string) => p.lines.find((l) => l.key === key)!;
const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * 1e-12, `${what}: ${actual}, expected ${expected}`);

describe('chatlab plan', () => {
  it('reproduces 100 billion messages a day as about 1.16M msgs/s on average', () => {
    const p = buildPlan({ dau: '2B', msgsPerUserDay: '50', peakFactor: '1' });
    assert.equal(value(p, 'msgsPerDay'), 100e9);
    assert.ok(Math.abs(value(p, 'avgMsgsPerSec') - 1_157_407.4) < 1, String(value(p, 'avgMsgsPerSec')));
    assert.equal(p.lines.find((l) => l.key === 'avgMsgsPerSec')!.formula, 'msgs/day ÷ 86,400 s');
  });

  it('reproduces 500M concurrent connections at 100k per server as 5,000 servers', () => {
    const p = buildPlan({ dau: '500M', msgsPerUserDay: '1', peakFactor: '1', concurrent: '500M', connsPerNode: '100k', headroom: '0' });
    assert.equal(value(p, 'gatewaysForConnections'), 5000);
    // With the default 30% headroom the same connections need 7,143 servers.
    assert.equal(value(buildPlan({ dau: '500M', msgsPerUserDay: '1', peakFactor: '1', concurrent: '500M' }), 'gatewaysForConnections'), 7143);
  });

  it('matches a hand-computed small case, figure by figure', () => {
    // 1M users × 10 msgs = 10M/day; 115.74/s average, 231.48/s at peak factor 2; one device each, no groups:
    // each message goes to 1 device (2·1 − 1); 60% online → 600k connections; 3 writes per device + 1 append, ×3 replicas.
    const p = plan(resolvePlanInput({ dau: 1e6, msgsPerUserDay: 10, peakFactor: 2, devicesPerUser: 1, groupShare: 0, retentionDays: 10, headroom: 0.5 }));
    const peak = (10e6 / 86_400) * 2;
    assert.ok(Math.abs(value(p, 'peakMsgsPerSec') - peak) < 1e-9);
    assert.equal(value(p, 'devicesPerMessage'), 1);
    assert.equal(value(p, 'concurrentConnections'), 600_000);
    assert.equal(value(p, 'gatewaysForConnections'), 12); // 600k / (100k × 0.5)
    assert.ok(Math.abs(value(p, 'storeWritesPerSec') - peak * 4 * 3) < 1e-6);
    assert.equal(value(p, 'messageLogBytes'), 10e6 * 10 * 300 * 3);
    assert.ok(Math.abs(value(p, 'pushPerSec') - peak * 0.4) < 1e-9);
    assert.ok(Math.abs(value(p, 'bandwidthBitsPerSec') - peak * 2 * 300 * 8) < 1e-6);
  });

  it('plans the media tier of a hand-computed case, figure by figure', () => {
    // 864k users × 10 msgs = 8.64M/day: 100/s on average, 300/s at peak factor 3; one device each, half the messages to groups of 5:
    // recipient devices = 0.5 × 1 + 0.5 × 4 = 2.5. A fifth carry media: 60/s. Mix photo 3 × 100 kB, video 1 × 1 MB: mean 325 kB.
    const p = buildPlan({
      dau: '864k', msgsPerUserDay: '10', peakFactor: '3', devicesPerUser: '1', groupShare: '0.5', groupSize: '5', headroom: '0.5',
      mediaShare: '0.2', mediaMix: 'photo=3:100k,video=1:1M', mediaRetention: '10d', mediaDedup: '0.2', edgeHitRatio: '0.75', edgeBitsPerSec: '100M',
    });
    near(value(p, 'peakMsgsPerSec'), 300, 'peak');
    assert.equal(value(p, 'devicesPerMessage'), 2.5);
    assert.equal(value(p, 'mediaMeanBytes'), 325_000);
    near(value(p, 'mediaMsgsPerSec'), 60, 'media msgs/s');
    near(value(p, 'mediaUploadBytesPerSec'), 60 * 325_000 * 0.8, 'upload: 15.6 MB/s after a fifth is deduplicated');
    near(value(p, 'mediaBytesPerDay'), 8.64e6 * 0.2 * 325_000 * 0.8, 'bytes/day');
    near(value(p, 'mediaStorageBytes'), 449.28e9 * 10, 'storage: 4.49 TB for 10 days');
    assert.equal(value(p, 'mediaRecipients'), 2.5, 'each recipient device downloads the media');
    near(value(p, 'mediaDownloadBytesPerSec'), 60 * 2.5 * 325_000, 'download: 48.75 MB/s');
    near(value(p, 'edgeEgressBitsPerSec'), 390e6, 'edge egress in bits');
    near(value(p, 'originEgressBitsPerSec'), 97.5e6, 'origin: the quarter the edges miss');
    assert.equal(value(p, 'edgeNodes'), 8, '390 Mbit/s over 100 Mbit/s edges at 50% use: 7.8, rounded up');

    assert.equal(line(p, 'mediaMsgsPerSec').formula, 'peak msgs/s × media-share');
    assert.equal(line(p, 'mediaUploadBytesPerSec').formula, 'media msgs/s × mean media size × (1 − media-dedup)');
    assert.equal(line(p, 'mediaStorageBytes').formula, "media bytes/day × media-retention days (before the object store's own redundancy)");
    assert.equal(line(p, 'mediaRecipients').formula, 'recipient devices per message');
    assert.equal(line(p, 'mediaDownloadBytesPerSec').formula, 'media msgs/s × downloading devices × mean media size');
    assert.equal(line(p, 'originEgressBitsPerSec').formula, '(1 − edge-hit-ratio) × edge egress');
    assert.equal(line(p, 'edgeNodes').formula, '⌈edge egress ÷ (edge-bits-per-sec × (1 − headroom))⌉, 0.1 Gbit/s each');
    assert.match(line(p, 'mediaMeanBytes').formula, /photo 3 × 100kB, video 1 × 1MB\)$/);
    assert.ok(p.lines.filter((l) => l.key.startsWith('media') || /^(edge|origin)EgressBitsPerSec$/.test(l.key) || l.key === 'edgeNodes').every((l) => l.section === 'media'));

    const given = buildPlan({ dau: '864k', msgsPerUserDay: '10', peakFactor: '3', mediaRecipients: '4' });
    assert.equal(value(given, 'mediaRecipients'), 4);
    assert.equal(line(given, 'mediaRecipients').formula, 'given (--media-recipients)');
  });

  it('takes its media defaults from the media kinds: a 537.5 kB mean object, 30 days, 10 Gbit/s edges', () => {
    assert.equal(meanMediaBytes(PlanDefaults.mediaMix), 0.6 * 200_000 + 0.25 * 65_000 + 0.1 * 3_500_000 + 0.05 * 1_025_000);
    const p = buildPlan({ dau: '500M', msgsPerUserDay: '40', peakFactor: '3' });
    assert.equal(p.input.mediaRetentionDays, 30);
    assert.equal(p.input.edgeBitsPerSec, 10e9);
    // 694,444 msgs/s × 0.1 × 3.8 devices × 537.5 kB × 8 = 1.134 Tbit/s over 7 Gbit/s usable per edge.
    assert.equal(value(p, 'edgeNodes'), Math.ceil((694_444.44 * 0.1 * 3.8 * 537_500 * 8) / 7e9));
    assert.equal(value(p, 'edgeNodes'), 163);
  });

  it('reads the media flags as the command declares them', () => {
    const cmd = new Command().exitOverride();
    for (const [flags, help] of MEDIA_PLAN_OPTIONS) cmd.option(flags, help);
    cmd.parse(['--media-share', '0.5', '--media-mix', 'voice=1', '--media-retention', '7d', '--media-dedup', '0', '--edge-hit-ratio', '0.9',
      '--edge-bits-per-sec', '40G', '--media-recipients', '2'], { from: 'user' });
    const p = buildPlan({ dau: '1M', msgsPerUserDay: '10', peakFactor: '2', ...cmd.opts<PlanOptions>() });
    assert.deepEqual(p.input.mediaMix, { voice: { weight: 1, meanBytes: 65_000 } }, 'a kind without a size keeps its default mean; kinds not named are not sent');
    assert.deepEqual([p.input.mediaShare, p.input.mediaRetentionDays, p.input.mediaDedup, p.input.edgeHitRatio, p.input.edgeBitsPerSec, p.input.mediaRecipients], [0.5, 7, 0, 0.9, 40e9, 2]);
  });

  it('plans calls for 500M users, figure by figure: attempts, concurrency (Little\'s law), relayed calls, relay egress and servers', () => {
    // Defaults: 2 calls a user a day, 5 minutes each, 30% video, 20% relayed, 32 and 800 kbit/s, 10 Gbit/s relays at 70% use.
    const p = buildPlan({ dau: '500M', msgsPerUserDay: '40', peakFactor: '3' });
    const attempts = (500e6 * 2 * 3) / 86_400;
    near(value(p, 'callAttemptsPerSec'), attempts, 'attempts: 34,722 calls/s');
    near(value(p, 'concurrentCalls'), attempts * 300, 'concurrent: 10.4 million calls of 300 s');
    near(value(p, 'relayedConcurrentCalls'), attempts * 300 * 0.2, 'relayed: 2.08 million');
    near(value(p, 'callBitsPerSec'), 262_400, 'bitrate: 0.7 × 32k + 0.3 × 800k');
    near(value(p, 'relayEgressBitsPerSec'), (10_416_666.666666666 * 0.2) * 2 * 262_400, 'egress: 1.093 Tbit/s');
    assert.equal(value(p, 'relayNodes'), 157, '1.093 Tbit/s over 7 Gbit/s usable per relay: 156.2, rounded up');
    near(value(p, 'relayBytesPerDay'), (500e6 * 2 * 300 * 0.2 * 2 * 262_400) / 8, 'egress per day: 3.94 PB');
    assert.ok(p.lines.filter((l) => l.section === 'calls').length === 7);

    assert.equal(line(p, 'callAttemptsPerSec').formula, 'dau × calls-per-user-day × peak-factor ÷ 86,400 s');
    assert.equal(line(p, 'concurrentCalls').formula, "call attempts/s × call-minutes × 60 s (Little's law)");
    assert.equal(line(p, 'relayedConcurrentCalls').formula, 'concurrent calls × call-relayed-share');
    assert.equal(line(p, 'callBitsPerSec').formula, '(1 − call-video-share) × call-audio-kbps + call-video-share × call-video-kbps');
    assert.equal(line(p, 'relayEgressBitsPerSec').formula, 'relayed calls × 2 streams (one per direction, each received and sent on) × mean call bitrate');
    assert.equal(line(p, 'relayNodes').formula, '⌈relay egress ÷ (relay-bits-per-sec × (1 − headroom))⌉, 10 Gbit/s each at 70% use');

    const md = planMarkdown(p);
    assert.match(md, /## Calls \(concurrency, relays\)\n\n\| figure \| value \| formula \|/);
    assert.match(md, /\| call attempts at the peak \| 34,722 calls\/s \|/);
    assert.match(md, /\| concurrent calls at the peak \| 10\.4 million calls \|/);
    assert.match(md, /\| relayed calls at the peak \| 2\.08 million calls \|/);
    assert.match(md, /\| mean call bitrate, one direction \| 262 kbit\/s \|/);
    assert.match(md, /\| relay egress at the peak \(ingress the same\) \| 1\.09 Tbit\/s \|/);
    assert.match(md, /\| relay servers needed \| 157 nodes \|/);
    assert.match(md, /\| relay egress per day \| 3\.94 PB\/day \|/);
    assert.match(md, /callsPerUserDay=2, callMinutes=5, callVideoShare=0\.3, callRelayedShare=0\.2, callAudioKbps=32, callVideoKbps=800, relayBitsPerSec=10 Gbit\/s/);
    const html = planHtml(p);
    assert.match(html, /<h2>Calls \(concurrency, relays\)<\/h2>/);
    assert.match(html, /<td>relay servers needed<\/td><td class="v">157 nodes<\/td><td><code>⌈relay egress ÷ \(relay-bits-per-sec × \(1 − headroom\)\)⌉, 10 Gbit\/s each at 70% use<\/code><\/td>/);
    assert.match(html, /<p>Inputs: [^<]*callsPerUserDay=2, callMinutes=5, callVideoShare=0\.3, callRelayedShare=0\.2, callAudioKbps=32, callVideoKbps=800, relayBitsPerSec=10 Gbit\/s/, 'plan.html shows the calls inputs');
    assert.ok(md.indexOf('## Media') < md.indexOf('## Calls'), 'calls after the media tier');
  });

  it('reads the calls flags as the command declares them, and plans a hand-computed small case', () => {
    const cmd = new Command().exitOverride();
    for (const [flags, help] of CALLS_PLAN_OPTIONS) cmd.option(flags, help);
    cmd.parse(['--calls-per-user-day', '1', '--call-minutes', '2', '--call-video-share', '0.5', '--call-relayed-share', '0.25', '--call-audio-kbps', '40',
      '--call-video-kbps', '1000', '--relay-bits-per-sec', '100M'], { from: 'user' });
    // 864k users × 1 call = 10 calls/s on average, 20 at peak factor 2; 2 minutes each: 2,400 at once, 600 relayed.
    // Half video: (40 + 1000) / 2 = 520 kbit/s a direction; 600 × 2 × 520k = 624 Mbit/s over 100 Mbit/s relays at 50% use: 12.48 → 13.
    const p = buildPlan({ dau: '864k', msgsPerUserDay: '10', peakFactor: '2', headroom: '0.5', ...cmd.opts<PlanOptions>() });
    assert.deepEqual([p.input.callsPerUserDay, p.input.callMinutes, p.input.callVideoShare, p.input.callRelayedShare, p.input.callAudioKbps, p.input.callVideoKbps, p.input.relayBitsPerSec],
      [1, 2, 0.5, 0.25, 40, 1000, 100e6]);
    near(value(p, 'callAttemptsPerSec'), 20, 'attempts');
    near(value(p, 'concurrentCalls'), 2400, 'concurrent');
    near(value(p, 'relayedConcurrentCalls'), 600, 'relayed');
    near(value(p, 'callBitsPerSec'), 520_000, 'bitrate');
    near(value(p, 'relayEgressBitsPerSec'), 624e6, 'egress');
    assert.equal(value(p, 'relayNodes'), 13);
    near(value(p, 'relayBytesPerDay'), (864e3 * 120 * 0.25 * 2 * 520_000) / 8, 'per day: 3.37 TB');
    assert.equal(line(p, 'relayNodes').formula, '⌈relay egress ÷ (relay-bits-per-sec × (1 − headroom))⌉, 0.1 Gbit/s each at 50% use');
    const none = buildPlan({ dau: '864k', msgsPerUserDay: '10', peakFactor: '2', callsPerUserDay: '0' });
    assert.deepEqual(['concurrentCalls', 'relayEgressBitsPerSec', 'relayNodes'].map((k) => value(none, k)), [0, 0, 0], 'no calls, no relays');
  });

  it('rejects negative, missing and malformed figures with errors that name the option, the rule and the value', () => {
    const base = { dau: '500M', msgsPerUserDay: '40', peakFactor: '3' };
    const refusal = (o: PlanOptions): string => {
      const e = (() => {
        try {
          buildPlan(o);
        } catch (err) {
          return err;
        }
        return assert.fail('accepted');
      })();
      assert.ok(e instanceof PlanInputError, String(e));
      return e.message;
    };
    assert.equal(refusal({ ...base, dau: '-5' }), '--dau: expected a finite number >= 0, got -5');
    assert.equal(refusal({ msgsPerUserDay: '40', peakFactor: '3' }), '--dau: expected a number like 500M, 1.5, 100e9 or 2B, got nothing');
    assert.equal(refusal({ dau: '500M', peakFactor: '3' }), '--msgs-per-user-day: expected a number like 500M, 1.5, 100e9 or 2B, got nothing');
    assert.equal(refusal({ ...base, dau: 'lots' }), '--dau: expected a number like 500M, 1.5, 100e9 or 2B, got "lots"');
    assert.equal(refusal({ ...base, dau: '1e999' }), '--dau: expected a finite number >= 0, got Infinity');
    assert.equal(refusal({ ...base, peakFactor: '0.5' }), '--peak-factor: expected a number of at least 1 (the peak is not below the average), got 0.5');
    assert.equal(refusal({ ...base, groupShare: '1.5' }), '--group-share: expected a number between 0 and 1, got 1.5');
    assert.equal(refusal({ ...base, headroom: '1' }), '--headroom: expected a number between 0 and 1, below 1, got 1');
    assert.equal(refusal({ ...base, msgsPerUserDay: '0' }), '--msgs-per-user-day: expected a number greater than 0, got 0');
    assert.equal(refusal({ ...base, groupSize: '1' }), '--group-size: expected a number of at least 2, got 1');
    assert.equal(refusal({ ...base, concurrent: '0' }), '--concurrent: expected a number greater than 0, got 0');
    assert.equal(refusal({ ...base, retention: '-1d' }), '--retention: expected a finite number >= 0, got -1');
    assert.equal(refusal({ ...base, retention: '2w' }), '--retention: expected days like 30d, 12h or 90, got "2w"');
    assert.throws(() => resolvePlanInput({ dau: Number.NaN, msgsPerUserDay: 1, peakFactor: 1 }), { message: '--dau: expected a number greater than 0, got NaN' });
    assert.equal(refusal({ ...base, mediaShare: '1.5' }), '--media-share: expected a number between 0 and 1, got 1.5');
    assert.equal(refusal({ ...base, edgeHitRatio: '-0.1' }), '--edge-hit-ratio: expected a finite number >= 0, got -0.1');
    assert.equal(refusal({ ...base, edgeBitsPerSec: '0' }), '--edge-bits-per-sec: expected a number greater than 0, got 0');
    assert.equal(refusal({ ...base, mediaRetention: '2w' }), '--media-retention: expected days like 30d, 12h or 90, got "2w"');
    assert.match(refusal({ ...base, mediaMix: 'gif=1' }), /^--media-mix: expected kind=weight or kind=weight:mean-bytes, .*\(kinds: photo, voice, video, document\).*, got "gif=1"$/);
    assert.match(refusal({ ...base, mediaMix: 'photo=1,photo=2' }), /^--media-mix: expected .*each kind once.*, got "photo=1,photo=2"$/);
    assert.equal(refusal({ ...base, mediaMix: 'photo=0' }), '--media-mix: expected weights >= 0 adding up to more than 0 and mean sizes greater than 0, got "photo=0"');
    assert.equal(refusal({ ...base, mediaMix: 'photo=1:0' }), '--media-mix: expected weights >= 0 adding up to more than 0 and mean sizes greater than 0, got "photo=1:0"');
    assert.throws(() => resolvePlanInput({ dau: 1, msgsPerUserDay: 1, peakFactor: 1, mediaMix: { photo: { weight: -1, meanBytes: 1 } } }), /^PlanInputError: --media-mix: expected kinds of/);
    assert.equal(refusal({ ...base, callsPerUserDay: '-1' }), '--calls-per-user-day: expected a finite number >= 0, got -1');
    assert.equal(refusal({ ...base, callMinutes: '0' }), '--call-minutes: expected a number greater than 0, got 0');
    assert.equal(refusal({ ...base, callVideoShare: '1.2' }), '--call-video-share: expected a number between 0 and 1, got 1.2');
    assert.equal(refusal({ ...base, callRelayedShare: '2' }), '--call-relayed-share: expected a number between 0 and 1, got 2');
    assert.equal(refusal({ ...base, callAudioKbps: '0' }), '--call-audio-kbps: expected a number greater than 0, got 0');
    assert.equal(refusal({ ...base, relayBitsPerSec: 'fast' }), '--relay-bits-per-sec: expected a number like 500M, 1.5, 100e9 or 2B, got "fast"');
  });

  it('reads counts and days as typed', () => {
    for (const [text, n] of [['1.5k', 1500], ['500M', 5e8], ['1.5B', 1.5e9], ['100e9', 1e11], [' 2 g ', 2e9], ['40', 40]] as const) assert.equal(parseCount(text, 'x'), n, text);
    assert.equal(parseCount(7, 'x'), 7);
    for (const [text, n] of [['30d', 30], ['12h', 0.5], ['90', 90], [' 1.5 d ', 1.5]] as const) assert.equal(parseDays(text, 'retention'), n, text);
  });

  it('writes the plan as JSON, Markdown and HTML, each figure with its formula', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chatlab-plan-'));
    const p = buildPlan({ dau: '500M', msgsPerUserDay: '40', peakFactor: '3' }, datacenterCalibration);
    const files = writePlan(p, dir);
    for (const f of Object.values(files)) assert.ok(existsSync(f));
    const json = JSON.parse(readFileSync(files.json, 'utf8'));
    assert.equal(json.plan.length, p.lines.length);
    assert.ok(json.plan.every((l: { formula: string }) => l.formula.length > 0));
    assert.match(readFileSync(files.md, 'utf8'), /\| peak message rate \| 694,444 msgs\/s \|/);
    const html = readFileSync(files.html, 'utf8');
    assert.match(html, /<td>gateway nodes needed<\/td>/);
    assert.match(html, /<p>Inputs: [^<]*dau=500M, msgsPerUserDay=40, peakFactor=3/, 'plan.html shows the inputs it plans for');
    assert.match(p.capacitySource, /calibration "datacenter/);
    // The media tier in every format, each figure beside its formula.
    const md = readFileSync(files.md, 'utf8');
    assert.match(md, /## Media \(uploads, storage, CDN edges\)\n\n\| figure \| value \| formula \|/);
    assert.match(md, /\| CDN edge nodes needed \| 163 nodes \| `⌈edge egress ÷ \(edge-bits-per-sec × \(1 − headroom\)\)⌉, 10 Gbit\/s each` \|/);
    assert.match(md, /\| media upload at the peak \(after dedup\) \| 26\.1 GB\/s \| `media msgs\/s × mean media size × \(1 − media-dedup\)` \|/);
    assert.match(md, /\| media storage for the retention window \| 22\.6 PB \| `media bytes\/day × media-retention days/);
    assert.match(md, /mediaMix=photo=0\.6:200k,voice=0\.25:65k,video=0\.1:3\.5M,document=0\.05:1\.025M, .*edgeBitsPerSec=10 Gbit\/s/);
    assert.match(html, /<h2>Media \(uploads, storage, CDN edges\)<\/h2>/);
    assert.match(html, /<td>origin egress at the peak \(edge misses\)<\/td><td class="v">227 Gbit\/s<\/td><td><code>\(1 − edge-hit-ratio\) × edge egress<\/code><\/td>/);
    const media = json.plan.filter((l: { section?: string }) => l.section === 'media');
    assert.deepEqual(media.map((l: { key: string }) => l.key), [
      'mediaMeanBytes', 'mediaMsgsPerSec', 'mediaUploadBytesPerSec', 'mediaBytesPerDay', 'mediaStorageBytes', 'mediaRecipients',
      'mediaDownloadBytesPerSec', 'edgeEgressBitsPerSec', 'originEgressBitsPerSec', 'edgeNodes',
    ]);
    assert.equal(json.plan.find((l: { key: string }) => l.key === 'edgeNodes').formula, '⌈edge egress ÷ (edge-bits-per-sec × (1 − headroom))⌉, 10 Gbit/s each');
    assert.deepEqual(json.input.mediaMix.video, { weight: 0.1, meanBytes: 3_500_000 });
  });

  it('writes figures in units that scale: PB and Gbit/s, "6,430 nodes", "2.64 million"', () => {
    assert.equal(planValue(2.7e15, 'bytes'), '2.7 PB');
    assert.equal(planValue(540e12, 'bytes'), '540 TB');
    assert.equal(planValue(8e9, 'bit/s'), '8 Gbit/s');
    assert.equal(planValue(6430, 'nodes'), '6,430 nodes');
    assert.equal(planValue(3.8, 'devices'), '3.8 devices');
    assert.equal(planValue(2_640_000, 'deliveries/s'), '2.64 million deliveries/s');
    assert.equal(planValue(20e9, 'msgs/day'), '20 billion msgs/day');
    assert.equal(planValue(26.1e9, 'bytes/s'), '26.1 GB/s');
    assert.equal(planValue(753e12, 'bytes/day'), '753 TB/day');
  });

  it('--verify runs the planned connections and message rate per node, and says which figures it tested', async function () {
    this.timeout(300_000);
    // 90k DAU: 30 gateway nodes would be planned at 100k each, so 1 node holds ~1,929 devices: the cell runs 3 nodes' share.
    const p = buildPlan({ dau: '90k', msgsPerUserDay: '40', peakFactor: '3', connsPerNode: '2000' });
    const v = await verifyPlan(p, { duration: '4s' });
    const perNode = p.lines.find((l) => l.key === 'concurrentConnections')!.value / p.lines.find((l) => l.key === 'gatewayNodes')!.value;
    assert.equal(v.cell.plannedConnsPerNode, Math.round(perNode));
    assert.equal(v.cell.devices, Math.round(perNode * 3), 'every planned connection of the cell is a simulated device');
    assert.ok(v.tested.some((t) => /per-node connections: .* as planned/.test(t)), v.tested.join('; '));
    assert.ok(!v.untested.some((t) => /per-node connections/.test(t)));
  });

  it('--verify simulates one cell with a node failure and says whether the SLOs hold, and why not', async function () {
    this.timeout(300_000);
    const p = buildPlan({ dau: '10M', msgsPerUserDay: '40', peakFactor: '3' });
    const ok = await verifyPlan(p, { cellDevices: 300, duration: '6s' });
    assert.equal(ok.holds, true, ok.summary);
    assert.match(ok.summary, /^holds: a 3-node cell at the planned per-node load .*decided by e2e_latency p\(99\)<1000 \(actual [\d.]+\)/);
    assert.ok(ok.untested.some((t) => /per-node connections: the cell held 100 devices per node/.test(t)), 'a cell smaller than planned says so');
    assert.ok(ok.untested.some((t) => /store fleet/.test(t)));
    assert.ok(ok.untested.some((t) => /^calls and relays \([\d,]+ concurrent calls, \d+ relay servers planned\): the cell places no calls$/.test(t)), ok.untested.join('; '));
    assert.ok(ok.tested.some((t) => /per-node message rate/.test(t)));
    const strict = await verifyPlan(p, { cellDevices: 300, duration: '6s', sloP99Ms: 5 });
    assert.equal(strict.holds, false);
    assert.match(strict.summary, /^does not hold, because e2e_latency p\(99\)<5 was \d/);
  });
});
