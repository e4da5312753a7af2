import { inspect } from 'node:util';

/**
 * A decrypted secret handed out by the store. It renders as `[redacted]` in JSON, string
 * interpolation and `util.inspect`, so a tenant object that reaches a logger (pino uses toJSON)
 * or an error message leaks nothing; code that needs the value calls `reveal()` explicitly.
 */
export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'SecretValue([redacted])';
  }
}
