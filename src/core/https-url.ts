/**
 * A URL that may become an `href` built from data (a PR's `links.html.href`, a Bitbucket link): only
 * an absolute `https:` URL without credentials passes; anything else (`javascript:`, `data:`, `http:`,
 * relative, unparsable) is null, and the page shows the text without a link. Pure; used by the API
 * (what it answers) and the pages (what they render), so neither trusts the other.
 */
export function httpsUrlOrNull(value: string | null | undefined): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return null;
  return url.href;
}
