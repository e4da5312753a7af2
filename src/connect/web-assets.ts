import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import { z } from 'zod';

/**
 * The pages' built bundle (src/web, `npm run build:web` → `<project>/dist/web`): its files are served
 * at `/connect/assets/`, and Vite's manifest names the entry script and stylesheet that the page shell
 * links. A server started without a build still answers its pages, with a message saying so.
 */

export const DEFAULT_WEB_DIR = path.resolve(__dirname, '..', '..', 'dist', 'web');
export const WEB_ASSETS_PATH = '/connect/assets';
const ENTRY_SOURCE = 'main.tsx';

export interface WebEntry {
  /** Absolute URLs (under the app's baseUrl). */
  readonly scriptUrl: string;
  readonly styleUrl: string;
}

const manifestSchema = z.record(
  z.string(),
  z.looseObject({
    file: z.string().regex(/^assets\/[A-Za-z0-9._-]+$/),
    isEntry: z.boolean().optional(),
    css: z.array(z.string().regex(/^assets\/[A-Za-z0-9._-]+$/)).optional(),
  }),
);

export interface WebAssets {
  /** The entry, or null while no bundle is built. */
  entry(): WebEntry | null;
  /** Serves `<dir>/assets` at WEB_ASSETS_PATH (hashed names: cached for a year). */
  readonly router: Router;
}

export function loadWebAssets(baseUrl: string, dir: string = DEFAULT_WEB_DIR): WebAssets {
  let cached: { mtimeMs: number; entry: WebEntry } | null = null;
  const manifestPath = path.join(dir, '.vite', 'manifest.json');

  function read(): WebEntry {
    const manifest = manifestSchema.parse(JSON.parse(readFileSync(manifestPath, 'utf8')) as unknown);
    const entry = manifest[ENTRY_SOURCE];
    if (entry === undefined) throw new Error(`${manifestPath}: no entry for ${ENTRY_SOURCE}`);
    const url = (file: string): string => `${baseUrl}/connect/${file}`;
    const style = entry.css?.[0];
    return { scriptUrl: url(entry.file), styleUrl: style === undefined ? '' : url(style) };
  }

  const router = Router();
  router.use(
    WEB_ASSETS_PATH,
    express.static(path.join(dir, 'assets'), {
      immutable: true,
      maxAge: '365d',
      index: false,
      dotfiles: 'deny',
      redirect: false,
    }),
  );
  router.use(WEB_ASSETS_PATH, (_req, res) => void res.status(404).type('text/plain').send('no such asset'));
  return {
    entry() {
      // Re-read only when the manifest changes (a rebuild while the server runs).
      const mtimeMs = statSync(manifestPath, { throwIfNoEntry: false })?.mtimeMs;
      if (mtimeMs === undefined) return null;
      if (cached === null || cached.mtimeMs !== mtimeMs) cached = { mtimeMs, entry: read() };
      return cached.entry;
    },
    router,
  };
}
