#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (dist/, built by `npm install` via the prepare script). In a checkout without
// a build, falls back to the TypeScript sources through tsx so `npx clawgate` always works.
const path = require('node:path');
const fs = require('node:fs');
const compiled = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
let cli;
if (fs.existsSync(compiled)) {
  cli = require(compiled);
} else {
  require('tsx/cjs');
  cli = require(path.join(__dirname, '..', 'src', 'cli', 'main.ts'));
}
cli.runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`clawgate: internal error: ${error && error.message ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
