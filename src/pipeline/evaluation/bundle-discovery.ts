import type { BitbucketClient } from '../../bitbucket';
import { BitbucketNotFoundError, BitbucketResponseError } from '../../bitbucket';
import type { Verifier } from '../../verification';

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

/**
 * A file read from the PR at head: its text (decoded, like its hash, off the event loop; the
 * verification pool parses it) and the SHA-256 of its exact bytes.
 */
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

type Read =
  | { ok: true; artifact: PullRequestArtifact; bundleId?: { id?: string } | 'not_json' }
  | { ok: false; reason: 'absent' | 'unreadable' };

/**
 * A file at head, read as bytes (bounded by `maxBytes`) and handed to the verification pool, which
 * decodes it (strict UTF-8) and hashes those exact bytes; with `bundleId` (a harness-layout candidate,
 * matched against the declared ids) it is also parsed there for its `payload.bundle_id`. Nothing of
 * the file's size runs on the event loop but the bounded read (a 10 MiB junk bundle: finding 6).
 */
export async function readFileAtHead(
  client: BitbucketClient,
  verifier: Verifier,
  at: { workspace: string; repoSlug: string; headSha: string },
  path: string,
  maxBytes: number,
  options: { bundleId?: boolean } = {},
): Promise<Read> {
  let bytes: Uint8Array | null;
  try {
    bytes = await client.getFileBytesAtCommit(at.workspace, at.repoSlug, at.headSha, path, { maxBytes });
  } catch (error) {
    if (error instanceof BitbucketNotFoundError) return { ok: false, reason: 'absent' };
    // Too large: the file cannot be read (fail closed). Anything else (network, auth, rate limit) is
    // clawgate's failure and propagates.
    if (!(error instanceof BitbucketResponseError)) throw error;
    return { ok: false, reason: 'unreadable' };
  }
  if (bytes === null) return { ok: false, reason: 'absent' };
  const file = await verifier.decodeFile(bytes, options);
  // Not UTF-8, or (parsing for the bundle id) past the time budget: unreadable, fail closed.
  if ('problem' in file) return { ok: false, reason: 'unreadable' };
  const artifact = { path, text: file.text, sha256B64u: file.sha256B64u };
  return file.bundleId === undefined ? { ok: true, artifact } : { ok: true, artifact, bundleId: file.bundleId };
}

/**
 * Finds the bundle among the PR's changed files, read at the PR's head.
 * `changedPaths` are the paths the PR adds or modifies (not removed ones).
 */
export async function discoverBundleInPullRequest(input: {
  client: BitbucketClient;
  verifier: Verifier;
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
    const matchId = candidate.layout === 'harness' && input.declared.length > 0;
    const read = await readFileAtHead(input.client, input.verifier, at, candidate.path, input.maxBundleBytes, {
      bundleId: matchId,
    });
    if (!read.ok) {
      if (read.reason === 'absent') continue;
      return { error: 'BUNDLE_UNREADABLE' };
    }
    if (matchId) {
      // Parsed in the worker, never here (a 10 MiB nest of arrays takes seconds to parse).
      if (read.bundleId === undefined || read.bundleId === 'not_json') return { error: 'BUNDLE_UNREADABLE' };
      const id = read.bundleId.id;
      if (id === undefined || !input.declared.includes(id)) continue;
    }
    found = { ...read.artifact, layout: candidate.layout };
    break;
  }
  if (!found) return {};

  return { bundle: found };
}
