import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { ENVELOPE_KEYS, hasAllEnvelopeKeys } from '../../core/clawsig/envelope';
import { MAX_TRUST_PULSE_BYTES, trustPulseSchema } from '../../core/clawsig/trust-pulse';
import { ApiError, validationFailed, type ApiFieldError } from '../../http/http-error';
import type { ApiContext } from '../api-context';
import { access, ACCESS, principalOf, sourceAddress } from '../../http/authenticate';
import { authorizeEvidenceViewer } from '../evidence-access';
import { rawJsonBody, rawJsonBodyOf } from '../../http/json-body';
import type { JsonBounds } from '../../core/clawsig/json-bounds';
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
 * not the 9-key envelope form (a bare payload, which the reference would accept unsigned; docs/clawsig-profile.md), not a `proof_bundle`, no
 * `payload.bundle_id`. The envelope is stored as `JSON.stringify` of the parsed value: every hash the
 * verifier computes is over parsed values, so this loses nothing it checks, and the same bundle sent
 * with different whitespace is the same bundle (200), while different content under one id is 409.
 */

/** A compact JWS is a few KiB at most; a larger "token" is not one. */
const MAX_SCOPED_TOKEN_CHARS = 16 * 1024;
/** Room for `{"bundle":…,"scoped_token":"…","trust_pulse":…}` around a bundle of the maximum size. */
const WRAPPER_ALLOWANCE_BYTES = MAX_SCOPED_TOKEN_CHARS + MAX_TRUST_PULSE_BYTES + 1024;

/**
 * Bounds of the whole upload body, checked in a worker before anything else: the bundle's own bounds
 * (BUNDLE_BOUNDS, one level deeper for the wrapper), with room for a URM's longer lists (URM_BOUNDS).
 * The verifier applies the exact bundle bounds when a PR names the bundle.
 */
const UPLOAD_BOUNDS: JsonBounds = { maxArrayLength: 10_000, maxDepth: 65, maxValues: 400_000 };
/** What of each member the event loop sees to validate: `bundle.payload.bundle_id` is three levels down. */
const UPLOAD_PREVIEW = { previewDepth: 3, maxPreviewKeys: 64, maxPreviewChars: MAX_SCOPED_TOKEN_CHARS } as const;

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
  .refine(
    // eslint-disable-next-line no-control-regex -- refuse ids that cannot be written in a PR line
    (id) => !/[\u0000-\u001f\u007f]/.test(id) && id.trim() === id,
    'must not contain control characters or surrounding whitespace',
  );

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
  if (bundle.envelope_type !== 'proof_bundle')
    fields.push({ path: 'bundle.envelope_type', message: 'must be "proof_bundle"' });
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

  router.post(
    '/bundles',
    access(ACCESS.uploadBundle),
    ...rawJsonBody({ limit: maxBundleBytes + WRAPPER_ALLOWANCE_BYTES }),
    async (request: Request, response: Response) => {
      const principal = principalOf(request);
      await context.rateLimits.consume(response, 'upload', principal.actor, sourceAddress(request));
      const raw = rawJsonBodyOf(request);
      if (raw === undefined) throw new ApiError(400, 'BODY_REQUIRED', 'this request needs a JSON body');
      // Decoded, parsed, bounded and split in a worker (the verification pool): the event loop, which
      // answers every workspace, sees only each member's canonical text and a small preview.
      const split = await context.verifier.splitJsonObject(raw, { bounds: UPLOAD_BOUNDS, ...UPLOAD_PREVIEW });
      if ('problem' in split) {
        if (split.problem === 'not_utf8') throw new ApiError(400, 'INVALID_JSON', 'the body is not valid UTF-8');
        if (split.problem === 'not_json') throw new ApiError(400, 'INVALID_JSON', 'the body is not valid JSON');
        if (split.problem === 'limit')
          throw new ApiError(
            413,
            'PAYLOAD_TOO_LARGE',
            `the upload exceeds clawgate's bounds (lists of ${UPLOAD_BOUNDS.maxArrayLength}, nesting ${UPLOAD_BOUNDS.maxDepth}, ${UPLOAD_BOUNDS.maxValues} values)${split.path ? ` at ${split.path}` : ''}`,
          );
        throw validationFailed([{ path: '', message: 'must be a JSON object' }], 'the upload is invalid');
      }
      const preview = Object.fromEntries(Object.entries(split.members).map(([key, member]) => [key, member.preview]));
      const upload = uploadSchema.safeParse(preview);
      if (!upload.success) throw validationFailed(zodIssuesToFields(upload.error.issues), 'the upload is invalid');
      if (split.keys.length > UPLOAD_PREVIEW.maxPreviewKeys)
        throw validationFailed([{ path: '', message: `has ${split.keys.length} members` }], 'the upload is invalid');
      const { bundleId } = checkEnvelope(upload.data.bundle);
      const envelopeText = split.members.bundle?.text ?? 'null';
      const size = Buffer.byteLength(envelopeText, 'utf8');
      if (size > maxBundleBytes)
        throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the bundle is ${size} bytes; the limit is ${maxBundleBytes}`);
      // The URM and pulse are stored as JSON.stringify of the parsed value: their binding hashes are
      // over exactly that (trust-pulse.ts), so nothing checked is lost.
      const urmText = split.members.urm?.text ?? null;
      if (urmText !== null && Buffer.byteLength(urmText, 'utf8') > maxBundleBytes)
        throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the URM is larger than ${maxBundleBytes} bytes`);
      let trustPulseText: string | null = null;
      if (split.members.trust_pulse !== undefined) {
        trustPulseText = split.members.trust_pulse.text;
        if (Buffer.byteLength(trustPulseText, 'utf8') > MAX_TRUST_PULSE_BYTES)
          throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the Trust Pulse is larger than ${MAX_TRUST_PULSE_BYTES} bytes`);
        // At most 64 KiB, bounded above: parsed here to validate against its schema.
        const pulse = trustPulseSchema.safeParse(JSON.parse(trustPulseText) as unknown);
        if (!pulse.success)
          throw validationFailed(
            zodIssuesToFields(pulse.error.issues, ['trust_pulse']),
            'the Trust Pulse does not match trust_pulse.v1',
          );
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
          after: {
            sha256_b64u: bundle.sha256B64u,
            size: bundle.size,
            has_scoped_token: bundle.scopedToken !== null,
            has_urm: bundle.urmText !== null,
            has_trust_pulse: bundle.trustPulseText !== null,
          },
        });
      }
      response.status(created ? 201 : 200).json({ bundle_id: bundleId });
    },
  );

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
