import { jcsHashB64u } from '../../../src/core/clawsig/hashing';
import {
  bitbucketWpcHash,
  parseBitbucketWpc,
  formatPath,
  WPC_LIMITS,
  type WpcIssue,
} from '../../../src/core/policy/bitbucket-wpc';
import { seedWpcDocument } from './policy-fixtures';

type Doc = ReturnType<typeof seedWpcDocument>;
type Policy = { [key: string]: { [key: string]: unknown } | unknown[] };

/** Mutate a fresh seed document and return the parse issues (the test fails if it parses). */
function issuesAfter(mutate: (doc: Doc, policy: Policy) => void): WpcIssue[] {
  const doc = seedWpcDocument();
  mutate(doc, doc.policy as Policy);
  const result = parseBitbucketWpc(doc);
  if (result.ok) throw new Error('expected the document to be rejected');
  return result.issues;
}
const section = (policy: Policy, name: string) => policy[name] as { [key: string]: unknown };
const paths = (issues: WpcIssue[]) => issues.map((i) => i.path);

describe('parseBitbucketWpc: valid documents', () => {
  it('accepts the seed of docs/policy.md and returns it unchanged with a 43-char hash', () => {
    const doc = seedWpcDocument();
    const result = parseBitbucketWpc(doc);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.wpc).toEqual(doc);
    expect(result.policyHashB64u).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(result.policyHashB64u).toBe(jcsHashB64u(doc));
    expect(bitbucketWpcHash(result.wpc)).toBe(result.policyHashB64u);
  });

  it('accepts the Clawsig WPC v1 fields beside policy', () => {
    const doc = {
      ...seedWpcDocument(),
      policy_version: '1',
      policy_id: 'acme-bitbucket',
      issuer_did: 'did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw',
      allowed_providers: ['anthropic', 'openai'],
      allowed_models: ['claude-*', 'gpt-5*'],
      metadata: { owner: 'platform', tags: ['a', 1, null, { nested: true }] },
    };
    const result = parseBitbucketWpc(doc);
    expect(result.ok && result.wpc).toEqual(doc);
  });

  it('accepts empty allow/deny/glob lists (they only make the policy stricter or are explicit)', () => {
    const result = parseBitbucketWpc({
      ...seedWpcDocument(),
      policy: {
        ...seedWpcDocument().policy,
        read: { allow: [] },
        write: { allow: [], deny: [], approval_required: false },
        paths: { deny_globs: [] },
      },
    });
    expect(result.ok).toBe(true);
  });
});

describe('bitbucketWpcHash', () => {
  it('does not depend on key order', () => {
    const doc = seedWpcDocument();
    const p = doc.policy as Policy;
    const reordered = {
      policy: {
        attestation: { emit_proof_bundle: true, require_gateway_receipts: true },
        auth: { separate_identities_for_read_vs_write: true, least_privilege_scopes_required: true },
        paths: p.paths,
        write: { approval_required: true, deny: section(p, 'write').deny, allow: section(p, 'write').allow },
        read: p.read,
        repos_allowlist: p.repos_allowlist,
      },
      tool: doc.tool,
    };
    const a = parseBitbucketWpc(doc);
    const b = parseBitbucketWpc(reordered);
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) {
      expect(b.policyHashB64u).toBe(a.policyHashB64u);
      expect(bitbucketWpcHash(b.wpc)).toBe(bitbucketWpcHash(a.wpc));
    }
  });

  it('changes when any value changes', () => {
    const base = parseBitbucketWpc(seedWpcDocument());
    if (!base.ok) throw new Error('seed must parse');
    const variants: ((doc: Doc, policy: Policy) => void)[] = [
      (_d, p) => (section(p, 'write').approval_required = false),
      (_d, p) => (section(p, 'auth').least_privilege_scopes_required = false),
      (_d, p) => (section(p, 'auth').separate_identities_for_read_vs_write = false),
      (_d, p) => (section(p, 'attestation').emit_proof_bundle = false),
      (_d, p) => (section(p, 'attestation').require_gateway_receipts = false),
      (_d, p) => (section(p, 'paths').deny_globs as string[]).pop(),
      (_d, p) => (section(p, 'paths').deny_globs as string[]).reverse(), // array order is content
      (_d, p) => ((p.repos_allowlist as string[])[0] = 'WORKSPACE_A/proj-api'),
      (_d, p) => ((p.repos_allowlist as string[])[0] = 'workspace_a/proj-web'), // case is content too
      (_d, p) => (section(p, 'write').allow as string[]).pop(),
      (_d, p) => (section(p, 'write').deny as string[]).pop(),
      (_d, p) => (section(p, 'read').allow as string[]).pop(),
      (d) => (d.policy_id = 'x'),
      (d) => (d.metadata = {}),
      (d) => (d.allowed_models = ['*']),
    ];
    const hashes = new Set<string>([base.policyHashB64u]);
    for (const mutate of variants) {
      const doc = seedWpcDocument();
      mutate(doc, doc.policy as Policy);
      const result = parseBitbucketWpc(doc);
      if (!result.ok) throw new Error(JSON.stringify(result.issues));
      expect(result.policyHashB64u).not.toBe(base.policyHashB64u);
      hashes.add(result.policyHashB64u);
    }
    expect(hashes.size).toBe(variants.length + 1);
  });

  it('is the JCS hash, not the stringify hash (they differ for unsorted keys)', () => {
    const doc = { policy: seedWpcDocument().policy, tool: 'bitbucket_via_official_api' };
    const result = parseBitbucketWpc(doc);
    expect(result.ok && result.policyHashB64u).toBe(jcsHashB64u(doc));
    const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const stringifyHash = createHash('sha256').update(JSON.stringify(doc)).digest('base64url');
    expect(result.ok && result.policyHashB64u).not.toBe(stringifyHash);
  });
});

