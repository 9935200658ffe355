/**
 * What end-to-end encryption costs a device on this machine, measured with
 * the real DeviceCrypto, figure by figure as the sim's ModeledCrypto charges
 * it (system/worlds/sim/e2ee-cost.ts). `chatlab calibrate` writes it into a
 * calibration's `e2ee` section; `npm run bench:e2ee` prints it.
 */
import { cpus, loadavg } from 'node:os';
import { SeededRandom } from '../../system/random/random.ts';
import type { E2eeCostModel } from '../../system/worlds/sim/e2ee-cost.ts';
import { steadyChat } from '../builtin/steady-chat.ts';
import { createDeviceCrypto, openAttachment, sealAttachment, type DeviceCrypto, type FetchedBundleData, type PublishedBundleData } from '../device/e2ee/index.ts';

/**
 * The share of pairwise messages that arrive with a DH ratchet step: in a
 * chat where either side sends the next message with equal odds (steady
 * chat's random sender and contact), a message follows one of the other
 * side's — a reply, so it carries a new ratchet key — half of the time. The
 * step happens in the receiver's decrypt (a key pair and two DHs); encrypt
 * costs the same either way.
 */
export const DH_STEP_SHARE = 0.5;

export interface MeasureE2eeCostOptions {
  /** Plaintext sizes, drawn as a scenario draws them (uniform integers); default steady-chat's. The overheads are their mean over the range. */
  bodyBytes?: { min: number; max: number };
  /** Pairwise messages of the timed conversation (default 1000). */
  messages?: number;
  /** Sessions started, and as many accepted, each with a device seen for the first time (default 100). */
  sessions?: number;
  /** Sender-key messages encrypted and decrypted (default 600). */
  groupMessages?: number;
  /** Who sends next, and the sizes (the keys come from the OS's generator). */
  seed?: number;
  /** The date `source` names (default: now). */
  date?: Date;
}

/** Medians of each kind of operation, µs, the model's figures are made of. */
export interface E2eeCostDetail {
  machine: string;
  /** One-minute load average when the measurement started (others' work slows it). */
  loadAverage: number;
  bodyBytes: { min: number; max: number };
  dhStepShare: number;
  samples: { messages: number; sessions: number; groupMessages: number };
  encryptUs: { sameChain: number; firstOfTurn: number };
  decryptUs: { sameChain: number; dhStep: number };
  startSessionUs: number;
  firstPreKeyDecryptUs: number;
  groupEncryptUs: number;
  groupDecryptUs: number;
  /** Mean base64url characters beyond the plaintext over the size range, as sent. */
  wireOverheadChars: { ratchet: number; preKey: number; senderKey: number; distribution: number };
  elapsedMs: number;
}

export interface E2eeCostMeasurement {
  model: E2eeCostModel;
  detail: E2eeCostDetail;
}

/** What ModeledCrypto puts before the modeled ciphertext's filler: 'M'; 'P' and a 43-character identity key; a sender-key generation ("1") and a space. */
const MARKER = { ratchet: 1, preKey: 44, senderKey: 2 } as const;

/**
 * Measures each figure of E2eeCostModel with the real DeviceCrypto, in the
 * state the sim's devices are in when they pay it (about a second, one core):
 *
 * - encryptUs, decryptUs: a steady 1:1 conversation whose next sender is a
 *   coin toss; the medians of messages on the same chain and of those that
 *   follow a reply, weighted by DH_STEP_SHARE.
 * - sessionStartUs: `startSession` from the bundle of a device never seen
 *   before (signature check, identity key conversion, 4 DHs, the first
 *   ratchet key): the process-wide memos of x3dh.ts do not help a first
 *   contact.
 * - sessionAcceptUs: the decrypt of the first pre-key message from a device
 *   never seen before, less decryptUs (ModeledCrypto charges both for it).
 * - groupEncryptUs, groupDecryptUs: sender-key messages, received in order.
 * - the overheads: ModeledCrypto sends a marker, then filler of the
 *   overhead's length plus the plaintext's: each is the real ciphertext's
 *   base64url length less the plaintext's and the marker's, averaged over
 *   every body size of the range (base64url grows with the plaintext, and
 *   AES-CBC pads to 16 bytes). distributionBytes: a distribution's
 *   base64url length less its marker.
 *
 * Each time is a median of single operations after a warm-up, rounded to
 * whole µs (the report's histograms count whole µs).
 */
