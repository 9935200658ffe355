import type { E2eeSetup } from '../device/e2ee/e2ee-client.ts';
import { E2eeStats, type E2eeStatsTransfer } from '../device/e2ee/e2ee-stats.ts';
import { createDeviceCrypto } from '../device/e2ee/index.ts';
import type { E2eeReport } from '../../reports/report.ts';
import type { Scenario } from '../scenario.ts';
import { ModeledCrypto } from '../device/e2ee/modeled-crypto.ts';
import { DEFAULT_E2EE_COST, type E2eeCostModel } from '../../system/worlds/sim/e2ee-cost.ts';

/** Whether a scenario runs with end-to-end encryption (on unless it or `--no-e2ee` says false). */
export function e2eeOn(s: Scenario): boolean {
  return s.e2ee ?? true;
}

/** Live devices: real crypto, its CPU measured with the process's high-resolution clock. */
export function liveE2ee(s: Scenario, stats: E2eeStats): E2eeSetup {
  return { enabled: e2eeOn(s), crypto: () => createDeviceCrypto(), stats, cpuNow: () => performance.now() };
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
  return { enabled: e2eeOn(s), crypto: () => new ModeledCrypto(cost, clock, ++identities), stats, cpuNow: () => clock.spentMs };
}

export function e2eeCostSource(cost: E2eeCostModel | undefined): string {
  return (cost ?? DEFAULT_E2EE_COST).source;
}

/** The report's section from every worker's counts. */
export function e2eeReport(s: Scenario, parts: readonly E2eeStatsTransfer[]): E2eeReport {
  return E2eeStats.merge(parts).report(e2eeOn(s) ? 'real' : 'off', s.population.devicesPerUser);
}
