import { processIo, type CliIo } from './io';
import { runDemoCommand, runSandbox, runServe } from './service-commands';
import { runVerify } from './verify-command';

export const USAGE = `Usage: clawgate <command> [options]

Commands:
  verify FILE      verify a proof bundle or commit signature offline (clawgate verify --help)
  serve            run the service (configuration from the environment)
  sandbox          run a local Bitbucket Cloud for development
  demo             run the whole story against the sandbox and check every verdict
  workspace        register a workspace for repository webhooks (add, reregister, rotate-secret, remove,
                   oauth-consumer for Sign in with Bitbucket) or list workspaces (clawgate workspace --help)
  wpc              write, check, hash and sign Work Policy Contracts (clawgate wpc --help)
  agent            the agent's side: preflight before the PR, attach bundle + URM + pulse
  evidence-key     list or rotate the deployment's evidence-pack signing key
  help             show this help

Run "clawgate <command> --help" for a command's options.
`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  verify: runVerify,
  serve: runServe,
  sandbox: runSandbox,
  demo: runDemoCommand,
  // Loaded on use: it pulls in the store (sequelize), which `verify` must not pay for.
  workspace: async (argv, io) => (await import('./workspace-command.js')).runWorkspace(argv, io),
  wpc: async (argv, io) => (await import('./wpc-command.js')).runWpc(argv, io),
  agent: async (argv, io) => (await import('./agent-command.js')).runAgent(argv, io),
  'evidence-key': async (argv, io) => (await import('./evidence-key-command.js')).runEvidenceKey(argv, io),
};

export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`clawgate: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  return command(rest, io);
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`clawgate: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
