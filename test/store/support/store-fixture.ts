import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type OpenStoreOptions, type Store } from '../../../src/store';
import { createTestDatabase, type Backend, type TestDatabase } from './postgres';

export const TEST_SECRET_KEY = Buffer.alloc(32, 7);

export function newWorkspaceId(): string {
  return `{${randomUUID()}}`;
}

export function randomSha(): string {
  return randomBytes(20).toString('hex');
}

/**
 * One database per test file and backend: an in-memory SQLite database, or a fresh Postgres
 * database. Tests isolate themselves with fresh workspace ids instead of truncating.
 */
export class BackendDatabase {
  #postgres: TestDatabase | null = null;
  #tempDir: string | null = null;
  url = '';

  constructor(
    readonly backend: Backend,
    private readonly label: string,
    private readonly sqliteFile = false,
  ) {}

  async setUp(): Promise<void> {
    if (this.backend === 'postgres') {
      this.#postgres = await createTestDatabase(this.label);
      this.url = this.#postgres.url;
    } else if (this.sqliteFile) {
      this.#tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-store-'));
      this.url = `sqlite:${path.join(this.#tempDir, 'test.sqlite')}`;
    } else {
      this.url = 'sqlite::memory:';
    }
  }

  open(options: Partial<OpenStoreOptions> = {}): Promise<Store> {
    return openStore(this.url, { secretKey: TEST_SECRET_KEY, ...options });
  }

  async tearDown(): Promise<void> {
    if (this.#postgres !== null) await this.#postgres.drop();
    if (this.#tempDir !== null) fs.rmSync(this.#tempDir, { recursive: true, force: true });
  }
}
