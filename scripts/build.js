#!/usr/bin/env node
// Builds the native addon from source.
//
//   node scripts/build.js            `prepare` hook (npm install / npm ci in a clone, npm pack): a host
//                                    build, skipped when the addon is already built.
//                                    MAILER_RS_FORCE_BUILD=1 rebuilds; MAILER_RS_DEBUG_BUILD=1 builds debug.
//   node scripts/build.js --release [--target <triple>]
//                                    `npm run build:release`: what is published for a target (default
//                                    x86_64-unknown-linux-gnu). Linux gnu: napi's glibc 2.17 cross
//                                    toolchain and the glibc floor checked; musl: cargo-zigbuild; macOS,
//                                    Windows: their own host. LTO; the .node is copied into
//                                    npm/<platform>/ with THIRD-PARTY.md (licences of the linked crates).
//
// The published package has no install script: the binary comes from the platform package
// (@mailer-rs/binding-<platform>, an optionalDependency) and binding.js loads it.
'use strict';
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const release = process.argv.includes('--release');
const napi = path.join(root, 'node_modules', '.bin', 'napi');

if (!fs.existsSync(path.join(root, 'Cargo.toml'))) {
  // Not a clone (the published package has no Rust sources): nothing to build.
  process.exit(0);
}
function hostBuild() {
  const force = process.env.MAILER_RS_FORCE_BUILD === '1';
  const haveLocal = fs.readdirSync(root).some((f) => /^mailer-rs\..*\.node$/.test(f));
  if (!force && haveLocal) {
    console.log('mailer-rs: native addon already built (set MAILER_RS_FORCE_BUILD=1 to rebuild)');
    return;
  }
  requireNapi();
  // --no-js: binding.js is the repository's own loader (bundler-friendly, docs/bundlers.md).
  const args = ['build', '--platform', '--release', '--no-js', '--dts', 'binding.d.ts'];
  if (process.env.MAILER_RS_DEBUG_BUILD === '1') args.splice(args.indexOf('--release'), 1);
  console.log(`mailer-rs: building the native addon (napi ${args.join(' ')}); this takes a few minutes the first time`);
  run(napi, args);
}

// napi's platform name for each target of package.json's napi.targets, and how it is built.
const RELEASE_TARGETS = {
  'x86_64-unknown-linux-gnu': { platform: 'linux-x64-gnu', how: 'napi-cross' },
  'aarch64-unknown-linux-gnu': { platform: 'linux-arm64-gnu', how: 'napi-cross' },
  'x86_64-unknown-linux-musl': { platform: 'linux-x64-musl', how: 'zig' },
  'aarch64-unknown-linux-musl': { platform: 'linux-arm64-musl', how: 'zig' },
  'x86_64-apple-darwin': { platform: 'darwin-x64', how: 'native' },
  'aarch64-apple-darwin': { platform: 'darwin-arm64', how: 'native' },
  'x86_64-pc-windows-msvc': { platform: 'win32-x64-msvc', how: 'native' },
  'aarch64-pc-windows-msvc': { platform: 'win32-arm64-msvc', how: 'native' },
};
const GLIBC_FLOOR = '2.17';

function releaseBuild() {
  requireNapi();
  const i = process.argv.indexOf('--target');
  const triple = i > 0 ? process.argv[i + 1] : 'x86_64-unknown-linux-gnu';
  const spec = RELEASE_TARGETS[triple];
  if (!spec) fail(`no release recipe for ${triple}`);
  const { platform, how } = spec;
  const file = `mailer-rs.${platform}.node`;
  // Its own target directory: the cross compiler and sysroot change the C dependencies' (ring,
  // mimalloc) build, and sharing target/ would rebuild them on every switch with the host build.
  const args = [
    'build', '--platform', '--release', '--target', triple,
    '--target-dir', path.join('target', 'napi-cross'), '--no-js', '--dts', 'binding.d.ts',
  ];
  const env = { ...process.env };
  if (how === 'napi-cross') {
    if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) fail(`${triple} is built on a Linux x64 or arm64 host`);
    ensureCrossToolchain(triple);
    args.push('--use-napi-cross');
    // C code (ring, mimalloc) is compiled by clang against the toolchain's glibc 2.17 sysroot (napi
    // adds --sysroot/--gcc-toolchain for a clang TARGET_CC); the toolchain's own gcc 4.8.5 links.
    // That gcc cannot compile mimalloc 3 (no <stdatomic.h>, no -Wdate-time).
    env.TARGET_CC = env.TARGET_CC || 'clang';
    env.TARGET_CXX = env.TARGET_CXX || 'clang++';
    if (spawnSync(env.TARGET_CC, ['--version'], { stdio: 'ignore' }).status !== 0) {
      fail(`${env.TARGET_CC} not found: the release build compiles C with clang (apt-get install clang)`);
    }
  } else if (how === 'zig') {
    args.push('--cross-compile'); // cargo-zigbuild; needs zig on PATH
  }
  console.log(`mailer-rs: release build (${how === 'napi-cross' ? `TARGET_CC=${env.TARGET_CC} ` : ''}napi ${args.join(' ')})`);
  run(napi, args, env);

  const built = path.join(root, file);
  let floor = '';
  if (triple.endsWith('-linux-gnu')) {
    const glibc = maxGlibc(built);
    if (compareVersions(glibc, GLIBC_FLOOR) > 0) fail(`${file} needs GLIBC_${glibc}; the release floor is ${GLIBC_FLOOR}`);
    floor = `, highest GLIBC_ symbol version ${glibc}`;
  }
  const dest = path.join(root, 'npm', platform, file);
  fs.copyFileSync(built, dest);
  run(process.execPath, [path.join(__dirname, 'third-party.js'), '--target', triple, '--out', path.join('npm', platform, 'THIRD-PARTY.md')]);
  const size = fs.statSync(dest).size;
  console.log(`mailer-rs: ${path.relative(root, dest)}: ${size} bytes (${(size / 1048576).toFixed(2)} MiB)${floor}`);
}

