import { writeSync } from 'node:fs';

/** The prefix of the stderr line a cluster process writes when an exception or rejection escapes. */
export const CRASH_LINE = 'chatlab-crash ';

/**
 * Reports every exception or promise rejection that escapes to the process
 * (one JSON line on stderr, written synchronously so it survives the exit)
 * without handling it: the process still dies as it would have, and a
 * benchmark watching it sees both the exit and its cause.
 */
export function reportEscapes(): void {
  process.on('uncaughtExceptionMonitor', (err, origin) => {
    const e = err as Error | undefined;
    writeSync(2, `${CRASH_LINE}${JSON.stringify({ origin, name: e?.name, message: e?.message ?? String(err), stack: e?.stack?.split('\n').slice(0, 8).join('\n') })}\n`);
  });
}
