/** What a command may touch of the process; tests pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  now(): number;
  env: NodeJS.ProcessEnv;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  now: () => Date.now(),
  env: process.env,
};
