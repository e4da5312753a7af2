import { z } from 'zod';
import { STATUS_KEY } from './publish';
import { webhookRepositorySchema } from './webhook-events';

/**
 * The webhook events behind incidents, the forged-status defence and the `/clawgate recheck`
 * comment (docs/operations.md; payload shapes from Bitbucket's event payloads page), validated at the edge (loose: only what is read is
 * required), and the job each becomes. The job payload keeps only what the handler needs, bounded,
 * so a 256 KB webhook never becomes a 256 KB job row.
 */

export const OPERATIONS_JOB = 'webhook-operations';

/** Events handled by the operations job (the rest of the subscribed events evaluate or are ignored). */
export const OPERATIONS_EVENTS: ReadonlySet<string> = new Set([
  'repo:push',
  'pullrequest:fulfilled',
  'pullrequest:comment_created',
  'repo:commit_status_created',
  'repo:commit_status_updated',
]);

const hash = z.string().regex(/^[0-9a-f]{7,40}$/i);
const fullHash = z.string().regex(/^[0-9a-f]{40}$/i);
const actorSchema = z.looseObject({
  uuid: z.string().min(1).max(64).optional(),
  display_name: z.string().optional(),
  type: z.string().optional(),
});

const refSchema = z.looseObject({
  type: z.string().optional(),
  name: z.string().min(1).max(1024),
  target: z.looseObject({ hash, message: z.string().optional() }).optional(),
});

export const pushEventSchema = z.looseObject({
  repository: webhookRepositorySchema,
  actor: actorSchema.optional(),
  push: z.looseObject({
    changes: z
      .array(
        z.looseObject({
          old: refSchema.nullable().optional(),
          new: refSchema.nullable().optional(),
          closed: z.boolean().optional(),
          truncated: z.boolean().optional(),
          commits: z.array(z.looseObject({ hash })).max(100).optional(),
        }),
      )
      .max(500),
  }),
});

const prEndpoint = z.looseObject({
  branch: z.looseObject({ name: z.string().min(1).max(1024) }).optional(),
  commit: z.looseObject({ hash }).nullable().optional(),
});

/**
 * A merged PR's body: `state` is MERGED (OPEN on created/updated, DECLINED on rejected). The event key is outside any signature,
 * so a genuine `pullrequest:created` body (state OPEN) replayed under `pullrequest:fulfilled` must not
 * read as a merge: a body whose shape belongs to another event is refused here.
 */
export const fulfilledEventSchema = z.looseObject({
  repository: webhookRepositorySchema,
  actor: actorSchema.optional(),
  pullrequest: z.looseObject({
    id: z.number().int().positive(),
    state: z.literal('MERGED'),
    merge_commit: z.looseObject({ hash }).nullable().optional(),
    source: prEndpoint.optional(),
    destination: prEndpoint.optional(),
  }),
});

export const commentEventSchema = z.looseObject({
  repository: webhookRepositorySchema,
  actor: actorSchema.optional(),
  pullrequest: z.looseObject({ id: z.number().int().positive(), source: prEndpoint.optional() }),
  comment: z.looseObject({ id: z.number().int(), content: z.looseObject({ raw: z.string() }).optional() }),
});

export const commitStatusEventSchema = z.looseObject({
  repository: webhookRepositorySchema,
  actor: actorSchema.optional(),
  commit_status: z.looseObject({
    key: z.string(),
    state: z.string().optional(),
    description: z.string().nullish(),
    url: z.string().nullish(),
    refname: z.string().nullish(),
    commit: z.looseObject({ hash: fullHash }),
  }),
});

// ------------------------------------------------------------------ the job payload

const jobActor = z.strictObject({
  uuid: z.string().max(64).nullable(),
  displayName: z.string().max(256).nullable(),
  type: z.string().max(32).nullable(),
});
const common = {
  workspaceId: z.string().min(1),
  clientKey: z.string().min(1),
  deliveryId: z.string().min(1),
  eventKey: z.string().min(1).max(64),
  repoFullName: z.string().regex(/^[^/\s]+\/[^/\s]+$/),
  actor: jobActor,
};
const branchName = z.string().min(1).max(1024);
/** Enough of a commit message to find "(pull request #N)" in a merge commit. */
export const MESSAGE_KEPT = 2000;
/** Enough of a comment to find the `/clawgate recheck` command. */
export const COMMENT_KEPT = 4000;

