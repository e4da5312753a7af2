import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';

/**
 * Forge product events (`avi:bitbucket:*`, docs/forge.md §4) → the webhook-shaped delivery the
 * pipeline already handles (pipeline-intake.ts), so both front doors feed one pipeline. Only what the
 * pipeline reads is carried over; the repository's `full_name` (which Forge events do not carry) is
 * looked up by the caller and passed in.
 *
 * The request body is the bare event or `{payload: <event>, context?}` (which one a remote receives
 * is UNCONFIRMED; both are accepted). `retryContext` (Forge's retries, up to 4 × 60 s) is not part of
 * the event's identity: the delivery id is a hash of the event without it, so a retry dedupes.
 */

const uuid = z.string().regex(/^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$/);
const hash = z.string().regex(/^[0-9a-fA-F]{7,40}$/);
const branch = z
  .union([z.string().min(1).max(1024), z.looseObject({ name: z.string().min(1).max(1024) })])
  .transform((value) => (typeof value === 'string' ? value : value.name));
const actor = z.looseObject({
  type: z.string().max(32).optional(),
  accountId: z.string().max(128).optional(),
  uuid: uuid.optional(),
});
const prEndpoint = z.looseObject({ branch: branch.optional(), commit: z.looseObject({ hash }).nullish() });

export const forgeEventSchema = z.looseObject({
  eventType: z.string().regex(/^avi:[a-z0-9:-]{1,120}$/),
  selfGenerated: z.boolean().optional(),
  timestamp: z.string().max(64).optional(),
  actor: actor.optional(),
  workspace: z.looseObject({ uuid }),
  repository: z.looseObject({ uuid, slug: z.string().max(128).optional() }),
  pullrequest: z
    .looseObject({
      id: z.number().int().positive(),
      state: z.string().max(32).optional(),
      source: prEndpoint.optional(),
      destination: prEndpoint.optional(),
      mergeCommit: z.looseObject({ hash }).nullish(),
      author: actor.optional(),
    })
    .optional(),
  comment: z
    .looseObject({
      id: z.number().int(),
      content: z.union([z.string().max(100_000), z.looseObject({ raw: z.string().max(100_000) })]).optional(),
    })
    .optional(),
  push: z
    .looseObject({
      ref: z
        .union([
          z.string().max(1024),
          z.looseObject({ name: z.string().max(1024), type: z.string().max(32).optional() }),
        ])
        .optional(),
      before: hash.nullish(),
      after: hash.nullish(),
      closed: z.boolean().optional(),
      commits: z
        .array(z.looseObject({ hash, message: z.string().max(100_000).optional() }))
        .max(500)
        .optional(),
    })
    .optional(),
  buildStatus: z
    .looseObject({
      key: z.string().max(255),
      state: z.string().max(32).optional(),
      url: z.string().max(2048).nullish(),
      description: z.string().max(2048).nullish(),
      refName: z.string().max(1024).nullish(),
      commit: z.looseObject({ hash: z.string().regex(/^[0-9a-fA-F]{40}$/) }),
    })
    .optional(),
  retryContext: z.unknown().optional(),
});

export type ForgeEvent = z.infer<typeof forgeEventSchema>;

/** The event inside either body shape. */
export function unwrapForgeBody(body: unknown): unknown {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    if (!('eventType' in record) && typeof record.payload === 'object' && record.payload !== null)
      return record.payload;
  }
  return body;
}

/** Stable across Forge's retries of the same event (retryContext excluded). */
export function forgeDeliveryId(event: unknown): string {
  const copy: Record<string, unknown> =
    typeof event === 'object' && event !== null ? { ...(event as Record<string, unknown>) } : { event };
  delete copy.retryContext;
  return `forge:${createHash('sha256')
    .update(canonicalize(copy) ?? '')
    .digest('hex')}`;
}

const EVENT_KEYS: Readonly<Record<string, string>> = {
  'avi:bitbucket:created:pullrequest': 'pullrequest:created',
  'avi:bitbucket:updated:pullrequest': 'pullrequest:updated',
  'avi:bitbucket:fulfilled:pullrequest': 'pullrequest:fulfilled',
  'avi:bitbucket:rejected:pullrequest': 'pullrequest:rejected',
  // A reviewer approved or withdrew: the approval clause re-evaluates, as with Connect's approved/unapproved.
  'avi:bitbucket:updated:pullrequest-reviewer-status': 'pullrequest:approved',
  'avi:bitbucket:created:pullrequest-comment': 'pullrequest:comment_created',
  'avi:bitbucket:push:repository': 'repo:push',
  'avi:bitbucket:created:build-status': 'repo:commit_status_created',
  'avi:bitbucket:updated:build-status': 'repo:commit_status_updated',
};

