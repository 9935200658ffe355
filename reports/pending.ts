/**
 * Late or lost: what the stores said, at the end of a run, about owed
 * deliveries that had not arrived by the end of the grace period, and the
 * words every renderer uses for it.
 *
 * An undelivered pair is `pending` when the recipient device's inbox still
 * holds the message (late: the guarantee holds, the device has not taken it
 * yet) and `lost` when no store holds it (the guarantee broke). Without an
 * answer from the stores (a `--target` cluster), every undelivered pair is
 * `lost`, as the report then says.
 */
import type { Path } from './ledger.ts';
import type { Report } from './report.ts';
import { fmtInt, fmtMs } from './format.ts';

/** An owed (msg, device) pair with no delivery at all by the end of the run, and what a store needs to find it. */
export interface UndeliveredPair {
  msg: number;
  dev: number;
  /** The server's id from the ack; null when the ledger has none (the stores cannot be asked). */
  mid: string | null;
  /** The path it was predicted to take: `group-read` pairs keep no inbox entry. */
  path: Path;
}

/** The stores' answer about the undelivered pairs. */
export interface StoreAnswer {
  /** Run-clock time the stores were asked; a pending pair's age is measured up to it. */
  atMs: number;
  /** Pairs whose message the recipient device's inbox still held. */
  held: readonly { msg: number; dev: number }[];
  /** Undelivered pairs no store could be asked about (no mid, or a path with no inbox entry): they stay lost. */
  unasked: number;
}

/** Which classification a report's `pending`/`lost` split rests on. */
export type { Classified } from './report.ts';

/** The one sentence that tells the two apart, shown wherever pending and lost are. */
export const PENDING_VS_LOST =
  'Pending: acked, not delivered by the end of the grace period, but still in the recipient\'s inbox (late: the guarantee holds); ' +
  'lost: acked and in no store (the guarantee broke).';

/** A line on how undelivered pairs were classified, and the pending ones' age; null when there is nothing to say. */
export function pendingText(report: Report): string | null {
  const d = report.delivery;
  if (d.classified === undefined) return null;
  if (d.classified === 'none') {
    const why = typeof report.meta?.storeCheck === 'string' ? ` (${report.meta.storeCheck})` : '';
    return d.lost > 0 ? `lost counts every undelivered pair: no store was asked whether it was still in an inbox${why}` : null;
  }
  const parts: string[] = [];
  const age = d.pendingAgeMs;
  if (d.pending > 0) parts.push(`${fmtInt(d.pending)} pending (still in an inbox), age p50 ${fmtMs(age.p50)} ms, oldest ${fmtMs(age.max)} ms`);
  if (d.unclassified > 0) parts.push(`${fmtInt(d.unclassified)} of the lost could not be asked about (no inbox entry on their path, or no mid)`);
  return parts.length > 0 ? `${parts.join('; ')}. ${PENDING_VS_LOST}` : null;
}
