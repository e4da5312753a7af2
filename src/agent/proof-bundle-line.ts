const BUNDLE_ID = /^[A-Za-z0-9._:@-]{1,200}$/;
const LINE = /^[ \t]*Proof-Bundle:.*$/gim;

/** `Proof-Bundle: <bundle_id>` (docs/clawsig-profile.md); refuses ids clawgate's reader would not match. */
export function proofBundleLine(bundleId: string): string {
  if (!BUNDLE_ID.test(bundleId)) throw new TypeError('proofBundleLine: a bundle id is 1..200 of A-Z a-z 0-9 . _ : @ -');
  return `Proof-Bundle: ${bundleId}`;
}

/** The text with its Proof-Bundle line(s) replaced by one naming `bundleId` (appended when absent). */
export function setProofBundleLine(text: string, bundleId: string): string {
  const line = proofBundleLine(bundleId);
  const without = text
    .replace(LINE, '')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd();
  return without.length === 0 ? `${line}\n` : `${without}\n\n${line}\n`;
}