export function measureE2eeCost(o: MeasureE2eeCostOptions = {}): E2eeCostMeasurement {
  const started = performance.now();
  const load = loadavg()[0] ?? 0;
  const sizes = o.bodyBytes ?? steadyChat.behaviour.bodyBytes;
  const random = new SeededRandom(o.seed ?? 1);
  const filler = 'x'.repeat(sizes.max);
  const body = (): string => filler.slice(0, sizes.min + random.int(sizes.max - sizes.min + 1));
  const range = Array.from({ length: sizes.max - sizes.min + 1 }, (_, i) => sizes.min + i);
  const n = { messages: o.messages ?? 1000, sessions: o.sessions ?? 100, groupMessages: o.groupMessages ?? 600 };

  // A steady conversation: either side sends next; a message after a reply comes with a new ratchet key.
  const { alice, bob } = connectedPair();
  const enc = { sameChain: [] as number[], firstOfTurn: [] as number[] };
  const dec = { sameChain: [] as number[], dhStep: [] as number[] };
  const sides = [{ me: alice, peer: 'bob.1', them: bob, as: 'alice.1' }, { me: bob, peer: 'alice.1', them: alice, as: 'bob.1' }];
  let last = 0;
  for (let i = -WARM_UP; i < n.messages; i++) {
    const from = random.next() < DH_STEP_SHARE ? 1 - last : last;
    const s = sides[from]!;
    const plaintext = body();
    const t0 = performance.now();
    const c = s.me.encrypt(s.peer, plaintext);
    const t1 = performance.now();
    s.them.decrypt(s.as, c);
    const t2 = performance.now();
    if (i >= 0) {
      (from === last ? enc.sameChain : enc.firstOfTurn).push(t1 - t0);
      (from === last ? dec.sameChain : dec.dhStep).push(t2 - t1);
    }
    last = from;
  }
  const mix = (same: number[], step: number[]) => (1 - DH_STEP_SHARE) * median(same) + DH_STEP_SHARE * median(step);
  const encryptUs = mix(enc.sameChain, enc.firstOfTurn);
  const decryptUs = mix(dec.sameChain, dec.dhStep);

  // Ratchet messages of every size, on short chains (a reply every 64), as the conversation has them.
  const ratchet = range.map((size, i) => {
    if (i % 64 === 63) alice.decrypt('bob.1', bob.encrypt('alice.1', 'ok'));
    return alice.encrypt('bob.1', filler.slice(0, size)).length - size;
  });

  // X3DH as initiator, each from the bundle of a device not seen before; then pre-key messages of every size.
  const starter = createDeviceCrypto();
  const strangers = Array.from({ length: WARM_UP_SESSIONS + n.sessions }, () => fetched(createDeviceCrypto().bundle(1)));
  const starts = strangers.map((b, i) => {
    const t0 = performance.now();
    starter.startSession(`s${i}.1`, b);
    return performance.now() - t0;
  }).slice(WARM_UP_SESSIONS);
  const preKey = range.map((size, i) => starter.encrypt(`s${i % strangers.length}.1`, filler.slice(0, size)).length - size);

  // X3DH as responder: the first pre-key message of each of n devices not seen before, one one-time pre-key each.
  // A bundle's one-time pre-keys (100 at most) are used up before the next is published, as on a device.
  const responder = createDeviceCrypto();
  const accepts: number[] = [];
  for (let i = 0; i < WARM_UP_SESSIONS + n.sessions; i += 100) {
    const bundle = responder.bundle(Math.min(100, WARM_UP_SESSIONS + n.sessions - i));
    const firstMessages = bundle.oneTimePreKeys.map((_, k) => {
      const initiator = createDeviceCrypto();
      initiator.startSession('r.1', fetched(bundle, k));
      return initiator.encrypt('r.1', body());
    });
    firstMessages.forEach((c, k) => {
      const t0 = performance.now();
      responder.decrypt(`i${i + k}.1`, c);
      if (i + k >= WARM_UP_SESSIONS) accepts.push(performance.now() - t0);
    });
  }

  // Sender keys: one sender, a member decrypting in order.
  const sender = createDeviceCrypto();
  const member = createDeviceCrypto();
  member.processSenderKeyDistribution('sender.1', 'g', sender.senderKeyDistribution('g'));
  const groupEnc: number[] = [];
  const groupDec: number[] = [];
  for (let i = -WARM_UP; i < n.groupMessages; i++) {
    const plaintext = body();
    const t0 = performance.now();
    const c = sender.groupEncrypt('g', plaintext);
    const t1 = performance.now();
    member.groupDecrypt('sender.1', 'g', c);
    const t2 = performance.now();
    if (i >= 0) {
      groupEnc.push(t1 - t0);
      groupDec.push(t2 - t1);
    }
  }
  // Group messages of every size on young sender keys (a fresh group every 64, as a chat group's few messages have them).
  const senderKey = range.map((size, i) => sender.groupEncrypt(`o${Math.floor(i / 64)}`, filler.slice(0, size)).length - size);
  const distributions = Array.from({ length: 8 }, (_, i) => sender.senderKeyDistribution(`d${i}`).length);

  // Media: seal and open 8 KiB (the most a scenario's media takes is 12 KiB), µs per KiB of the two averaged.
  const media = new Uint8Array(8192).fill(7);
  const attachment: number[] = [];
  for (let i = 0; i < 24; i++) {
    const t0 = performance.now();
    const sealed = sealAttachment(media);
    openAttachment(sealed.blob, sealed.key, sealed.digest);
    // In ms, as every sample here: median() gives µs.
    attachment.push((performance.now() - t0) / 2 / 8);
  }

  const firstPreKeyDecryptUs = median(accepts);
  const startSessionUs = median(starts);
  const wire = { ratchet: mean(ratchet), preKey: mean(preKey), senderKey: mean(senderKey), distribution: mean(distributions) };
  const date = (o.date ?? new Date()).toISOString().slice(0, 10);
  const machine = machineName();
  const model: E2eeCostModel = {
    source: `measureE2eeCost, real DeviceCrypto: ${machine}, ${date}, load ${load.toFixed(1)}`,
    encryptUs: Math.round(encryptUs),
    decryptUs: Math.round(decryptUs),
    sessionStartUs: Math.round(startSessionUs),
    sessionAcceptUs: Math.max(0, Math.round(firstPreKeyDecryptUs - decryptUs)),
    groupEncryptUs: Math.round(median(groupEnc)),
    groupDecryptUs: Math.round(median(groupDec)),
    messageOverheadBytes: Math.max(0, Math.round(wire.ratchet - MARKER.ratchet)),
    preKeyMessageOverheadBytes: Math.max(0, Math.round(wire.preKey - MARKER.preKey)),
    senderKeyOverheadBytes: Math.max(0, Math.round(wire.senderKey - MARKER.senderKey)),
    distributionBytes: Math.max(0, Math.round(wire.distribution - MARKER.senderKey)),
    attachmentUsPerKiB: Math.round(median(attachment.slice(4)) * 10) / 10,
  };
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    model,
    detail: {
      machine,
      loadAverage: r1(load),
      bodyBytes: { min: sizes.min, max: sizes.max },
      dhStepShare: DH_STEP_SHARE,
      samples: n,
      encryptUs: { sameChain: r1(median(enc.sameChain)), firstOfTurn: r1(median(enc.firstOfTurn)) },
      decryptUs: { sameChain: r1(median(dec.sameChain)), dhStep: r1(median(dec.dhStep)) },
      startSessionUs: r1(startSessionUs),
      firstPreKeyDecryptUs: r1(firstPreKeyDecryptUs),
      groupEncryptUs: r1(median(groupEnc)),
      groupDecryptUs: r1(median(groupDec)),
      wireOverheadChars: { ratchet: r1(wire.ratchet), preKey: r1(wire.preKey), senderKey: r1(wire.senderKey), distribution: r1(wire.distribution) },
      elapsedMs: Math.round(performance.now() - started),
    },
  };
}

/** Untimed operations first, so the timed ones run compiled. */
const WARM_UP = 100;
const WARM_UP_SESSIONS = 10;

function connectedPair(): { alice: DeviceCrypto; bob: DeviceCrypto } {
  const alice = createDeviceCrypto();
  const bob = createDeviceCrypto();
  alice.startSession('bob.1', fetched(bob.bundle(1)));
  bob.decrypt('alice.1', alice.encrypt('bob.1', 'hello'));
  alice.decrypt('bob.1', bob.encrypt('alice.1', 'hello'));
  return { alice, bob };
}

function fetched(bundle: PublishedBundleData, otk = 0): FetchedBundleData {
  const oneTimePreKey = bundle.oneTimePreKeys[otk];
  return { device: 'x.1', identityKey: bundle.identityKey, signedPreKey: bundle.signedPreKey, ...(oneTimePreKey ? { oneTimePreKey } : {}) };
}

/** Median of durations in ms, as µs. */
function median(ms: readonly number[]): number {
  if (ms.length === 0) return 0;
  const s = [...ms].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return ((s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2)) * 1000;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

function machineName(): string {
  const list = cpus();
  return `${list.length} cores (${list[0]?.model.trim() ?? 'unknown CPU'}), node ${process.version}`;
}
