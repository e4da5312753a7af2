import { discoveryCandidates, MAX_HARNESS_CANDIDATES } from '../../src/pipeline/evaluation/bundle-discovery';

describe('where clawgate looks for a bundle in a PR (precedence)', () => {
  test('declared .clawsig/bundles/<id>.json first, then harness <name>-bundle.json files in path order, then .clawsig/proof_bundle.json', () => {
    const changed = [
      '.clawsig/proof_bundle.json',
      'artifacts/poh/feat/x/run_b-bundle.json',
      'src/a.ts',
      '.clawsig/bundles/b1.json',
      'artifacts/poh/feat/x/run_a-bundle.json',
      '.clawsig/bundles/other.json',
    ];
    expect(discoveryCandidates(changed, ['b1'])).toEqual([
      { path: '.clawsig/bundles/b1.json', layout: 'declared' },
      { path: 'artifacts/poh/feat/x/run_a-bundle.json', layout: 'harness' },
      { path: 'artifacts/poh/feat/x/run_b-bundle.json', layout: 'harness' },
      { path: '.clawsig/proof_bundle.json', layout: 'legacy' },
    ]);
  });

  test('only changed files count, and at most MAX_HARNESS_CANDIDATES harness files are considered', () => {
    const many = Array.from({ length: 50 }, (_, i) => `runs/run_${String(i).padStart(2, '0')}-bundle.json`);
    const found = discoveryCandidates(many, []);
    expect(found).toHaveLength(MAX_HARNESS_CANDIDATES);
    expect(discoveryCandidates(['src/x.ts'], ['b1'])).toEqual([]);
  });
});
