import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The browser tests run against `dist/web`, the bundle the server serves. It is rebuilt here when any
 * of its sources is newer than the build (or there is none), so a test never passes or fails on a
 * stale bundle.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const WEB_DIST = path.join(ROOT, 'dist', 'web');
const MANIFEST = path.join(WEB_DIST, '.vite', 'manifest.json');

/** Everything the bundle is built from. */
const SOURCES = [
  path.join(ROOT, 'src', 'web'),
  path.join(ROOT, 'src', 'render', 'explanations.ts'),
  path.join(ROOT, 'src', 'core', 'check.ts'),
  path.join(ROOT, 'src', 'core', 'reason-codes.ts'),
  path.join(ROOT, 'src', 'core', 'policy', 'wpc-templates.ts'),
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

export function webBuildIsFresh(): boolean {
  const built = statSync(MANIFEST, { throwIfNoEntry: false })?.mtimeMs;
  return built !== undefined && SOURCES.every((source) => newestMtime(source) <= built);
}

/** Builds the bundle unless it is fresh; returns whether it built. */
export function ensureFreshWebBuild(): boolean {
  if (webBuildIsFresh()) return false;
  const result = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      path.join(ROOT, 'src', 'web', 'vite.config.mts'),
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  if (result.status !== 0)
    throw new Error(`web build failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  if (!webBuildIsFresh()) throw new Error('web build finished but dist/web is still older than its sources');
  return true;
}
