/**
 * The kinds of uploaded media and their default sizes. The figures are
 * public ones for a messenger that compresses before upload:
 * - photo: a phone photo re-encoded as JPEG at ~1600 px on its long side is
 *   ~100–300 KB;
 * - voice: Opus speech at ~8–16 kbit/s is ~60–120 KB a minute, and most
 *   voice notes last from a few seconds to a minute: ~10–120 KB;
 * - video: clips re-encoded at ~0.7–1.5 Mbit/s for 10–30 s: ~1–6 MB;
 * - document: PDFs and office files as people send them, ~50 KB–2 MB.
 * The weights (which share of media messages is which kind) are a steady
 * chat's mix: mostly photos, then voice notes, few videos and documents.
 */
export const MEDIA_KINDS = {
  photo: { mime: 'image/jpeg', weight: 0.6, bytes: { min: 100_000, max: 300_000 } },
  voice: { mime: 'audio/ogg', weight: 0.25, bytes: { min: 10_000, max: 120_000 } },
  video: { mime: 'video/mp4', weight: 0.1, bytes: { min: 1_000_000, max: 6_000_000 } },
  document: { mime: 'application/pdf', weight: 0.05, bytes: { min: 50_000, max: 2_000_000 } },
} as const;

export type MediaKind = keyof typeof MEDIA_KINDS;
export const MEDIA_KIND_NAMES = Object.keys(MEDIA_KINDS) as MediaKind[];

/** A scenario's mix: per kind, its weight and size range. */
export type MediaMix = Partial<Record<MediaKind, { weight: number; bytes: { min: number; max: number } }>>;

/** The kind and size of one media message, from the mix (defaults where it says nothing), with `r` uniform in [0, 1) twice. */
export function pickMedia(mix: MediaMix | undefined, r1: number, r2: number): { kind: MediaKind; mime: string; bytes: number } {
  const kinds = MEDIA_KIND_NAMES.map((k) => ({ kind: k, ...MEDIA_KINDS[k], ...(mix?.[k] ?? {}) })).filter((k) => k.weight > 0);
  const total = kinds.reduce((n, k) => n + k.weight, 0);
  let acc = 0;
  const pick = kinds.find((k) => r1 * total < (acc += k.weight)) ?? kinds[kinds.length - 1]!;
  return { kind: pick.kind, mime: MEDIA_KINDS[pick.kind].mime, bytes: Math.round(pick.bytes.min + r2 * (pick.bytes.max - pick.bytes.min)) };
}
