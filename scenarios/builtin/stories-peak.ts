import type { Scenario } from '../scenario.ts';
import { chat, storyPost, storyView } from './behaviours.ts';
import { steadyChat } from './steady-chat.ts';

/**
 * New year's midnight for stories: posts climb to ten times their evening
 * rate and fall back, and views (each device listing its contacts' stories
 * and viewing the new ones) follow a few seconds behind, while a steady
 * chat runs beside them. A post is one write, a view a read of each contact's
 * stories (fan-out on read); posters see their views come in as receipts.
 * A fifth of the stories and messages carry a photo or a video (uploaded
 * media), which viewers download from their CDN edge.
 */
export const storiesPeak: Scenario = {
  ...steadyChat,
  name: 'stories-peak',
  description: 'a new-year peak of story posts (x10) and views, fan-out on read, with view receipts to the posters, beside a steady chat',
  population: { devices: 400, devicesPerUser: 1 },
  social: { contactsPerUser: 15, groups: [{ count: 20, members: 8 }] },
  behaviour: {
    ...steadyChat.behaviour,
    uploads: { share: 0.2, kinds: { photo: { weight: 0.7, bytes: { min: 100_000, max: 300_000 } }, video: { weight: 0.3, bytes: { min: 500_000, max: 1_500_000 } }, voice: { weight: 0, bytes: { min: 1, max: 1 } }, document: { weight: 0, bytes: { min: 1, max: 1 } } } },
  },
  exec: { chat: chat(0.2), post: storyPost, view: storyView },
  options: {
    scenarios: {
      chat: { executor: 'constant-arrival-rate', rate: 50, timeUnit: '1s', duration: '30s', exec: 'chat' },
      posts: { executor: 'ramping-arrival-rate', startRate: 2, timeUnit: '1s', stages: [{ target: 20, duration: '10s' }, { target: 20, duration: '5s' }, { target: 2, duration: '15s' }], exec: 'post' },
      views: { executor: 'ramping-arrival-rate', startRate: 5, timeUnit: '1s', startTime: '3s', stages: [{ target: 60, duration: '10s' }, { target: 60, duration: '7s' }, { target: 5, duration: '10s' }], exec: 'view' },
    },
    thresholds: {
      lost: ['count==0'],
      duplicated_visible: ['count==0'],
      undecryptable: ['count==0'],
      messages_failed: ['count==0'],
      e2e_latency: ['p(99)<1000'],
    },
  },
  timeline: [],
  graceMs: 10_000,
  lateMs: 5000,
};
