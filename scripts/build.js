#!/usr/bin/env node
// `npm install` hook: build the native addon from source unless a prebuilt binary is already there
// (a published per-platform package, or a build from an earlier install). Set MAILER_RS_FORCE_BUILD=1 to rebuild.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const force = process.env.MAILER_RS_FORCE_BUILD === '1';
const haveLocal = fs.readdirSync(root).some((f) => /^mailer-rs\..*\.node$/.test(f)) && fs.existsSync(path.join(root, 'binding.js'));
const haveSources = fs.existsSync(path.join(root, 'Cargo.toml'));

if (!force && haveLocal) {
  console.log('mailer-rs: native addon already built (set MAILER_RS_FORCE_BUILD=1 to rebuild)');
  process.exit(0);
}
if (!haveSources) {
  // Installed from the registry: the platform package carries the binary; the loader finds it.
  process.exit(0);
}
const napi = path.join(root, 'node_modules', '.bin', 'napi');
if (!fs.existsSync(napi)) {
  console.error('mailer-rs: @napi-rs/cli is missing; run `npm install` without --omit=dev to build from source');
  process.exit(1);
}
const args = ['build', '--platform', '--release', '--js', 'binding.js', '--dts', 'binding.d.ts'];
if (process.env.MAILER_RS_DEBUG_BUILD === '1') args.splice(args.indexOf('--release'), 1);
console.log(`mailer-rs: building the native addon (napi ${args.join(' ')}); this takes a few minutes the first time`);
const r = spawnSync(napi, args, { cwd: root, stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
