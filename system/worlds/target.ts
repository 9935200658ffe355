import type { World } from './world.ts';

/** A cluster someone else runs: `--target ws://host:port/ws` (several comma-separated) with its token secret. */
export function targetWorld(target: string, secret: string | undefined, pushUrl?: string): World {
  const urls = target.split(',').map((u) => u.trim()).filter(Boolean);
  for (const u of urls) {
    const host = new URL(u).hostname;
    if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$/.test(host)) {
      throw new Error(`--target ${u}: load runs target loopback only (127.0.0.0/8, ::1, localhost)`);
    }
  }
  if (!secret) throw new Error('--target needs --secret (the cluster token secret, CHATLAB_SECRET) so devices can sign in');
  return {
    kind: 'target',
    nodes: urls.map((url, i) => ({ id: `target-${i + 1}`, url, number: -1 })),
    pushUrl,
    secret,
    control: {},
    stop: async () => {},
  };
}
