import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { ENVELOPE_KEYS, hasAllEnvelopeKeys } from '../../core/clawsig/envelope';
import { MAX_TRUST_PULSE_BYTES, trustPulseSchema } from '../../core/clawsig/trust-pulse';
import { ApiError, validationFailed, type ApiFieldError } from '../../http/http-error';
import type { ApiContext } from '../api-context';
import { access, ACCESS, principalOf, sourceAddress } from '../../http/authenticate';
import { authorizeEvidenceViewer } from '../evidence-access';
import { jsonBody, jsonBodyOf } from '../../http/json-body';
import { zodIssuesToFields } from '../../http/zod-fields';

/**
 * `GET /workspaces/{ws}/bundles/{bundle_id}` answers a stored bundle (uploaded, or kept by the pipeline
 * from the PR) exactly as stored, for download from the details page and re-verification with
 * `clawgate verify`; its SHA-256 (the one evaluations record) is in `X-Bundle-Sha256-B64u`. The scoped
 * token stored beside it is never answered: it may still be a live credential. Another workspace's
 * bundle is the same 404 as one that does not exist.
 *
 * `POST /workspaces/{ws}/bundles` `{bundle: <proof-bundle envelope>, scoped_token?: "<jwt>"}` →
 * 201 `{bundle_id}` (docs/clawsig-profile.md, "Where clawgate finds a bundle in a PR"). Nothing is verified here — the pipeline verifies when a PR names
 * the bundle and fails closed — but input that can never verify is refused now, with field paths:
 * not the 9-key envelope form (a bare payload, clawsig.md §2.2), not a `proof_bundle`, no
 * `payload.bundle_id`. The envelope is stored as `JSON.stringify` of the parsed value: every hash the
 * verifier computes is over parsed values, so this loses nothing it checks, and the same bundle sent
 * with different whitespace is the same bundle (200), while different content under one id is 409.
 */

/** A compact JWS is a few KiB at most; a larger "token" is not one. */
const MAX_SCOPED_TOKEN_CHARS = 16 * 1024;
/** Room for `{"bundle":…,"scoped_token":"…","trust_pulse":…}` around a bundle of the maximum size. */
const WRAPPER_ALLOWANCE_BYTES = MAX_SCOPED_TOKEN_CHARS + MAX_TRUST_PULSE_BYTES + 1024;

const uploadSchema = z.strictObject({
  bundle: z.unknown(),
  /** The run's URM (issue 12): JSON object; only its Trust Pulse binding is read by clawgate today. */
  urm: z.record(z.string(), z.unknown()).optional(),
  /** The run's Trust Pulse (trust_pulse.v1, ≤ 64 KiB): self-reported, shown beside the diff. */
  trust_pulse: z.unknown().optional(),
  scoped_token: z
    .string()
    .max(MAX_SCOPED_TOKEN_CHARS)
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a compact JWS (header.payload.signature)')
    .optional(),
});

const bundleIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(255)
  // eslint-disable-next-line no-control-regex -- refuse ids that cannot be written in a PR line
  .refine((id) => !/[\u0000-\u001f\u007f]/.test(id) && id.trim() === id, 'must not contain control characters or surrounding whitespace');

function checkEnvelope(bundle: unknown): { bundleId: string } {
  if (!hasAllEnvelopeKeys(bundle)) {
    const present = typeof bundle === 'object' && bundle !== null && !Array.isArray(bundle) ? bundle : {};
    const missing = ENVELOPE_KEYS.filter((key) => !(key in present));
    throw validationFailed(
      [{ path: 'bundle', message: `must be a signed proof-bundle envelope; missing ${missing.join(', ')}` }],
      'the bundle is not a signed envelope (bare payloads are refused)',
      'NOT_AN_ENVELOPE',
    );
  }
  const fields: ApiFieldError[] = [];
  if (bundle.envelope_type !== 'proof_bundle') fields.push({ path: 'bundle.envelope_type', message: 'must be "proof_bundle"' });
  const payload = bundle.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    fields.push({ path: 'bundle.payload', message: 'must be an object' });
    throw validationFailed(fields, 'the bundle envelope is malformed');
  }
  const bundleId = bundleIdSchema.safeParse('bundle_id' in payload ? payload.bundle_id : undefined);
  if (!bundleId.success) fields.push(...zodIssuesToFields(bundleId.error.issues, ['bundle', 'payload', 'bundle_id']));
  if (fields.length > 0 || !bundleId.success) throw validationFailed(fields, 'the bundle envelope is malformed');
  return { bundleId: bundleId.data };
}