export const operationsJobSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('push'),
    ...common,
    changes: z
      .array(
        z.strictObject({
          oldName: branchName.nullable(),
          oldType: z.string().max(32).nullable(),
          oldHash: hash.nullable(),
          newName: branchName.nullable(),
          newType: z.string().max(32).nullable(),
          newHash: hash.nullable(),
          newMessage: z.string().max(MESSAGE_KEPT).nullable(),
          closed: z.boolean(),
          /** The push listed only some of its commits (Bitbucket lists 5): the job records the rest. */
          truncated: z.boolean().optional(),
        }),
      )
      .max(500),
  }),
  z.strictObject({
    kind: z.literal('pr_fulfilled'),
    ...common,
    prId: z.number().int().positive(),
    mergeCommit: hash.nullable(),
    destinationBranch: branchName.nullable(),
  }),
  z.strictObject({
    kind: z.literal('pr_comment'),
    ...common,
    prId: z.number().int().positive(),
    commentId: z.number().int(),
    content: z.string().max(COMMENT_KEPT),
    head: hash.nullable(),
    sourceBranch: branchName.nullable(),
  }),
  z.strictObject({
    kind: z.literal('commit_status'),
    ...common,
    commit: fullHash,
    key: z.string().max(255),
    state: z.string().max(32).nullable(),
    /** Set on a restore re-queued after a failure (forged-status.ts): when restoring first failed, and how often. */
    restoreSinceMs: z.number().int().nonnegative().optional(),
    restoreFailures: z.number().int().min(1).max(10_000).optional(),
  }),
]);

export type OperationsJob = z.infer<typeof operationsJobSchema>;
export type PushJob = Extract<OperationsJob, { kind: 'push' }>;
export type FulfilledJob = Extract<OperationsJob, { kind: 'pr_fulfilled' }>;
export type CommentJob = Extract<OperationsJob, { kind: 'pr_comment' }>;
export type CommitStatusJob = Extract<OperationsJob, { kind: 'commit_status' }>;

/**
 * The queue key of a forged-status job: one per commit and writer, so a storm of forgeries of one
 * commit by one account is one pending job (the queue dedupes pending keys), and a restore waiting
 * to be retried absorbs the forgeries that arrive meanwhile. Per writer, so an agent's forgery is
 * never folded into someone else's and always judged as an incident.
 */
export function forgedStatusJobKey(job: CommitStatusJob): string {
  return `${job.workspaceId}/ops/status/${job.repoFullName}@${job.commit}/${job.actor.uuid ?? 'unknown'}`;
}

type Common = Pick<OperationsJob, 'workspaceId' | 'clientKey' | 'deliveryId' | 'eventKey'>;

function actorOf(actor: z.infer<typeof actorSchema> | undefined): OperationsJob['actor'] {
  return {
    uuid: actor?.uuid ?? null,
    displayName: actor?.display_name?.slice(0, 256) ?? null,
    type: actor?.type?.slice(0, 32) ?? null,
  };
}

export type ParsedOperation = { job: OperationsJob } | { ignored: string };

/**
 * The status a `repo:commit_status_*` payload announces, in the marker's terms (for recognising
 * Bitbucket's echo of clawgate's own latest write without a job); null for any other payload.
 */
export function announcedClawgateStatus(
  eventKey: string,
  payload: unknown,
): {
  repoFullName: string;
  commit: string;
  key: string;
  state: string;
  description: string;
  url: string;
  refname: string | null;
} | null {
  if (eventKey !== 'repo:commit_status_created' && eventKey !== 'repo:commit_status_updated') return null;
  const parsed = commitStatusEventSchema.safeParse(payload);
  if (!parsed.success || parsed.data.commit_status.key !== STATUS_KEY) return null;
  const status = parsed.data.commit_status;
  return {
    repoFullName: parsed.data.repository.full_name,
    commit: status.commit.hash.toLowerCase(),
    key: status.key,
    state: status.state ?? '',
    description: status.description ?? '',
    url: status.url ?? '',
    refname: status.refname ?? null,
  };
}

/**
 * The operations job for a delivery, or why none is needed. Statuses under any other key than
 * clawgate's are ignored here (other CI systems write statuses all day).
 */
/**
 * The top-level keys that say which event a Bitbucket body belongs to (Bitbucket's event payloads page). The event key
 * is a header outside any signature, so a genuine body of one event can be replayed under another:
 * a body carrying a key of another event (a comment body's `comment` under `pullrequest:fulfilled`,
 * an approval's `approval`, a push's `push`) is refused, whatever else it holds.
 */
const EVENT_SHAPE_KEYS = ['push', 'pullrequest', 'comment', 'approval', 'changes_request', 'commit_status'] as const;
const SHAPE_OF: Record<string, readonly string[]> = {
  'repo:push': ['push'],
  'pullrequest:fulfilled': ['pullrequest'],
  'pullrequest:comment_created': ['pullrequest', 'comment'],
  'repo:commit_status_created': ['commit_status'],
  'repo:commit_status_updated': ['commit_status'],
};

/** The key of another event's shape found in `payload`, or null when the body fits `eventKey`. */
export function foreignEventShape(eventKey: string, payload: unknown): string | null {
  const own = SHAPE_OF[eventKey];
  if (own === undefined || typeof payload !== 'object' || payload === null) return null;
  return EVENT_SHAPE_KEYS.find((key) => !own.includes(key) && Object.hasOwn(payload, key)) ?? null;
}

