import { createStatusMarker, stripStatusMark, type MarkedStatusFields } from '../../src/pipeline/status-mark';

const KEY = Buffer.alloc(32, 1);
const OTHER = Buffer.alloc(32, 2);
const fields: MarkedStatusFields = {
  repoFullName: 'acme/proj-web',
  commit: 'a'.repeat(40),
  key: 'clawgate',
  state: 'SUCCESSFUL',
  description: 'verified: all 12 criteria hold',
  url: 'https://clawgate.example/connect/details/0b7c',
  refname: 'agent/x',
};

describe('status marks', () => {
  test('a mark verifies over exactly the fields it was made for, and carries its time', () => {
    const marker = createStatusMarker(KEY);
    const url = marker.mark(fields, 1_700_000_000_123);
    expect(url).toMatch(/^https:\/\/clawgate\.example\/connect\/details\/0b7c\?cg=1700000000123\.[A-Za-z0-9_-]{22}$/);
    expect(marker.read({ ...fields, url })).toEqual({ baseUrl: fields.url, valid: true, atMs: 1_700_000_000_123 });
    // Repository names compare case-insensitively (Bitbucket slugs are).
    expect(marker.read({ ...fields, repoFullName: 'ACME/proj-web', url }).valid).toBe(true);
  });

  test.each([
    ['state', { state: 'FAILED' }],
    ['description', { description: 'verified: all 13 criteria hold' }],
    ['commit', { commit: 'b'.repeat(40) }],
    ['repository', { repoFullName: 'acme/other' }],
    ['refname', { refname: 'main' }],
    ['refname removed', { refname: null }],
    ['key', { key: 'clawgate2' }],
  ])('changing the %s breaks the mark', (_what, change) => {
    const marker = createStatusMarker(KEY);
    const url = marker.mark(fields, 1000);
    expect(marker.read({ ...fields, ...change, url })).toMatchObject({ valid: false, atMs: null });
  });

  test('a changed time, URL or MAC, or another key, does not verify; a URL without a mark reads as unmarked', () => {
    const marker = createStatusMarker(KEY);
    const url = marker.mark(fields, 1000);
    expect(marker.read({ ...fields, url: url.replace('cg=1000.', 'cg=2000.') }).valid).toBe(false);
    expect(marker.read({ ...fields, url: url.replace('/0b7c?', '/0b7d?') }).valid).toBe(false);
    const mac = url.slice(-22);
    const flipped = `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    expect(marker.read({ ...fields, url: `${url.slice(0, -22)}${flipped}` }).valid).toBe(false);
    expect(createStatusMarker(OTHER).read({ ...fields, url }).valid).toBe(false);
    expect(marker.read({ ...fields, url: fields.url })).toEqual({ baseUrl: fields.url, valid: false, atMs: null });
    expect(marker.read({ ...fields, url: null })).toEqual({ baseUrl: '', valid: false, atMs: null });
  });

  test('statuses marked before a key rotation still verify with the previous key', () => {
    const url = createStatusMarker(OTHER).mark(fields, 5);
    expect(createStatusMarker(KEY, [OTHER]).read({ ...fields, url })).toMatchObject({ valid: true, atMs: 5 });
  });

  test('a URL with a query keeps it; marking twice replaces the old mark', () => {
    const marker = createStatusMarker(KEY);
    const withQuery = { ...fields, url: 'https://clawgate.example/connect/configure?incident=abc' };
    const url = marker.mark(withQuery, 7);
    expect(url).toMatch(/\?incident=abc&cg=7\./);
    expect(stripStatusMark(url)).toBe(withQuery.url);
    const again = marker.mark({ ...withQuery, url }, 8);
    expect(again.match(/cg=/g)).toHaveLength(1);
    expect(marker.read({ ...withQuery, url: again })).toMatchObject({ valid: true, atMs: 8 });
  });

  test('the echo of the latest write is recognised; an earlier write, another commit or a late echo is not', () => {
    let now = 0;
    const marker = createStatusMarker(KEY, [], { echoWindowMs: 1000, now: () => now });
    const first = marker.mark({ ...fields, state: 'INPROGRESS', description: 'verifying' }, 1);
    const second = marker.mark(fields, 2);
    expect(marker.isEchoOfLatestWrite({ ...fields, url: second })).toBe(true);
    expect(marker.isEchoOfLatestWrite({ ...fields, state: 'INPROGRESS', description: 'verifying', url: first })).toBe(
      false,
    );
    expect(marker.isEchoOfLatestWrite({ ...fields, commit: 'c'.repeat(40), url: second })).toBe(false);
    now = 1001;
    expect(marker.isEchoOfLatestWrite({ ...fields, url: second })).toBe(false);
  });

  test('refuses a negative or fractional mark time', () => {
    const marker = createStatusMarker(KEY);
    expect(() => marker.mark(fields, -1)).toThrow(RangeError);
    expect(() => marker.mark(fields, 1.5)).toThrow(RangeError);
  });
});
