/**
 * Our zod schemas (src/core/clawsig/schemas) against the official Clawsig JSON Schemas run by the
 * reference validator's engine: Ajv 2020, `strict:false`, `allErrors:true`, ajv-formats, with every
 * schema added to one instance so `$ref`s resolve (the draft-07 side-effect/approval files load
 * through Ajv's draft-07 meta-schema). Every sample must get the same verdict from both, and a
 * rejected sample must be rejected at the same fields.
 *
 * Samples: every JSON fixture and every object/array inside it, against every schema; then, per
 * schema, valid seeds (fixture sub-objects the schema accepts, plus instances generated from the
 * official schema itself) and systematic mutations of each seed at every node the official schema
 * describes; then pairs of faults around the causal binding fields; then fast-check mutations of the
 * seeds. Everything that shapes the samples is read from the official files, so a drifted schema
 * changes Ajv's verdicts and fails here.
 *
 * For every rejection we also check that (a) our issues name the same set of fields as Ajv's errors
 * and (b) our first issue names the field of Ajv's first error: the reference verifier classifies
 * only its first error (CAUSAL_* codes for binding phase/confidence/span fields).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import draft07MetaSchema from 'ajv/dist/refs/json-schema-draft-07.json';
import fc from 'fast-check';
import {
  CLAWSIG_SCHEMAS,
  CLAWSIG_SCHEMA_IDS,
  formatIssuePath,
  validateWith,
  type ClawsigSchemaFile,
} from '../../../src/core/clawsig/schemas';
import { sharedPath } from '../../shared-data';

// ---------------------------------------------------------------------------------------------
// JSON and JSON Schema types
// ---------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface JsonSchema {
  $id?: string;
  $schema?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  type?: string | string[];
  const?: Json;
  enum?: Json[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  maxProperties?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  if?: JsonSchema;
  then?: JsonSchema;
}

/** Keywords our zod code implements, plus pure annotations. A new keyword upstream fails the suite. */
const KNOWN_KEYWORDS = new Set([
  '$id',
  '$schema',
  '$ref',
  '$defs',
  'type',
  'const',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'maxProperties',
  'items',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'oneOf',
  'anyOf',
  'if',
  'then',
  'title',
  'description',
  'default',
]);

/**
 * sha256 of each official file as reviewed when the zod definitions were written. A change upstream
 * must be re-reviewed: update our definition, then this fingerprint.
 */
const REVIEWED_SHA256: Record<ClawsigSchemaFile, string> = {
  'auth/scoped_token_claims.v1.json': '379b89c311f21a1b25a44bbbdcb50df4648ad6a1d02fc79cc041d836aca6cf23',
  'poh/binary_semantic_evidence.v1.json': '987115abc98835bd1b7750f5c6170c1df6c5d2288453ede71414af461872e4af',
  'poh/binary_semantic_evidence_envelope.v1.json': 'b35ac28328e88b971f19f6908f8dd379569bb509baeb993522eb097507c0a56a',
  'poh/co_signature.v1.json': '498d2be092ec4371fa91ff46694fe5c6d0b364d4755da51aaacfe2fd9580dfcc',
  'poh/commit_proof.v1.json': '7cfee75d591ec109d3eafb1fc2f195080b5bbc06d32a819727fbce166c89f4f8',
  'poh/coverage_attestation.v1.json': '8b080a5b01cbc3ed5638f180d4a57084b014a81dd35ceb1ca307f6428d0a9fc6',
  'poh/coverage_attestation_envelope.v1.json': '574e4678f86df4793bab967875c68e8bbbbd38f01d25672c07a0c5325236e441',
  'poh/encrypted_proof_payload.v1.json': '7ecf1946d39f8ec66774e155550d0150128ef20136122aa80e162d21fc514191',
  'poh/event_chain.v1.json': 'c3fd481a652c280748834c14aa8fb444dad2e04af0355dd192a453265b1e8161',
  'poh/gateway_receipt.v1.json': 'c0a9253df456070620eba040f5305660e28a2decccf10d25848396ed8976cfc3',
  'poh/gateway_receipt_envelope.v1.json': '396b34ae03b0cf02a098cb1f9f3c3c44adcd47925db6c59cc526a54a6acb0252',
  'poh/human_approval_receipt.v1.json': '4bff48a6c8e4ac90aeff13cebe5991d24106efb560531d5c7375c98944078d52',
  'poh/human_approval_receipt_envelope.v1.json': '19fbe6216e5c49c5ce1d17a424e2276c32342f859dffd505218efcfd5febba7e',
  'poh/kinematic_fingerprint.v1.json': '860e44690256b42a267d01b840439caa8b38a514cc17532f2040dcc880bee10c',
  'poh/log_inclusion_proof.v1.json': '38076a7c0ba7e89eeaadb1609cd0af293b2806ebaf69a440061ac9a7e23ee5a8',
  'poh/model_identity.v1.json': '5f882cdacdedd748e57687c8094ee413c5a5b9b064d63aab431e7e061e4b4b28',
  'poh/proof_bundle.v1.json': '7684a22efde7b56118a1dd403dc9cc5917c0ce21adebabdcc19afe70483c857f',
  'poh/proof_bundle.v2.json': '0358cd5db764216c101a418fc956ccdcf0f97f24b23d1850383b7b7455512fea',
  'poh/proof_bundle_envelope.v1.json': 'b612c2ff395c1b618b1c75d3464b71f76d7a7766dfe80098d81e252bc6f7f7ed',
  'poh/receipt_binding.v1.json': '10cf242ec81f2d8877a52ca9bd3359a8f40501ae7df8b974a5bf95923b733589',
  'poh/selective_disclosure.v1.json': 'a4a493d20902726e24055354eca825f37458d85508d8939d621d830e93f3c76d',
  'poh/sentinel_anomaly_report.v1.json': '92a3ca09c26c269e574970cc068f60873a86c2cea4dc60a491589fc6145b6ad2',
  'poh/side_effect_receipt.v1.json': 'b8edf335807ae6ac2d88bc189d3821119ad4d881b66f396581b68e45c1e6251f',
  'poh/side_effect_receipt_envelope.v1.json': '5a68a7ea0aa935b5eae270a81b6766d77e90b88e90a6dd94766f684de43049a8',
  'poh/tool_receipt.v1.json': '993f0f8d53527861cf7bacfba098d7a253f5b3a6b7d0bdcf067f73f03b17b975',
  'poh/tool_receipt.v2.json': '42df3aaaa7532fc1f701e2e1a99b6d7032f1d0c7924cc3823e147f87ad9f8728',
  'poh/tool_receipt_envelope.v1.json': '6b5bd952532b8f1a053d94dd2be0b2a7de9adadcea38d543f0990ff819e58e7a',
  'poh/tool_receipt_envelope.v2.json': 'e45627600d953ef603424da5b028e70f5ea5c3e308329ad4f0052ff7105348d2',
  'poh/urm.v1.json': '0964297d652ab93a6676c7ad176bb5eaf8c5160286a0f471d0760c4d7a5f27b8',
  'poh/trust_pulse.v1.json': '5c94d176747c4e597d58b917ee47dd91d3c3f5f7314c643934ff376edb14adb0',
  'poh/vir.v1.json': 'e18679dd05e1ba9ff56ee8343ec661c3731ee62cd75c8ecc1189644850103fb6',
  'poh/vir.v2.json': '9523ec81eccb775de3b286651e27344ccb805d4d47d4cc45342597a7b42d365a',
  'poh/vir_envelope.v1.json': 'ecbc5437e3ca63cc04b077eed0743ad8b22d0c93e9775110e87eec63603466da',
  'poh/vir_envelope.v2.json': 'da2d445eebe66dcab3780aea5d6e689738aac41bdd766553efd2a44dd91d1e3f',
  'poh/web_receipt.v1.json': 'e75844c10a1151df4a2b0a2ce7b966a2af2a87ed148792c0a15c59e7725f893f',
  'poh/web_receipt_envelope.v1.json': 'eb00cbf0d4e0640dd0ae11dbae2e419784f5381d08803b1e1cf125e94688cbd8',
  'policy/work_policy_contract.v1.json': 'fbe4dea456fd21574181325f95303666c3cbea9d3235409aebd35091a8bc516a',
  'policy/work_policy_contract.v2.json': '839337a1eec2a1fb1b4efb943e7d7374773d24520cf128cb52d9c63ea872b63a',
  'policy/work_policy_contract_envelope.v1.json': '1ef766a48549faff9cff8b26a0c1bef66a9ba4f986086a216ea9e213f5575340',
};

