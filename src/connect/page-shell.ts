import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The server-side HTML shell of the iframe pages (`views/page.html`): the host's `all.js`, a session
 * token in `<meta name="token">` and a root element whose data attributes name the page and its
 * context; the pages' own script (the React bundle, src/web, named by web-assets.ts) reads those. Every value is HTML-escaped
 * on the way in — the template has no raw slots — so context taken from the URL cannot inject markup.
 */

export const DEFAULT_VIEWS_DIR = path.resolve(__dirname, '..', '..', 'views');

export interface PageShellValues {
  readonly title: string;
  readonly page: string;
  /** Serialised to JSON, then escaped into the attribute. */
  readonly context: Readonly<Record<string, string | number | null>>;
  readonly token: string;
  readonly hostScriptUrl: string;
  readonly baseUrl: string;
  readonly workspace: string;
  /** The built bundle's entry script and stylesheet (web-assets.ts); empty when it is not built. */
  readonly scriptUrl?: string;
  readonly styleUrl?: string;
  /** What the root element says until the script replaces it. */
  readonly fallback?: string;
}

const PLACEHOLDER = /\{\{([a-zA-Z]+)\}\}/g;
const SLOTS = new Set<keyof PageShellValues>([
  'title',
  'page',
  'context',
  'token',
  'hostScriptUrl',
  'baseUrl',
  'workspace',
  'scriptUrl',
  'styleUrl',
  'fallback',
]);

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for HTML element content and quoted attribute values alike. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c] ?? c);
}

export type PageShellRenderer = (values: PageShellValues) => string;

/** Loads the template once; a placeholder the renderer does not know is a startup error. */
export function loadPageShell(viewsDir: string = DEFAULT_VIEWS_DIR): PageShellRenderer {
  const template = readFileSync(path.join(viewsDir, 'page.html'), 'utf8');
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (!SLOTS.has(match[1] as keyof PageShellValues))
      throw new Error(`views/page.html: unknown placeholder {{${match[1]}}}`);
  }
  return (values) =>
    template.replace(PLACEHOLDER, (_whole, name: string) => {
      const key = name as keyof PageShellValues;
      const value = key === 'context' ? JSON.stringify(values.context) : (values[key] ?? '');
      return escapeHtml(String(value));
    });
}
