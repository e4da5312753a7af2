import { access } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { siblingArtifactName } from '../core/clawsig/urm';
import { looksLikeCommitSignature, verifyCommitSignature } from '../core/clawsig/commit-signature';
import { isJsonObject } from '../core/clawsig/json';
import { looksLikeExportBundle, verifyExportBundle } from '../core/clawsig/verify-export-bundle';
import { missionPatternProblem } from '../core/mission-pattern';
import { parseWpc } from '../core/policy';
import { verifyAndEvaluate, type EvaluationInput } from '../core/verdict';
import { commitSignatureToJson, exportBundleToJson, verdictToJson } from '../render/verdict-json';
import { commitSignatureToText, exportBundleToText, verdictToText } from '../render/verdict-text';
import { parseChangeSetFile } from './changes-file';
import { DEFAULT_MAX_INPUT_BYTES, InputError, readInputJson, readInputText } from './input-file';
import type { CliIo } from './io';
import { looksLikeEvidencePack, verifyEvidencePack } from '../evidence/evidence-pack';
import { evidencePackToJson, evidencePackToText } from '../render/evidence-pack-text';

export const VERIFY_USAGE = `Usage: clawgate verify FILE [options]

Verifies a Clawsig proof-bundle envelope, a Protocol-M commit signature, an export bundle or a
clawgate evidence pack (detected from FILE).
An evidence pack (GET …/evaluations/{id}/evidence) is checked byte for byte against the
deployment's Ed25519 signature, and its verdict is re-derived offline from the recorded input;
it passes only when the signer is pinned with --evidence-signer (docs/evidence.md).
Without --wpc/--cst/--changes: the protocol rules and the strict gateway layer only.
With any of them: the full clawgate profile (and, with --wpc and --changes, the WPC).

Options:
  --wpc FILE                 Work Policy Contract the bundle must satisfy: the Bitbucket shape, an
                             official Clawsig WPC v1 or v2, bare or in a signed work_policy_contract
                             envelope (JSON)
  --wpc-issuer DID           signer a signed WPC envelope must come from (repeatable)
  --cst FILE                 scoped token: a compact EdDSA JWT or its claims as JSON
                             (default: the token in the bundle's signed metadata)
  --cst-issuer-key B64U      CST issuer Ed25519 public key, raw 32 bytes base64url (repeatable)
  --trusted-gateway DID      gateway receipt signer to trust (repeatable; none by default)
  --derivation-signer DID    derivation-attestation signer to trust in export bundles (repeatable)
  --urm FILE                 the Universal Run Manifest the bundle references (payload.urm);
                             default: the sibling <name>-urm.json of a <name>-bundle.json FILE
  --evidence-signer DID      clawgate deployment key to trust for evidence packs (repeatable;
                             listed by the service at /api/v1/evidence-keys)
  --changes FILE             the change set (repository, actor, PR, files, commits) as JSON
  --mission-pattern P        require the CST mission_id to match P ('*' wildcard, {repository},
                             {workspace}, {repo_slug}); default: mission_id is opaque (recorded only)
  --now ISO                  verification time (default: now)
  --format text|json         output format (default: text)
  --max-bytes N              input size limit per file (default: 10485760)
  -h, --help                 show this help

Exit status: 0 PASS, 1 FAIL (including PENDING and NOT_APPLICABLE), 2 usage or input error.
`;

function parseNow(value: string | undefined, io: CliIo): number {
  if (value === undefined) return io.now();
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms))
    throw new InputError(`--now ${value} is not an ISO 8601 date-time`);
  return ms;
}

/**
 * The URM document: `--urm FILE`, else the sibling `<name>-urm.json` of a `<name>-bundle.json` (the
 * reference CLI's convention), else none (a bundle that references one then fails URM_MISSING).
 */
async function readUrm(option: string | undefined, bundleFile: string, maxBytes: number): Promise<unknown> {
  if (option !== undefined) return readInputJson(option, maxBytes, 'URM');
  const sibling = siblingArtifactName(basename(bundleFile), 'urm');
  if (sibling === undefined) return undefined;
  const path = join(dirname(bundleFile), sibling);
  try {
    await access(path);
  } catch {
    return undefined;
  }
  return readInputJson(path, maxBytes, 'URM');
}

