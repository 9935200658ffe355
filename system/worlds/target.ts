import type { World } from './world.ts';

/**
 * The environment variable that opts in to a `--target` beyond loopback, as
 * `--allow-remote-target` does: `1`, `true` or `yes` (any case) allow;
 * unset, empty, `0`, `false` or `no` do not; anything else is an error.
 */
export const ALLOW_REMOTE_TARGET_ENV = 'CHATLAB_ALLOW_REMOTE_TARGET';

/**
 * Whether a URL's host is loopback as written: 127.0.0.0/8, ::1 or
 * `localhost`. Names are not resolved: a name that resolves to a loopback
 * address still counts as remote (what a name resolves to can change under
 * the run).
 */
export function isLoopbackHost(hostname: string): boolean {
  return /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]|::1)$/i.test(hostname);
}

/**
 * Whether the user opted in to a remote target: the flag, or
 * CHATLAB_ALLOW_REMOTE_TARGET in `env`. A value of the variable that is
 * neither yes nor no is an error rather than a guess.
 */
export function remoteTargetAllowed(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env[ALLOW_REMOTE_TARGET_ENV]?.trim().toLowerCase() ?? '';
  let fromEnv: boolean;
  if (raw === '1' || raw === 'true' || raw === 'yes') fromEnv = true;
  else if (raw === '' || raw === '0' || raw === 'false' || raw === 'no') fromEnv = false;
  else throw new Error(`${ALLOW_REMOTE_TARGET_ENV}=${env[ALLOW_REMOTE_TARGET_ENV]}: expected 1, true or yes (allow a --target beyond loopback), or 0, false, no or empty`);
  return flag === true || fromEnv;
}

/**
 * Splits and checks `--target` (comma-separated ws:// or wss:// URLs). The
 * policy: loopback hosts are always allowed; any other host only when the
 * user opted in (`allowRemote`: `--allow-remote-target` or
 * CHATLAB_ALLOW_REMOTE_TARGET=1), because a load run against a host by
 * mistake is a denial of service on someone else's machine. Returns the
 * URLs, or throws naming the first refused one and how to opt in.
 */
export function checkTargets(target: string, allowRemote: boolean): string[] {
  const urls = target.split(',').map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) throw new Error('--target: no URL given (expected ws://host:port/ws, several comma-separated)');
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new Error(`--target ${u}: not a URL (expected ws://host:port/ws)`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`--target ${u}: expected a ws:// or wss:// URL`);
    if (!allowRemote && !isLoopbackHost(url.hostname)) {
      throw new Error(
        `--target ${u}: ${url.hostname} is not loopback; load runs target loopback only (127.0.0.0/8, ::1, localhost) ` +
          `unless you opt in for a cluster you are allowed to load: add --allow-remote-target or set ${ALLOW_REMOTE_TARGET_ENV}=1`,
      );
    }
  }
  return urls;
}

/** Whether any of the checked target URLs names a host beyond loopback. */
export function hasRemoteTarget(urls: readonly string[]): boolean {
  return urls.some((u) => !isLoopbackHost(new URL(u).hostname));
}

/**
 * A cluster someone else runs: `--target ws://host:port/ws` (several
 * comma-separated) with its token secret. Hosts beyond loopback need
 * `allowRemote` (checkTargets).
 */
export function targetWorld(target: string, secret: string | undefined, pushUrl?: string, opts: { allowRemote?: boolean } = {}): World {
  const urls = checkTargets(target, opts.allowRemote === true);
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
