import type { MigrationModule } from './migration-context';
import * as initialSchema from './0001-initial-schema';
import * as evaluationPublishedStatus from './0002-evaluation-published-status';
import * as incidents from './0002b-incidents';
import * as commitPushes from './0004-commit-pushes';
import * as tokenScopes from './0006-token-scopes';
import * as trustPulseAndEvidence from './0008-trust-pulse-and-evidence';
import * as apiCallBudget from './0009-api-call-budget';
import * as alertsAndRestores from './0010-alerts-and-restores';
import * as oauthSignIn from './0011-oauth-sign-in';
import * as growthIndexes from './0014-growth-indexes';

/**
 * Every migration, in order. An explicit list rather than a glob: it works the same under Jest
 * (TypeScript via swc) and from the compiled `dist/` (JavaScript), needs no file-system scan at
 * startup, and a migration cannot be skipped by a packaging mistake. Add new files here.
 */
export const MIGRATIONS: readonly MigrationModule[] = [
  initialSchema,
  evaluationPublishedStatus,
  incidents,
  commitPushes,
  tokenScopes,
  trustPulseAndEvidence,
  apiCallBudget,
  alertsAndRestores,
  oauthSignIn,
  growthIndexes,
];