// ---------------------------------------------------------------------------------------------
// Official schemas and the reference validator
// ---------------------------------------------------------------------------------------------

const SCHEMA_DIR = sharedPath('clawsig', 'schema');
const FIXTURE_DIR = sharedPath('clawsig', 'fixtures');
const FILES = Object.keys(CLAWSIG_SCHEMAS) as ClawsigSchemaFile[];

function listJsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? listJsonFiles(path.join(dir, entry.name))
        : entry.name.endsWith('.json')
          ? [path.join(dir, entry.name)]
          : [],
    )
    .sort();
}

function readJson(file: string): Json {
  return JSON.parse(readFileSync(file, 'utf8')) as Json;
}

const officialText = new Map<string, string>(
  listJsonFiles(SCHEMA_DIR).map((file) => [
    path.relative(SCHEMA_DIR, file).split(path.sep).join('/'),
    readFileSync(file, 'utf8'),
  ]),
);
const officialSchemas = new Map<string, JsonSchema>(
  [...officialText].map(([file, text]) => [file, JSON.parse(text) as JsonSchema]),
);
const schemaById = new Map<string, JsonSchema>(
  [...officialSchemas.values()].map((schema) => [schema.$id ?? '', schema]),
);

function referenceAjv(options: { validateSchema?: boolean; draft07Meta: boolean }): Ajv2020 {
  const ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    ...(options.validateSchema === false ? { validateSchema: false } : {}),
  });
  addFormats(ajv);
  if (options.draft07Meta) ajv.addMetaSchema(draft07MetaSchema);
  for (const schema of officialSchemas.values()) ajv.addSchema(schema as object);
  return ajv;
}

const ajv = referenceAjv({ draft07Meta: true });
/** The other documented way to load the draft-07 files; it must not change any verdict. */
const ajvWithoutMetaValidation = referenceAjv({ validateSchema: false, draft07Meta: false });

function referenceValidator(instance: Ajv2020, id: string): ValidateFunction {
  const validate = instance.getSchema(id);
  if (!validate) throw new Error(`reference validator has no schema ${id}`);
  return validate;
}

const reference = new Map<ClawsigSchemaFile, ValidateFunction>(
  FILES.map((file) => [file, referenceValidator(ajv, CLAWSIG_SCHEMA_IDS[file])]),
);
const DRAFT07_FILES = FILES.filter((file) => officialSchemas.get(file)?.$schema?.includes('draft-07'));
const referenceWithoutMetaValidation = new Map<ClawsigSchemaFile, ValidateFunction>(
  DRAFT07_FILES.map((file) => [file, referenceValidator(ajvWithoutMetaValidation, CLAWSIG_SCHEMA_IDS[file])]),
);

function officialSchema(file: ClawsigSchemaFile): JsonSchema {
  const schema = officialSchemas.get(file);
  if (!schema) throw new Error(`missing official schema ${file}`);
  return schema;
}

// ---------------------------------------------------------------------------------------------
// $ref resolution over the official files
// ---------------------------------------------------------------------------------------------

/** A schema node and the `$id` of the document it sits in (for relative and `#/$defs` refs). */
interface Node {
  schema: JsonSchema;
  base: string;
}

function resolve(node: Node): Node {
  let current = node;
  for (let hops = 0; current.schema.$ref !== undefined; hops++) {
    if (hops > 20) throw new Error('ref loop');
    const ref = current.schema.$ref;
    const url = new URL(ref, current.base);
    const docId = `${url.origin}${url.pathname}`;
    const doc = schemaById.get(docId);
    if (!doc) throw new Error(`unresolvable $ref ${ref} from ${current.base}`);
    let target: JsonSchema = doc;
    if (url.hash.startsWith('#/$defs/')) {
      const def = doc.$defs?.[decodeURIComponent(url.hash.slice('#/$defs/'.length))];
      if (!def) throw new Error(`unresolvable $ref ${ref}`);
      target = def;
    } else if (url.hash !== '' && url.hash !== '#') {
      throw new Error(`unsupported $ref fragment ${ref}`);
    }
    current = { schema: target, base: docId };
  }
  return current;
}

function child(node: Node, schema: JsonSchema): Node {
  return { schema, base: node.base };
}

function typesOf(schema: JsonSchema): string[] {
  return schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
}

function isJsonObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Valid instances generated from the official schema
// ---------------------------------------------------------------------------------------------

