import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * Comments cite files that are in this repository (docs/architecture.md §5): a `docs/….md` path in a
 * comment must exist, and the sections of the design document (the word design, then a section
 * sign), which is not in the repository, are not cited at all — cite the docs/ page that holds the
 * rule, or state the rule. Nor are the other research notes kept beside the repository, by bare name
 * (RESEARCH_NOTE below; docs/forge.md is in the repository and may be cited).
 */
const ROOT = path.join(__dirname, '..', '..');
const SCANNED = ['src', 'test', 'bench', 'migrations', 'scripts'];
const DOC_PATH = /\bdocs\/[A-Za-z0-9_./-]+?\.md\b/g;
const DESIGN_SECTION = /\bdesign(?: card)?,? ?§|\bdesign\.md\b/i;
/** A research note by bare name: not preceded by `docs/` (docs/forge.md is in the repository). */
const RESEARCH_NOTE = /(?<!docs\/)\b(clawsig|bitbucket|peers|stack|design|forge)\.md\b/gi;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sources(full);
    return /\.(ts|tsx|mts|js)$/.test(name) ? [full] : [];
  });
}

/** The comments of a source file, with their line numbers (TypeScript's parser, not a regex). */
function commentsOf(file: string, text: string): { line: number; text: string }[] {
  const source = ts.createSourceFile(
    file,
    text,
    ts.ScriptTarget.Latest,
    false,
    file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
  const seen = new Map<number, { line: number; text: string }>();
  const collect = (ranges: ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? [])
      if (!seen.has(range.pos))
        seen.set(range.pos, {
          line: source.getLineAndCharacterOfPosition(range.pos).line + 1,
          text: text.slice(range.pos, range.end),
        });
  };
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(text, node.getFullStart()));
    collect(ts.getTrailingCommentRanges(text, node.getEnd()));
    node.forEachChild(visit);
  };
  visit(source);
  collect(ts.getLeadingCommentRanges(text, source.endOfFileToken.getFullStart()));
  return [...seen.values()].sort((a, b) => a.line - b.line);
}

function problemsIn(file: string, text: string): string[] {
  const problems: string[] = [];
  // Only files that could cite anything are parsed (keeps the test fast).
  if (!/docs\/|design|\.md\b/i.test(text)) return problems;
  for (const comment of commentsOf(file, text)) {
    const where = `${path.relative(ROOT, file)}:${comment.line}`;
    for (const cited of comment.text.match(DOC_PATH) ?? [])
      if (!existsSync(path.join(ROOT, cited))) problems.push(`${where} cites ${cited}, which is not in the repository`);
    if (DESIGN_SECTION.test(comment.text))
      problems.push(`${where} cites the design document, which is not in the repository`);
    for (const [cited] of comment.text.matchAll(RESEARCH_NOTE))
      if (!/^design\.md$/i.test(cited))
        problems.push(`${where} cites ${cited}, a research note that is not in the repository`);
  }
  return problems;
}

describe('comments cite files in the repository', () => {
  it('every docs/ path a comment names exists, and no comment cites the design document or another research note', () => {
    const problems = SCANNED.flatMap((dir) => sources(path.join(ROOT, dir))).flatMap((file) =>
      problemsIn(file, readFileSync(file, 'utf8')),
    );
    expect(problems).toEqual([]);
  });

  it('the check can fail: an absent docs/ page and a design section in a comment are found; strings are not comments', () => {
    const text = [
      '// see docs/no-such-page.md',
      '/* as design §6 says */',
      "const fixture = 'docs/notes.md'; // docs/architecture.md",
    ].join('\n');
    expect(problemsIn(path.join(ROOT, 'src', 'example.ts'), text)).toEqual([
      'src/example.ts:1 cites docs/no-such-page.md, which is not in the repository',
      'src/example.ts:2 cites the design document, which is not in the repository',
    ]);
  });

  it('the check can fail: research notes by bare name are found; docs/forge.md and strings are not', () => {
    const text = [
      '// 1,000 calls an hour (bitbucket.md §6)',
      '/** stringify-hash (clawsig.md §0), see also peers.md and stack.md §4 */',
      '// forge.md §2 says so; docs/forge.md is ours',
      "const fixture = 'clawsig.md §2'; // design.md",
    ].join('\n');
    expect(problemsIn(path.join(ROOT, 'src', 'example.ts'), text)).toEqual([
      'src/example.ts:1 cites bitbucket.md, a research note that is not in the repository',
      'src/example.ts:2 cites clawsig.md, a research note that is not in the repository',
      'src/example.ts:2 cites peers.md, a research note that is not in the repository',
      'src/example.ts:2 cites stack.md, a research note that is not in the repository',
      'src/example.ts:3 cites forge.md, a research note that is not in the repository',
      'src/example.ts:4 cites the design document, which is not in the repository',
    ]);
  });
});
