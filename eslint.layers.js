// @ts-check
/**
 * The layers of src/ (docs/architecture.md): which top-level folder may import which. Anything not
 * listed for a folder is an upward or sideways import and fails `npm run lint` (and so `npm test`)
 * through import-x/no-restricted-paths; import-x/no-cycle fails any import cycle. The surfaces
 * (api, connect, webhooks) share only what lies below them (http, pipeline, …), never each other.
 * test/lint/layering.test.ts proves a forbidden import is reported.
 */
const LAYERS = {
  core: [],
  config: [],
  bitbucket: [],
  sandbox: [],
  agent: ['core'],
  // render/evidence-pack-text.ts names evidence/'s result types: the one sideways pair (types only).
  render: ['core', 'evidence'],
  testkit: ['core'],
  // The pages reuse pure core functions and data (https-only links, WPC templates); never I/O layers.
  web: ['render', 'core'],
  verification: ['core'],
  store: ['core', 'config'],
  evidence: ['core', 'config', 'render', 'store'],
  queue: ['core', 'config', 'store'],
  pipeline: ['core', 'config', 'render', 'bitbucket', 'store', 'queue', 'evidence', 'verification'],
  http: ['core', 'config', 'render', 'bitbucket', 'store', 'queue', 'evidence', 'pipeline'],
  api: ['core', 'config', 'render', 'bitbucket', 'store', 'queue', 'evidence', 'pipeline', 'http'],
  connect: ['core', 'config', 'render', 'bitbucket', 'store', 'queue', 'evidence', 'pipeline', 'http'],
  webhooks: ['core', 'config', 'render', 'bitbucket', 'store', 'queue', 'evidence', 'pipeline', 'http'],
  operations: ['core', 'config', 'store', 'queue'],
  forge: ['core', 'config', 'render', 'bitbucket', 'store', 'queue', 'evidence', 'pipeline', 'http'],
  server: [
    'core',
    'config',
    'render',
    'bitbucket',
    'store',
    'queue',
    'evidence',
    'pipeline',
    'http',
    'api',
    'connect',
    'webhooks',
    'forge',
    'operations',
    'verification',
  ],
  // The demo drives the CLI's own commands (agent, verify); the CLI starts the demo by a lazy import.
  demo: ['core', 'config', 'render', 'store', 'server', 'sandbox', 'testkit', 'cli'],
  cli: [
    'core',
    'config',
    'render',
    'bitbucket',
    'store',
    'queue',
    'evidence',
    'pipeline',
    'http',
    'api',
    'connect',
    'webhooks',
    'operations',
    'server',
    'sandbox',
    'testkit',
    'demo',
    'agent',
  ],
};

const FOLDERS = Object.keys(LAYERS);

/** One zone per folder: it may not import any other src/ folder it does not list. */
function folderZones() {
  return FOLDERS.map((folder) => ({
    target: `./src/${folder}`,
    from: FOLDERS.filter((other) => other !== folder && !LAYERS[folder].includes(other)).map(
      (other) => `./src/${other}`,
    ),
    message: `src/${folder} may import only ${LAYERS[folder].length ? LAYERS[folder].join(', ') : 'nothing else in src/'} (eslint.layers.js, docs/architecture.md)`,
  }));
}

/**
 * Inside the pipeline: evaluation/ and operations/ never import each other; the shared files at
 * pipeline/ import neither; the surfaces above see only the shared files (the server wires the
 * handlers).
 */
const PIPELINE_ZONES = [
  {
    target: './src/pipeline/evaluation',
    from: './src/pipeline/operations',
    message: 'pipeline/evaluation and pipeline/operations share only pipeline/*.ts',
  },
  {
    target: './src/pipeline/operations',
    from: './src/pipeline/evaluation',
    message: 'pipeline/evaluation and pipeline/operations share only pipeline/*.ts',
  },
  {
    target: './src/pipeline/*.ts',
    from: ['./src/pipeline/evaluation', './src/pipeline/operations'],
    message: 'the shared pipeline files do not import evaluation/ or operations/',
  },
  {
    target: ['./src/http', './src/api', './src/connect', './src/webhooks'],
    from: ['./src/pipeline/evaluation', './src/pipeline/operations'],
    message: 'surfaces use the shared pipeline files; the server wires the job handlers',
  },
];

module.exports = { LAYERS, zones: [...folderZones(), ...PIPELINE_ZONES] };
