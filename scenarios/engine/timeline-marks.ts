import { Sessions } from '../../reports/fault-impact.ts';
import type { FaultMark, Ledger } from '../../reports/ledger.ts';
import { parseDuration } from '../../system/clock/duration.ts';
import type { Scenario, TimelineEvent } from '../scenario.ts';

/** How long after a drop's window its devices' disconnects are looked for (their sockets close a little after the drop). */
const DROP_MARGIN_MS = 1000;

/**
 * The scenario's timeline actions as marks in the ledger, judged by the
 * checker like faults (kind `timeline:<action>`): messages sent during the
 * action, lost and shown twice, e2e latency before, during and after, and
 * the devices it disconnected with their time to sign in again.
 *
 * Each mark spans what the action did:
 *  - offline: until the matching online event of the same cohort starts
 *    (else the end of the load) — the devices were away that long;
 *  - online: its spread window;
 *  - drop: its spread window, at least as long as the slowest reconnect
 *    of a device it disconnected (session end to next welcome, from the
 *    ledger's connection rows), so the reconnect storm is inside the mark.
 */
export function timelineMarks(s: Scenario, loadEndMs: number, ledger: Ledger): FaultMark[] {
  const sessions = s.timeline.some((ev) => ev.action === 'drop') ? new Sessions(ledger) : undefined;
  return s.timeline.map((ev, i) => {
    const startMs = parseDuration(ev.at, 'timeline at');
    const windowEnd = startMs + (ev.windowMs ?? 0);
    let endMs = windowEnd;
    if (ev.action === 'offline') endMs = backOnlineAt(s.timeline.slice(i + 1), ev) ?? loadEndMs;
    if (ev.action === 'drop' && sessions) {
      const back = sessions.reconnects(startMs, windowEnd + DROP_MARGIN_MS).maxMs;
      if (back !== null) endMs = Math.max(endMs, startMs + back);
    }
    return { kind: `timeline:${ev.action}`, target: targetOf(ev), startMs, endMs: Math.max(startMs, endMs) };
  });
}

function backOnlineAt(later: TimelineEvent[], ev: TimelineEvent): number | undefined {
  const cohort = ev.cohort ?? ev.action;
  const on = later.find((o) => o.action === 'online' && (o.cohort ?? o.action) === cohort);
  return on === undefined ? undefined : parseDuration(on.at, 'timeline at');
}

/** 'burst: 50% of users' — the cohort and the share of users it took. */
function targetOf(ev: TimelineEvent): string {
  return `${ev.cohort ? `${ev.cohort}: ` : ''}${+(ev.share * 100).toFixed(1)}% of users`;
}