export function bundleRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });
  const maxBundleBytes = context.config.maxBundleBytes;

  router.post('/bundles', access(ACCESS.uploadBundle), ...jsonBody({ limit: maxBundleBytes + WRAPPER_ALLOWANCE_BYTES, required: true }), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    await context.rateLimits.consume(response, 'upload', principal.actor, sourceAddress(request));
    const upload = uploadSchema.safeParse(jsonBodyOf(request)?.value);
    if (!upload.success) throw validationFailed(zodIssuesToFields(upload.error.issues), 'the upload is invalid');
    const { bundleId } = checkEnvelope(upload.data.bundle);
    const envelopeText = JSON.stringify(upload.data.bundle);
    const size = Buffer.byteLength(envelopeText, 'utf8');
    if (size > maxBundleBytes) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the bundle is ${size} bytes; the limit is ${maxBundleBytes}`);
    // The URM and pulse are stored as JSON.stringify of the parsed value: their binding hashes are
    // over exactly that (trust-pulse.ts), so nothing checked is lost.
    const urmText = upload.data.urm === undefined ? null : JSON.stringify(upload.data.urm);
    if (urmText !== null && Buffer.byteLength(urmText, 'utf8') > maxBundleBytes) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the URM is larger than ${maxBundleBytes} bytes`);
    let trustPulseText: string | null = null;
    if (upload.data.trust_pulse !== undefined) {
      trustPulseText = JSON.stringify(upload.data.trust_pulse) ?? 'null';
      if (Buffer.byteLength(trustPulseText, 'utf8') > MAX_TRUST_PULSE_BYTES) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the Trust Pulse is larger than ${MAX_TRUST_PULSE_BYTES} bytes`);
      const pulse = trustPulseSchema.safeParse(upload.data.trust_pulse);
      if (!pulse.success) throw validationFailed(zodIssuesToFields(pulse.error.issues, ['trust_pulse']), 'the Trust Pulse does not match trust_pulse.v1');
    }
    const { bundle, created } = await context.store.bundles.put(principal.workspaceId, {
      bundleId,
      envelopeText,
      scopedToken: upload.data.scoped_token ?? null,
      source: 'api',
      uploadedBy: principal.actor,
      urmText,
      trustPulseText,
    });
    if (created) {
      // Who supplied which evidence is part of the audit trail (never the token itself).
      await context.store.audit.append(principal.workspaceId, {
        actor: principal.actor,
        kind: 'bundle.uploaded',
        subject: bundleId,
        after: { sha256_b64u: bundle.sha256B64u, size: bundle.size, has_scoped_token: bundle.scopedToken !== null, has_urm: bundle.urmText !== null, has_trust_pulse: bundle.trustPulseText !== null },
      });
    }
    response.status(created ? 201 : 200).json({ bundle_id: bundleId });
  });

  router.get('/bundles/:bundleId', access(ACCESS.readBundle), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const { workspaceId } = principal;
    const bundleId = bundleIdSchema.safeParse(request.params.bundleId);
    if (!bundleId.success) throw new ApiError(404, 'BUNDLE_NOT_FOUND', 'this workspace has no bundle with that id');
    // A person: before the lookup, so a refused viewer cannot tell which bundles exist.
    await authorizeEvidenceViewer(context.store, request, { bundleId: bundleId.data });
    const bundle = await context.store.bundles.get(workspaceId, bundleId.data);
    if (bundle === null) throw new ApiError(404, 'BUNDLE_NOT_FOUND', 'this workspace has no bundle with that id');
    // The file name is the id with anything a header or a file system could misread replaced.
    const fileName = `${bundle.bundleId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200)}.json`;
    response.setHeader('Content-Disposition', `attachment; filename="${fileName}"`);
    response.setHeader('X-Bundle-Sha256-B64u', bundle.sha256B64u);
    response.setHeader('X-Bundle-Source', bundle.source);
    response.type('application/json; charset=utf-8').send(bundle.envelopeText);
  });

  return router;
}
