import type { BitbucketClient } from '../../bitbucket';
import { BitbucketNotFoundError, BitbucketResponseError } from '../../bitbucket';
import { isJsonObject } from '../../core/clawsig/json';

/**
 * Where a PR's proof bundle is found among the files
 * the PR changed (docs/clawsig-profile.md, "Where clawgate finds a bundle"). Precedence:
 *
 * 1. `.clawsig/bundles/<bundle_id>.json` for each id the PR declares (`Proof-Bundle: <id>`): the
 *    recommended, conflict-free layout (one file per bundle; two agent PRs never touch one path);
 * 2. the harness layout: any changed `<name>-bundle.json` (e.g.
 *    `artifacts/poh/<branch>/run_<id>-bundle.json`), in path order, at most
 *    MAX_HARNESS_CANDIDATES of them; when the PR declares ids, only a file whose `bundle_id` is
 *    declared counts; when it declares none, exactly one such file may be present (several are
 *    ambiguous and fail closed: declare the one to evaluate);
 * 3. `.clawsig/proof_bundle.json` (legacy single-bundle path).
 *
 * The URM and Trust Pulse beside the chosen bundle are read by gather with `runArtifactPaths`
 * (src/core/clawsig/run-artifacts.ts): `<name>-bundle.json` → `<name>-urm.json` and
 * `<name>-trust-pulse.json`, as the reference CLI and the harnesses name them.
 */

export const MAX_HARNESS_CANDIDATES = 10;

export interface BundleFileCandidate {
  path: string;
  layout: 'declared' | 'harness' | 'legacy';
}

/** A file read from the PR at head (as text: the verification pool parses it off the event loop). */
export interface PullRequestArtifact {
  path: string;
  text: string;
  sha256B64u: string;
}

export interface DiscoveredEvidence {
  bundle?: PullRequestArtifact & { layout: BundleFileCandidate['layout'] };
  error?: 'BUNDLE_UNREADABLE';
}

const HARNESS_BUNDLE = /-bundle\.json$/;

/** The candidate bundle files among `changedPaths`, in precedence order (pure). */
export function discoveryCandidates(
  changedPaths: readonly string[],
  declared: readonly string[],
): BundleFileCandidate[] {
  const changed = new Set(changedPaths);
  const out: BundleFileCandidate[] = [];
  for (const id of declared) {
    const path = `.clawsig/bundles/${id}.json`;
    if (changed.has(path)) out.push({ path, layout: 'declared' });
  }
  const harness = [...changed].filter((p) => HARNESS_BUNDLE.test(p) && !p.startsWith('.clawsig/bundles/')).sort();
  for (const path of harness.slice(0, MAX_HARNESS_CANDIDATES)) out.push({ path, layout: 'harness' });
  if (changed.has('.clawsig/proof_bundle.json')) out.push({ path: '.clawsig/proof_bundle.json', layout: 'legacy' });
  return out;
}

function bundleIdOf(value: unknown): string | undefined {
  const payload = isJsonObject(value) && isJsonObject(value.payload) ? value.payload : undefined;
  return payload && typeof payload.bundle_id === 'string' ? payload.bundle_id : undefined;
}

type Read = { ok: true; artifact: PullRequestArtifact } | { ok: false; reason: 'absent' | 'unreadable' };

async function readAtHead(
  client: BitbucketClient,
  at: { workspace: string; repoSlug: string; headSha: string },
  path: string,
  maxBytes: number,
): Promise<Read> {
  let text: string | null;
  try {
    text = await client.getFileAtCommit(at.workspace, at.repoSlug, at.headSha, path, { maxBytes });
  } catch (error) {
    if (error instanceof BitbucketNotFoundError) return { ok: false, reason: 'absent' };
    // Too large or not UTF-8: the file cannot be read (fail closed). Anything else (network, auth,
    // rate limit) is clawgate's failure and propagates.
    if (!(error instanceof BitbucketResponseError)) throw error;
    return { ok: false, reason: 'unreadable' };
  }
  if (text === null) return { ok: false, reason: 'absent' };
  return { ok: true, artifact: { path, text, sha256B64u: await sha256B64uOffLoop(text) } };
}

/**
 * SHA-256 of a file of up to the bundle limit through WebCrypto, which digests on libuv's thread pool:
 * the one-shot hash ran on the event loop (≈115 ms for a 10 MiB junk bundle on a loaded machine).
 */
async function sha256B64uOffLoop(text: string): Promise<string> {
  return Buffer.from(await globalThis.crypto.subtle.digest('SHA-256', Buffer.from(text, 'utf8'))).toString('base64url');
}

/**
 * The bundle id of a harness-layout candidate, needed only to match it against the declared ids.
 * This is the one parse on the event loop (bounded by the bundle size limit); the declared and
 * `.clawsig/` layouts are never parsed here. Not JSON: undefined (the caller fails closed).
 */
function bundleIdOfText(text: string): { ok: true; bundleId: string | undefined } | { ok: false } {
  try {
    return { ok: true, bundleId: bundleIdOf(JSON.parse(text) as unknown) };
  } catch {
    return { ok: false };
  }
}

/**
 * Finds the bundle among the PR's changed files, read at the PR's head.
 * `changedPaths` are the paths the PR adds or modifies (not removed ones).
 */
export async function discoverBundleInPullRequest(input: {
  client: BitbucketClient;
  workspace: string;
  repoSlug: string;
  headSha: string;
  changedPaths: readonly string[];
  declared: readonly string[];
  maxBundleBytes: number;
}): Promise<DiscoveredEvidence> {
  const at = { workspace: input.workspace, repoSlug: input.repoSlug, headSha: input.headSha };
  const candidates = discoveryCandidates(input.changedPaths, input.declared);
  const harnessCount = candidates.filter((c) => c.layout === 'harness').length;
  let found: (PullRequestArtifact & { layout: BundleFileCandidate['layout'] }) | undefined;
  for (const candidate of candidates) {
    if (candidate.layout === 'harness' && input.declared.length === 0 && harnessCount > 1)
      return { error: 'BUNDLE_UNREADABLE' };
    const read = await readAtHead(input.client, at, candidate.path, input.maxBundleBytes);
    if (!read.ok) {
      if (read.reason === 'absent') continue;
      return { error: 'BUNDLE_UNREADABLE' };
    }
    if (candidate.layout === 'harness' && input.declared.length > 0) {
      const id = bundleIdOfText(read.artifact.text);
      if (!id.ok) return { error: 'BUNDLE_UNREADABLE' };
      if (id.bundleId === undefined || !input.declared.includes(id.bundleId)) continue;
    }
    found = { ...read.artifact, layout: candidate.layout };
    break;
  }
  if (!found) return {};

  return { bundle: found };
}
