import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { bearer, createApiWorld, storedState, type ApiWorld } from './support/api-world';

let world: ApiWorld;
let dir: string;
let dbFile: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-api-'));
  dbFile = path.join(dir, 'api.sqlite');
  world = await createApiWorld({ databaseUrl: `sqlite:${dbFile}` });
});

afterAll(async () => {
  await world.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const tokensPath = (ws = world.a) => `/api/v1/workspaces/${ws.slug}/tokens`;

function queryRows(sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(dbFile, sqlite3.OPEN_READONLY, (openError) => {
      if (openError) {
        reject(openError);
        return;
      }
      db.all(sql, (error: Error | null, rows: Record<string, unknown>[]) => {
        db.close();
        if (error) reject(error);
        else resolve(rows);
      });
    });
  });
}

describe('POST|GET /workspaces/{ws}/tokens', () => {
  it('shows a new token once; the list shows only its prefix', async () => {
    const created = await world
      .http()
      .post(tokensPath())
      .set(...bearer(world.a))
      .send({ label: 'uploader', scopes: ['read'] });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['created_at', 'id', 'label', 'prefix', 'scopes', 'token']);
    expect(created.body.scopes).toEqual(['read']);
    const { token, prefix, id } = created.body as { token: string; prefix: string; id: string };
    expect(token).toMatch(/^cgw_[A-Za-z0-9_-]{43}$/);
    expect(token.startsWith(prefix)).toBe(true);
    expect(prefix.length).toBeLessThan(token.length / 2);

    const listed = await world
      .http()
      .get(tokensPath())
      .set(...bearer(world.a));
    expect(listed.status).toBe(200);
    const row = (listed.body.tokens as Record<string, unknown>[]).find((item) => item.id === id);
    expect(row).toMatchObject({
      id,
      prefix,
      label: 'uploader',
      scopes: ['read'],
      revoked_at: null,
      created_by: `api_token:${world.a.tokenId}`,
    });
    expect(row).not.toHaveProperty('token');
    expect(JSON.stringify(listed.body)).not.toContain(token);
    expect(JSON.stringify(listed.body)).not.toContain(world.a.token);

    // The new token works at once, for its own workspace only.
    await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/policies`)
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    await world
      .http()
      .get(`/api/v1/workspaces/${world.b.slug}/policies`)
      .set('Authorization', `Bearer ${token}`)
      .expect(403);
  });

  it('stores only a hash of the token: no column of the row and no byte of the database holds the plaintext', async () => {
    const created = await world.http().post(tokensPath()).set('Authorization', `JWT ${world.a.jwt()}`).send();
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    const rows = await queryRows('SELECT * FROM api_tokens');
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const row = rows.find((candidate) => candidate.id === created.body.id);
    expect(row).toBeDefined();
    expect(row?.token_hash).toBe(createHash('sha256').update(token).digest('base64url'));
    for (const candidate of rows)
      for (const value of Object.values(candidate)) expect(String(value)).not.toContain(token.slice(12));
    for (const file of [dbFile, `${dbFile}-wal`]) {
      if (fs.existsSync(file)) expect(fs.readFileSync(file).includes(Buffer.from(token.slice(12)))).toBe(false);
    }
  });

  it('refuses a bad label with 422 at label and creates nothing', async () => {
    const before = await storedState(world.store, world.a.id);
    const response = await world
      .http()
      .post(tokensPath())
      .set(...bearer(world.a))
      .send({ label: 'a\nb', scope: 'all' });
    expect(response.status).toBe(422);
    expect(response.body.error.fields.map((field: { path: string }) => field.path).sort()).toEqual(['label', 'scope']);
    expect(await storedState(world.store, world.a.id)).toEqual(before);
  });

  it('revokes a token: it stops working at once; revoking is audited and idempotent', async () => {
    const created = await world
      .http()
      .post(tokensPath())
      .set(...bearer(world.a))
      .send({});
    const { id, token } = created.body as { id: string; token: string };
    const revoked = await world
      .http()
      .post(`${tokensPath()}/${id}/revoke`)
      .set(...bearer(world.a));
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, revoked_at: expect.any(String) });
    const refused = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/settings`)
      .set('Authorization', `Bearer ${token}`);
    expect(refused.status).toBe(401);
    const again = await world
      .http()
      .post(`${tokensPath()}/${id}/revoke`)
      .set(...bearer(world.a));
    expect(again.status).toBe(200);
    expect(again.body.revoked_at).toBe(revoked.body.revoked_at);
    const events = await world.store.audit.query(world.a.id, { kinds: ['api_token.revoked'] });
    expect(events.filter((event) => event.subject === id)).toHaveLength(1);
  });

  it('rotates a token: a new one shown once with the same label, the old one stops working', async () => {
    const created = await world
      .http()
      .post(tokensPath())
      .set(...bearer(world.a))
      .send({ label: 'ci', scopes: ['admin'] });
    const { id, token } = created.body as { id: string; token: string };
    const rotated = await world.http().post(`${tokensPath()}/${id}/rotate`).set('Authorization', `Bearer ${token}`);
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({
      label: 'ci',
      scopes: ['admin'],
      replaces: id,
      token: expect.stringMatching(/^cgw_/),
    });
    expect(rotated.body.token).not.toBe(token);
    expect(
      (await world.http().get(`/api/v1/workspaces/${world.a.slug}/settings`).set('Authorization', `Bearer ${token}`))
        .status,
    ).toBe(401);
    await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/settings`)
      .set('Authorization', `Bearer ${String(rotated.body.token)}`)
      .expect(200);
    const again = await world
      .http()
      .post(`${tokensPath()}/${id}/rotate`)
      .set(...bearer(world.a));
    expect(again.status).toBe(409);
    expect(
      (
        await world
          .http()
          .post(`${tokensPath()}/${world.b.tokenId}/rotate`)
          .set(...bearer(world.a))
      ).status,
    ).toBe(404);
  });

  it("cannot revoke or list another workspace's tokens", async () => {
    const response = await world
      .http()
      .post(`${tokensPath()}/${world.b.tokenId}/revoke`)
      .set(...bearer(world.a));
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('TOKEN_NOT_FOUND');
    await world
      .http()
      .get(`/api/v1/workspaces/${world.b.slug}/settings`)
      .set(...bearer(world.b))
      .expect(200);
    const listA = await world
      .http()
      .get(tokensPath())
      .set(...bearer(world.a));
    expect(listA.body.tokens.map((item: { id: string }) => item.id)).not.toContain(world.b.tokenId);
    expect(
      (
        await world
          .http()
          .post(`${tokensPath()}/not-a-uuid/revoke`)
          .set(...bearer(world.a))
      ).status,
    ).toBe(404);
  });
});
