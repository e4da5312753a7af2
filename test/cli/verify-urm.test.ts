/**
 * `clawgate verify` with a Universal Run Manifest: `--urm FILE`, or the sibling `<name>-urm.json`
 * of a `<name>-bundle.json` (the reference CLI's layout), on the real harness runs.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { sharedPath } from '../shared-data';

const RUN = 'run_192c5f5d-3024-4596-9a37-bf0e9526ae49';
const OTHER = 'run_c60e2642-18b8-4054-9fcc-7d9f1d0cdaf6';
const real = (name: string) => sharedPath('clawsig', 'real-world', 'poh', name);

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    now: () => Date.parse('2026-11-25T13:00:00Z'),
    env: {},
  };
  return { code: await runCli(args, io), out, err };
}

describe('clawgate verify --urm and sibling URMs', () => {
  test('a real harness bundle passes with its sibling -urm.json found next to it', async () => {
    const { code, out } = await run(['verify', real(`${RUN}-bundle.json`)]);
    expect(code).toBe(0);
    expect(out).toContain('Run manifest (URM): urm_be297fa4-d449-4ee0-9ddd-cc29282ed32c  harness pi 1.0.0');
    expect(out).toContain('Verdict: PASS (OK)');
  });

  test('the same bundle copied without its sibling fails URM_MISSING', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'clawgate-urm-'));
    const alone = path.join(dir, `${RUN}-bundle.json`);
    copyFileSync(real(`${RUN}-bundle.json`), alone);
    const { code, out } = await run(['verify', alone, '--format', 'json']);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ status: 'FAIL', reason_code: 'URM_MISSING' });
  });

  test('--urm overrides the sibling: another run’s URM fails URM_MISMATCH, an edited one HASH_MISMATCH', async () => {
    const foreign = await run([
      'verify',
      real(`${RUN}-bundle.json`),
      '--urm',
      real(`${OTHER}-urm.json`),
      '--format',
      'json',
    ]);
    expect(JSON.parse(foreign.out)).toMatchObject({ status: 'FAIL', reason_code: 'URM_MISMATCH' });
    const dir = mkdtempSync(path.join(tmpdir(), 'clawgate-urm-'));
    const edited = path.join(dir, 'edited-urm.json');
    const urm = JSON.parse(readFileSync(real(`${RUN}-urm.json`), 'utf8')) as Record<string, unknown>;
    writeFileSync(edited, JSON.stringify({ ...urm, issued_at: '2026-02-12T18:02:54.000Z' }));
    const changed = await run(['verify', real(`${RUN}-bundle.json`), '--urm', edited, '--format', 'json']);
    expect(JSON.parse(changed.out)).toMatchObject({ status: 'FAIL', reason_code: 'HASH_MISMATCH' });
  });

  test('--urm that is not JSON is an input error (exit 2)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'clawgate-urm-'));
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, 'not json');
    const { code, err } = await run(['verify', real(`${RUN}-bundle.json`), '--urm', bad]);
    expect(code).toBe(2);
    expect(err).toContain('URM');
  });
});
