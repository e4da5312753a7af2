import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProcessorBuilder, ValidationTypes } from '@forge/manifest';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { FORGE_PATHS } from '../../src/forge';
import { FORGE_APP_SCOPES } from '../../src/sandbox';
import { ensureFreshForgeBuild } from './support/forge-build';

/**
 * forge/manifest.yml validated offline with Atlassian's own validator (@forge/manifest: the checks
 * `forge deploy` and `forge lint` run on the manifest), and kept consistent with the backend: every
 * endpoint route is a path clawgate serves, the Custom UI resources exist, the sandbox's Forge grants
 * the manifest's scopes.
 */

const FORGE_DIR = path.join(__dirname, '..', '..', 'forge');
const MANIFEST = path.join(FORGE_DIR, 'manifest.yml');

async function validate(
  file: string,
  type: keyof typeof ValidationTypes,
): Promise<{ success: boolean; messages: string[] }> {
  const result = await ProcessorBuilder.instance().withValidation(ValidationTypes[type]).build().process(file);
  return { success: result.success, messages: (result.errors ?? []).map((error) => error.message) };
}

const manifestShape = z.looseObject({
  modules: z.looseObject({
    endpoint: z.array(
      z.looseObject({ key: z.string(), remote: z.string(), route: z.looseObject({ path: z.string() }).optional() }),
    ),
    'bitbucket:mergeCheck': z.array(z.looseObject({ triggers: z.array(z.string()) })),
  }),
  resources: z.array(z.looseObject({ key: z.string(), path: z.string() })),
  permissions: z.looseObject({ scopes: z.array(z.string()) }),
});

describe('the Forge app manifest', () => {
  // The Custom UI resource directory must hold the built index.html.
  beforeAll(() => ensureFreshForgeBuild(), 120_000);

  test.each(['FULL', 'FORGE_REMOTE_COMPUTE', 'PRODUCT_TRIGGER'] as const)(
    'passes @forge/manifest %s validation',
    async (type) => {
      expect(await validate(MANIFEST, type)).toEqual({ success: true, messages: [] });
    },
    60_000,
  );

  test('the validator is really consulted: a merge-check endpoint with a user token is refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'clawgate-manifest-'));
    try {
      cpSync(FORGE_DIR, dir, { recursive: true });
      const doc = parse(readFileSync(MANIFEST, 'utf8')) as {
        modules: { endpoint: { key: string; auth?: Record<string, unknown> }[] };
      };
      const endpoint = doc.modules.endpoint.find((e) => e.key === 'merge-check-ep');
      if (endpoint === undefined) throw new Error('merge-check-ep missing');
      endpoint.auth = { ...endpoint.auth, appUserToken: { enabled: true } };
      writeFileSync(path.join(dir, 'manifest.yml'), stringify(doc));
      const result = await validate(path.join(dir, 'manifest.yml'), 'FULL');
      expect(result.success).toBe(false);
      expect(result.messages.join('\n')).toContain('only supports appSystemToken');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('routes, triggers, resources and scopes agree with the backend and the sandbox', () => {
    const manifest = manifestShape.parse(parse(readFileSync(MANIFEST, 'utf8')));
    const routes = manifest.modules.endpoint.flatMap((e) => (e.route ? [e.route.path] : [])).sort();
    expect(routes).toEqual(
      [FORGE_PATHS.events, FORGE_PATHS.lifecycle, FORGE_PATHS.mergeCheck, FORGE_PATHS.preUninstall].sort(),
    );
    expect(manifest.modules['bitbucket:mergeCheck'][0]?.triggers.sort()).toEqual([
      'on-code-pushed',
      'on-merge',
      'on-reviewer-status-changed',
    ]);
    for (const resource of manifest.resources)
      expect(existsSync(path.join(FORGE_DIR, resource.path, 'index.html'))).toBe(true);
    const productScopes = manifest.permissions.scopes.filter((scope) => scope.endsWith(':bitbucket')).sort();
    expect(productScopes).toEqual([...FORGE_APP_SCOPES].sort());
  });
});
