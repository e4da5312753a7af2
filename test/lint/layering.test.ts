import fs from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';

/**
 * The layering of src/ (eslint.layers.js, docs/architecture.md) is enforced by `npm run lint`: these
 * lint small sources placed in the tree and prove that an upward or sideways import and an import
 * cycle are errors, and that an allowed import is not.
 */
const ROOT = path.resolve(__dirname, '../..');
const LAYER_RULES = new Set(['import-x/no-restricted-paths', 'import-x/no-cycle']);

let eslint: ESLint;
beforeAll(() => {
  // The project's own eslint.config.js, handed over directly: ESLint would load it with a dynamic
  // import, which Jest's module system does not allow.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const config = require(path.join(ROOT, 'eslint.config.js')) as ESLint.Options['overrideConfig'];
  eslint = new ESLint({ cwd: ROOT, overrideConfigFile: true, ...(config ? { overrideConfig: config } : {}) });
});

async function layerErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId !== null && LAYER_RULES.has(m.ruleId))
    .map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layering lint', () => {
  test.each([
    [
      'a surface importing another surface (api → connect)',
      'src/api/probe.ts',
      "import { createConnectRouter } from '../connect';\nexport const x = createConnectRouter;\n",
    ],
    [
      'a surface importing another surface (connect → webhooks)',
      'src/connect/probe.ts',
      "import { registerWorkspace } from '../webhooks';\nexport const x = registerWorkspace;\n",
    ],
    [
      'a surface importing another surface (webhooks → api)',
      'src/webhooks/probe.ts',
      "import { createApiRouter } from '../api';\nexport const x = createApiRouter;\n",
    ],
    [
      'the pipeline reaching up into http',
      'src/pipeline/probe.ts',
      "import { ApiError } from '../http/http-error';\nexport const x = ApiError;\n",
    ],
    [
      'http reaching up into a surface',
      'src/http/probe.ts',
      "import { createApiRouter } from '../api';\nexport const x = createApiRouter;\n",
    ],
    [
      'the engine importing the store',
      'src/core/probe.ts',
      "import { openStore } from '../store';\nexport const x = openStore;\n",
    ],
    [
      'render importing the pipeline',
      'src/render/probe.ts',
      "import { STATUS_KEY } from '../pipeline/publish';\nexport const x = STATUS_KEY;\n",
    ],
    [
      'operations importing evaluation',
      'src/pipeline/operations/probe.ts',
      "import { gatherEvidence } from '../evaluation/gather';\nexport const x = gatherEvidence;\n",
    ],
    [
      'a shared pipeline file importing operations',
      'src/pipeline/probe.ts',
      "import { handlePush } from './operations/incidents';\nexport const x = handlePush;\n",
    ],
    [
      'a surface importing a job handler',
      'src/api/probe.ts',
      "import { evaluatePullRequest } from '../pipeline/evaluation/evaluate-pull-request';\nexport const x = evaluatePullRequest;\n",
    ],
  ])('%s fails the lint', async (_name, file, source) => {
    const errors = await layerErrors(file, source);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^import-x\/no-restricted-paths: /);
  });

  test('an import cycle fails the lint', async () => {
    // profile.ts imports anti-replay.ts (checkReplay); making anti-replay.ts import profile.ts closes a cycle.
    const errors = await layerErrors(
      'src/core/anti-replay.ts',
      "import { evaluateProfile } from './profile';\nexport const x = evaluateProfile;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^import-x\/no-cycle: Dependency cycle detected/);
  });

  test.each([
    [
      'a surface importing http and the shared pipeline',
      'src/api/probe.ts',
      "import { ApiError } from '../http/http-error';\nimport { STATUS_KEY } from '../pipeline/publish';\nexport const x = [ApiError, STATUS_KEY];\n",
    ],
    [
      'the server wiring a job handler',
      'src/server/probe.ts',
      "import { createEvaluationHandler } from '../pipeline/evaluation/evaluate-pull-request';\nexport const x = createEvaluationHandler;\n",
    ],
    [
      'the pipeline using render and core',
      'src/pipeline/evaluation/probe.ts',
      "import { REASON_TEXT } from '../../render/explanations';\nimport { evaluate } from '../../core/verdict';\nexport const x = [REASON_TEXT, evaluate];\n",
    ],
  ])('%s passes', async (_name, file, source) => {
    expect(await layerErrors(file, source)).toEqual([]);
  });
});

/**
 * import-x/no-cycle ignores `import type`; a type-only cycle (like the former api-context ↔
 * merge-check-routes one) is caught here instead, over every relative import in src/.
 */
describe('no import cycle in src/, type imports included', () => {
  function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(full);
      return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
    });
  }

  test('the relative-import graph has no cycle', () => {
    const files = new Set(sourceFiles(path.join(ROOT, 'src')));
    const resolve = (from: string, spec: string): string | undefined => {
      const base = path.resolve(path.dirname(from), spec).replace(/\.js$/, '');
      return [`${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts'), path.join(base, 'index.tsx')].find(
        (candidate) => files.has(candidate),
      );
    };
    const edges = new Map<string, string[]>();
    for (const file of files) {
      const specs = [...fs.readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)].map(
        (m) => m[1] ?? '',
      );
      edges.set(
        file,
        specs.map((spec) => resolve(file, spec)).filter((target): target is string => target !== undefined),
      );
    }
    // Depth-first search with colours: reaching a grey node is a cycle.
    const colour = new Map<string, 'grey' | 'black'>();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]): void => {
      colour.set(file, 'grey');
      for (const next of edges.get(file) ?? []) {
        if (colour.get(next) === 'grey')
          cycles.push(
            [...trail, file, next]
              .slice(trail.indexOf(next) >= 0 ? trail.indexOf(next) : trail.length)
              .map((f) => path.relative(ROOT, f))
              .join(' → '),
          );
        else if (!colour.has(next)) visit(next, [...trail, file]);
      }
      colour.set(file, 'black');
    };
    for (const file of files) if (!colour.has(file)) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
