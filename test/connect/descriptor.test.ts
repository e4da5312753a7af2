import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadAppConfig } from '../../src/config/app-config';
import { buildDescriptor } from '../../src/connect';
import { SUBSCRIBED_WEBHOOK_EVENTS } from '../../src/pipeline/subscribed-events';
import { descriptorSchema } from '../../src/sandbox/connect-installer';
import { send, startConnectHarness, type ConnectHarness } from './support/connect-harness';

const TEMPLATE_PATH = path.join(__dirname, '..', '..', 'atlassian-connect.json');

/** Fills the repository template the way a deployer would, JSON-escaping each value. */
function fillTemplate(values: Record<string, string>): unknown {
  const text = readFileSync(TEMPLATE_PATH, 'utf8').replace(/\{\{(\w+)\}\}/g, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template placeholder {{${name}}} has no value`);
    return JSON.stringify(value).slice(1, -1);
  });
  return JSON.parse(text) as unknown;
}

describe('buildDescriptor', () => {
  const config = loadAppConfig({
    APP_BASE_URL: 'https://clawgate.example.com',
    CONNECT_APP_KEY: 'io.example.clawgate',
    CONNECT_APP_NAME: 'Clawgate "Acme"',
  });
  const descriptor = buildDescriptor(config);

  it('names the app, its base URL and JWT authentication, installed per workspace', () => {
    expect(descriptor).toMatchObject({
      key: 'io.example.clawgate',
      name: 'Clawgate "Acme"',
      baseUrl: 'https://clawgate.example.com',
      authentication: { type: 'jwt' },
      contexts: ['account'],
      lifecycle: { installed: '/connect/installed', uninstalled: '/connect/uninstalled' },
    });
    expect(descriptor.description.length).toBeGreaterThan(10);
    expect(descriptor.vendor).toEqual({ name: 'clawgate', url: 'https://clawgate.example.com' });
  });

  it('asks only for account, repository and pullrequest (no write or admin scope)', () => {
    expect(descriptor.scopes).toEqual(['account', 'repository', 'pullrequest']);
    expect(descriptor.scopes.some((scope) => scope.includes(':'))).toBe(false);
  });

  it('subscribes every event the engine needs, all to /connect/webhook', () => {
    expect(descriptor.modules.webhooks.map((w) => w.event)).toEqual([
      'pullrequest:created',
      'pullrequest:updated',
      'pullrequest:approved',
      'pullrequest:unapproved',
      'pullrequest:fulfilled',
      'pullrequest:rejected',
      'pullrequest:comment_created',
      'repo:push',
      'repo:commit_status_created',
      'repo:commit_status_updated',
    ]);
    expect(new Set(descriptor.modules.webhooks.map((w) => w.url))).toEqual(new Set(['/connect/webhook']));
    expect(SUBSCRIBED_WEBHOOK_EVENTS).toHaveLength(10);
  });

  it('puts the PR panel on the overview with repository and pull request context parameters', () => {
    expect(descriptor.modules.webPanels).toEqual([
      expect.objectContaining({
        key: 'clawgate-pr-panel',
        location: 'org.bitbucket.pullrequest.overview.informationPanel',
        url: '/connect/panel?repo={repository.uuid}&pr={pullrequest.id}',
        conditions: [{ condition: 'has_permission', params: { permission: 'read' } }],
      }),
    ]);
    // {repository.*} needs `repository`, {pullrequest.*} needs `pullrequest` (Bitbucket leaves a placeholder unfilled without its scope).
    expect(descriptor.scopes).toEqual(expect.arrayContaining(['repository', 'pullrequest']));
    for (const module of [...descriptor.modules.webPanels, descriptor.modules.configurePage])
      expect(module.key).toMatch(/^[a-zA-Z0-9-]{1,128}$/);
  });

  it('has one configure page and no admin page (its location is unconfirmed)', () => {
    expect(descriptor.modules.configurePage).toEqual({
      key: 'clawgate-configure',
      name: { value: 'clawgate settings' },
      url: '/connect/configure',
    });
    expect(Object.keys(descriptor.modules).sort()).toEqual(['configurePage', 'webPanels', 'webhooks']);
  });

  it('is what the sandbox accepts as a descriptor', () => {
    expect(descriptorSchema.safeParse(descriptor).success).toBe(true);
  });

  it('equals the repository template atlassian-connect.json once its placeholders are filled', () => {
    expect(fillTemplate({ baseUrl: config.baseUrl, appKey: config.appKey, appName: config.appName })).toEqual(
      descriptor,
    );
    const other = loadAppConfig({ APP_BASE_URL: 'http://127.0.0.1:4000/prefix' });
    expect(fillTemplate({ baseUrl: other.baseUrl, appKey: other.appKey, appName: other.appName })).toEqual(
      buildDescriptor(other),
    );
  });
});

describe('GET /atlassian-connect.json', () => {
  let h: ConnectHarness;
  beforeAll(async () => {
    h = await startConnectHarness();
  });
  afterAll(() => h.close());

  it('serves the built descriptor anonymously, with the security headers', async () => {
    const res = await send(h.descriptorUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.json).toEqual(buildDescriptor(h.config));
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=(\d+)/);
    expect(
      Number(/max-age=(\d+)/.exec(res.headers.get('strict-transport-security') ?? '')?.[1]),
    ).toBeGreaterThanOrEqual(31536000);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain('frame-ancestors');
  });
});
