import { drill } from './drill.ts';

/** Every node drained (1001) and restarted, one after another, under load. */
export const rollingRestart = drill('rolling-restart', 'every node drained and restarted one after another under steady load', [
  { fault: 'rolling-restart', at: '15%', duration: '60%' },
]);
