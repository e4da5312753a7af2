import express, { Router } from 'express';
import pino from 'pino';
import request from 'supertest';
import { access, ACCESS, authenticate } from '../../src/http/authenticate';
import { APP_BASE_URL, bearer, createApiWorld, type ApiWorld } from './support/api-world';

/**
 * A route that declares a repository rule but forgets the repository check does not answer a page
 * user: its success answer becomes a 500 (fail closed), while tokens, which passed on their scope, get it.
 */

let world: ApiWorld;
beforeAll(async () => {
  world = await createApiWorld();
});
afterAll(() => world.close());

test('a forgetful repository route answers page users 500, never the data', async () => {
  const app = express();
  const router = Router({ mergeParams: true });
  router.use(
    authenticate({
      store: world.store,
      appBaseUrl: APP_BASE_URL,
      logger: pino({ level: 'silent' }),
      now: () => new Date(),
      viewerPermissions: async () => ({ allowed: true }),
    }),
  );
  router.get(
    '/forgetful',
    access(ACCESS.readEvaluations),
    (_request, response) => void response.json({ secret: 'verdicts of a repository nobody checked' }),
  );
  app.use('/api/v1/workspaces/:ws', router);
  const page = await request(app)
    .get(`/api/v1/workspaces/${world.a.slug}/forgetful`)
    .set('Authorization', `JWT ${world.a.jwt()}`);
  expect(page.status).toBe(500);
  expect(page.text).not.toContain('nobody checked');
  const token = await request(app)
    .get(`/api/v1/workspaces/${world.a.slug}/forgetful`)
    .set(...bearer(world.a));
  expect(token.status).toBe(200);
});
