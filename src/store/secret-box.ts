import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Tenant secrets at rest: AES-256-GCM with a 96-bit random IV per value.
 * Sealed form: `v1:<kid>:<iv b64u>:<ciphertext||tag b64u>`. The key id is derived from the key
 * itself, so rotation needs no extra configuration: the box decrypts with any key it holds
 * (current or previous) and always encrypts with the current one.
 * Every value is bound to a context string (table, column, row identity) as GCM associated data,
 * so a ciphertext copied into another row or column does not decrypt.
 */

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = 'v1';
const PASSPHRASE_MIN_LENGTH = 16;
/** Fixed salt: HKDF here only stretches a high-entropy passphrase into a key; it is not a password hash. */
const PASSPHRASE_SALT = 'clawgate/secret-box/v1';
const PASSPHRASE_INFO = 'aes-256-gcm key';

/** File the development fallback key is written to, inside the data directory. */
export const GENERATED_SECRET_KEY_FILE = 'clawgate-secret.key';

export class SecretKeyError extends Error {
  override readonly name = 'SecretKeyError';
}

export class SecretDecryptionError extends Error {
  override readonly name = 'SecretDecryptionError';
}

/**
 * `CLAWGATE_SECRET_KEY` forms: 64 hex characters, or base64/base64url of exactly 32 bytes;
 * anything else of at least 16 characters is a passphrase run through HKDF-SHA256.
 */
export function parseSecretKey(material: string): Buffer {
  const text = material.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const decoded = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (decoded.length === KEY_BYTES) return decoded;
  }
  if (text.length < PASSPHRASE_MIN_LENGTH) {
    throw new SecretKeyError(
      `secret key must be 32 bytes as 64 hex characters or base64, or a passphrase of at least ${PASSPHRASE_MIN_LENGTH} characters`,
    );
  }
  return Buffer.from(hkdfSync('sha256', Buffer.from(text, 'utf8'), PASSPHRASE_SALT, PASSPHRASE_INFO, KEY_BYTES));
}

/** A short, non-secret identifier of a key: the first 48 bits of a domain-separated SHA-256. */
export function secretKeyId(key: Uint8Array): string {
  return createHash('sha256')
    .update('clawgate/secret-key-id/v1\0')
    .update(key)
    .digest()
    .subarray(0, 6)
    .toString('base64url');
}

function toKey(material: Uint8Array | string): Buffer {
  const key = typeof material === 'string' ? parseSecretKey(material) : Buffer.from(material);
  if (key.length !== KEY_BYTES) throw new SecretKeyError(`secret key must be ${KEY_BYTES} bytes`);
  return key;
}

function associatedData(kid: string, context: string): Buffer {
  return Buffer.from(`clawgate/secret-box/${FORMAT_VERSION}\0${kid}\0${context}`, 'utf8');
}

export class SecretBox {
  readonly #keys = new Map<string, Buffer>();
  readonly #currentKid: string;

  constructor(current: Uint8Array | string, previous: ReadonlyArray<Uint8Array | string> = []) {
    const currentKey = toKey(current);
    this.#currentKid = secretKeyId(currentKey);
    this.#keys.set(this.#currentKid, currentKey);
    for (const material of previous) {
      const key = toKey(material);
      const kid = secretKeyId(key);
      if (!this.#keys.has(kid)) this.#keys.set(kid, key);
    }
  }

  get currentKeyId(): string {
    return this.#currentKid;
  }

  seal(plaintext: string, context: string): string {
    const key = this.#keys.get(this.#currentKid) as Buffer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(associatedData(this.#currentKid, context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${FORMAT_VERSION}:${this.#currentKid}:${iv.toString('base64url')}:${body.toString('base64url')}`;
  }

  /** Throws SecretDecryptionError (never including the value) on any malformed, unknown-key or tampered input. */
  open(sealed: string, context: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 4 || parts[0] !== FORMAT_VERSION)
      throw new SecretDecryptionError('sealed secret has an unknown format');
    const [, kid, ivText, bodyText] = parts as [string, string, string, string];
    const key = this.#keys.get(kid);
    if (key === undefined) throw new SecretDecryptionError(`sealed secret uses key id ${kid}, which is not configured`);
    const iv = Buffer.from(ivText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    if (iv.length !== IV_BYTES || body.length < TAG_BYTES)
      throw new SecretDecryptionError('sealed secret is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(associatedData(kid, context));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new SecretDecryptionError('sealed secret failed authentication');
    }
  }

  /** True when the value was sealed under a key other than the current one. */
  isSealedWithOldKey(sealed: string): boolean {
    return sealed.split(':')[1] !== this.#currentKid;
  }
}

export interface SecretKeyEnvironment {
  readonly CLAWGATE_SECRET_KEY?: string | undefined;
  /** Comma-separated keys that may still decrypt stored values (rotation); never used to encrypt. */
  readonly CLAWGATE_SECRET_KEY_PREVIOUS?: string | undefined;
  readonly NODE_ENV?: string | undefined;
}

export interface LoadedSecretKeys {
  readonly current: Buffer;
  readonly previous: Buffer[];
  readonly source: 'environment' | 'generated-file';
  /** Path of the generated key file when `source` is `generated-file`. */
  readonly file?: string;
  /** Messages for the caller to log at warn level; they never contain key material. */
  readonly warnings: string[];
}

/**
 * Resolves the secret keys at startup. With `CLAWGATE_SECRET_KEY` set, uses it. Without it:
 * in production (NODE_ENV=production) this is a startup error; elsewhere a random key is
 * generated once into `<dataDir>/clawgate-secret.key` (mode 0600) and reused on later starts,
 * with a warning, so a developer's install survives restarts without configuration.
 */
export function loadOrCreateSecretKey(dataDir: string, env: SecretKeyEnvironment): LoadedSecretKeys {
  const previous = (env.CLAWGATE_SECRET_KEY_PREVIOUS ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => parseSecretKey(item));

  const configured = env.CLAWGATE_SECRET_KEY?.trim();
  if (configured !== undefined && configured !== '') {
    return { current: parseSecretKey(configured), previous, source: 'environment', warnings: [] };
  }
  if (env.NODE_ENV === 'production') {
    throw new SecretKeyError(
      'CLAWGATE_SECRET_KEY is required when NODE_ENV=production (32 bytes as 64 hex characters or base64)',
    );
  }

  const file = path.resolve(dataDir, GENERATED_SECRET_KEY_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let created = false;
  try {
    // 'wx' fails if the file exists, so two processes starting at once cannot both write a key.
    fs.writeFileSync(file, `${randomBytes(KEY_BYTES).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const current = parseSecretKey(fs.readFileSync(file, 'utf8'));
  const warning = created
    ? `CLAWGATE_SECRET_KEY is not set: generated a secret key into ${file}. Set CLAWGATE_SECRET_KEY in production; whoever can read that file can decrypt tenant secrets.`
    : `CLAWGATE_SECRET_KEY is not set: using the generated secret key in ${file}. Set CLAWGATE_SECRET_KEY in production.`;
  return { current, previous, source: 'generated-file', file, warnings: [warning] };
}
