import type { ChaosEntry, Scenario } from '../scenario.ts';

type CallBehaviour = NonNullable<Scenario['behaviour']['calls']>;
import { callsEvening } from '../builtin/calls-evening.ts';

/**
 * calls-evening under a fault. What must hold is what a user sees: every
 * caller gets a clear outcome (no call left unresolved), no device rings
 * after its ring timeout or after its call was taken elsewhere or over, and
 * no acked chat message is lost. Calls the fault cut short count as failed
 * by their reason (`disconnected`, `media_lost`), which the report shows;
 * they are not a violation.
 */
function callDrill(name: string, description: string, chaos: ChaosEntry[], calls: Partial<CallBehaviour> = {}): Scenario {
  // Offers re-delivered after a reconnect ring late by the outage's length: setup time is not what a drill judges.
  const { calls_failed: _failed, call_media_loss: _loss, call_ring_setup: _ring, ...kept } = callsEvening.options.thresholds;
  const behaviour = { ...callsEvening.behaviour, calls: { ...callsEvening.behaviour.calls!, ...calls } };
  return { ...callsEvening, name, description, chaos, behaviour, options: { ...callsEvening.options, thresholds: kept } };
}

/** node-2 is killed while calls ring (30% of the run) and comes back at 60%. */
export const callNodeDeath = callDrill(
  'call-node-death',
  'calls-evening; node-2 killed at 30% of the run while calls ring, back at 60%: every caller gets an outcome, no phantom ring',
  [{ fault: 'node-kill', target: 'node-2', at: '30%', duration: '30%' }],
);

/** The TURN relay dies at 40% of the run while relayed calls carry media, and is back at 60%: those calls end `media_lost`, counted; nobody rings on. */
export const relayFailure = callDrill(
  'relay-failure',
  'calls-evening; the TURN relay killed at 40% of the run while relayed calls carry media, back at 60%: those calls end media_lost (counted), no phantom ring',
  [{ fault: 'relay-stop', at: '40%', duration: '20%' }],
  // Most users behind symmetric NATs and calls answered and long, so relayed calls carry media when the relay dies.
  { symmetricNat: 0.9, answer: 0.9, reject: 0, durationS: { median: 15, p90: 25, max: 30 } },
);

/** 5% of the packets between devices and the relay dropped from 30% to 70% of the run: the relayed legs' loss and jitter show it. */
export const relayLoss = callDrill(
  'relay-loss',
  'calls-evening; 5% packet loss between devices and the TURN relay from 30% to 70% of the run: measured in the relayed legs\' loss',
  [{ fault: 'relay-loss', p: 0.05, at: '30%', duration: '40%' }],
  { symmetricNat: 0.9, answer: 0.9, reject: 0, durationS: { median: 15, p90: 25, max: 30 } },
);
