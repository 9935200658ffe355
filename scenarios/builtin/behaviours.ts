import type { Behaviour, PickContext, Scenario } from '../scenario.ts';

function anySender(ctx: PickContext): number | undefined {
  const s = ctx.onlineSenders;
  return s.length === 0 ? undefined : s[ctx.random.int(s.length)];
}

/** 1:1 with a contact, or (with probability `groupShare`) a message to one of the sender's groups. */
export function chat(groupShare: number): Behaviour {
  return (ctx) => {
    const from = anySender(ctx);
    if (from === undefined) return undefined;
    const user = ctx.userOf(from);
    const groups = ctx.groupsOf(user);
    if (groups.length > 0 && ctx.random.next() < groupShare) return { from, to: `g:${groups[ctx.random.int(groups.length)]}` };
    const contacts = ctx.contactsOf(user);
    if (contacts.length === 0) return undefined;
    return { from, to: ctx.userId(contacts[ctx.random.int(contacts.length)]!) };
  };
}

/** A message to a group the sender belongs to, cycling over the population's groups. */
export const groupPost: Behaviour = (ctx) => {
  if (ctx.groups.length === 0) return undefined;
  const gid = ctx.groups[ctx.random.int(ctx.groups.length)]!;
  const senders = ctx.onlineSenders.filter((d) => ctx.groupsOf(ctx.userOf(d)).includes(gid));
  if (senders.length === 0) return undefined;
  return { from: senders[ctx.random.int(senders.length)]!, to: `g:${gid}` };
};

/** A message from an online device to a user whose devices are offline (building up inboxes). */
export function toOffline(cohort: string): Behaviour {
  return (ctx) => {
    const from = anySender(ctx);
    const offline = ctx.offlineUsers(cohort);
    if (from === undefined || offline.length === 0) return undefined;
    const to = offline[ctx.random.int(offline.length)]!;
    return to === ctx.userOf(from) ? undefined : { from, to: ctx.userId(to) };
  };
}

/** A story: an online device posts one for its contacts (fan-out on read: one write). */
export const storyPost: Behaviour = (ctx) => {
  const from = anySender(ctx);
  return from === undefined ? undefined : { from, to: '', action: 'story-post' };
};

/** An online device opens the stories tab: lists its contacts' stories and views the new ones. */
export const storyView: Behaviour = (ctx) => {
  const from = anySender(ctx);
  return from === undefined ? undefined : { from, to: '', action: 'story-view' };
};

/** A call: an online device calls one of its contacts (or a few, `behaviour.calls.groupShare`). */
export const call: Behaviour = (ctx) => {
  const from = anySender(ctx);
  return from === undefined ? undefined : { from, to: '', action: 'call' };
};

/**
 * Calls as an evening's: a third video; five minutes median scaled down to
 * seconds so a run of a minute holds many (median 8 s, 90th percentile
 * 20 s, at most 30 s); 70% answered, 10% declined, the rest ring out after
 * 15 s; picked up in 1–4 s; half the users behind a symmetric NAT, so about
 * a quarter of calls (both ends symmetric) are relayed; one call in ten
 * rings a small group.
 */
export const DEFAULT_CALL_BEHAVIOUR: NonNullable<Scenario['behaviour']['calls']> = {
  videoShare: 0.3,
  durationS: { median: 8, p90: 20, max: 30 },
  answer: 0.7,
  reject: 0.1,
  pickUpMs: { min: 1000, max: 4000 },
  symmetricNat: 0.5,
  groupShare: 0.1,
  groupSize: 4,
  ringMs: 15_000,
};
