import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, loadAppConfig, type AppConfig } from '../config/app-config';
import { loadOrCreateSecretKey, openStore, type Store } from '../store';
import { registerWorkspace, RegistrationError, type RegistrationFieldError } from '../webhooks';
import { InputError, readInputText } from './input-file';
import type { CliIo } from './io';

export const WORKSPACE_USAGE = `Usage:
  clawgate workspace add --workspace W --access-token-file F [--repo R]... [--base-api-url U]
  clawgate workspace list

add   Registers a Bitbucket workspace on the repository-webhook surface, like
      POST /api/v1/workspaces: checks the access token against Bitbucket, creates clawgate's
      webhooks (with a fresh HMAC secret) on each --repo (default: every repository the token
      sees), stores the token encrypted and prints the workspace's first API token ONCE.
      The token is read from a file so it never appears in the process list or shell history.
list  Lists the registered workspaces (both surfaces); never prints secrets.

Configuration from the environment, as for "clawgate serve": DATABASE_URL, CLAWGATE_SECRET_KEY,
APP_BASE_URL (the webhooks point at APP_BASE_URL/hooks/bitbucket), CLAWGATE_ALLOWED_HOSTS.
Exit status: 0 done, 1 refused by Bitbucket or clawgate (nothing stored), 2 usage or input error.
`;

/** An access token file is one line; a few KiB bound it generously. */
const MAX_TOKEN_FILE_BYTES = 8 * 1024;

/** Flags for the API body's field paths, so refusals name what the user typed. */
const FLAG_FOR_FIELD: Record<string, string> = {
  workspace: '--workspace',
  access_token: '--access-token-file',
  repositories: '--repo',
  base_api_url: '--base-api-url',
};

function flagPath(path: string): string {
  const match = /^([a-z_]+)(\[(\d+)\])?/.exec(path);
  const flag = match ? FLAG_FOR_FIELD[match[1] ?? ''] : undefined;
  if (!match || flag === undefined) return path === '' ? '(input)' : path;
  return match[3] !== undefined ? `${flag} #${Number(match[3]) + 1}` : flag;
}

function describeFields(fields: readonly RegistrationFieldError[]): string {
  return fields.map((field) => `  ${flagPath(field.path)}: ${field.message}\n`).join('');
}

export async function withStore<T>(config: AppConfig, io: CliIo, use: (store: Store) => Promise<T>): Promise<T> {
  const keys = loadOrCreateSecretKey(config.database.dataDirectory, {
    CLAWGATE_SECRET_KEY: config.secretKey,
    CLAWGATE_SECRET_KEY_PREVIOUS: config.previousSecretKeys.join(','),
    NODE_ENV: config.production ? 'production' : io.env.NODE_ENV,
  });
  for (const warning of keys.warnings) io.stderr(`clawgate workspace: ${warning}\n`);
  const store = await openStore(config.databaseUrl, { secretKey: keys.current, previousSecretKeys: keys.previous });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

async function runAdd(argv: string[], io: CliIo, config: AppConfig): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        workspace: { type: 'string' },
        'access-token-file': { type: 'string' },
        repo: { type: 'string', multiple: true },
        'base-api-url': { type: 'string' },
      },
    }));
  } catch (error) {
    io.stderr(`clawgate workspace add: ${(error as Error).message}\n${WORKSPACE_USAGE}`);
    return 2;
  }
  if (values.workspace === undefined || values['access-token-file'] === undefined) {
    io.stderr(`clawgate workspace add: --workspace and --access-token-file are required\n${WORKSPACE_USAGE}`);
    return 2;
  }
  let accessToken: string;
  try {
    accessToken = (await readInputText(values['access-token-file'], MAX_TOKEN_FILE_BYTES, 'access token file')).trim();
  } catch (error) {
    if (error instanceof InputError) {
      io.stderr(`clawgate workspace add: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const body = {
    workspace: values.workspace,
    access_token: accessToken,
    ...(values.repo !== undefined ? { repositories: values.repo } : {}),
    ...(values['base-api-url'] !== undefined ? { base_api_url: values['base-api-url'] } : {}),
  };
  // Log lines (never the token) go to stderr so stdout holds only the result.
  const logger = pino({ level: config.logLevel }, { write: (line: string) => io.stderr(line) });
  return withStore(config, io, async (store) => {
    try {
      const registered = await registerWorkspace({ store, config, logger, actor: 'cli' }, body);
      io.stdout(
        `Registered workspace ${registered.workspaceSlug} ${registered.workspaceId} (repository webhooks).\n` +
          `Webhook URL: ${registered.webhookUrl}\n` +
          `Hooks:\n${registered.hooks.map((hook) => `  ${hook.repository}  ${hook.uuid}\n`).join('')}` +
          `API token (shown once; store it now): ${registered.apiToken.token}\n`,
      );
      return 0;
    } catch (error) {
      if (error instanceof RegistrationError) {
        io.stderr(`clawgate workspace add: ${error.message}\n${describeFields(error.fields)}Nothing was stored.\n`);
        return error.status === 422 && error.code === 'VALIDATION_FAILED' ? 2 : 1;
      }
      throw error;
    }
  });
}

async function runList(argv: string[], io: CliIo, config: AppConfig): Promise<number> {
  if (argv.length > 0) {
    io.stderr(`clawgate workspace list: unexpected argument ${argv[0]}\n`);
    return 2;
  }
  return withStore(config, io, async (store) => {
    const tenants = await store.tenants.listAll();
    if (tenants.length === 0) {
      io.stdout('No workspaces registered.\n');
      return 0;
    }
    const rows = tenants.map((tenant) => [
      tenant.workspaceSlug ?? '-',
      tenant.workspaceId,
      tenant.surface,
      tenant.uninstalledAt === null ? 'active' : 'uninstalled',
      tenant.baseApiUrl ?? '-',
      tenant.installedAt.toISOString(),
    ]);
    const header = ['WORKSPACE', 'UUID', 'SURFACE', 'STATE', 'API', 'SINCE'];
    const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => (row[index] ?? '').length)));
    const line = (cells: string[]) => `${cells.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join('  ').trimEnd()}\n`;
    io.stdout(line(header) + rows.map(line).join(''));
    return 0;
  });
}

export async function runWorkspace(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    io.stdout(WORKSPACE_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'add' && sub !== 'list') {
    io.stderr(`clawgate workspace: unknown subcommand "${sub}"\n${WORKSPACE_USAGE}`);
    return 2;
  }
  let config: AppConfig;
  try {
    config = loadAppConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`clawgate workspace: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  return sub === 'add' ? runAdd(rest, io, config) : runList(rest, io, config);
}