/** A valid example for each pattern the official files use; a new pattern upstream fails here. */
const PATTERN_SAMPLES: Record<string, string> = {
  '^[A-Za-z0-9_-]+$': 'c2FtcGxlLWhhc2gtdmFsdWU',
  '^did:': 'did:key:z6MkneMkZqwqRiU5mJzSG3kDwzt9P8C59N4NGTfBLfSGE7c7',
  '^did:[a-z0-9]+:[a-zA-Z0-9._%-]+$': 'did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw',
  '^[A-Za-z0-9_-]{43}$': 'mo72_ab1UHvxY2DERZG2Tn12KNl2e_NSUrVDEQ5-Jds',
  '^[0-9]+$': '8004',
  '^eip155:[0-9]+:0x[0-9a-fA-F]{40}$': `eip155:1:0x${'aB'.repeat(20)}`,
  '^[A-Za-z0-9_-]{16}$': 'AAECAwQFBgcICQoL',
  '^[A-Za-z0-9_-]{22}$': 'AAECAwQFBgcICQoLDA0ODw',
  '^[a-z0-9.*:-]+$': '*.api.anthropic.com:443',
  '^[a-fA-F0-9]{7,64}$': '3a7808e461147e0a77fe0d084376d24ff3d6a82b',
  // trust_pulse.v1 files[].path: a safe relative path.
  '^(?!/)(?!~)(?!.*\\\\)(?!.*(?:^|/)\\.\\.(?:/|$)).+$': 'src/app/main.ts',
};

interface GenerateOptions {
  /** Include every declared optional property (and one extra key where extra keys are allowed). */
  full: boolean;
  /** Which alternative to take at a choice point (enum value, oneOf branch, type). */
  variant: number;
}

function siteHash(site: string): number {
  let h = 0;
  for (let i = 0; i < site.length; i++) h = (h * 31 + site.charCodeAt(i)) >>> 0;
  return h;
}

function pick<T>(options: readonly T[], opts: GenerateOptions, site: string): T {
  const chosen = options[(siteHash(site) + opts.variant) % options.length];
  if (chosen === undefined) throw new Error(`nothing to pick at ${site}`);
  return chosen;
}

function sampleString(schema: JsonSchema, opts: GenerateOptions): string {
  let text: string;
  if (schema.format === 'date-time') text = opts.full ? '2026-02-12T19:00:00.250+01:00' : '2026-02-12T18:00:00.000Z';
  else if (schema.format === 'uri') text = 'https://clawproxy.com/v1/proxy';
  else if (schema.pattern !== undefined) {
    const sample = PATTERN_SAMPLES[schema.pattern];
    if (sample === undefined) throw new Error(`no sample for pattern ${schema.pattern}`);
    text = sample;
  } else text = opts.full ? 'sample ü' : 'sample';
  const pad = text.at(-1) ?? 'a';
  while (schema.minLength !== undefined && text.length < schema.minLength) text += pad;
  if (schema.maxLength !== undefined && text.length > schema.maxLength) text = text.slice(0, schema.maxLength);
  return text;
}

function sampleNumber(schema: JsonSchema, integer: boolean, opts: GenerateOptions): number {
  const low = schema.minimum ?? 0;
  const high = schema.maximum ?? low + 100;
  if (integer) return opts.full ? Math.min(Math.ceil(low) + 3, Math.floor(high)) : Math.ceil(low);
  return opts.full ? (low + high) / 2 + 0.25 : low;
}

function generate(input: Node, options: GenerateOptions, site: string): Json {
  const node = resolve(input);
  const schema = node.schema;
  // Inside another official file, stay minimal: that file's own seeds are the full ones, and lean
  // containers keep every mutation of a proof bundle cheap to validate.
  const opts = node.base !== input.base && !isLeafDocument(node.base) ? { ...options, full: false } : options;
  if (schema.oneOf) return generate(child(node, pick(schema.oneOf, opts, `${site}/oneOf`)), opts, site);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return pick(schema.enum, opts, `${site}/enum`);
  const types = typesOf(schema);
  if (types.length === 0) return pick<Json>(['any', 7, null, { nested: [true] }, ['x']], opts, `${site}/any`);
  const type = types.length === 1 ? types[0] : pick(types, opts, `${site}/type`);
  switch (type) {
    case 'null':
      return null;
    case 'boolean':
      return pick([true, false], opts, `${site}/bool`);
    case 'string':
      return sampleString(schema, opts);
    case 'number':
      return sampleNumber(schema, false, opts);
    case 'integer':
      return sampleNumber(schema, true, opts);
    case 'array': {
      const count = Math.min(Math.max(schema.minItems ?? 0, opts.full ? 1 : 0), schema.maxItems ?? Infinity);
      const items: Json[] = [];
      for (let i = 0; i < count; i++)
        items.push(
          schema.items
            ? generate(child(node, schema.items), { ...opts, variant: opts.variant + i }, `${site}/${i}`)
            : i,
        );
      return items;
    }
    case 'object': {
      const out: JsonObject = {};
      const keys = new Set(schema.required ?? []);
      if (opts.full) for (const key of Object.keys(schema.properties ?? {})) keys.add(key);
      // anyOf [{required:[a]}, ...]: satisfy one branch when nothing else did.
      const anyOfKeys = (schema.anyOf ?? []).map((branch) => branch.required ?? []);
      if (anyOfKeys.length > 0 && !anyOfKeys.some((branch) => branch.every((key) => keys.has(key))))
        for (const key of pick(anyOfKeys, opts, `${site}/anyOf`)) keys.add(key);
      for (const key of keys) {
        const property = schema.properties?.[key];
        out[key] = property ? generate(child(node, property), opts, `${site}/${key}`) : 'value';
      }
      if (opts.full) {
        if (isSchemaObject(schema.additionalProperties))
          out.extra_entry = generate(child(node, schema.additionalProperties), opts, `${site}/*`);
        else if (schema.additionalProperties !== false) out.x_extension = 'extra';
      }
      return out;
    }
    default:
      throw new Error(`unsupported type ${type}`);
  }
}

function isSchemaObject(value: boolean | JsonSchema | undefined): value is JsonSchema {
  return typeof value === 'object';
}

// ---------------------------------------------------------------------------------------------
// Mutations derived from the official schema
// ---------------------------------------------------------------------------------------------

const DELETE = Symbol('delete');
type Replacement = Json | typeof DELETE;

interface Mutation {
  path: (string | number)[];
  value: Replacement;
  label: string;
}

const WRONG_TYPES: Json[] = [null, true, 0, -1, 1.5, '', 'x', [], {}];

