/** `Proof-Bundle: <bundle_id>` lines in a PR description or commit message (docs/clawsig-profile.md). Pure. */
const LINE = /^[ \t]*Proof-Bundle:[ \t]*([A-Za-z0-9._:@-]{1,200})[ \t]*$/gim;

export function declaredBundleIds(...texts: (string | null | undefined)[]): string[] {
  const ids = new Set<string>();
  for (const text of texts) {
    if (!text) continue;
    for (const match of text.matchAll(LINE)) if (match[1]) ids.add(match[1]);
  }
  return [...ids];
}
