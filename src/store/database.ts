import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import { Sequelize, Transaction } from 'sequelize';
import type { DatabaseConfig } from '../config/database';

export type Dialect = 'sqlite' | 'postgres';

/** Serialises async sections; used for SQLite, which has one writer and (in memory) one shared connection. */
class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(section);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/** What one traced section of work sent to the database (see `Database.trace`). */
export interface QueryTrace {
  /** Statements sent, transaction BEGIN/COMMIT/ROLLBACK included: each is one round trip. */
  roundTrips: number;
  /** The statements' SQL, when asked for (benchmarks, EXPLAIN); never logged. */
  readonly statements?: string[];
}

/**
 * Counts the round trips of the work running inside `Database.trace` (issue 15: database round trips
 * per evaluation). Sequelize calls its `logging` function once per statement it sends, in the async
 * context of the caller, so an AsyncLocalStorage scope attributes each statement to the traced work
 * even while other work (webhooks, other jobs) shares the connection pool.
 */
const traces = new AsyncLocalStorage<QueryTrace>();

function countStatement(sql: string): void {
  const trace = traces.getStore();
  if (trace === undefined) return;
  trace.roundTrips += 1;
  // Sequelize prefixes "Executing (<connection>): "; the statement follows.
  trace.statements?.push(sql.replace(/^Executing \([^)]*\): /, ''));
}

/**
 * The connection plus the one rule every repository follows for concurrency:
 * - `write(fn)` runs fn in a transaction. On SQLite the transaction is `BEGIN IMMEDIATE` and all
 *   store work in this process is serialised, because Sequelize gives `:memory:` databases a single
 *   shared connection (interleaved transactions would corrupt each other) and SQLite allows one
 *   writer anyway. On Postgres transactions run concurrently and correctness comes from
 *   constraints and conditional updates, never from this process's memory.
 * - `read(fn)` runs fn without a transaction (serialised on SQLite for the same reason).
 * - `statement(fn)` runs one self-atomic write statement without a transaction (serialised on SQLite).
 */
export class Database {
  readonly #mutex: AsyncMutex | null;

  constructor(
    readonly sequelize: Sequelize,
    readonly dialect: Dialect,
  ) {
    this.#mutex = dialect === 'sqlite' ? new AsyncMutex() : null;
  }

  write<T>(work: (transaction: Transaction) => Promise<T>): Promise<T> {
    if (this.#mutex === null) return this.sequelize.transaction((transaction) => work(transaction));
    return this.#mutex.run(() =>
      this.sequelize.transaction({ type: Transaction.TYPES.IMMEDIATE }, (transaction) => work(transaction)),
    );
  }

  read<T>(work: () => Promise<T>): Promise<T> {
    if (this.#mutex === null) return work();
    return this.#mutex.run(work);
  }

  /**
   * One write statement that is atomic on its own (an upsert with RETURNING): no transaction, so
   * one round trip instead of BEGIN + statement + COMMIT; serialised on SQLite like every write.
   */
  statement<T>(work: () => Promise<T>): Promise<T> {
    return this.read(work);
  }

  /**
   * Runs `work`, counting into `trace` the statements it sends (and their SQL when `trace.statements`
   * is an array). The caller owns `trace`, so a count survives work that throws.
   */
  trace<T>(trace: QueryTrace, work: () => Promise<T>): Promise<T> {
    return traces.run(trace, work);
  }

  async close(): Promise<void> {
    // Wait for queued SQLite work so close does not cut a transaction in half.
    if (this.#mutex !== null) await this.#mutex.run(async () => undefined);
    await this.sequelize.close();
  }
}

/** How long a SQLite connection waits for another process's write lock before failing (node-sqlite3 default: 1 s). */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Sequelize 6 opens SQLite connections itself (one per transaction for files) and has no hook for
 * them, so the busy timeout is set by wrapping its getConnection. Only matters when another
 * process (or a second store in tests) writes to the same file.
 */
function setSqliteBusyTimeout(sequelize: Sequelize): void {
  const manager = sequelize.connectionManager as unknown as { getConnection(options?: unknown): Promise<unknown> };
  const getConnection = manager.getConnection.bind(manager);
  const configured = new WeakSet<object>();
  manager.getConnection = async (options?: unknown) => {
    const connection = (await getConnection(options)) as { configure?: (option: 'busyTimeout', value: number) => void };
    if (typeof connection === 'object' && connection !== null && !configured.has(connection)) {
      connection.configure?.('busyTimeout', SQLITE_BUSY_TIMEOUT_MS);
      configured.add(connection);
    }
    return connection;
  };
}

export async function connectDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.dialect === 'sqlite') {
    if (config.storage !== ':memory:') fs.mkdirSync(config.dataDirectory, { recursive: true });
    const sequelize = new Sequelize({ dialect: 'sqlite', storage: config.storage, logging: countStatement });
    setSqliteBusyTimeout(sequelize);
    if (config.storage !== ':memory:') {
      // WAL lets readers on one connection proceed while a transaction on another commits; the
      // setting is persistent in the file.
      await sequelize.query('PRAGMA journal_mode = WAL');
    }
    await sequelize.authenticate();
    return new Database(sequelize, 'sqlite');
  }

  const sequelize = new Sequelize(config.url, {
    dialect: 'postgres',
    logging: countStatement,
    pool: { max: 10, min: 0, idle: 10_000 },
  });
  await sequelize.authenticate();
  return new Database(sequelize, 'postgres');
}
