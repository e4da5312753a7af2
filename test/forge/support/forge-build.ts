import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The Forge Custom UI resource (`forge/static/app`, built by `npm run build:forge`, not committed) is
 * rebuilt here when it is missing or older than its sources, so the manifest validation and the
 * browser test never run against a stale or absent bundle.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const FORGE_UI_DIST = path.join(ROOT, 'forge', 'static', 'app');
const INDEX = path.join(FORGE_UI_DIST, 'index.html');
const SOURCES = [
  path.join(ROOT, 'src', 'web'),
  path.join(ROOT, 'src', 'render', 'explanations.ts'),
  path.join(ROOT, 'src', 'core', 'reason-codes.ts'),
  path.join(ROOT, 'package-lock.json'),
];

function newestMtime(target: string): number {
  const stat = statSync(target, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(target).reduce(
    (newest, name) => Math.max(newest, newestMtime(path.join(target, name))),
    stat.mtimeMs,
  );
}

export function ensureFreshForgeBuild(): void {
  const built = statSync(INDEX, { throwIfNoEntry: false })?.mtimeMs;
  if (built !== undefined && SOURCES.every((source) => newestMtime(source) <= built)) return;
  const result = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      path.join(ROOT, 'src', 'web', 'vite.forge.config.mts'),
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  if (result.status !== 0)
    throw new Error(`forge UI build failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
}
