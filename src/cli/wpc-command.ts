import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { encodeB64u } from '../core/clawsig/base64url';
import { didKeyFromPublicKey } from '../core/clawsig/did-key';
import { WPC_LIMITS } from '../core/policy';
import { lintWpc, wpcFormOf } from '../core/policy/wpc-lint';
import {
  DEFAULT_WPC_TEMPLATE,
  isWpcTemplateName,
  PLACEHOLDER_ISSUER_DID,
  WPC_TEMPLATE_NAMES,
  wpcTemplate,
} from '../core/policy/wpc-templates';
import { wpcLintToText } from '../render/wpc-lint-text';
import { InputError, readInputJson, readInputText } from './input-file';
import type { CliIo } from './io';

export const WPC_USAGE = `Usage: clawgate wpc <command> [options]

Write, check, hash and sign Work Policy Contracts (the policy clawgate enforces on agent PRs).

  wpc init [--template NAME] [--repo WS/REPO]... [--key FILE | --issuer DID] [--policy-id ID]
           [--out FILE] [--force]
      Prints a WPC to start from (or writes it to FILE; an existing FILE needs --force).
      Templates: bitbucket (default: the seed's policy: agents may branch, open PRs and comment;
      never merge, delete branches or push to main; pipeline and security files are off limits;
      a human approves; gateway receipts required), clawsig-v1, clawsig-v2 (the official Clawsig
      forms). --repo fills repos_allowlist; --key or --issuer sets issuer_did.

  wpc check FILE [--format text|json] [--strict]
      Validates a WPC (any form) or a signed WPC envelope: each error with its field path, then
      warnings (e.g. "no deny glob covers the pipeline file"), the signer and the hash.
      Exit 0 valid, 1 invalid (or any warning with --strict), 2 usage or input error.

  wpc hash FILE
      Prints the policy hash, b64u(SHA-256(JCS(policy))): the value gateway receipts, scoped
      tokens and assignments pin. For an envelope, the hash of its payload.

  wpc sign FILE --key KEYFILE [--out FILE] [--issued-at ISO]
      Wraps the WPC in a signed work_policy_contract envelope (Ed25519 over the policy hash).
      KEYFILE: an Ed25519 private key, PKCS#8 PEM (wpc keygen, or openssl genpkey -algorithm
      ed25519) or a JWK. Prints the signer's did:key on stderr: list it in the workspace's
      wpc_issuers so the server accepts the envelope.

  wpc keygen --out KEYFILE
      Writes a new Ed25519 private key (PKCS#8 PEM, mode 0600) and prints its did:key.
`;

/** Policy files are at most WPC_LIMITS.maxJsonBytes; an envelope adds a few hundred bytes. */
const MAX_WPC_FILE_BYTES = WPC_LIMITS.maxJsonBytes + 4096;
const MAX_KEY_FILE_BYTES = 16 * 1024;

class UsageError extends Error {}

interface Ed25519Signer {
  readonly did: string;
  readonly key: KeyObject;
}

function didOf(privateKey: KeyObject): string {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return didKeyFromPublicKey(new Uint8Array(Buffer.from(String(jwk.x), 'base64url')));
}

