import type { AppConfig } from '../config/app-config';

/** Where a `clawgate` status links: the evaluation's details page (docs/architecture.md §2). */
export function detailsUrl(config: Pick<AppConfig, 'baseUrl'>, evaluationId: string): string {
  return `${config.baseUrl}/connect/details/${encodeURIComponent(evaluationId)}`;
}

/** An incident status links to the settings page, where incidents are listed (audit kind `incident`). */
export function incidentUrl(config: Pick<AppConfig, 'baseUrl'>, incidentId: string): string {
  return `${config.baseUrl}/connect/configure?incident=${encodeURIComponent(incidentId)}`;
}

/** The status clawgate writes on a commit it has no verdict for (forged-status defence). */
export function noVerdictUrl(config: Pick<AppConfig, 'baseUrl'>): string {
  return `${config.baseUrl}/connect/configure`;
}
