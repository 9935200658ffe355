import { drill } from './drill.ts';

/**
 * node-2 is killed at 30% of the run and brought back at 60%. Its devices
 * reconnect to the survivors and drain their inboxes.
 */
export const nodeFailure = drill('node-failure', 'steady chat on 3 nodes; node-2 killed at 30% of the run, back at 60%', [
  { fault: 'node-kill', target: 'node-2', at: '30%', duration: '30%' },
]);
