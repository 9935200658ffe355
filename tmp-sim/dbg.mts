import { Population } from '../scenarios/population.ts';
import { steadyChat } from '../scenarios/builtin/steady-chat.ts';
const p = new Population({ ...steadyChat, population: { devices: 200, devicesPerUser: 1 } }, 1, 's1');
console.log('u98 in background cohort', p.inCohort(98, 'background', 0.05));
