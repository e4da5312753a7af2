import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** Bitbucket wraps UUIDs in braces everywhere in its API ("{acf54878-…}"). */
export function bracedUuid(uuid: string = randomUUID()): string {
  return uuid.startsWith('{') ? uuid : `{${uuid}}`;
}

export function stripBraces(uuid: string): string {
  return uuid.replace(/^\{/, '').replace(/\}$/, '');
}

/**
 * A UUID derived from a name, so that objects created by the same script get the same ids on
 * every run (stable demo output, stable snapshots).
 */
export function uuidFromName(namespace: string, name: string): string {
  const hex = createHash('sha256').update(`${namespace}\u0000${name}`).digest('hex');
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Atlassian account ids look like "557058:ca1cd232-…" or "6059303e630024006fab8c2b" (24 hex). */
export function accountIdFromName(name: string): string {
  return createHash('sha256').update(`account\u0000${name}`).digest('hex').slice(0, 24);
}

/** A fresh secret of the kind Bitbucket issues (≤ 128 characters). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
