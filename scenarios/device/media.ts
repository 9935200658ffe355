/**
 * Uploaded media as a message carries it: the text and a reference to an
 * object in the media service (its key is the SHA-256 of the uploaded
 * bytes). With end-to-end encryption the uploaded bytes are sealed
 * (attachment.ts) and the reference also carries the attachment key and
 * digest, inside the encrypted message. The JSON begins `{"media":`, so a
 * device tells it from plain text (and from an inline attachment, which
 * begins `{"text":`) by its first characters.
 */
export interface UploadedMedia {
  key: string;
  sha256: string;
  size: number;
  mime: string;
  /** photo, voice, video, document. */
  kind: string;
  /** The attachment key (base64url), end-to-end encrypted media only. */
  k?: string;
  /** The sealed blob's digest (base64url), end-to-end encrypted media only. */
  digest?: string;
  /** Times it was forwarded before this message (0: the first send). */
  hop?: number;
}

const PREFIX = '{"media":';

/** The plaintext of a message with uploaded media. */
export function mediaMessage(text: string, media: UploadedMedia): string {
  return JSON.stringify({ media, text });
}

/** The media reference of a plaintext, when it carries one (anything else: undefined, never a throw). */
export function uploadedMediaOf(plaintext: string | undefined): UploadedMedia | undefined {
  if (plaintext === undefined || !plaintext.startsWith(PREFIX)) return undefined;
  try {
    const m = (JSON.parse(plaintext) as { media?: Partial<UploadedMedia> }).media;
    if (!m || typeof m.key !== 'string' || typeof m.size !== 'number' || typeof m.kind !== 'string') return undefined;
    return m as UploadedMedia;
  } catch {
    return undefined;
  }
}

/** How fetching a message's media ended, as the user sees it. */
export type MediaOutcome = 'ok' | 'expired' | 'lost';

/**
 * Where a device gets the media of the messages it shows (its CDN edge).
 * `done` is called exactly once, later (never inside `fetch`).
 */
export interface DeviceMedia {
  fetch(device: string, media: UploadedMedia, done: (outcome: MediaOutcome) => void): void;
}

/**
 * The edge (0..edges-1) a device downloads from: its region's, the FNV-1a
 * hash of its user id modulo the number of edges. Every device of a user
 * uses the same edge, in the live worlds and in the sim alike.
 */
export function edgeIndex(device: string, edges: number): number {
  const user = device.slice(0, device.lastIndexOf('.'));
  let h = 2166136261;
  for (let i = 0; i < user.length; i++) h = Math.imul(h ^ user.charCodeAt(i), 16777619);
  return (h >>> 0) % edges;
}