describe('parseBitbucketWpc: rejected with exact field paths', () => {
  it('rejects unknown keys at every level (typos cannot weaken a policy)', () => {
    expect(
      issuesAfter((_d, p) => {
        section(p, 'paths').deny_glob = ['x/**'];
      }),
    ).toEqual([{ path: 'policy.paths.deny_glob', message: 'unknown field' }]);
    expect(
      paths(
        issuesAfter((_d, p) => {
          p.repo_allowlist = [];
        }),
      ),
    ).toEqual(['policy.repo_allowlist']);
    expect(
      paths(
        issuesAfter((_d, p) => {
          section(p, 'write').approval_requried = false;
        }),
      ),
    ).toEqual(['policy.write.approval_requried']);
    expect(
      paths(
        issuesAfter((d) => {
          d.allowed_model = ['*'];
        }),
      ),
    ).toEqual(['allowed_model']);
    expect(
      paths(
        issuesAfter((d) => {
          d['weird key'] = 1;
        }),
      ),
    ).toEqual(['["weird key"]']);
  });

  it('names Clawsig v1 fields clawgate does not enforce', () => {
    const issues = issuesAfter((d) => {
      d.egress_allowlist = ['api.example.com'];
      d.receipt_privacy_mode = 'hash_only';
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'egress_allowlist', message: 'Clawsig WPC v1 field not supported by clawgate' },
        { path: 'receipt_privacy_mode', message: 'Clawsig WPC v1 field not supported by clawgate' },
      ]),
    );
  });

  it('requires every section of the seed shape (no silent defaults)', () => {
    expect(
      paths(
        issuesAfter((_d, p) => {
          delete p.read;
        }),
      ),
    ).toEqual(['policy.read']);
    expect(
      paths(
        issuesAfter((_d, p) => {
          delete section(p, 'write').approval_required;
        }),
      ),
    ).toEqual(['policy.write.approval_required']);
    expect(
      paths(
        issuesAfter((_d, p) => {
          delete section(p, 'attestation').emit_proof_bundle;
        }),
      ),
    ).toEqual(['policy.attestation.emit_proof_bundle']);
    expect(
      paths(
        issuesAfter((d) => {
          delete (d as Partial<Doc>).tool;
        }),
      ),
    ).toEqual(['tool']);
    expect(
      paths(
        issuesAfter((d) => {
          d.tool = 'github_via_api';
        }),
      ),
    ).toEqual(['tool']);
  });

  it('validates action names against the WPC vocabulary', () => {
    expect(
      paths(
        issuesAfter((_d, p) => {
          section(p, 'write').allow = ['create_pr', 'push_main'];
        }),
      ),
    ).toEqual(['policy.write.allow[1]']);
    expect(
      paths(
        issuesAfter((_d, p) => {
          section(p, 'write').deny = ['merge_pr', 'get_file'];
        }),
      ),
    ).toEqual(['policy.write.deny[1]']);
    expect(
      paths(
        issuesAfter((_d, p) => {
          section(p, 'read').allow = ['get_file', 'create_pr'];
        }),
      ),
    ).toEqual(['policy.read.allow[1]']);
  });

  it('rejects an action that is both allowed and denied, and duplicates', () => {
    expect(
      issuesAfter((_d, p) => {
        section(p, 'write').deny = ['merge_pr', 'create_pr'];
      }),
    ).toEqual([{ path: 'policy.write.deny[1]', message: 'also listed in policy.write.allow' }]);
    expect(
      issuesAfter((_d, p) => {
        section(p, 'write').allow = ['create_pr', 'comment_pr', 'create_pr'];
      }),
    ).toEqual([{ path: 'policy.write.allow[2]', message: 'duplicate of [0]' }]);
    expect(
      paths(
        issuesAfter((_d, p) => {
          section(p, 'paths').deny_globs = ['**/.github/**', 'a/**', '**/.GITHUB/**'];
        }),
      ),
    ).toEqual(['policy.paths.deny_globs[2]']);
  });

  it.each([
    ['', 'must not be empty'],
    ['/bitbucket-pipelines.yml', 'must be relative to the repository root (no leading /)'],
    ['./bitbucket-pipelines.yml', 'must not contain . or .. segments'],
    ['src/../.github/**', 'must not contain . or .. segments'],
    ['.github\\**', 'must use / as the separator (no backslashes)'],
    ['!src/**', 'must not be negated (a leading ! would turn a deny into an allow)'],
    ['**/SECURITY* ', 'must not start or end with whitespace'],
    ['docs/', 'must not contain empty segments or a trailing /'],
    ['a//b', 'must not contain empty segments or a trailing /'],
    ['{a,b', 'is not a valid glob'],
    ['src/[a', 'is not a valid glob'],
    ['[z-a]', 'is not a valid glob'],
    ['x'.repeat(513), 'must be at most 512 characters'],
  ])('rejects deny glob %j at its index', (glob, message) => {
    expect(
      issuesAfter((_d, p) => {
        (section(p, 'paths').deny_globs as string[]).splice(2, 0, glob);
      }),
    ).toEqual([{ path: 'policy.paths.deny_globs[2]', message }]);
  });

  it('rejects repos that are not exact workspace/repo_slug names', () => {
    for (const repo of ['proj-web', 'WORKSPACE_A/*', 'a/b/c', ' WORKSPACE_A/proj-web', 'WORKSPACE_A/']) {
      expect(
        paths(
          issuesAfter((_d, p) => {
            p.repos_allowlist = ['WORKSPACE_A/ok', repo];
          }),
        ),
      ).toEqual(['policy.repos_allowlist[1]']);
    }
    expect(
      issuesAfter((_d, p) => {
        p.repos_allowlist = [];
      }),
    ).toEqual([{ path: 'policy.repos_allowlist', message: 'must list at least one repository' }]);
    expect(
      paths(
        issuesAfter((_d, p) => {
          p.repos_allowlist = ['W/a', 'w/A'];
        }),
      ),
    ).toEqual(['policy.repos_allowlist[1]']);
  });

  it('validates the Clawsig v1 fields', () => {
    expect(
      paths(
        issuesAfter((d) => {
          d.allowed_providers = ['anthropic', 'mistral'];
        }),
      ),
    ).toEqual(['allowed_providers[1]']);
    expect(
      issuesAfter((d) => {
        d.allowed_providers = [];
      }),
    ).toEqual([{ path: 'allowed_providers', message: 'omit the field instead of an empty list' }]);
    expect(
      issuesAfter((d) => {
        d.allowed_models = [];
      }),
    ).toEqual([{ path: 'allowed_models', message: 'omit the field instead of an empty list' }]);
    expect(
      paths(
        issuesAfter((d) => {
          d.allowed_models = ['claude-*', ''];
        }),
      ),
    ).toEqual(['allowed_models[1]']);
    expect(
      paths(
        issuesAfter((d) => {
          d.allowed_models = ['claude-*', 'claude-*'];
        }),
      ),
    ).toEqual(['allowed_models[1]']);
    expect(
      paths(
        issuesAfter((d) => {
          d.allowed_models = Array.from({ length: 257 }, (_, i) => `m${i}`);
        }),
      ),
    ).toEqual(['allowed_models']);
    expect(
      paths(
        issuesAfter((d) => {
          d.policy_version = '2';
        }),
      ),
    ).toEqual(['policy_version']);
    expect(
      paths(
        issuesAfter((d) => {
          d.issuer_did = 'key:z6Mk';
        }),
      ),
    ).toEqual(['issuer_did']);
    expect(
      paths(
        issuesAfter((d) => {
          d.policy_id = '';
        }),
      ),
    ).toEqual(['policy_id']);
    expect(
      paths(
        issuesAfter((d) => {
          d.metadata = ['not', 'an', 'object'];
        }),
      ),
    ).toEqual(['metadata']);
  });

  it('accepts model patterns differing only in case (model matching is case-sensitive)', () => {
    expect(parseBitbucketWpc({ ...seedWpcDocument(), allowed_models: ['GPT-*', 'gpt-*'] }).ok).toBe(true);
  });

  it('rejects non-objects and non-JSON values', () => {
    expect(parseBitbucketWpc('{"tool":"x"}')).toEqual({
      ok: false,
      issues: [{ path: '', message: expect.any(String) }],
    });
    expect(parseBitbucketWpc(null).ok).toBe(false);
    expect(parseBitbucketWpc(undefined).ok).toBe(false);
    expect(
      issuesAfter((d) => {
        d.metadata = { at: new Date(0) };
      }),
    ).toEqual([{ path: 'metadata.at', message: 'not a JSON value' }]);
    expect(
      issuesAfter((d) => {
        d.metadata = { n: Number.NaN };
      }),
    ).toEqual([{ path: 'metadata.n', message: 'not a finite number' }]);
    expect(
      issuesAfter((d) => {
        d.metadata = { u: undefined };
      }),
    ).toEqual([{ path: 'metadata.u', message: 'not a JSON value' }]);
    expect(
      issuesAfter((_d, p) => {
        section(p, 'paths').deny_globs = ['a/**', undefined];
      }),
    ).toEqual([{ path: 'policy.paths.deny_globs[1]', message: 'not a JSON value' }]);
    expect(
      issuesAfter((_d, p) => {
        // eslint-disable-next-line no-sparse-arrays
        section(p, 'paths').deny_globs = ['a/**', , 'b/**'];
      }),
    ).toEqual([{ path: 'policy.paths.deny_globs[1]', message: 'not a JSON value' }]);
  });

  it('rejects cycles and absurd depth without overflowing the stack', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(
      paths(
        issuesAfter((d) => {
          d.metadata = cyclic;
        }),
      ),
    ).toEqual([`metadata${'.self'.repeat(WPC_LIMITS.maxDepth)}`]);
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(
      issuesAfter((d) => {
        d.metadata = { deep };
      })[0]?.message,
    ).toBe(`nested deeper than ${WPC_LIMITS.maxDepth} levels`);
  });

  it('enforces the size limits (64 KiB document, 1,000 globs)', () => {
    const globs = Array.from({ length: 1001 }, (_, i) => `g${i}/**`);
    expect(
      issuesAfter((_d, p) => {
        section(p, 'paths').deny_globs = globs;
      }),
    ).toEqual([{ path: 'policy.paths.deny_globs', message: expect.stringContaining('1000') }]);
    const big = issuesAfter((d) => {
      d.metadata = { blob: 'x'.repeat(WPC_LIMITS.maxJsonBytes) };
    });
    expect(big).toEqual([{ path: '', message: expect.stringMatching(/bytes; the limit is 65536$/) }]);
    const many = issuesAfter((d) => {
      d.metadata = { many: Array.from({ length: 200_000 }, () => 0) };
    });
    expect(many).toEqual([{ path: '', message: 'document is larger than 65536 bytes' }]);
  });

  it('reports every problem at once', () => {
    const issues = issuesAfter((d, p) => {
      section(p, 'paths').deny_glob = [];
      (section(p, 'paths').deny_globs as string[]).push('{a,b');
      section(p, 'write').allow = ['nope'];
      d.allowed_providers = ['x'];
    });
    expect(paths(issues).sort()).toEqual([
      'allowed_providers[0]',
      'policy.paths.deny_glob',
      'policy.paths.deny_globs[4]',
      'policy.write.allow[0]',
    ]);
  });
});

describe('formatPath', () => {
  it('formats zod paths as field paths', () => {
    expect(formatPath([])).toBe('');
    expect(formatPath(['policy', 'paths', 'deny_globs', 2])).toBe('policy.paths.deny_globs[2]');
    expect(formatPath(['metadata', 'a-b', 0])).toBe('metadata["a-b"][0]');
  });
});
