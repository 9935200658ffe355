import type { Behaviour, PickContext } from '../scenario.ts';

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
