import { MIGRATIONS } from '../../migrations';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backendsUnderTest } from './support/postgres';
import { BackendDatabase } from './support/store-fixture';

/**
 * The migrations must also run from the compiled JavaScript (`npm run build` → dist/ from src/ and
 * dist/migrations/ from the top-level migrations/), not only under Jest's TypeScript transform. This
 * compiles the store and the migrations with the build tsconfigs into a temporary directory and
 * opens a database from it with plain node.
 */
const ROOT = path.resolve(__dirname, '../..');

describe('migrations from compiled JavaScript', () => {
  let outDir: string;

  beforeAll(() => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-dist-'));
    const tsconfig = path.join(outDir, 'tsconfig.json');
    fs.writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: path.join(ROOT, 'tsconfig.build.json'),
        compilerOptions: {
          outDir: path.join(outDir, 'dist'),
          rootDir: path.join(ROOT, 'src'),
          typeRoots: [path.join(ROOT, 'node_modules/@types')],
          sourceMap: false,
          noCheck: true,
          incremental: false,
        },
        include: [path.join(ROOT, 'src/store/**/*.ts'), path.join(ROOT, 'src/config/database.ts')],
        exclude: [],
      }),
    );
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', tsconfig], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    const migrationsTsconfig = path.join(outDir, 'tsconfig.migrations.json');
    fs.writeFileSync(
      migrationsTsconfig,
      JSON.stringify({
        extends: path.join(ROOT, 'migrations/tsconfig.json'),
        compilerOptions: {
          outDir: path.join(outDir, 'dist/migrations'),
          rootDir: path.join(ROOT, 'migrations'),
          typeRoots: [path.join(ROOT, 'node_modules/@types')],
          sourceMap: false,
          noCheck: true,
          incremental: false,
        },
        include: [path.join(ROOT, 'migrations/*.ts')],
        exclude: [],
      }),
    );
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', migrationsTsconfig], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  });
  afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

  test.each(backendsUnderTest('migrations-compiled.test'))('openStore from dist migrates %s', async (backend) => {
    const database = new BackendDatabase(backend, 'compiled', true);
    await database.setUp();
    try {
      const script = `
        const { openStore } = require(${JSON.stringify(path.join(outDir, 'dist/store/index.js'))});
        (async () => {
          const store = await openStore(process.argv[1], { secretKey: Buffer.alloc(32, 1) });
          const names = await store.appliedMigrations();
          await store.close();
          process.stdout.write(JSON.stringify(names));
        })().catch((error) => { process.stderr.write(String(error && error.stack)); process.exit(1); });`;
      const output = execFileSync(process.execPath, ['-e', script, database.url], {
        env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
        encoding: 'utf8',
      });
      // Every migration in the folder, in order (later changes append theirs).
      expect(JSON.parse(output)).toEqual(MIGRATIONS.map((m) => m.name));
      expect(fs.existsSync(path.join(outDir, 'dist/migrations/0001-initial-schema.js'))).toBe(true);
    } finally {
      await database.tearDown();
    }
  });
});
