import type { World } from '../scenarios/engine/worlds.ts';

/**
 * Fault kinds: each is a small unit with a target selector, applied at a
 * point of the run and (with a duration) reverted afterwards. A fault names
 * the world controls it needs, so a schedule that cannot apply in the chosen
 * world is an error before the run starts, never a silent no-op.
 */
export interface FaultKind {
  description: string;
  /** World controls this fault uses. */
  needs: (keyof World['control'])[];
  /** Applies the fault; returns the revert (undefined when the fault has no end). */
  apply(world: World, target: number): Promise<(() => Promise<void>) | undefined>;
  /** Whether the fault needs a duration (a revert) to make sense. */
  durationRequired?: boolean;
}

export const faultKinds: Record<string, FaultKind> = {
  'node-kill': {
    description: 'crash a chat node (SIGKILL; embedded: sockets cut, in-flight work dropped); restarted after the duration if one is given',
    needs: ['killNode', 'restartNode'],
    async apply(world, target) {
      await world.control.killNode!(target);
      return () => world.control.restartNode!(target);
    },
  },
  'node-stop': {
    description: 'graceful drain-and-restart: the node tells its devices to go (1001) and stops; restarted after the duration',
    needs: ['stopNode', 'restartNode'],
    async apply(world, target) {
      await world.control.stopNode!(target);
      return () => world.control.restartNode!(target);
    },
  },
  'node-pause': {
    description: 'freeze a node process (SIGSTOP, then SIGCONT after the duration)',
    needs: ['pauseNode', 'resumeNode'],
    durationRequired: true,
    async apply(world, target) {
      await world.control.pauseNode!(target);
      return () => world.control.resumeNode!(target);
    },
  },
  'rolling-restart': {
    description: 'every node stopped gracefully and restarted, one after another, the duration spread over them',
    needs: ['stopNode', 'restartNode'],
    async apply() {
      return undefined;
    },
  },
};