/** The webhook event key a Forge event becomes; null for events clawgate does not handle. */
export function webhookEventKeyOf(eventType: string): string | null {
  return EVENT_KEYS[eventType] ?? null;
}

export function bracedUuid(value: string): string {
  return `{${value.replace(/^\{|\}$/g, '').toLowerCase()}}`;
}

function actorJson(value: ForgeEvent['actor']): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  return {
    type: value.type ?? 'user',
    ...(value.uuid ? { uuid: bracedUuid(value.uuid) } : {}),
    ...(value.accountId ? { account_id: value.accountId } : {}),
  };
}

/** The webhook-shaped payload for `eventKey` (see webhook-events.ts, operations-events.ts). */
export function webhookPayloadOf(
  event: ForgeEvent,
  eventKey: string,
  repository: { fullName: string; workspaceSlug: string | null },
): Record<string, unknown> | null {
  const repo = {
    full_name: repository.fullName,
    uuid: bracedUuid(event.repository.uuid),
    workspace: {
      uuid: bracedUuid(event.workspace.uuid),
      ...(repository.workspaceSlug ? { slug: repository.workspaceSlug } : {}),
    },
  };
  const actor = actorJson(event.actor);
  const common = { repository: repo, ...(actor ? { actor } : {}) };
  const pr = event.pullrequest;
  const endpoint = (value: z.infer<typeof prEndpoint> | undefined) => ({
    ...(value?.branch ? { branch: { name: value.branch } } : {}),
    commit: value?.commit ? { hash: value.commit.hash.toLowerCase() } : null,
  });
  switch (eventKey) {
    case 'pullrequest:created':
    case 'pullrequest:updated':
    case 'pullrequest:approved':
    case 'pullrequest:rejected':
    case 'pullrequest:fulfilled':
    case 'pullrequest:comment_created': {
      if (pr === undefined) return null;
      const author = actorJson(pr.author);
      const pullrequest = {
        id: pr.id,
        ...(pr.state ? { state: pr.state } : {}),
        ...(author ? { author } : {}),
        source: endpoint(pr.source),
        destination: endpoint(pr.destination),
        merge_commit: pr.mergeCommit ? { hash: pr.mergeCommit.hash.toLowerCase() } : null,
      };
      if (eventKey !== 'pullrequest:comment_created') return { ...common, pullrequest };
      if (event.comment === undefined) return null;
      const raw =
        typeof event.comment.content === 'string' ? event.comment.content : (event.comment.content?.raw ?? '');
      return { ...common, pullrequest, comment: { id: event.comment.id, content: { raw } } };
    }
    case 'repo:push': {
      const push = event.push;
      if (push === undefined) return null;
      const ref =
        typeof push.ref === 'string' ? { name: push.ref.replace(/^refs\/heads\//, ''), type: 'branch' } : push.ref;
      if (ref === undefined || ref.name === '') return null;
      const type = ref.type ?? 'branch';
      const newest = push.commits?.[0];
      const before = push.before ?? null;
      const after = push.after ?? null;
      return {
        ...common,
        push: {
          changes: [
            {
              old: before === null ? null : { type, name: ref.name, target: { hash: before.toLowerCase() } },
              new:
                after === null
                  ? null
                  : {
                      type,
                      name: ref.name,
                      target: {
                        hash: after.toLowerCase(),
                        ...(newest?.message !== undefined && newest.hash.toLowerCase() === after.toLowerCase()
                          ? { message: newest.message }
                          : {}),
                      },
                    },
              closed: push.closed === true || after === null,
              // Forge's push event may not list every commit: the push job lists the rest through the
              // API, so each commit's pusher is recorded (provenance, docs/policy.md §5).
              ...(after !== null
                ? {
                    truncated: true,
                    commits: (push.commits ?? []).slice(0, 100).map((c) => ({ hash: c.hash.toLowerCase() })),
                  }
                : {}),
            },
          ],
        },
      };
    }
    case 'repo:commit_status_created':
    case 'repo:commit_status_updated': {
      const status = event.buildStatus;
      if (status === undefined) return null;
      return {
        ...common,
        commit_status: {
          key: status.key,
          state: status.state,
          description: status.description ?? null,
          url: status.url ?? null,
          refname: status.refName ?? null,
          commit: { hash: status.commit.hash.toLowerCase() },
        },
      };
    }
    default:
      return null;
  }
}
