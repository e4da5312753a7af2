import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { User, Workspace } from './model';

/**
 * The sandbox's OAuth 2.0 authorization server (bitbucket.org/site/oauth2/…), enough for "Sign in with
 * Bitbucket" (docs/sign-in.md) to be tested end to end:
 * - consumers, created in a workspace with a callback URL (Workspace settings → OAuth consumers);
 * - authorization codes: single use, 10 minutes, bound to the consumer, the user and the PKCE
 *   challenge. Unlike Bitbucket (where PKCE support is UNCONFIRMED) the sandbox REQUIRES PKCE S256,
 *   so a client that forgets it or sends the wrong verifier fails here;
 * - user access tokens (`Authorization: Bearer`), 2 hours, that reach only `/2.0/user…` (who the user
 *   is and what they may see) — the sandbox's other routes answer 403 to them.
 */

export interface OAuthConsumerRecord {
  readonly key: string;
  readonly secret: string;
  readonly workspace: Workspace;
  readonly callbackUrl: string;
  readonly scopes: readonly string[];
}

interface CodeRecord {
  readonly consumer: OAuthConsumerRecord;
  readonly user: User;
  readonly challenge: string;
  readonly redirectUri: string | null;
  readonly expiresAt: number;
  used: boolean;
}

export interface UserTokenRecord {
  readonly user: User;
  readonly consumer: OAuthConsumerRecord;
  readonly scopes: readonly string[];
  readonly expiresAt: number;
}

export const SANDBOX_CODE_LIFETIME_MS = 10 * 60 * 1000;
export const SANDBOX_USER_TOKEN_LIFETIME_SECONDS = 2 * 60 * 60;

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(sha256(a));
  const y = Buffer.from(sha256(b));
  return timingSafeEqual(x, y) && a.length === b.length;
}

export class OAuthProvider {
  private readonly consumers = new Map<string, OAuthConsumerRecord>();
  private readonly codes = new Map<string, CodeRecord>();
  private readonly tokens = new Map<string, UserTokenRecord>();
  /** Token requests refused, with the reason (tests assert on them). */
  readonly refusals: { reason: string; at: number }[] = [];

  constructor(private readonly now: () => number) {}

  createConsumer(
    workspace: Workspace,
    input: { callbackUrl: string; scopes?: readonly string[] },
  ): { key: string; secret: string } {
    const key = randomBytes(12).toString('base64url');
    const secret = randomBytes(24).toString('base64url');
    this.consumers.set(key, {
      key,
      secret,
      workspace,
      callbackUrl: input.callbackUrl,
      scopes: [...(input.scopes ?? ['account', 'repository'])],
    });
    return { key, secret };
  }

  consumer(key: string): OAuthConsumerRecord | undefined {
    return this.consumers.get(key);
  }

  /** The user approved: a code for the consumer's callback. */
  issueCode(consumer: OAuthConsumerRecord, user: User, challenge: string, redirectUri: string | null): string {
    const code = randomBytes(18).toString('base64url');
    this.codes.set(code, {
      consumer,
      user,
      challenge,
      redirectUri,
      expiresAt: this.now() + SANDBOX_CODE_LIFETIME_MS,
      used: false,
    });
    return code;
  }

  /** `grant_type=authorization_code`: the code (once), the consumer's secret and the PKCE verifier. */
  exchange(input: {
    clientId: string;
    clientSecret: string;
    code: string;
    verifier: string | undefined;
    redirectUri: string | undefined;
  }): { token: string; record: UserTokenRecord } | { error: string; description: string } {
    const refuse = (error: string, description: string) => {
      this.refusals.push({ reason: description, at: this.now() });
      return { error, description };
    };
    const consumer = this.consumers.get(input.clientId);
    if (consumer === undefined || !equal(consumer.secret, input.clientSecret))
      return refuse('invalid_client', 'Invalid OAuth client credentials');
    const code = this.codes.get(input.code);
    if (code === undefined || code.consumer.key !== consumer.key)
      return refuse('invalid_grant', 'The authorization code is invalid');
    if (code.used) {
      // A replayed code: RFC 6749 §4.1.2 says the server SHOULD revoke what the code granted.
      for (const [token, record] of this.tokens)
        if (record.user === code.user && record.consumer === consumer) this.tokens.delete(token);
      return refuse('invalid_grant', 'The authorization code has already been used');
    }
    code.used = true;
    if (code.expiresAt <= this.now()) return refuse('invalid_grant', 'The authorization code has expired');
    if (code.redirectUri !== null && code.redirectUri !== input.redirectUri)
      return refuse('invalid_grant', 'redirect_uri does not match');
    const verifier = input.verifier ?? '';
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier))
      return refuse('invalid_grant', 'code_verifier missing or malformed');
    const derived = createHash('sha256').update(verifier, 'ascii').digest('base64url');
    if (!equal(derived, code.challenge))
      return refuse('invalid_grant', 'code_verifier does not match the code_challenge');
    const token = `sbx_user_${randomBytes(24).toString('base64url')}`;
    const record: UserTokenRecord = {
      user: code.user,
      consumer,
      scopes: consumer.scopes,
      expiresAt: this.now() + SANDBOX_USER_TOKEN_LIFETIME_SECONDS * 1000,
    };
    this.tokens.set(sha256(token), record);
    return { token, record };
  }

  /** A live user token, or undefined. */
  userToken(token: string): UserTokenRecord | undefined {
    const record = this.tokens.get(sha256(token));
    return record !== undefined && record.expiresAt > this.now() ? record : undefined;
  }

  /** Revokes every token of a user (tests: the user lost access). */
  revokeUserTokens(user: User): void {
    for (const [token, record] of this.tokens) if (record.user === user) this.tokens.delete(token);
  }
}
