import type { Population } from '../population.ts';

/**
 * A node adds only users that exist (have signed in once) to a group:
 * every device of every member, and one device of every phantom, signs in
 * and leaves before the groups are created (so no device of the run is new
 * to the cluster when the run starts). Phantoms then have a device that
 * never comes online, so on the write path they cost an inbox entry per
 * message, as a member who is away does.
 */
export function groupMemberDevices(population: Population): string[] {
  const devices = new Set<string>();
  for (const g of population.groups) {
    for (const u of g.members) for (const d of population.devicesOfUser(u)) devices.add(population.deviceId(d));
    for (const p of g.phantoms) devices.add(`${p}.1`);
  }
  return [...devices];
}

/** Runs `signIn` for every device, `concurrency` at a time. */
export async function signInOnce(devices: readonly string[], signIn: (device: string) => Promise<void>, concurrency = 32): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < devices.length) await signIn(devices[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, devices.length) }, worker));
}
