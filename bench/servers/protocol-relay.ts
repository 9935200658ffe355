/**
 * The floor for bench:driver: a relay that speaks just enough of chatlab's
 * protocol (docs/protocol.md) for the scenario driver to run unchanged —
 * `hello` → `welcome` + `drained`, `send` → `ack` and a `msg` to every
 * connected device of the recipients, `recv` of a direct message → a
 * delivered `receipt` to the sender's devices, `read` → a read `receipt`,
 * `group.create`, `ping` — and nothing else: no stores, no dedup, no inbox
 * (a device that is not connected misses what is sent to it), no limits.
 * Its own work per frame is a JSON parse and a few map lookups, so what a
 * run against it measures is the driver and the loopback path: the latency
 * the driver adds to every run.
 *
 * Forked with `--import tsx`; env BENCH_SECRET is the token secret. Reports
 * `{t: 'ready', urls}` over IPC; exits when the parent goes away.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { TokenIssuer } from '../../system/auth/tokens.ts';
import { WallClock } from '../../system/clock/clock-wall.ts';
import { Snowflake } from '../../system/node/snowflake.ts';

interface Conn { ws: WebSocket; device?: string; user?: string }
type Frame = Record<string, unknown> & { t?: unknown };

const clock = new WallClock();
const tokens = new TokenIssuer(process.env.BENCH_SECRET ?? '', clock);
const ids = new Snowflake(clock, 1);
const byUser = new Map<string, Set<Conn>>();
const groups = new Map<string, string[]>();
const seqs = new Map<string, number>();
/** Direct messages awaiting their recipients' `recv`: mid → [conv, sender user]. Bounded: the oldest go first. */
const direct = new Map<string, [string, string]>();
const DIRECT_MAX = 200_000;

const send = (c: Conn, f: object) => c.ws.send(JSON.stringify(f));

function toUsers(users: Iterable<string>, f: object, except?: Conn): void {
  const text = JSON.stringify(f);
  for (const u of users) for (const c of byUser.get(u) ?? []) if (c !== except) c.ws.send(text);
}

function onFrame(c: Conn, f: Frame): void {
  if (f.t === 'hello') {
    const claims = tokens.verify(String(f.token));
    if (!claims.ok) return void c.ws.close(4401, 'unauthorized');
    c.device = claims.claims.device;
    c.user = claims.claims.user;
    let set = byUser.get(c.user);
    if (!set) byUser.set(c.user, (set = new Set()));
    set.add(c);
    send(c, { t: 'welcome', node: 'relay', device: c.device, serverMs: clock.now() });
    return send(c, { t: 'drained', count: 0 });
  }
  if (!c.user || !c.device) return;
  switch (f.t) {
    case 'send': {
      const to = String(f.to);
      const group = to.startsWith('g:');
      const conv = group ? to : c.user < to ? `d:${c.user}:${to}` : `d:${to}:${c.user}`;
      const seq = (seqs.get(conv) ?? 0) + 1;
      seqs.set(conv, seq);
      const mid = ids.next();
      const ts = clock.now();
      send(c, { t: 'ack', cid: f.cid, mid, seq, conv, ts });
      const msg = { t: 'msg', mid, seq, conv, from: c.device, body: f.body, ts, cid: f.cid };
      if (!group) {
        if (direct.size >= DIRECT_MAX) direct.delete(direct.keys().next().value!);
        direct.set(mid, [conv, c.user]);
      }
      return toUsers(group ? (groups.get(to.slice(2)) ?? []) : [to, c.user], msg, c);
    }
    case 'recv': {
      for (const id of Array.isArray(f.ids) ? f.ids : []) {
        const d = direct.get(String(id));
        if (!d || d[1] === c.user) continue;
        direct.delete(String(id)); // one recipient device per user in the runs it serves: its ack is the only one
        toUsers([d[1]], { t: 'receipt', id: ids.next(), kind: 'delivered', conv: d[0], by: c.device, mid: id, ts: clock.now() });
      }
      return;
    }
    case 'read': {
      const conv = String(f.conv);
      if (!conv.startsWith('d:')) return;
      const [, a, b] = conv.split(':');
      toUsers([a === c.user ? b! : a!, c.user], { t: 'receipt', id: ids.next(), kind: 'read', conv, by: c.device, upTo: f.upTo, ts: clock.now() }, c);
      return;
    }
    case 'group.create': {
      const gid = typeof f.gid === 'string' ? f.gid : ids.next();
      const members = [...new Set([c.user, ...(Array.isArray(f.members) ? f.members.map(String) : [])])];
      groups.set(gid, members);
      return send(c, { t: 'group', gid, name: f.name, members, fanout: 'write' });
    }
    case 'ping':
      return send(c, { t: 'pong', serverMs: clock.now() });
    default:
  }
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, clientTracking: false, perMessageDeflate: false });
wss.on('connection', (ws) => {
  const c: Conn = { ws };
  ws.on('message', (data) => {
    let f: Frame;
    try {
      f = JSON.parse(data.toString()) as Frame;
    } catch {
      return;
    }
    if (typeof f === 'object' && f !== null) onFrame(c, f);
  });
  ws.on('close', () => {
    if (c.user) byUser.get(c.user)?.delete(c);
  });
});
wss.on('listening', () => {
  const port = (wss.address() as { port: number }).port;
  process.send?.({ t: 'ready', urls: [`ws://127.0.0.1:${port}/ws`] });
});
process.on('disconnect', () => process.exit(0));