/** An Ed25519 private key from a PKCS#8 PEM or a JWK file; anything else is an input error. */
async function readSigningKey(file: string, io: CliIo): Promise<Ed25519Signer> {
  const text = await readInputText(file, MAX_KEY_FILE_BYTES, 'key file');
  let key: KeyObject;
  try {
    const trimmed = text.trim();
    key = trimmed.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(trimmed) as JsonWebKey, format: 'jwk' })
      : createPrivateKey(trimmed);
  } catch {
    throw new InputError(`key file ${file} is not a private key (PKCS#8 PEM or JWK)`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new InputError(
      `key file ${file} holds a ${key.asymmetricKeyType ?? 'non-asymmetric'} key; an Ed25519 key is needed`,
    );
  const mode = (await stat(file)).mode;
  if ((mode & 0o077) !== 0)
    io.stderr(`clawgate wpc: warning: ${file} is readable by other users (chmod 600 ${file})\n`);
  return { did: didOf(key), key };
}

async function writeOutput(
  text: string,
  out: string | undefined,
  force: boolean,
  io: CliIo,
  mode = 0o644,
): Promise<void> {
  if (out === undefined) {
    io.stdout(text);
    return;
  }
  try {
    await writeFile(out, text, { flag: force ? 'w' : 'wx', mode });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      code === 'EEXIST' ? `${out} exists (use --force to overwrite)` : `cannot write ${out}: ${code ?? 'error'}`,
    );
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

async function runInit(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      template: { type: 'string', default: DEFAULT_WPC_TEMPLATE },
      repo: { type: 'string', multiple: true },
      issuer: { type: 'string' },
      key: { type: 'string' },
      'policy-id': { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  if (!isWpcTemplateName(values.template))
    throw new UsageError(`--template must be one of ${WPC_TEMPLATE_NAMES.join(', ')}`);
  if (values.issuer !== undefined && values.key !== undefined) throw new UsageError('give --issuer or --key, not both');
  const issuerDid = values.key !== undefined ? (await readSigningKey(values.key, io)).did : values.issuer;
  const document = wpcTemplate(values.template, {
    ...(values.repo ? { repos: values.repo } : {}),
    ...(issuerDid !== undefined ? { issuerDid } : {}),
    ...(values['policy-id'] !== undefined ? { policyId: values['policy-id'] } : {}),
  });
  // A template with a bad --repo/--issuer should not be written: say which field is wrong.
  const lint = lintWpc(document);
  if (lint.errors.length > 0) {
    io.stderr(wpcLintToText('the template', lint));
    return 1;
  }
  await writeOutput(json(document), values.out, values.force, io);
  if (values.out !== undefined)
    io.stderr(`wrote ${values.out} (${values.template}); next: clawgate wpc check ${values.out}\n`);
  return 0;
}

async function runCheck(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { format: { type: 'string', default: 'text' }, strict: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('give exactly one FILE');
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError('--format must be text or json');
  const file = positionals[0] as string;
  const result = lintWpc(await readInputJson(file, MAX_WPC_FILE_BYTES, 'WPC'));
  if (values.format === 'json') {
    io.stdout(
      json({
        file,
        form: result.form,
        valid: result.errors.length === 0,
        errors: result.errors,
        warnings: result.warnings,
        signer_did: result.signerDid ?? null,
        policy_hash_b64u: result.policyHashB64u ?? null,
      }),
    );
  } else {
    io.stdout(wpcLintToText(file, result));
  }
  if (result.errors.length > 0) return 1;
  return values.strict && result.warnings.length > 0 ? 1 : 0;
}

async function runHash(argv: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('give exactly one FILE');
  const file = positionals[0] as string;
  const result = lintWpc(await readInputJson(file, MAX_WPC_FILE_BYTES, 'WPC'));
  if (result.policyHashB64u === undefined) {
    io.stderr(wpcLintToText(file, result));
    return 1;
  }
  io.stdout(`${result.policyHashB64u}\n`);
  return 0;
}

function parseIssuedAt(value: string | undefined, io: CliIo): string {
  if (value === undefined) return new Date(io.now()).toISOString();
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms))
    throw new UsageError(`--issued-at ${value} is not an ISO 8601 date-time`);
  return new Date(ms).toISOString();
}

async function runSign(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      key: { type: 'string' },
      out: { type: 'string' },
      'issued-at': { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('give exactly one FILE');
  if (values.key === undefined) throw new UsageError('--key KEYFILE is required');
  const issuedAt = parseIssuedAt(values['issued-at'], io);
  const file = positionals[0] as string;
  const document = await readInputJson(file, MAX_WPC_FILE_BYTES, 'WPC');
  if (wpcFormOf(document) === 'envelope') {
    io.stderr(`clawgate wpc sign: ${file} is already a signed envelope\n`);
    return 1;
  }
  const lint = lintWpc(document);
  if (lint.errors.length > 0 || lint.policyHashB64u === undefined) {
    io.stderr(wpcLintToText(file, lint));
    return 1;
  }
  const signer = await readSigningKey(values.key, io);
  const payload = document as Record<string, unknown>;
  if (payload.issuer_did !== undefined && payload.issuer_did !== signer.did) {
    const hint =
      payload.issuer_did === PLACEHOLDER_ISSUER_DID ? ` (set it with: clawgate wpc init --key ${values.key})` : '';
    io.stderr(
      `clawgate wpc sign: issuer_did is ${String(payload.issuer_did)} but the key is ${signer.did}; the server would refuse the envelope (WPC_ISSUER_MISMATCH)${hint}\n`,
    );
    return 1;
  }
  const hash = lint.policyHashB64u;
  const envelope = {
    envelope_version: '1',
    envelope_type: 'work_policy_contract',
    payload: document,
    payload_hash_b64u: hash,
    hash_algorithm: 'SHA-256',
    signature_b64u: encodeB64u(new Uint8Array(sign(null, Buffer.from(hash, 'utf8'), signer.key))),
    algorithm: 'Ed25519',
    signer_did: signer.did,
    issued_at: issuedAt,
  };
  await writeOutput(json(envelope), values.out, values.force, io);
  io.stderr(`signed by ${signer.did} (list it in the workspace's wpc_issuers); policy hash ${hash}\n`);
  return 0;
}

async function runKeygen(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { out: { type: 'string' }, force: { type: 'boolean', default: false } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  // A private key is never printed: it goes to a file only the owner can read.
  if (values.out === undefined) throw new UsageError('--out KEYFILE is required');
  const { privateKey } = generateKeyPairSync('ed25519');
  await writeOutput(
    privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    values.out,
    values.force,
    io,
    0o600,
  );
  io.stdout(`${didOf(privateKey)}\n`);
  return 0;
}

const SUBCOMMANDS: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  init: runInit,
  check: runCheck,
  hash: runHash,
  sign: runSign,
  keygen: runKeygen,
};

export async function runWpc(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (
    name === undefined ||
    name === '--help' ||
    name === '-h' ||
    name === 'help' ||
    rest.includes('--help') ||
    rest.includes('-h')
  ) {
    io.stdout(WPC_USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = SUBCOMMANDS[name];
  if (command === undefined) {
    io.stderr(`clawgate wpc: unknown command "${name}"\n${WPC_USAGE}`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (error) {
    // parseArgs throws errors with an ERR_PARSE_ARGS_* code (checked by code: realms may differ).
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
    if (error instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`clawgate wpc ${name}: ${(error as Error).message}\nRun "clawgate wpc --help" for usage.\n`);
      return 2;
    }
    if (error instanceof InputError) {
      io.stderr(`clawgate wpc ${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
