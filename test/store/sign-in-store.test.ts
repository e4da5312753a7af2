import { parseDatabaseUrl } from '../../src/config/database';
import type { Store } from '../../src/store';
import { connectDatabase } from '../../src/store/database';
import { backendsUnderTest } from './support/postgres';
import { BackendDatabase, newWorkspaceId } from './support/store-fixture';

/**
 * What Sign in with Bitbucket keeps (src/store/sign-in.ts), on SQLite and PostgreSQL: a sign-in state
 * is used at most once even when two callbacks race, expires, and is stored only as hashes and
 * sealed values; sessions are proven by their cookie secret and end on revocation or expiry;
 * secrets never sit in the database in the clear.
 */
describe.each(backendsUnderTest('sign-in-store.test'))('sign-in store on %s', (backend) => {
  const database = new BackendDatabase(backend, 'signin', true);
  let store: Store;

  beforeAll(async () => {
    await database.setUp();
    store = await database.open();
  });
  afterAll(async () => {
    await store?.close();
    await database.tearDown();
  });

  /** The table as stored (a second connection, as someone with the database but not the key would read it). */
  async function rawRows(table: string): Promise<string> {
    const raw = await connectDatabase(parseDatabaseUrl(database.url));
    try {
      const [rows] = await raw.sequelize.query(`SELECT * FROM ${table}`);
      return JSON.stringify(rows);
    } finally {
      await raw.close();
    }
  }

  test('a state is consumed once, even by racing callbacks, and not after it expired', async () => {
    const ws = newWorkspaceId();
    const now = new Date();
    await store.signIns.createState(ws, {
      state: 'state-one',
      binding: 'bind-one',
      codeVerifier: 'v'.repeat(43),
      returnPath: '/connect/configure',
      expiresAt: new Date(now.getTime() + 60_000),
    });
    const results = await Promise.all([
      store.signIns.consumeState('state-one', now),
      store.signIns.consumeState('state-one', now),
      store.signIns.consumeState('state-one', now),
    ]);
    expect(results.filter((result) => result !== null)).toHaveLength(1);
    const winner = results.find((result) => result !== null);
    expect(winner?.codeVerifier.reveal()).toBe('v'.repeat(43));
    await store.signIns.createState(ws, {
      state: 'state-two',
      binding: 'bind-two',
      codeVerifier: 'w'.repeat(43),
      returnPath: '/connect/configure',
      expiresAt: new Date(now.getTime() + 60_000),
    });
    expect(await store.signIns.consumeState('state-two', new Date(now.getTime() + 61_000))).toBeNull();
    expect(await store.signIns.consumeState('never-issued', now)).toBeNull();
  });

  test('sessions are proven by their cookie, end when revoked or expired, and keep no secret in the clear', async () => {
    const ws = newWorkspaceId();
    const now = new Date();
    const { session, cookie } = await store.signIns.createSession(ws, {
      accountUuid: '{0f0e0d0c-0b0a-4909-8807-060504030201}',
      userToken: 'bitbucket-user-token-xyz',
      expiresAt: new Date(now.getTime() + 60_000),
    });
    expect((await store.signIns.sessionByCookie(cookie, now))?.id).toBe(session.id);
    expect(await store.signIns.sessionByCookie(`${session.id}.wrong-secret`, now)).toBeNull();
    expect(await store.signIns.sessionByCookie(cookie, new Date(now.getTime() + 61_000))).toBeNull();
    expect(
      (await store.signIns.newestLiveSession(ws, '{0F0E0D0C-0B0A-4909-8807-060504030201}', now))?.userToken.reveal(),
    ).toBe('bitbucket-user-token-xyz');
    expect(
      await store.signIns.newestLiveSession(newWorkspaceId(), '{0f0e0d0c-0b0a-4909-8807-060504030201}', now),
    ).toBeNull();
    await store.oauthConsumers.set(ws, { consumerKey: 'key', consumerSecret: 'consumer-secret-abc', actor: 'test' });
    const dump =
      (await rawRows('oauth_sessions')) + (await rawRows('oauth_consumers')) + (await rawRows('oauth_sign_in_states'));
    for (const secret of [
      'bitbucket-user-token-xyz',
      'consumer-secret-abc',
      cookie.split('.')[1] ?? '',
      'v'.repeat(43),
      'state-one',
    ])
      expect(dump).not.toContain(secret);
    expect(await store.signIns.revokeSession(ws, session.id)).toBe(true);
    expect(await store.signIns.sessionByCookie(cookie, now)).toBeNull();
    // Removing the consumer ends every live session of the workspace.
    const second = await store.signIns.createSession(ws, {
      accountUuid: '{0f0e0d0c-0b0a-4909-8807-060504030201}',
      userToken: 't',
      expiresAt: new Date(now.getTime() + 60_000),
    });
    expect(await store.oauthConsumers.remove(ws, 'test')).toBe(true);
    expect(await store.signIns.liveSession(second.session.id, now)).toBeNull();
  });
});
