import { compileClawsigGlob } from './linear-glob';

/** The Clawsig WPC glob (docs/policy.md), matched in linear time; the rule lives in `linear-glob.ts`. */
export { clawsigGlobSource, compileClawsigGlob } from './linear-glob';

export function clawsigGlobMatch(pattern: string, value: string): boolean {
  return compileClawsigGlob(pattern).test(value);
}