// napi's --use-napi-cross downloads the toolchain package whose version equals
// @napi-rs/cross-toolchain's own (1.0.5 with @napi-rs/cli 3.10.12). The per-target packages are not
// published in lockstep (x64-target-x86_64 exists as 1.0.0, x64-target-aarch64 as 1.0.3, neither as
// 1.0.5), so the download fails. napi skips the download when the toolchain directory is already
// there: unpack the newest published toolchain not newer than the wrapper's version into it, as
// napi's own download() would.
function ensureCrossToolchain(triple) {
  const cliDir = path.dirname(require.resolve('@napi-rs/cli/package.json', { paths: [root] }));
  const wrapperDir = path.dirname(require.resolve('@napi-rs/cross-toolchain/package.json', { paths: [cliDir] }));
  const { version } = JSON.parse(fs.readFileSync(path.join(wrapperDir, 'package.json'), 'utf8'));
  const dir = path.join(os.homedir(), '.napi-rs', 'cross-toolchain', version, triple);
  if (fs.existsSync(path.join(dir, 'package.json'))) return;
  const arch = process.arch;
  const pkg = `@napi-rs/cross-toolchain-${arch}-target-${triple.split('-')[0]}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'napi-cross-'));
  try {
    console.log(`mailer-rs: fetching the cross toolchain (npm pack ${pkg}@<=${version})`);
    const out = execFileSync('npm', ['pack', `${pkg}@<=${version}`, '--json'], { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const tgz = path.join(work, JSON.parse(out)[0].filename);
    // System tar, not @napi-rs/lzma as napi's download() uses: lzma 1.5's binaries need Node 22.20+.
    run('tar', ['-xzf', tgz, '-C', work]);
    const xzFile = path.join(work, 'package', `${triple}.tar.xz`);
    fs.mkdirSync(dir, { recursive: true });
    run('tar', ['-xJf', xzFile, '-C', dir]);
    if (!fs.existsSync(path.join(dir, 'package.json'))) {
      // napi tests this file to decide the toolchain is in place.
      fs.copyFileSync(path.join(work, 'package', 'package.json'), path.join(dir, 'package.json'));
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// The highest GLIBC_x.y symbol version the addon references: the oldest glibc it loads on.
// readelf reads any ELF machine (objdump -T needs binutils for the target's architecture).
function maxGlibc(file) {
  const out = execFileSync('readelf', ['-W', '--version-info', file], { encoding: 'utf8', maxBuffer: 64 * 1048576 });
  const versions = [...out.matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)].map((m) => m[1]);
  if (versions.length === 0) fail(`no GLIBC_ symbol versions in readelf --version-info ${file}`);
  return versions.sort(compareVersions).pop();
}

function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] || 0) - (y[i] || 0);
    if (d !== 0) return d;
  }
  return 0;
}

function requireNapi() {
  if (!fs.existsSync(napi)) fail('@napi-rs/cli is missing; run `npm install` without --omit=dev to build from source');
}

function run(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
}

function fail(message) {
  console.error(`mailer-rs: ${message}`);
  process.exit(1);
}

if (release) {
  releaseBuild();
} else {
  hostBuild();
}
