import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, loadAppConfig, type AppConfig } from '../config/app-config';
import { loadOrCreateSecretKey, openStore, type Store } from '../store';
import {
  registerWorkspace,
  RegistrationError,
  removeOAuthConsumer,
  reregisterWorkspace,
  rotateWebhookSecret,
  setOAuthConsumer,
  signInCallbackUrl,
  unregisterWorkspace,
  type RegistrationFieldError,
} from '../webhooks';
import { InputError, readInputText } from './input-file';
import type { CliIo } from './io';

export const WORKSPACE_USAGE = `Usage:
  clawgate workspace add --workspace W --access-token-file F [--repo R]... [--base-api-url U]
  clawgate workspace list
  clawgate workspace reregister --workspace W --access-token-file F [--repo R]... [--base-api-url U]
  clawgate workspace rotate-secret --workspace W
  clawgate workspace remove --workspace W (--keep-data | --purge-data)
  clawgate workspace oauth-consumer --workspace W (--key K --secret-file F | --remove)

add   Registers a Bitbucket workspace on the repository-webhook surface, like
      POST /api/v1/workspaces: checks the access token against Bitbucket, creates clawgate's
      webhooks (with a fresh HMAC secret) on each --repo (default: every repository the token
      sees), stores the token encrypted and prints the workspace's first API token ONCE.
      The token is read from a file so it never appears in the process list or shell history.
list  Lists the registered workspaces (both surfaces); never prints secrets.
reregister     A new access token for a registered workspace (e.g. the old one expires): checked
               against Bitbucket, clawgate's webhooks recreated with a fresh secret on each --repo
               (default: every repository the token sees), the old ones deleted. Also brings back
               a removed workspace, then with a new API token (shown once).
rotate-secret  A new webhook HMAC secret: new hooks first, then the secret, then the old hooks
               deleted, so no delivery is lost.
remove         Unregisters: clawgate's webhooks are deleted, the stored access token and secret
               cleared, the workspace's API tokens revoked. --keep-data keeps its policies,
               settings and evaluations (reregister brings them back); --purge-data deletes them
               (the audit log and the used-id list stay). One of the two is required.
oauth-consumer Sign in with Bitbucket for the workspace's people (docs/sign-in.md): registers the
               OAuth consumer the workspace admin created in Bitbucket (Workspace settings →
               OAuth consumers; callback URL APP_BASE_URL/signin/bitbucket/callback; permissions
               Account: Read, Repositories: Read). The secret is read from a file and stored
               encrypted. --remove deletes it and ends every sign-in session of the workspace.
W is the workspace slug or {uuid}. Every change is audited.

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

function lifecycleFailure(io: CliIo, sub: string, error: unknown): number {
  if (error instanceof RegistrationError) {
    io.stderr(`clawgate workspace ${sub}: ${error.message}\n${describeFields(error.fields)}`);
    return error.status === 422 && error.code === 'VALIDATION_FAILED' ? 2 : 1;
  }
  throw error;
}

function hookLines(hooks: readonly { repository: string; uuid: string }[]): string {
  return hooks.map((hook) => `  ${hook.repository}  ${hook.uuid}\n`).join('');
}

async function runLifecycle(
  sub: 'reregister' | 'rotate-secret' | 'remove',
  argv: string[],
  io: CliIo,
  config: AppConfig,
): Promise<number> {
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
        'keep-data': { type: 'boolean', default: false },
        'purge-data': { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    io.stderr(`clawgate workspace ${sub}: ${(error as Error).message}\n${WORKSPACE_USAGE}`);
    return 2;
  }
  const usage = (message: string): number => {
    io.stderr(`clawgate workspace ${sub}: ${message}\n${WORKSPACE_USAGE}`);
    return 2;
  };
  if (values.workspace === undefined) return usage('--workspace is required');
  const workspace = values.workspace;
  const onlyFor = (flag: string, allowed: string) => usage(`${flag} is only for ${allowed}`);
  if (
    sub !== 'reregister' &&
    (values['access-token-file'] !== undefined || values.repo !== undefined || values['base-api-url'] !== undefined)
  )
    return onlyFor('--access-token-file/--repo/--base-api-url', 'reregister');
  if (sub !== 'remove' && (values['keep-data'] || values['purge-data']))
    return onlyFor('--keep-data/--purge-data', 'remove');
  if (sub === 'remove' && values['keep-data'] === values['purge-data'])
    return usage('give exactly one of --keep-data and --purge-data');
  let body: Record<string, unknown> = {};
  if (sub === 'reregister') {
    if (values['access-token-file'] === undefined) return usage('--access-token-file is required');
    try {
      body = {
        access_token: (
          await readInputText(values['access-token-file'], MAX_TOKEN_FILE_BYTES, 'access token file')
        ).trim(),
      };
    } catch (error) {
      if (error instanceof InputError) return usage(error.message);
      throw error;
    }
    if (values.repo !== undefined) body.repositories = values.repo;
    if (values['base-api-url'] !== undefined) body.base_api_url = values['base-api-url'];
  }
  const logger = pino({ level: config.logLevel }, { write: (line: string) => io.stderr(line) });
  return withStore(config, io, async (store) => {
    const deps = { store, config, logger, actor: 'cli' };
    try {
      if (sub === 'reregister') {
        const done = await reregisterWorkspace(deps, workspace, body);
        io.stdout(
          `Re-registered workspace ${done.workspaceSlug} ${done.workspaceId}.\nHooks:\n${hookLines(done.hooks)}`,
        );
        if (done.staleHooks.length > 0)
          io.stdout(`Old hooks that could not be deleted (delete them in Bitbucket):\n${hookLines(done.staleHooks)}`);
        if (done.apiToken) io.stdout(`API token (shown once; store it now): ${done.apiToken.token}\n`);
      } else if (sub === 'rotate-secret') {
        const done = await rotateWebhookSecret(deps, workspace);
        io.stdout(`Rotated the webhook secret of ${workspace}.\nHooks:\n${hookLines(done.hooks)}`);
        if (done.staleHooks.length > 0)
          io.stdout(`Old hooks that could not be deleted (delete them in Bitbucket):\n${hookLines(done.staleHooks)}`);
      } else {
        const done = await unregisterWorkspace(deps, workspace, values['purge-data'] ? 'purge' : 'keep');
        io.stdout(
          `Removed workspace ${workspace} (data ${done.data === 'purge' ? 'purged' : 'kept'}).\nDeleted hooks:\n${hookLines(done.deletedHooks)}`,
        );
        if (done.remainingHooks === null)
          io.stdout(
            "Bitbucket could not be asked for the webhooks (the access token was refused): delete clawgate's webhooks in Bitbucket.\n",
          );
        else if (done.remainingHooks.length > 0)
          io.stdout(`Hooks that could not be deleted (delete them in Bitbucket):\n${hookLines(done.remainingHooks)}`);
        if (done.purged)
          io.stdout(
            `Purged: ${Object.entries(done.purged)
              .map(([what, count]) => `${count} ${what.replace('_', ' ')}`)
              .join(', ')}\n`,
          );
      }
      return 0;
    } catch (error) {
      return lifecycleFailure(io, sub, error);
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
    const widths = header.map((title, index) =>
      Math.max(title.length, ...rows.map((row) => (row[index] ?? '').length)),
    );
    const line = (cells: string[]) =>
      `${cells
        .map((cell, index) => cell.padEnd(widths[index] ?? 0))
        .join('  ')
        .trimEnd()}\n`;
    io.stdout(line(header) + rows.map(line).join(''));
    return 0;
  });
}

async function runOAuthConsumer(argv: string[], io: CliIo, config: AppConfig): Promise<number> {
  let values: { workspace?: string; key?: string; 'secret-file'?: string; remove?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        workspace: { type: 'string' },
        key: { type: 'string' },
        'secret-file': { type: 'string' },
        remove: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    io.stderr(`clawgate workspace oauth-consumer: ${(error as Error).message}\n${WORKSPACE_USAGE}`);
    return 2;
  }
  const usage = (message: string): number => {
    io.stderr(`clawgate workspace oauth-consumer: ${message}\n${WORKSPACE_USAGE}`);
    return 2;
  };
  if (values.workspace === undefined) return usage('--workspace is required');
  const removing = values.remove === true;
  if (removing && (values.key !== undefined || values['secret-file'] !== undefined))
    return usage('--remove takes no --key or --secret-file');
  if (!removing && (values.key === undefined || values['secret-file'] === undefined))
    return usage('--key and --secret-file are required (or --remove)');
  let secret = '';
  if (!removing) {
    try {
      secret = (await readInputText(values['secret-file'] ?? '', MAX_TOKEN_FILE_BYTES, 'consumer secret file')).trim();
    } catch (error) {
      if (error instanceof InputError) return usage(error.message);
      throw error;
    }
  }
  const workspace = values.workspace;
  return withStore(config, io, async (store) => {
    try {
      if (removing) {
        const removed = await removeOAuthConsumer(store, workspace, 'cli');
        io.stdout(
          removed
            ? `Removed the OAuth consumer of ${workspace}; its sign-in sessions ended.\n`
            : `${workspace} had no OAuth consumer.\n`,
        );
        return 0;
      }
      const done = await setOAuthConsumer(store, workspace, { key: values.key, secret }, 'cli');
      io.stdout(
        `Sign in with Bitbucket is set up for ${workspace}.\nCallback URL (must match the consumer's): ${signInCallbackUrl(config)}\nSign-in link: ${config.baseUrl}/signin/bitbucket?workspace=${encodeURIComponent(done.workspaceSlug ?? done.workspaceId)}\n`,
      );
      return 0;
    } catch (error) {
      if (error instanceof RegistrationError) {
        io.stderr(
          `clawgate workspace oauth-consumer: ${error.message}\n${describeFields(error.fields.map((field) => ({ ...field, path: field.path === 'key' ? '--key' : field.path === 'secret' ? '--secret-file' : field.path })))}`,
        );
        return error.status === 422 ? 2 : 1;
      }
      throw error;
    }
  });
}

export async function runWorkspace(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    io.stdout(WORKSPACE_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (
    sub !== 'add' &&
    sub !== 'list' &&
    sub !== 'reregister' &&
    sub !== 'rotate-secret' &&
    sub !== 'remove' &&
    sub !== 'oauth-consumer'
  ) {
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
  if (sub === 'add') return runAdd(rest, io, config);
  if (sub === 'list') return runList(rest, io, config);
  if (sub === 'oauth-consumer') return runOAuthConsumer(rest, io, config);
  return runLifecycle(sub, rest, io, config);
}