/** Date-times around every rule of RFC 3339 as ajv-formats reads it. */
const DATE_TIMES = [
  '2026-02-12T18:00:00Z',
  '2026-02-12t18:00:00z',
  '2026-02-12 18:00:00Z',
  '2026-02-12T18:00:00',
  '2026-02-12T18:00:00.123456789+05:30',
  '2026-02-12T18:00:00+0530',
  '2026-02-12T18:00:00+05',
  '2026-02-12T18:00:00-00:00',
  '2026-02-12T18:00:00+24:00',
  '2026-02-12T18:00:00+23:60',
  '2024-02-29T00:00:00Z',
  '2026-02-29T00:00:00Z',
  '2000-02-29T00:00:00Z',
  '1900-02-29T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-04-31T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-00-10T00:00:00Z',
  '2026-01-00T00:00:00Z',
  '2026-12-31T23:59:60Z',
  '2026-12-31T23:59:60.5Z',
  '2026-12-31T22:59:60Z',
  '2026-12-31T23:58:60Z',
  '2027-01-01T00:59:60+01:00',
  '2026-12-31T22:59:60-01:00',
  '2026-12-31T23:59:61Z',
  '2026-02-12T24:00:00Z',
  '2026-02-12T18:60:00Z',
  '2026-02-12T18:00:60Z',
  '2026-02-12T18:00Z',
  '2026-02-12',
  '2026-2-12T18:00:00Z',
  '02026-02-12T18:00:00Z',
  '2026-02-12T18:00:00.Z',
  '2026-02-12T18:00:00,5Z',
  '2026-02-12TT18:00:00Z',
  '2026-02-12T18:00:00Z ',
  ' 2026-02-12T18:00:00Z',
  '2026-02-12T18:00:00Z\n',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  'Thu, 12 Feb 2026 18:00:00 GMT',
  '1770919200',
  '2026-02-12\t18:00:00Z',
  '２０２６-02-12T18:00:00Z',
  '2026-02-12T18:00:00.000+01:30:00',
];

/** URIs around ajv-formats' `uri` rule (scheme required, at least one '/' or ':'). */
const URIS = [
  'https://clawproxy.com',
  'https://clawproxy.com/v1?x=1#f',
  'http://[::1]:8080/',
  'urn:isbn:0451450523',
  'mailto:a@b.c',
  'file:///tmp/x',
  'clawproxy.com',
  '/relative/path',
  '//host/path',
  'https://exa mple.com',
  'https://example.com/%zz',
  'HTTPS://EXAMPLE.COM',
  'a:',
  'x',
  '',
  'https://ex.com/ü',
  '1http://x',
  'https://user:pw@host:99999/p',
];

const maxItemsSitesDone = new Set<string>();

function mutationsOf(seed: Json, root: Node): Mutation[] {
  const out: Mutation[] = [];
  walk(seed, root, [], out, 0);
  return out;
}

