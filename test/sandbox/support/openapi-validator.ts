import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Validates JSON against the component schemas of Atlassian's Bitbucket Cloud OpenAPI 3 document
 * (shared/bitbucket-fixtures/openapi). OpenAPI 3.0 is not JSON Schema, so the document is
 * converted first: `nullable: true` → a null alternative, `enum` listing null → null allowed,
 * OpenAPI-only keywords (`discriminator`, `x-*`, `example`, `xml`) dropped.
 *
 * Spec corrections: the published spec is stricter than what Bitbucket actually sends (e.g.
 * `additionalProperties: false` on objects whose real captures carry more fields, non-nullable
 * fields that real captures set to null). Each correction below names the captured payload that
 * proves it; the test asserts that each one is needed (the capture fails without it).
 */

type SchemaNode = unknown;
type Obj = Record<string, unknown>;

export const SPEC_PATH = path.join(
  __dirname,
  '../../../../shared/bitbucket-fixtures/openapi/bitbucket-cloud-swagger.v3.json',
);
export const FIXTURES = path.join(__dirname, '../../../../shared/bitbucket-fixtures');

export interface SpecCorrection {
  /** Component schema and the path inside it (through allOf indexes) to the node to relax. */
  schema: string;
  at: (string | number)[];
  kind: 'allow-additional-properties' | 'nullable' | 'any-type';
  /** The captured payload that shows the real platform does this. */
  evidence: string;
}

const PR = 'jenkins-bbs/api_get_pullrequest.json';
const PR_HOOK = 'jenkins-bbs/pullrequest_created.json';

export const SPEC_CORRECTIONS: SpecCorrection[] = [
  {
    schema: 'pullrequest',
    at: ['allOf', 1, 'properties', 'links'],
    kind: 'allow-additional-properties',
    evidence: `${PR} (links.statuses), ${PR_HOOK} (links.request-changes)`,
  },
  {
    schema: 'pullrequest',
    at: ['allOf', 1, 'properties', 'summary'],
    kind: 'allow-additional-properties',
    evidence: `${PR} (summary.type = "rendered")`,
  },
  {
    schema: 'pullrequest',
    at: ['allOf', 1, 'properties', 'rendered', 'properties', 'title'],
    kind: 'allow-additional-properties',
    evidence: `${PR_HOOK} (rendered.title.type)`,
  },
  {
    schema: 'pullrequest',
    at: ['allOf', 1, 'properties', 'rendered', 'properties', 'description'],
    kind: 'allow-additional-properties',
    evidence: `${PR_HOOK} (rendered.description.type)`,
  },
  {
    schema: 'pullrequest',
    at: ['allOf', 1, 'properties', 'merge_commit'],
    kind: 'nullable',
    evidence: `${PR} (merge_commit: null)`,
  },
  {
    schema: 'pullrequest',
    at: ['allOf', 1, 'properties', 'merge_commit'],
    kind: 'allow-additional-properties',
    evidence: 'jenkins-bbs/pullrequest_fulfilled.json (merge_commit.links)',
  },
  {
    schema: 'pullrequest',
    at: ['allOf', 1, 'properties', 'closed_by'],
    kind: 'nullable',
    evidence: `${PR} (closed_by: null)`,
  },
  {
    schema: 'pullrequest_endpoint',
    at: ['properties', 'commit'],
    kind: 'allow-additional-properties',
    evidence: `${PR} (commit.type, commit.links)`,
  },
  {
    schema: 'pullrequest_endpoint',
    at: ['properties', 'branch'],
    kind: 'allow-additional-properties',
    evidence: `${PR_HOOK} (branch.links, branch.sync_strategies)`,
  },
  {
    schema: 'repository',
    at: ['allOf', 1, 'properties', 'parent'],
    kind: 'nullable',
    evidence: `${PR_HOOK} (repository.parent: null)`,
  },
  {
    schema: 'project',
    at: ['allOf', 1, 'properties', 'links'],
    kind: 'allow-additional-properties',
    evidence: `${PR_HOOK} (project.links.self)`,
  },
  {
    schema: 'diffstat',
    at: ['properties', 'old'],
    kind: 'nullable',
    evidence: 'jenkins-bbs/api_diffstat.json (old: null for added files)',
  },
  // No capture of a removed file; `new` is null for a removed file, as `old` is for an added one.
  {
    schema: 'diffstat',
    at: ['properties', 'new'],
    kind: 'nullable',
    evidence: 'bitbucket.md §4.3 (new: null for removed files; mirror of the captured old: null)',
  },
  {
    schema: 'commitstatus',
    at: ['allOf', 1, 'properties', 'refname'],
    kind: 'nullable',
    evidence: 'jenkins-bbs/api_commit_status_build.json (refname: null)',
  },
  {
    schema: 'error',
    at: ['properties', 'error'],
    kind: 'allow-additional-properties',
    evidence: 'bitbucket.md §4.0/§4.6 (field errors carry error.fields, e.g. the 40-char key error)',
  },
  {
    schema: 'report_data',
    at: ['properties', 'value'],
    kind: 'any-type',
    evidence:
      'bitbucket.md §4.7 (value is a number for NUMBER/DURATION/DATE, a string for TEXT, a boolean for BOOLEAN; only LINK is an object)',
  },
  {
    schema: 'base_commit',
    at: ['allOf', 1, 'properties', 'summary'],
    kind: 'allow-additional-properties',
    evidence: 'toolchain-oss/repo_push_pr_merge.json (target.summary.type)',
  },
];

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nodeAt(root: Obj, at: (string | number)[]): Obj {
  let node: unknown = root;
  for (const step of at) {
    node = Array.isArray(node) ? node[Number(step)] : isObj(node) ? node[String(step)] : undefined;
  }
  if (!isObj(node)) throw new Error(`no schema node at ${at.join('/')}`);
  return node;
}

