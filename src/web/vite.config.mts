import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The pages' bundle (React 18 + Atlaskit, built by Vite; docs/architecture.md): one entry, `main.tsx`, built into `<project>/dist/web`, which the
 * Connect router serves at `/connect/assets/`. The server reads `.vite/manifest.json` to name the
 * entry's script and stylesheet in the page shell (src/connect/web-assets.ts). `base: './'` keeps the
 * lazy chunks relative to the module that loads them, so the app works under any baseUrl path.
 */
const webRoot = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: webRoot,
  base: './',
  logLevel: 'warn',
  publicDir: false,
  build: {
    outDir: path.resolve(webRoot, '..', '..', 'dist', 'web'),
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    // Atlaskit's main chunk is ~570 kB before gzip (about 166 kB gzipped, measured); that is expected here.
    chunkSizeWarningLimit: 1024,
    rollupOptions: { input: path.resolve(webRoot, 'main.tsx') },
  },
});