function addReplacements(value: Json, node: Node, at: (string | number)[], out: Mutation[]): void {
  const push = (replacement: Replacement, label: string): void => {
    out.push({ path: at, value: replacement, label });
  };
  const schema = node.schema;
  for (const wrong of WRONG_TYPES)
    if (JSON.stringify(wrong) !== JSON.stringify(value)) push(wrong, `wrong type ${JSON.stringify(wrong)}`);
  if (schema.const !== undefined) {
    const c = schema.const;
    if (typeof c === 'string')
      for (const bad of [`${c}x`, c.toUpperCase(), ` ${c}`, `${c}\u0000`]) push(bad, `const ${JSON.stringify(bad)}`);
    if (typeof c === 'boolean') push(!c, 'const negated');
  }
  if (schema.enum) {
    for (const member of schema.enum) push(member, `enum ${JSON.stringify(member)}`);
    const first = schema.enum[0];
    if (typeof first === 'string')
      for (const bad of [`${first}x`, first.toUpperCase(), first.toLowerCase(), `${first} `])
        push(bad, `bad enum ${JSON.stringify(bad)}`);
  }
  const types = typesOf(schema);
  if (types.includes('string')) {
    const current = typeof value === 'string' ? value : sampleString(schema, { full: false, variant: 0 });
    const unit = current.length > 0 ? (current.codePointAt(0) ?? 97) : 97;
    const ch = String.fromCodePoint(unit);
    const lengths = new Set<number>();
    for (const bound of [schema.minLength, schema.maxLength])
      if (bound !== undefined) for (const d of [-1, 0, 1]) if (bound + d >= 0) lengths.add(bound + d);
    for (const n of lengths) {
      push(ch.repeat(n), `length ${n} of ${JSON.stringify(ch)}`);
      push('😀'.repeat(n), `length ${n} of non-BMP`);
      push('é'.repeat(n), `length ${n} of BMP`);
      push('\ud800'.repeat(n), `length ${n} of lone surrogates`);
      if (n > 0) push(current.slice(0, 0) + '😀'.repeat(n - 1) + ch, `length ${n} mixed`);
    }
    if (schema.pattern !== undefined) {
      for (const bad of [
        `${current} `,
        `${current}\n`,
        `x${current}`,
        current.slice(1),
        `${current}=`,
        `${current}+/`,
        `${current}ÿ`,
        `\n${current}`,
        current.toUpperCase(),
        current.toLowerCase(),
        `${current}${ch}`,
        current.slice(0, -1),
      ])
        push(bad, `pattern probe ${JSON.stringify(bad).slice(0, 40)}`);
    }
    if (schema.format === 'date-time') for (const dt of DATE_TIMES) push(dt, `date-time ${JSON.stringify(dt)}`);
    if (schema.format === 'uri') for (const uri of URIS) push(uri, `uri ${JSON.stringify(uri)}`);
    push('😀', 'non-BMP string');
  }
  if (types.includes('number') || types.includes('integer')) {
    const numbers = [0, -0, 1.0, 2.5, 1e300, -1e300, 2 ** 53 + 2, 0.1 + 0.2, 1e-7, -1];
    for (const bound of [schema.minimum, schema.maximum])
      if (bound !== undefined)
        numbers.push(bound - 1, bound - 0.5, bound - 1e-9, bound, bound + 1e-9, bound + 0.5, bound + 1);
    for (const n of numbers) push(n, `number ${n}`);
  }
  if (types.includes('array')) {
    const items = Array.isArray(value) ? value : [];
    const cycle = (count: number): Json[] =>
      Array.from({ length: count }, (_, i) => items[i % Math.max(items.length, 1)] ?? null);
    if (schema.minItems !== undefined && schema.minItems > 0) push(items.slice(0, schema.minItems - 1), `minItems-1`);
    // Long arrays are costly to validate: once per schema file and array position is enough.
    const site = `${node.base}|${at.filter((segment) => typeof segment === 'string').join('/')}`;
    if (schema.maxItems !== undefined && items.length > 0 && !maxItemsSitesDone.has(site)) {
      maxItemsSitesDone.add(site);
      push(cycle(schema.maxItems), 'maxItems');
      push(cycle(schema.maxItems + 1), 'maxItems+1');
    }
    push([...items, null], 'extra null item');
    if (items.length > 0) push([...items, items[0] ?? null], 'duplicate item');
  }
  if (types.includes('object') && isJsonObject(value)) {
    push({ ...value, zz_unknown: 1 }, 'unknown key');
    // JSON.parse makes "__proto__" an own key; a closed object must reject it like any unknown key.
    push(
      JSON.parse(
        `{"__proto__":"x"${Object.keys(value).length > 0 ? ',' : ''}${JSON.stringify(value).slice(1)}`,
      ) as JsonObject,
      'own __proto__ key',
    );
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
      if (!(key in value)) {
        push(
          { ...value, [key]: generate(child(node, property), { full: false, variant: 0 }, key) },
          `add optional ${key}`,
        );
        push(
          { ...value, [key]: generate(child(node, property), { full: true, variant: 1 }, key) },
          `add optional ${key} (full)`,
        );
      }
    }
    if (isSchemaObject(schema.additionalProperties)) {
      const extra = generate(child(node, schema.additionalProperties), { full: false, variant: 0 }, 'extra');
      push({ ...value, extra_key: extra }, 'additionalProperties entry');
      push({ ...value, extra_bad: null }, 'additionalProperties bad entry');
      if (schema.maxProperties !== undefined) {
        for (const count of [schema.maxProperties, schema.maxProperties + 1]) {
          const many: JsonObject = {};
          for (let i = 0; i < count; i++) many[`Key:${i}`] = extra;
          push(many, `${count} properties`);
        }
      }
    }
    const anyOfKeys = (schema.anyOf ?? []).flatMap((branch) => branch.required ?? []);
    if (anyOfKeys.length > 0) {
      const stripped = Object.fromEntries(Object.entries(value).filter(([key]) => !anyOfKeys.includes(key)));
      push(stripped, 'no anyOf key');
      for (const key of anyOfKeys)
        if (key in value) push({ ...stripped, [key]: value[key] ?? null }, `only anyOf key ${key}`);
    }
    if (schema.if && schema.then) {
      const ifProperties = schema.if.properties ?? {};
      for (const [key, condition] of Object.entries(ifProperties)) {
        const declared = resolve(child(node, schema.properties?.[key] ?? {})).schema;
        for (const member of [...(declared.enum ?? []), ...(condition.enum ?? [])]) {
          push({ ...value, [key]: member }, `if ${key}=${JSON.stringify(member)}`);
          const without = { ...value, [key]: member };
          for (const required of schema.then.required ?? []) delete without[required];
          push(without, `if ${key}=${JSON.stringify(member)} without then-required`);
        }
      }
    }
  }
  if (schema.oneOf) {
    const branches = schema.oneOf.map((branch, i) =>
      generate(child(node, branch), { full: i % 2 === 1, variant: 0 }, `oneOf${i}`),
    );
    const fullBranches = schema.oneOf.map((branch) =>
      generate(child(node, branch), { full: true, variant: 1 }, 'oneOfFull'),
    );
    [...branches, ...fullBranches].forEach((branch, i) => push(branch, `oneOf branch sample ${i}`));
    for (const a of branches) {
      for (const b of branches) {
        if (a !== b && isJsonObject(a) && isJsonObject(b)) push({ ...a, ...b }, 'oneOf merged branches');
      }
      if (isJsonObject(a)) {
        for (const key of ['receipt_version', 'envelope_version']) {
          if (key in a)
            for (const version of ['1', '2', '3']) push({ ...a, [key]: version }, `oneOf ${key}=${version}`);
        }
        if (isJsonObject(value))
          push({ ...value, receipt_version: a.receipt_version ?? '1' }, 'oneOf value plus receipt_version');
      }
    }
  }
}

/** A document with no `$ref` of its own (receipt_binding, co_signature, ...): cheap enough to walk wherever it is used. */
function isLeafDocument(id: string): boolean {
  return !JSON.stringify(schemaById.get(id) ?? {}).includes('"$ref"');
}

/**
 * Mutates `value` where it sits and recurses into what the schema says about its children. The
 * walk stops at a `$ref` into another official file that itself has refs (after mutating the
 * referring position): that file gets its own pass, and re-walking it inside every container would
 * only repeat it. Leaf files are walked in place, so that e.g. every binding field is also probed
 * at `payload.receipts[0].payload.binding.*`, where the verifier classifies failures.
 */
