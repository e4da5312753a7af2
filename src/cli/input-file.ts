import { open } from 'node:fs/promises';

export const DEFAULT_MAX_INPUT_BYTES = 10 * 1024 * 1024;

export class InputError extends Error {}

/**
 * Reads a file with a hard size limit (checked on the open handle and while reading, so a growing or
 * special file cannot exceed it) and returns its text.
 */
export async function readInputText(path: string, maxBytes: number, what: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new InputError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new InputError(`cannot read ${what} ${path}: not a regular file`);
    if (stat.size > maxBytes)
      throw new InputError(`${what} ${path} is ${stat.size} bytes, over the ${maxBytes}-byte limit`);
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > maxBytes) throw new InputError(`${what} ${path} is over the ${maxBytes}-byte limit`);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

export async function readInputJson(path: string, maxBytes: number, what: string): Promise<unknown> {
  const text = await readInputText(path, maxBytes, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputError(`${what} ${path} is not JSON: ${(error as Error).message.split('\n')[0]}`);
  }
}
