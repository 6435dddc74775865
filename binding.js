// mailer-rs's loader for its native addon (a Node-API library built by napi-rs).
//
// Written by hand, not generated (the builds run `napi build --no-js`), so that a bundler sees only
// what it can act on: one literal `require()` per platform that mailer-rs publishes (package.json
// napi.targets), first of a local build next to this file, then of the platform package
// `@mailer-rs/binding-<platform>`. No `require()` of a computed name (webpack would report a
// "Critical dependency" and bundle an empty context), no probe for WASI or for platforms that have
// no package. Recipes for esbuild, webpack, Next.js and serverless: docs/bundlers.md.
'use strict';

const fs = require('fs');
const path = require('path');
const url = require('url');

const PUBLISHED = [
  'linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl',
  'darwin-x64', 'darwin-arm64', 'win32-x64-msvc', 'win32-arm64-msvc',
];

// musl's /usr/bin/ldd is a script around the musl loader and names it; glibc's does not. Without
// that file, Node's diagnostic report says which glibc the process runs on (none on musl).
function isMusl() {
  try {
    return fs.readFileSync('/usr/bin/ldd', 'utf8').includes('musl');
  } catch {
    // no /usr/bin/ldd (a minimal image): ask the report
  }
  try {
    if (process.report && typeof process.report.getReport === 'function') {
      process.report.excludeNetwork = true;
      const report = process.report.getReport();
      if (report && report.header && report.header.glibcVersionRuntime) return false;
      if (report && Array.isArray(report.sharedObjects)) {
        return report.sharedObjects.some((f) => f.includes('libc.musl-') || f.includes('ld-musl-'));
      }
    }
  } catch {
    // no report: assume glibc, the common case
  }
  return false;
}

// Loads a .node file by path with process.dlopen rather than require: bundlers leave it alone, and
// it works inside a webpack bundle, where `require` is webpack's own.
function loadFile(file) {
  let filename = file.startsWith('file:') ? url.fileURLToPath(file) : file;
  if (!path.isAbsolute(filename)) filename = path.join(__dirname, filename);
  const m = { exports: {} };
  process.dlopen(m, filename);
  return m.exports;
}

// A bundler's file or asset loader (esbuild `--loader:.node=file`, webpack `type: 'asset/resource'`)
// replaces `require('x.node')` with the path of the copy it emitted, relative to the bundle: load
// the addon from there.
function addon(value) {
  return typeof value === 'string' ? loadFile(value) : value;
}

// Each platform: the local build, then the platform package. The literal paths are what bundlers
// read, and each require sits directly in a try block: that tells esbuild and webpack the module
// may be missing (esbuild then leaves the require for run time, webpack warns instead of failing).
// Keep one pair per entry of napi.targets.
function requireNative(platform, errors) {
  switch (platform) {
    case 'linux-x64-gnu':
      try {
        return addon(require('./mailer-rs.linux-x64-gnu.node'));
      } catch (e) {
        errors.push(e);
      }
      try {
        return addon(require('@mailer-rs/binding-linux-x64-gnu'));
      } catch (e) {
        errors.push(e);
      }
      return null;
    case 'linux-arm64-gnu':
      try {
        return addon(require('./mailer-rs.linux-arm64-gnu.node'));
      } catch (e) {
        errors.push(e);
      }
      try {
        return addon(require('@mailer-rs/binding-linux-arm64-gnu'));
      } catch (e) {
        errors.push(e);
      }
      return null;
    case 'linux-x64-musl':
      try {
        return addon(require('./mailer-rs.linux-x64-musl.node'));
      } catch (e) {
        errors.push(e);
      }
      try {
        return addon(require('@mailer-rs/binding-linux-x64-musl'));
      } catch (e) {
        errors.push(e);
      }
      return null;
    case 'linux-arm64-musl':
      try {
        return addon(require('./mailer-rs.linux-arm64-musl.node'));
      } catch (e) {
        errors.push(e);
      }
      try {
        return addon(require('@mailer-rs/binding-linux-arm64-musl'));
      } catch (e) {
        errors.push(e);
      }
      return null;
    case 'darwin-x64':
      try {
        return addon(require('./mailer-rs.darwin-x64.node'));
      } catch (e) {
        errors.push(e);
      }
      try {
        return addon(require('@mailer-rs/binding-darwin-x64'));
      } catch (e) {
        errors.push(e);
      }
      return null;
    case 'darwin-arm64':
      try {
        return addon(require('./mailer-rs.darwin-arm64.node'));
      } catch (e) {
        errors.push(e);
      }
      try {
        return addon(require('@mailer-rs/binding-darwin-arm64'));
      } catch (e) {
        errors.push(e);
      }
      return null;
    case 'win32-x64-msvc':
      try {
        return addon(require('./mailer-rs.win32-x64-msvc.node'));
      } catch (e) {
        errors.push(e);
      }
      try {
        return addon(require('@mailer-rs/binding-win32-x64-msvc'));
      } catch (e) {
        errors.push(e);
      }
      return null;
    case 'win32-arm64-msvc':
      try {
        return addon(require('./mailer-rs.win32-arm64-msvc.node'));
      } catch (e) {
        errors.push(e);
      }
      try {
        return addon(require('@mailer-rs/binding-win32-arm64-msvc'));
      } catch (e) {
        errors.push(e);
      }
      return null;
    default:
      return undefined;
  }
}

function platformName() {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

function firstLine(e) {
  return String((e && e.message) || e).split('\n')[0];
}

function loadBinding() {
  const errors = [];
  let binding = null;
  let what;
  // Replaces the search (as in napi-rs's generated loaders): a .node built elsewhere.
  const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH;
  if (override) {
    what = `NAPI_RS_NATIVE_LIBRARY_PATH=${override}`;
    try {
      binding = loadFile(path.resolve(override));
    } catch (e) {
      errors.push(e);
    }
  } else {
    const name = platformName();
    what = `${name}: ./mailer-rs.${name}.node or @mailer-rs/binding-${name}`;
    binding = requireNative(name, errors);
    if (binding === undefined) {
      const error = new Error(`mailer-rs has no native addon for ${name}; the published platforms are ${PUBLISHED.join(', ')}`);
      error.code = 'ERR_MAILER_RS_NATIVE';
      throw error;
    }
  }
  if (binding && typeof binding.NativeTransport !== 'function') {
    // Not the addon: something rewrote the require of the .node file into another value.
    const got = binding === null ? 'null' : typeof binding === 'object' ? `an object with keys [${Object.keys(binding).slice(0, 5).join(', ')}]` : typeof binding;
    errors.push(new Error(`the native addon's require returned ${got}, not the addon (a bundler transformed the .node file)`));
    binding = null;
  }
  if (!binding) {
    const error = new Error(
      `mailer-rs: cannot load its native addon (${what}):\n` +
        errors.map((e) => `  - ${firstLine(e)}\n`).join('') +
        `Install mailer-rs with its optional dependencies (the platform package is one). ` +
        `In a bundle, the .node file must stay a file that Node loads: see mailer-rs's docs/bundlers.md.`,
    );
    error.code = 'ERR_MAILER_RS_NATIVE';
    error.cause = errors.length === 1 ? errors[0] : new AggregateError(errors, 'every attempt failed');
    throw error;
  }
  return binding;
}

module.exports = loadBinding();