export async function runVerify(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        wpc: { type: 'string' },
        'wpc-issuer': { type: 'string', multiple: true },
        cst: { type: 'string' },
        'cst-issuer-key': { type: 'string', multiple: true },
        'trusted-gateway': { type: 'string', multiple: true },
        'derivation-signer': { type: 'string', multiple: true },
        'evidence-signer': { type: 'string', multiple: true },
        changes: { type: 'string' },
        urm: { type: 'string' },
        'mission-pattern': { type: 'string' },
        now: { type: 'string' },
        format: { type: 'string', default: 'text' },
        'max-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr(`clawgate verify: ${(error as Error).message}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(VERIFY_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr(`clawgate verify: expected exactly one FILE (see --help)\n`);
    return 2;
  }
  const format = values.format;
  if (format !== 'text' && format !== 'json') {
    io.stderr(`clawgate verify: --format must be text or json\n`);
    return 2;
  }
  const file = positionals[0] ?? '';
  try {
    const maxBytes = values['max-bytes'] === undefined ? DEFAULT_MAX_INPUT_BYTES : Number(values['max-bytes']);
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0)
      throw new InputError(`--max-bytes must be a positive integer`);
    const nowMs = parseNow(values.now, io);
    const trustedGateways = (values['trusted-gateway'] ?? []).map((did) => {
      if (!/^did:key:z[1-9A-HJ-NP-Za-km-z]+$/.test(did))
        throw new InputError(`--trusted-gateway ${did} is not a did:key`);
      return { did };
    });
    const cstIssuers = (values['cst-issuer-key'] ?? []).map((key) => {
      if (!/^[A-Za-z0-9_-]{43}$/.test(key))
        throw new InputError(`--cst-issuer-key must be a 32-byte Ed25519 key in base64url (43 characters)`);
      return { publicKeyB64u: key };
    });

    const subjectText = await readInputText(file, maxBytes, 'input');
    let subject: unknown;
    try {
      subject = JSON.parse(subjectText) as unknown;
    } catch (error) {
      throw new InputError(`input ${file} is not JSON: ${(error as Error).message.split('\n')[0]}`);
    }
    if (looksLikeEvidencePack(subject)) {
      const result = await verifyEvidencePack(subjectText, { trustedSignerDids: values['evidence-signer'] ?? [] });
      io.stdout(
        format === 'json'
          ? `${JSON.stringify(evidencePackToJson(result, file), null, 2)}\n`
          : evidencePackToText(result, file),
      );
      return result.valid ? 0 : 1;
    }
    const exportBundle = looksLikeExportBundle(subject)
      ? subject
      : isJsonObject(subject) && looksLikeExportBundle(subject.bundle)
        ? subject.bundle
        : undefined;
    if (exportBundle !== undefined) {
      const derivationSignerDids = values['derivation-signer'] ?? [];
      const result = verifyExportBundle(exportBundle, {
        nowMs,
        trustedGatewayDids: trustedGateways.map((g) => g.did),
        derivationSignerDids,
      });
      io.stdout(
        format === 'json'
          ? `${JSON.stringify(exportBundleToJson(result, file), null, 2)}\n`
          : exportBundleToText(result, file),
      );
      return result.valid ? 0 : 1;
    }
    if (looksLikeCommitSignature(subject)) {
      const result = verifyCommitSignature(subject);
      io.stdout(
        format === 'json'
          ? `${JSON.stringify(commitSignatureToJson(result, file), null, 2)}\n`
          : commitSignatureToText(result, file),
      );
      return result.valid ? 0 : 1;
    }

    let policy: EvaluationInput['policy'];
    if (values.wpc !== undefined) {
      const wpc = parseWpc(await readInputJson(values.wpc, maxBytes, 'WPC'), {
        wpcIssuers: values['wpc-issuer'] ?? [],
      });
      if (!wpc.ok)
        throw new InputError(
          `WPC ${values.wpc} is invalid: ${wpc.code}: ${wpc.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
        );
      policy = { wpc: wpc.policy.wpc, hash: wpc.policy.policyHashB64u, official: wpc.policy.official };
    }
    let scopedToken: unknown;
    if (values.cst !== undefined) {
      const text = (await readInputText(values.cst, maxBytes, 'CST')).trim();
      if (text.startsWith('{')) {
        try {
          scopedToken = JSON.parse(text) as unknown;
        } catch {
          throw new InputError(`CST ${values.cst} is neither a JWT nor JSON claims`);
        }
      } else scopedToken = text;
    }
    let change: EvaluationInput['change'];
    if (values.changes !== undefined) {
      const parsedChange = parseChangeSetFile(await readInputJson(values.changes, maxBytes, 'changes file'));
      if (!parsedChange.ok)
        throw new InputError(
          `changes file ${values.changes} is invalid: ${parsedChange.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
        );
      change = parsedChange.change;
    }
    const urm = await readUrm(values.urm, file, maxBytes);
    const missionIdPattern = values['mission-pattern'];
    if (missionIdPattern !== undefined) {
      const problem = missionPatternProblem(missionIdPattern);
      if (problem) throw new InputError(`--mission-pattern ${problem}`);
    }
    const profile = policy || scopedToken !== undefined || change ? 'clawgate' : 'protocol';
    const verdict = await verifyAndEvaluate({
      nowMs,
      profile,
      settings: {
        mode: 'enforce',
        trustedGateways,
        cstIssuers,
        ...(missionIdPattern !== undefined ? { missionIdPattern } : {}),
      },
      bundle: subject,
      urm,
      scopedToken,
      policy,
      change,
    });
    io.stdout(
      format === 'json'
        ? `${JSON.stringify(verdictToJson(verdict, file), null, 2)}\n`
        : verdictToText(verdict, file, profile),
    );
    return verdict.state === 'PASS' ? 0 : 1;
  } catch (error) {
    if (error instanceof InputError) {
      io.stderr(`clawgate verify: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
