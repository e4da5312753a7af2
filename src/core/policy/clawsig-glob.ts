/**
 * The Clawsig WPC glob (clawsig.md §5.2), used for `allowed_models`. Written by hand because it is the
 * protocol's own rule and differs from every glob library:
 * - a pattern that is exactly `*` or `**` matches everything, `/` included;
 * - otherwise `**` → `.*` and a `/` right after `**` is swallowed; `*` → `[^/]*`; `?` → `[^/]`;
 *   everything else is literal; anchored `^…$`; case-sensitive.
 * Quirk kept on purpose (it is the protocol): `**\/secrets/**` also matches `mysecrets/x`.
 */
export function clawsigGlobToRegExp(pattern: string): RegExp {
  if (pattern === '*' || pattern === '**') return /^[\s\S]*$/;
  let source = '^';
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        source += '.*';
        i += 2;
        if (pattern[i] === '/') i += 1;
      } else {
        source += '[^/]*';
        i += 1;
      }
    } else if (ch === '?') {
      source += '[^/]';
      i += 1;
    } else {
      source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i += 1;
    }
  }
  return new RegExp(`${source}$`);
}

export function clawsigGlobMatch(pattern: string, value: string): boolean {
  return clawsigGlobToRegExp(pattern).test(value);
}