function applyCorrection(schemas: Obj, c: SpecCorrection): void {
  const schema = schemas[c.schema];
  if (!isObj(schema)) throw new Error(`no component schema ${c.schema}`);
  const node = nodeAt(schema, c.at);
  if (c.kind === 'allow-additional-properties') node.additionalProperties = true;
  else if (c.kind === 'nullable') node.nullable = true;
  else delete node.type;
}

function convert(node: SchemaNode): SchemaNode {
  if (Array.isArray(node)) return node.map(convert);
  if (!isObj(node)) return node;
  const out: Obj = {};
  for (const [key, value] of Object.entries(node)) {
    if (
      key.startsWith('x-') ||
      key === 'discriminator' ||
      key === 'example' ||
      key === 'xml' ||
      key === 'nullable' ||
      key === 'externalDocs'
    )
      continue;
    out[key] =
      key === 'properties' && isObj(value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v)]))
        : convert(value);
  }
  const enumHasNull = Array.isArray(out.enum) && out.enum.includes(null);
  if (node.nullable === true || enumHasNull) {
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    } else {
      return { anyOf: [out, { type: 'null' }] };
    }
  }
  return out;
}

export class OpenApiValidator {
  private readonly ajv: Ajv;
  private readonly cache = new Map<string, ValidateFunction>();
  private static readonly ID = 'https://sandbox.invalid/bitbucket-openapi.json';

  constructor(corrections: SpecCorrection[] = SPEC_CORRECTIONS) {
    const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as { components: { schemas: Obj } };
    const schemas = structuredClone(spec.components.schemas);
    for (const c of corrections) applyCorrection(schemas, c);
    this.ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addFormat('int64', true);
    this.ajv.addSchema({ $id: OpenApiValidator.ID, components: { schemas: convert(schemas) } });
  }

  private validator(schema: string): ValidateFunction {
    let v = this.cache.get(schema);
    if (!v) {
      v = this.ajv.getSchema(`${OpenApiValidator.ID}#/components/schemas/${schema}`);
      if (!v) throw new Error(`no schema ${schema}`);
      this.cache.set(schema, v);
    }
    return v;
  }

  /** Validates against a component schema, or an array of it with `arrayOf`. Returns error strings. */
  errors(schema: string, value: unknown): string[] {
    const v = this.validator(schema);
    if (v(value)) return [];
    return (v.errors ?? []).map(
      (e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
    );
  }
}

export function readFixture(rel: string): unknown {
  return JSON.parse(readFileSync(path.join(FIXTURES, rel), 'utf8'));
}
