import path from 'node:path';

/**
 * `DATABASE_URL` (docs/api.md): `postgres://…` / `postgresql://…`, or `sqlite:<path>`
 * (`sqlite::memory:` for an in-memory database). Unset or empty means the default file below.
 * Parsing only: creating the directory is the store's job (it is I/O).
 */
export const DEFAULT_DATABASE_URL = 'sqlite:./data/clawgate.sqlite';

/** Where generated files (the fallback secret key) go when the database is not a local file. */
export const DEFAULT_DATA_DIRECTORY = './data';

export type DatabaseConfig =
  | {
      readonly dialect: 'sqlite';
      /** Absolute path of the database file, or `:memory:`. */
      readonly storage: string;
      /** Directory of the database file (absolute); the default data directory for `:memory:`. */
      readonly dataDirectory: string;
    }
  | {
      readonly dialect: 'postgres';
      /** The URL as given; passed to the driver unchanged. */
      readonly url: string;
      readonly dataDirectory: string;
    };

export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';
}

/**
 * Parses `DATABASE_URL`. Relative SQLite paths resolve against `cwd`. Anything that is neither
 * form is rejected (fail closed: a typo must not silently fall back to the default file).
 * The error message never repeats a Postgres URL, which may carry a password.
 */
export function parseDatabaseUrl(value: string | undefined, cwd: string = process.cwd()): DatabaseConfig {
  const raw = value === undefined || value.trim() === '' ? DEFAULT_DATABASE_URL : value.trim();
  const defaultDataDirectory = path.resolve(cwd, DEFAULT_DATA_DIRECTORY);

  if (raw.startsWith('sqlite:')) {
    // `sqlite:<path>`; tolerate the URL-ish `sqlite://<path>` spelling too.
    let file = raw.slice('sqlite:'.length);
    if (file.startsWith('//')) file = file.slice(2);
    if (file === '')
      throw new DatabaseUrlError(
        'DATABASE_URL "sqlite:" needs a path, e.g. sqlite:./data/clawgate.sqlite or sqlite::memory:',
      );
    if (file === ':memory:') return { dialect: 'sqlite', storage: ':memory:', dataDirectory: defaultDataDirectory };
    const storage = path.resolve(cwd, file);
    return { dialect: 'sqlite', storage, dataDirectory: path.dirname(storage) };
  }

  if (/^postgres(ql)?:\/\//i.test(raw)) {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new DatabaseUrlError('DATABASE_URL is not a valid postgres:// URL');
    }
    if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
      throw new DatabaseUrlError('DATABASE_URL postgres:// URL has no host');
    }
    if (parsed.pathname.replace(/^\//, '') === '') {
      throw new DatabaseUrlError('DATABASE_URL postgres:// URL has no database name');
    }
    return { dialect: 'postgres', url: raw, dataDirectory: defaultDataDirectory };
  }

  throw new DatabaseUrlError('DATABASE_URL must start with postgres://, postgresql:// or sqlite:');
}

/** A form of the configuration that is safe to log (no password). */
export function describeDatabase(config: DatabaseConfig): string {
  if (config.dialect === 'sqlite') return `sqlite:${config.storage}`;
  const parsed = new URL(config.url);
  parsed.password = parsed.password === '' ? '' : '***';
  return parsed.toString();
}