export function operationsJobFor(eventKey: string, payload: unknown, common: Common): ParsedOperation {
  const foreign = foreignEventShape(eventKey, payload);
  if (foreign !== null) return { ignored: `body of another event (has "${foreign}")` };
  switch (eventKey) {
    case 'repo:push': {
      const parsed = pushEventSchema.safeParse(payload);
      if (!parsed.success) return { ignored: `invalid payload at ${parsed.error.issues[0]?.path.join('.') ?? ''}` };
      const event = parsed.data;
      return {
        job: {
          kind: 'push',
          ...common,
          repoFullName: event.repository.full_name,
          actor: actorOf(event.actor),
          changes: event.push.changes.map((change) => ({
            oldName: change.old?.name ?? null,
            oldType: change.old?.type?.slice(0, 32) ?? null,
            oldHash: change.old?.target?.hash.toLowerCase() ?? null,
            newName: change.new?.name ?? null,
            newType: change.new?.type?.slice(0, 32) ?? null,
            newHash: change.new?.target?.hash.toLowerCase() ?? null,
            newMessage: change.new?.target?.message?.slice(0, MESSAGE_KEPT) ?? null,
            closed: change.closed === true || (change.new === null && change.old !== null && change.old !== undefined),
            truncated: change.truncated === true,
          })),
        },
      };
    }
    case 'pullrequest:fulfilled': {
      const parsed = fulfilledEventSchema.safeParse(payload);
      if (!parsed.success) return { ignored: `invalid payload at ${parsed.error.issues[0]?.path.join('.') ?? ''}` };
      const event = parsed.data;
      return {
        job: {
          kind: 'pr_fulfilled',
          ...common,
          repoFullName: event.repository.full_name,
          actor: actorOf(event.actor),
          prId: event.pullrequest.id,
          mergeCommit: event.pullrequest.merge_commit?.hash.toLowerCase() ?? null,
          destinationBranch: event.pullrequest.destination?.branch?.name ?? null,
        },
      };
    }
    case 'pullrequest:comment_created': {
      const parsed = commentEventSchema.safeParse(payload);
      if (!parsed.success) return { ignored: `invalid payload at ${parsed.error.issues[0]?.path.join('.') ?? ''}` };
      const event = parsed.data;
      return {
        job: {
          kind: 'pr_comment',
          ...common,
          repoFullName: event.repository.full_name,
          actor: actorOf(event.actor),
          prId: event.pullrequest.id,
          commentId: event.comment.id,
          content: (event.comment.content?.raw ?? '').slice(0, COMMENT_KEPT),
          head: event.pullrequest.source?.commit?.hash.toLowerCase() ?? null,
          sourceBranch: event.pullrequest.source?.branch?.name ?? null,
        },
      };
    }
    case 'repo:commit_status_created':
    case 'repo:commit_status_updated': {
      const parsed = commitStatusEventSchema.safeParse(payload);
      if (!parsed.success) return { ignored: `invalid payload at ${parsed.error.issues[0]?.path.join('.') ?? ''}` };
      const event = parsed.data;
      if (event.commit_status.key !== STATUS_KEY) return { ignored: 'a status under another key' };
      return {
        job: {
          kind: 'commit_status',
          ...common,
          repoFullName: event.repository.full_name,
          actor: actorOf(event.actor),
          commit: event.commit_status.commit.hash.toLowerCase(),
          key: event.commit_status.key,
          state: event.commit_status.state?.slice(0, 32) ?? null,
        },
      };
    }
    default:
      return { ignored: 'not an operations event' };
  }
}

/**
 * The commits a `repo:push` names per branch update, with who pushed them (issue 9: agent work by
 * provenance): the new head and the listed commits (Bitbucket lists at most 5; the operations job
 * fills in the rest of a truncated push). Tags and deletions push no commits. Empty for other payloads.
 */
export function pushedCommits(payload: unknown): {
  repoFullName: string;
  pusherUuid: string | null;
  branches: { branch: string; head: string; commits: string[] }[];
} | null {
  const parsed = pushEventSchema.safeParse(payload);
  if (!parsed.success) return null;
  const event = parsed.data;
  const branches: { branch: string; head: string; commits: string[] }[] = [];
  for (const change of event.push.changes) {
    const head = change.new?.target?.hash.toLowerCase();
    if (!change.new || change.new.type === 'tag' || head === undefined) continue;
    branches.push({
      branch: change.new.name,
      head,
      commits: [head, ...(change.commits ?? []).map((c) => c.hash.toLowerCase())],
    });
  }
  return { repoFullName: event.repository.full_name, pusherUuid: event.actor?.uuid ?? null, branches };
}
