import { drillFile } from './scenarios/drills/drill-file.ts';
import { runLive } from './scenarios/engine/live/live.ts';
import { renderTerminal } from './reports/render-terminal.ts';
const file = drillFile('reinstall', [], { population: { devices: 60, devicesPerUser: 1 }, social: { contactsPerUser: 5, groups: [] }, timeline: [{ at: '1s', action: 'reinstall', share: 0.2 }] });
for (const seed of [7, 8, 9]) {
const { report } = await runLive({ scenario: file, world: 'embedded', seed, outDir: '/tmp/dbg2', progress: false, log: () => {}, overrides: { duration: '4s', rate: 60, warmup: '0s' } });
console.log(renderTerminal(report).split('\n').filter((l) => /messages:|errors:|undecryptable  |identity|resent|FAIL/.test(l)).join('\n'));
}
