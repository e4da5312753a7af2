import { fileProvenance } from '../../../src/core/policy/file-provenance';
import { COMMITS, compliantChange } from './policy-fixtures';

const files = [
  { status: 'modified' as const, path: 'src/app.ts' },
  { status: 'added' as const, path: 'docs/guide.md' },
  { status: 'renamed' as const, path: 'lib/new.ts', oldPath: 'lib/old.ts' },
  { status: 'removed' as const, path: 'legacy.txt' },
];

describe('fileProvenance', () => {
  it('files touched only up to the attested commit are attested; later-touched ones are not', () => {
    const change = compliantChange({
      files,
      commits: [
        { hash: COMMITS[0], paths: ['src/app.ts', 'lib/old.ts', 'lib/new.ts', 'legacy.txt'] },
        { hash: COMMITS[1], paths: ['docs/guide.md'] },
        { hash: COMMITS[2], paths: ['./SRC/App.ts'] }, // spelling differs: normalised, case-folded
      ],
    });
    expect(fileProvenance(change, COMMITS[1])).toEqual([
      { path: 'src/app.ts', status: 'modified', provenance: 'changed_after_attestation' },
      { path: 'docs/guide.md', status: 'added', provenance: 'attested' },
      { path: 'lib/new.ts', oldPath: 'lib/old.ts', status: 'renamed', provenance: 'attested' },
      { path: 'legacy.txt', status: 'removed', provenance: 'attested' },
    ]);
  });

  it('a later commit touching either side of a rename taints it', () => {
    const commits = (later: string) => [
      { hash: COMMITS[0], paths: ['lib/old.ts', 'lib/new.ts'] },
      { hash: COMMITS[1], paths: [later] },
    ];
    expect(
      fileProvenance(compliantChange({ files: [files[2]!], commits: commits('lib/old.ts') }), COMMITS[0])[0]
        ?.provenance,
    ).toBe('changed_after_attestation');
    expect(
      fileProvenance(compliantChange({ files: [files[2]!], commits: commits('lib/new.ts') }), COMMITS[0])[0]
        ?.provenance,
    ).toBe('changed_after_attestation');
    expect(
      fileProvenance(compliantChange({ files: [files[2]!], commits: commits('lib/other.ts') }), COMMITS[0])[0]
        ?.provenance,
    ).toBe('attested');
  });

  it('the attested commit being the last one attests everything', () => {
    const change = compliantChange({ files, commits: [{ hash: COMMITS[0] }, { hash: COMMITS[1] }] });
    expect(fileProvenance(change, COMMITS[1]).map((f) => f.provenance)).toEqual([
      'attested',
      'attested',
      'attested',
      'attested',
    ]);
  });

  it('fails closed when a later commit has unknown paths', () => {
    const change = compliantChange({
      files,
      commits: [{ hash: COMMITS[0], paths: ['src/app.ts'] }, { hash: COMMITS[1] }],
    });
    expect(fileProvenance(change, COMMITS[0]).map((f) => f.provenance)).toEqual(
      Array(4).fill('changed_after_attestation'),
    );
  });

  it('no attested commit, or one not in the PR, leaves every file unattested', () => {
    const change = compliantChange({ files });
    expect(fileProvenance(change, undefined).map((f) => f.provenance)).toEqual(Array(4).fill('unattested'));
    expect(fileProvenance(change, 'f'.repeat(40)).map((f) => f.provenance)).toEqual(Array(4).fill('unattested'));
    expect(fileProvenance(change, COMMITS[0].slice(0, 12)).map((f) => f.provenance)).toEqual(
      Array(4).fill('unattested'),
    );
  });

  it('compares commit hashes case-insensitively', () => {
    const change = compliantChange({ files: [files[0]!], commits: [{ hash: 'ab'.repeat(20), paths: ['src/app.ts'] }] });
    expect(fileProvenance(change, 'AB'.repeat(20))[0]?.provenance).toBe('attested');
  });
});
