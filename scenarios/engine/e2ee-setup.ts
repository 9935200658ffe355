import { randomBytes } from 'node:crypto';
import type { Attachments, E2eeSetup } from '../device/e2ee/e2ee-client.ts';
import { E2eeStats, type E2eeStatsTransfer } from '../device/e2ee/e2ee-stats.ts';
import { createDeviceCrypto, openAttachment, sealAttachment } from '../device/e2ee/index.ts';
import type { E2eeReport } from '../../reports/report.ts';
import type { Scenario } from '../scenario.ts';
import type { Population } from '../population.ts';
import type { VirtualDevice } from '../device/device.ts';
import { ModeledCrypto } from '../device/e2ee/modeled-crypto.ts';
import { DEFAULT_E2EE_COST, type E2eeCostModel } from '../../system/worlds/sim/e2ee-cost.ts';

/** Whether a scenario runs with end-to-end encryption (on unless it or `--no-e2ee` says false). */
export function e2eeOn(s: Scenario): boolean {
  return s.e2ee ?? true;
}

/** Live devices: real crypto, its CPU measured with the process's high-resolution clock. */
export function liveE2ee(s: Scenario, stats: E2eeStats): E2eeSetup {
  return { enabled: e2eeOn(s), crypto: () => createDeviceCrypto(), stats, cpuNow: () => performance.now(), attachments: sealedAttachments };
}

/**
 * Sim devices: the protocol runs (bundles, sessions, sender keys, every
 * frame) but each crypto step only charges its calibrated cost to a modeled
 * CPU clock (ModeledCrypto): millions of devices cannot each run the real
 * crypto. The report says 'modeled' and names the figures' source.
 */
export function simE2ee(s: Scenario, stats: E2eeStats, cost: E2eeCostModel = DEFAULT_E2EE_COST): E2eeSetup {
  const clock = { spentMs: 0 };
  let identities = 0;
  return { enabled: e2eeOn(s), crypto: () => new ModeledCrypto(cost, clock, ++identities), stats, cpuNow: () => clock.spentMs, attachments: modeledAttachments(cost, clock) };
}

export function e2eeCostSource(cost: E2eeCostModel | undefined): string {
  return (cost ?? DEFAULT_E2EE_COST).source;
}

/** Real attachments: random media bytes sealed as Signal's attachment scheme, opened and verified by the recipient. */
const sealedAttachments: Attachments = {
  seal(bytes) {
    const a = sealAttachment(randomBytes(bytes));
    return { key: a.key, digest: a.digest, blob: Buffer.from(a.blob).toString('base64url') };
  },
  open(blob, key, digest) {
    openAttachment(Buffer.from(blob, 'base64url'), key, digest);
  },
};

/** Sim attachments: the sealed size (iv, whole AES blocks, MAC) as filler, and the cost of sealing it charged to the modeled clock. */
function modeledAttachments(cost: E2eeCostModel, clock: { spentMs: number }): Attachments {
  // Sealing and opening are a block cipher and two hashes over the bytes: ~3 ns per byte each way here (bench:e2ee, 100 KiB).
  const usPerByte = cost.attachmentUsPerKiB / 1024;
  return {
    seal(bytes) {
      clock.spentMs += (bytes * usPerByte) / 1000;
      const sealed = 16 + Math.ceil((bytes + 1) / 16) * 16 + 32;
      return { key: 'A'.repeat(86), digest: 'A'.repeat(43), blob: 'A'.repeat(Math.ceil((sealed * 4) / 3)) };
    },
    open(blob) {
      clock.spentMs += ((blob.length * 3) / 4 * usPerByte) / 1000;
    },
  };
}

/** Groups up to this many members get their sender keys before the load: the chat groups of steady use, not the big broadcast ones (a distribution to every member of a 1,000-member group is 1,000 sessions, paid when someone first posts). */
const PREWARM_GROUP_MEMBERS = 64;

/**
 * Before the load, as devices in steady use have them: each device's
 * sessions with its contacts' devices and its sender key with every member
 * device of its (small) groups (VirtualDevice.prewarm). Without it the first
 * seconds of every run would measure a storm of X3DH handshakes on the
 * driver's CPU, not the cluster. Returns the devices still settling.
 */
export function prewarm(population: Population, devices: Iterable<readonly [number, VirtualDevice]>): VirtualDevice[] {
  const started: VirtualDevice[] = [];
  const introduce = introducing(population);
  for (const [d, device] of devices) {
    const u = population.userOf(d);
    const groups = population.groupsOf(u).filter((g) => (population.group(g)?.members.length ?? Infinity) <= PREWARM_GROUP_MEMBERS);
    device.prewarm(population.contactsOf(u).map((c) => population.userId(c)), groups, introduce(u));
    started.push(device);
  }
  return started;
}

/**
 * Whom a user's devices introduce themselves to (Introductions): one side of
 * each pair of users who talk, so two devices never start two sessions with
 * each other. A contact who does not have the user among its own contacts
 * is introduced to by the user; of two users each other's contact, the
 * lower-numbered one introduces. The user's own devices are always named:
 * among them, each introduces itself to those with a greater id.
 */
function introducing(population: Population): (u: number) => string[] {
  const contacts = new Map<number, readonly number[]>();
  const contactsOf = (u: number) => contacts.get(u) ?? contacts.set(u, population.contactsOf(u)).get(u)!;
  return (u) => [...contactsOf(u).filter((c) => u < c || !contactsOf(c).includes(u)), u].map((x) => population.userId(x));
}

/** The report's section from every worker's counts. */
export function e2eeReport(s: Scenario, parts: readonly E2eeStatsTransfer[]): E2eeReport {
  return E2eeStats.merge(parts).report(e2eeOn(s) ? 'real' : 'off', s.population.devicesPerUser);
}
