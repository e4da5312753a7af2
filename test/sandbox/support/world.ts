import { startSandbox, type BitbucketSandbox, type SandboxOptions, type User } from '../../../src/sandbox';
import { ConnectClient } from './api-client';
import { startAppReceiver, type AppReceiver, type ReceiverOptions } from './app-receiver';

/** A sandbox with one workspace, two users, one repository and an installed test app. */
export interface World {
  sandbox: BitbucketSandbox;
  app: AppReceiver;
  client: ConnectClient;
  clientKey: string;
  ann: User;
  bob: User;
  repo: string;
  close(): Promise<void>;
}

export async function startWorld(
  options: { sandbox?: SandboxOptions; receiver?: ReceiverOptions; install?: boolean } = {},
): Promise<World> {
  const sandbox = await startSandbox(options.sandbox);
  const app = await startAppReceiver(options.receiver);
  sandbox.createWorkspace({ slug: 'acme', name: 'Acme' });
  const ann = sandbox.createUser({ nickname: 'ann', displayName: 'Ann Agent' });
  const bob = sandbox.createUser({ nickname: 'bob', displayName: 'Bob Reviewer' });
  sandbox.createRepository({
    workspace: 'acme',
    slug: 'widgets',
    files: { 'README.md': '# widgets\n', 'src/a.ts': 'export const a = 1;\n' },
    author: ann,
    date: Date.UTC(2026, 0, 1),
  });
  let clientKey = '';
  if (options.install !== false) {
    const inst = await sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme', actor: ann });
    clientKey = inst.clientKey;
  }
  const client = new ConnectClient(sandbox, { key: app.options.key ?? 'clawgate-test', clientKey });
  return {
    sandbox,
    app,
    client,
    clientKey,
    ann,
    bob,
    repo: 'acme/widgets',
    close: async () => {
      await sandbox.waitForDeliveries();
      await sandbox.close();
      await app.close();
    },
  };
}