function walk(value: Json, input: Node, at: (string | number)[], out: Mutation[], depth: number): void {
  const node = resolve(input);
  const schema = node.schema;
  addReplacements(value, node, at, out);
  if (depth > 0 && node.base !== input.base && !isLeafDocument(node.base)) return;
  if (schema.oneOf) {
    // Recurse through the branch that accepts the value (every branch is a $ref to a whole file).
    for (const branch of schema.oneOf) {
      const target = resolve(child(node, branch));
      const validate = target.schema.$id ? ajv.getSchema(target.schema.$id) : undefined;
      if (validate?.(value)) {
        // Only the branch's top level: its inside is covered by the branch file's own pass.
        addReplacements(value, target, at, out);
        break;
      }
    }
    return;
  }
  if (Array.isArray(value) && schema.items) {
    // Items share one schema: walking the first is enough (the others are seeds' business).
    if (value.length > 0) walk(value[0] ?? null, child(node, schema.items), [...at, 0], out, depth + 1);
  } else if (isJsonObject(value)) {
    const required = new Set(schema.required ?? []);
    for (const [key, childValue] of Object.entries(value)) {
      if (required.has(key)) out.push({ path: [...at, key], value: DELETE, label: `drop required ${key}` });
      else out.push({ path: [...at, key], value: DELETE, label: `drop optional ${key}` });
      const property =
        schema.properties?.[key] ??
        (isSchemaObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
      if (property) walk(childValue, child(node, property), [...at, key], out, depth + 1);
    }
  }
}

/** Applies a mutation by copying only the containers on its path; the seed is left untouched. */
function applyMutation(seed: Json, mutation: Mutation): Json | undefined {
  const rec = (current: Json, depth: number): Json | undefined => {
    if (depth === mutation.path.length) return mutation.value === DELETE ? undefined : mutation.value;
    const key = mutation.path[depth];
    if (key === undefined) return current;
    if (Array.isArray(current) && typeof key === 'number') {
      const copy = current.slice();
      const next = rec(current[key] ?? null, depth + 1);
      if (next === undefined) copy.splice(key, 1);
      else copy[key] = next;
      return copy;
    }
    if (isJsonObject(current) && typeof key === 'string') {
      const copy: JsonObject = { ...current };
      const next = rec(current[key] ?? null, depth + 1);
      if (next === undefined) delete copy[key];
      else copy[key] = next;
      return copy;
    }
    return current;
  };
  return rec(seed, 0);
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

interface Disagreement {
  file: ClawsigSchemaFile;
  sample: string;
  reference: boolean | string[];
  ours: boolean | string[];
}

const stats = { samples: 0, accepted: 0, rejected: 0, pathComparisons: 0, causalFirstErrors: 0 };
const verdictMismatches: Disagreement[] = [];
const pathMismatches: Disagreement[] = [];
const firstIssueMismatches: Disagreement[] = [];

/**
 * How the reference verifier turns its first schema error into a reason code (its
 * schema step): binding phase / confidence / span fields get a CAUSAL_* code.
 */
function causalCode(field: string): string {
  if (/(^|\.)binding\.phase(\.|$|\[)/.test(field)) return 'CAUSAL_PHASE_INVALID';
  if (/(^|\.)binding\.(attribution_confidence|attributionConfidence)(\.|$|\[)/.test(field))
    return 'CAUSAL_CONFIDENCE_OUT_OF_RANGE';
  if (/(^|\.)binding\.(span_id|spanId|parent_span_id|parentSpanId|tool_span_id|toolSpanId)(\.|$|\[)/.test(field))
    return 'CAUSAL_BINDING_NORMALIZATION_FAILED';
  return 'SCHEMA_VALIDATION_FAILED';
}

/** The reference's field name for an Ajv error: instancePath, plus the missing/additional property. */
function referenceField(error: ErrorObject): string {
  const segments: (string | number)[] = decodePointer(error.instancePath);
  const params = error.params as { missingProperty?: unknown; additionalProperty?: unknown };
  if (error.keyword === 'required' && typeof params.missingProperty === 'string') segments.push(params.missingProperty);
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string')
    segments.push(params.additionalProperty);
  return formatIssuePath(segments);
}

function decodePointer(pointer: string): string[] {
  return pointer === ''
    ? []
    : pointer
        .split('/')
        .slice(1)
        .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * The field each reference error names, as the reference verifier derives it (instancePath plus
 * the missing or additional property). Errors inside `oneOf`/`anyOf` branches are left out: they
 * describe alternatives, not the value; so are our issues under a failed `oneOf`.
 */
function referenceFields(errors: readonly ErrorObject[]): { fields: Set<string>; oneOfSites: string[] } {
  const fields = new Set<string>();
  const oneOfSites: string[] = [];
  for (const error of errors) {
    if (error.keyword === 'oneOf') oneOfSites.push(decodePointer(error.instancePath).join('/'));
    if (error.keyword === 'oneOf' || error.keyword === 'anyOf' || error.keyword === 'if') continue;
    if (/\/(oneOf|anyOf)\//.test(error.schemaPath)) continue;
    const segments = decodePointer(error.instancePath);
    const params = error.params as { missingProperty?: unknown; additionalProperty?: unknown };
    if (error.keyword === 'required' && typeof params.missingProperty === 'string')
      segments.push(params.missingProperty);
    if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string')
      segments.push(params.additionalProperty);
    fields.add(segments.join('/'));
  }
  return { fields, oneOfSites };
}

function compare(file: ClawsigSchemaFile, sample: unknown, label: string): void {
  const validate = reference.get(file);
  if (!validate) throw new Error(`no reference validator for ${file}`);
  const referenceOk = validate(sample);
  const ours = validateWith(CLAWSIG_SCHEMAS[file], sample);
  stats.samples++;
  if (referenceOk) stats.accepted++;
  else stats.rejected++;
  const alternate = referenceWithoutMetaValidation.get(file);
  if (alternate && alternate(sample) !== referenceOk)
    throw new Error(`draft-07 loading modes disagree on ${file} ${label}`);
  if (referenceOk !== ours.ok) {
    verdictMismatches.push({
      file,
      sample: `${label}: ${JSON.stringify(sample)?.slice(0, 400)}`,
      reference: referenceOk,
      ours: ours.ok ? true : ours.issues.map((i) => `${i.path.join('/')} ${i.message}`),
    });
    return;
  }
  if (ours.ok || referenceOk) return;
  const firstError = validate.errors?.[0];
  const firstIssue = ours.issues[0];
  if (firstError && firstIssue) {
    const theirCode = causalCode(referenceField(firstError));
    const ourCode = causalCode(formatIssuePath(firstIssue.path));
    if (theirCode !== 'SCHEMA_VALIDATION_FAILED') stats.causalFirstErrors++;
    // Our first issue names Ajv's first field exactly, except for an anyOf/oneOf failure, which we
    // report once at the value (Ajv first lists a branch's errors): there the class must match.
    const differs =
      firstIssue.code === 'custom'
        ? theirCode !== ourCode
        : referenceField(firstError) !== formatIssuePath(firstIssue.path);
    if (differs)
      firstIssueMismatches.push({
        file,
        sample: `${label}: ${JSON.stringify(sample)?.slice(0, 300)}`,
        reference: [referenceField(firstError), theirCode],
        ours: [formatIssuePath(firstIssue.path), ourCode],
      });
  }
  const { fields, oneOfSites } = referenceFields(validate.errors ?? []);
  const underOneOf = (field: string): boolean =>
    oneOfSites.some((site) => field === site || field.startsWith(`${site}/`) || site === '');
  const ourFields = new Set(
    ours.issues
      .filter((issue) => issue.code !== 'custom')
      .map((issue) => issue.path.join('/'))
      .filter((field) => !underOneOf(field)),
  );
  const theirFields = new Set([...fields].filter((field) => !underOneOf(field)));
  stats.pathComparisons++;
  if ([...ourFields].sort().join('|') !== [...theirFields].sort().join('|')) {
    pathMismatches.push({
      file,
      sample: `${label}: ${JSON.stringify(sample)?.slice(0, 300)}`,
      reference: [...theirFields].sort(),
      ours: [...ourFields].sort(),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------

interface Located {
  value: Json;
  where: string;
  /** Walk it for systematic mutations (otherwise it is compared as is and used by fast-check). */
  mutate?: boolean;
}

function subtrees(value: Json, where: string, out: Located[]): Located[] {
  if (Array.isArray(value) || isJsonObject(value)) out.push({ value, where });
  if (Array.isArray(value)) value.forEach((item, i) => subtrees(item, `${where}/${i}`, out));
  else if (isJsonObject(value)) for (const [key, item] of Object.entries(value)) subtrees(item, `${where}/${key}`, out);
  return out;
}

const fixtureFiles = listJsonFiles(FIXTURE_DIR);
const fixtureValues: Located[] = fixtureFiles.map((file) => ({
  value: readJson(file),
  where: path.relative(FIXTURE_DIR, file),
}));

/** Variants a producer could legitimately emit from the fixtures: the v2 dummy without its test-only keys; event arrays as an event_chain.v1. */
function derivedSeeds(): Located[] {
  const out: Located[] = [];
  for (const { value, where } of fixtureValues) {
    if (isJsonObject(value) && value.schema_version === 'proof_bundle.v2') {
      const clean = Object.fromEntries(
        Object.entries(value).filter(([key]) => !['comment', 'purpose', '_test_plaintext_reference'].includes(key)),
      );
      out.push({ value: clean, where: `${where} without test-only keys` });
    }
    for (const located of subtrees(value, where, [])) {
      if (isJsonObject(located.value) && Array.isArray(located.value.event_chain)) {
        const events = located.value.event_chain;
        const first = events[0];
        const runId = isJsonObject(first) && typeof first.run_id === 'string' ? first.run_id : 'run';
        out.push({
          value: { chain_version: '1', chain_id: `chain_${runId}`, run_id: runId, events },
          where: `${located.where}/event_chain as event_chain.v1`,
        });
      }
    }
  }
  return out;
}

const allFixtureSubtrees: Located[] = [
  ...fixtureValues.flatMap(({ value, where }) => subtrees(value, where, [])),
  ...derivedSeeds(),
];

function generatedSeeds(file: ClawsigSchemaFile): Located[] {
  const schema = officialSchema(file);
  const out: Located[] = [];
  for (let variant = 0; variant < 4; variant++) {
    for (const full of [false, true]) {
      // Full instances differ only in the choices they make: one of them is enough to walk.
      const mutate = !full || variant === 0;
      out.push({
        value: generate({ schema, base: schema.$id ?? '' }, { full, variant }, file),
        where: `generated ${full ? 'full' : 'minimal'} #${variant}`,
        mutate,
      });
    }
  }
  return out;
}

function uniqueByJson(items: Located[]): Located[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = JSON.stringify(item.value);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Up to `limit` fixture sub-objects the reference accepts for `file`, largest first (they cover most fields). */
function fixtureSeeds(file: ClawsigSchemaFile, limit: number): Located[] {
  const validate = reference.get(file);
  if (!validate) return [];
  const accepted = uniqueByJson(allFixtureSubtrees.filter(({ value }) => validate(value) === true));
  return accepted
    .sort((a, b) => JSON.stringify(b.value).length - JSON.stringify(a.value).length)
    .slice(0, limit)
    .map((seed) => ({ ...seed, mutate: true }));
}

const validSeeds = new Map<ClawsigSchemaFile, Located[]>();
for (const file of FILES) {
  const validate = reference.get(file);
  const seeds = uniqueByJson([...fixtureSeeds(file, 4), ...generatedSeeds(file)]).filter(
    ({ value }) => validate?.(value) === true,
  );
  validSeeds.set(file, seeds);
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe('clawsig schemas: our zod definitions vs the official JSON Schemas under Ajv', () => {
  afterAll(() => {
    console.log(
      `schema equivalence: ${stats.samples} samples compared (${stats.accepted} accepted, ${stats.rejected} rejected by both), ${stats.pathComparisons} rejections compared field by field, ${stats.causalFirstErrors} whose first reference error is a CAUSAL_* field`,
    );
  });

  it('covers every official schema file, by path and $id, with only the keywords we implement', () => {
    expect([...officialSchemas.keys()].sort()).toEqual([...FILES].sort());
    for (const file of FILES) expect(officialSchema(file).$id).toBe(CLAWSIG_SCHEMA_IDS[file]);
    const unknown = new Set<string>();
    const visit = (schema: JsonSchema, inProperties: boolean): void => {
      for (const [key, sub] of Object.entries(schema)) {
        if (inProperties) {
          visit(sub as JsonSchema, false);
          continue;
        }
        if (!KNOWN_KEYWORDS.has(key)) unknown.add(key);
        if (key === 'properties' || key === '$defs') visit(sub as JsonSchema, true);
        else if (
          key === 'items' ||
          key === 'if' ||
          key === 'then' ||
          (key === 'additionalProperties' && typeof sub === 'object')
        )
          visit(sub as JsonSchema, false);
        else if (key === 'oneOf' || key === 'anyOf') for (const branch of sub as JsonSchema[]) visit(branch, false);
      }
    };
    for (const file of FILES) visit(officialSchema(file), false);
    expect([...unknown]).toEqual([]);
  });

  it('was written against these exact official files (any upstream change needs a re-review)', () => {
    const actual = Object.fromEntries(
      FILES.map((file) => [
        file,
        createHash('sha256')
          .update(officialText.get(file) ?? '')
          .digest('hex'),
      ]),
    );
    expect(actual).toEqual(REVIEWED_SHA256);
  });

  it('has valid seeds for every schema (fixtures it accepts and instances generated from it)', () => {
    for (const file of FILES)
      expect({ file, seeds: (validSeeds.get(file) ?? []).length >= 2 }).toEqual({ file, seeds: true });
  });

  it('agrees with the reference on every fixture file and every object/array inside one, for every schema', () => {
    for (const { value, where } of allFixtureSubtrees)
      for (const file of FILES) compare(file, value, `fixture ${where}`);
    expect(verdictMismatches).toEqual([]);
    expect(pathMismatches).toEqual([]);
    expect(firstIssueMismatches).toEqual([]);
  });

  it('agrees with the reference on systematic mutations of valid seeds at every node the schema describes', () => {
    const timings: string[] = [];
    for (const file of FILES) {
      const root = officialSchema(file);
      const started = Date.now();
      const samplesBefore = stats.samples;
      for (const seed of validSeeds.get(file) ?? []) {
        compare(file, seed.value, `seed ${seed.where}`);
        if (!seed.mutate) continue;
        for (const mutation of mutationsOf(seed.value, { schema: root, base: root.$id ?? '' })) {
          const sample = applyMutation(seed.value, mutation);
          compare(file, sample, `${seed.where} @${mutation.path.join('/')}: ${mutation.label}`);
        }
      }
      timings.push(`${file}: ${stats.samples - samplesBefore} samples, ${Date.now() - started} ms`);
    }
    if (process.env.SCHEMA_EQUIVALENCE_TIMINGS) console.log(timings.join('\n'));
    expect(verdictMismatches.slice(0, 25)).toEqual([]);
    expect(pathMismatches.slice(0, 25)).toEqual([]);
    expect({ count: firstIssueMismatches.length, first: firstIssueMismatches.slice(0, 10) }).toEqual({
      count: 0,
      first: [],
    });
  });

  it('puts first the field the reference names first (as the verifier classifies it) when a binding fault meets other faults', () => {
    const causalField =
      /^(phase|attribution_confidence|attributionConfidence|span_id|spanId|parent_span_id|parentSpanId|tool_span_id|toolSpanId)$/;
    const before = stats.causalFirstErrors;
    for (const file of FILES) {
      const root = officialSchema(file);
      const validate = reference.get(file);
      for (const seed of (validSeeds.get(file) ?? []).filter((s) => s.mutate)) {
        const mutations = mutationsOf(seed.value, { schema: root, base: root.$id ?? '' });
        const causal = mutations.filter(
          (m) =>
            m.path.includes('binding') &&
            causalField.test(String(m.path.at(-1))) &&
            m.value !== DELETE &&
            validate?.(applyMutation(seed.value, m)) === false,
        );
        if (causal.length === 0) continue;
        const others = mutations.filter((_, i) => i % 5 === 0);
        for (const [i, fault] of causal.entries()) {
          for (const other of others.filter((_, j) => j % causal.length === i % causal.length)) {
            const first = applyMutation(seed.value, fault);
            const sample = first === undefined ? undefined : applyMutation(first, other);
            compare(
              file,
              sample,
              `${seed.where} @${fault.path.join('/')} (${fault.label}) & @${other.path.join('/')} (${other.label})`,
            );
          }
        }
      }
    }
    // Binding fields wherever a seed has them (also inside tool receipts, where a failed oneOf makes
    // the reference's first error a branch error, i.e. not a CAUSAL_* one).
    for (const file of FILES) {
      for (const seed of validSeeds.get(file) ?? []) {
        for (const at of allPaths(seed.value, [])) {
          if (at.at(-2) !== 'binding' || !causalField.test(String(at.at(-1)))) continue;
          for (const bad of ['', 'deploy', 2, null, ['x']])
            compare(
              file,
              applyMutation(seed.value, { path: at, value: bad, label: 'bad causal field' }),
              `${seed.where} @${at.join('/')} = ${JSON.stringify(bad)}`,
            );
        }
      }
    }
    expect(stats.causalFirstErrors - before).toBeGreaterThan(100);
    expect(verdictMismatches.slice(0, 25)).toEqual([]);
    expect(pathMismatches.slice(0, 25)).toEqual([]);
    expect({ count: firstIssueMismatches.length, first: firstIssueMismatches.slice(0, 10) }).toEqual({
      count: 0,
      first: [],
    });
  });

  it('agrees with the reference on random mutations of valid seeds (fast-check)', () => {
    const surrogateHalf = fc.constantFrom('\ud83d', '\ude00', '\udbff');
    const anyChar = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      surrogateHalf,
      fc.constantFrom('😀', 'a', '_', '-', ':', '=', ' '),
    );
    const text = fc.string({ unit: anyChar, maxLength: 70 });
    const b64uText = fc.string({ unit: fc.constantFrom(...'ABCxyz019_-'.split('')), maxLength: 50 });
    const dateTimeText = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.constantFrom('T', 't', ' ', '_'),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 61 }),
        fc.constantFrom('', '.5', '.123456'),
        fc.constantFrom('Z', 'z', '', '+01:00', '-23:59', '+24:00', '+0100', '+01', '-00:30'),
      )
      .map(
        ([y, mo, d, sep, h, mi, s, frac, zone]) =>
          `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}${sep}${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(s).padStart(2, '0')}${frac}${zone}`,
      );
    const replacement: fc.Arbitrary<Replacement> = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }).map((value) => value as Json),
      text,
      b64uText,
      dateTimeText,
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: -3, max: 70_000 }),
      fc.constant<Replacement>(DELETE),
    );
    // One to three edits at random places: several faults at once also exercise the issue order.
    const edit = fc.record({
      pathPick: fc.nat(),
      value: replacement,
      newKey: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
    });
    for (const file of FILES) {
      const seeds = validSeeds.get(file) ?? [];
      const paths = seeds.map((seed) => allPaths(seed.value, []));
      fc.assert(
        fc.property(fc.nat(), fc.array(edit, { minLength: 1, maxLength: 3 }), (seedPick, edits) => {
          const seedIndex = seedPick % seeds.length;
          const seed = seeds[seedIndex];
          const candidates = paths[seedIndex] ?? [[]];
          if (!seed) return;
          const before = verdictMismatches.length + pathMismatches.length + firstIssueMismatches.length;
          let sample: Json | undefined = seed.value;
          const where: string[] = [];
          for (const { pathPick, value, newKey } of edits) {
            const at = candidates[pathPick % candidates.length] ?? [];
            const target = newKey === undefined ? at : [...at, newKey];
            where.push(target.join('/'));
            sample = sample === undefined ? undefined : applyMutation(sample, { path: target, value, label: 'random' });
          }
          compare(file, sample, `fast-check ${file} @${where.join(' & ')}`);
          return verdictMismatches.length + pathMismatches.length + firstIssueMismatches.length === before;
        }),
        { numRuns: 300 },
      );
    }
    expect(verdictMismatches.slice(0, 25)).toEqual([]);
    expect(pathMismatches.slice(0, 25)).toEqual([]);
    expect(firstIssueMismatches.slice(0, 10)).toEqual([]);
  });
});

function allPaths(value: Json, at: (string | number)[]): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...allPaths(item, [...at, i])));
  else if (isJsonObject(value))
    for (const [key, item] of Object.entries(value)) out.push(...allPaths(item, [...at, key]));
  return out;
}
