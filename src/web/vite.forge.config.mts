import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The Forge Custom UI resource (docs/forge.md §5): the same pages, entry `forge/index.html`, built into
 * `<project>/forge/static/app`, the directory forge/manifest.yml names (it must hold index.html).
 * `base: './'`: Forge serves the resource under a path of its own, so every URL must be relative.
 */
const webRoot = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: path.resolve(webRoot, 'forge'),
  base: './',
  logLevel: 'warn',
  publicDir: false,
  build: {
    outDir: path.resolve(webRoot, '..', '..', 'forge', 'static', 'app'),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
});
