import { z } from 'zod';

/**
 * What the server's page shell (views/page.html) hands the bundle: the page to show, its context
 * (signed by Bitbucket: the values came from the iframe URL's qsh-covered query), the app's base URL,
 * the workspace and the session token. Read once, checked like any other input.
 */

const contextSchema = z.looseObject({
  repo: z.string().nullable().optional(),
  repoUuid: z.string().optional(),
  pr: z.number().int().positive().optional(),
  evaluation: z.string().optional(),
  incident: z.string().optional(),
  problem: z.string().optional(),
  authProblem: z.enum(['missing', 'expired', 'invalid', 'forbidden']).optional(),
});
export type PageContext = z.infer<typeof contextSchema>;

export const PAGES = ['pr-panel', 'configure', 'details', 'agent-runs'] as const;
export type PageName = (typeof PAGES)[number];

export interface Boot {
  readonly page: PageName;
  readonly context: PageContext;
  readonly baseUrl: string;
  readonly workspace: string;
  readonly sessionToken: string;
}

export function readBoot(root: HTMLElement, doc: Document): Boot {
  const page = z.enum(PAGES).parse(root.dataset.page);
  let rawContext: unknown;
  try {
    rawContext = JSON.parse(root.dataset.context ?? '{}');
  } catch {
    rawContext = {};
  }
  const context = contextSchema.parse(rawContext);
  // The API lives beside the pages; a base URL that is not http(s) is refused rather than followed.
  const baseUrl = z
    .string()
    .regex(/^https?:\/\//)
    .parse(root.dataset.baseUrl);
  return {
    page,
    context,
    baseUrl,
    workspace: root.dataset.workspace ?? '',
    sessionToken: doc.querySelector<HTMLMetaElement>('meta[name="token"]')?.content ?? '',
  };
}
