#!/usr/bin/env node
// Licences of the Rust crates compiled into the addon, from `cargo metadata` over Cargo.lock (no
// network when the crates are already downloaded, as after any build or `cargo test`).
//
//   node scripts/third-party.js --check                      every shipped crate's licence is on the
//                                                            allow list below and ships a licence text
//   node scripts/third-party.js --target <triple> --out F    also write F: a table of the crates and
//                                                            their licence texts (THIRD-PARTY.md of
//                                                            a platform package, at release)
//
// "Shipped" means linked into the cdylib for that target: normal dependencies reachable from the
// `mailer-rs` crate, without build-dependencies, dev-dependencies and proc-macro crates (those run
// in the compiler, none of their code is in the binary), and without this workspace's own crates.
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

// Permissive licences: each lets the binary be published under MIT with the notices attached.
// A crate whose licence expression cannot be satisfied from this list fails --check; review the
// licence before adding it here.
// The same list as deny.toml's [licenses] allow.
const ALLOWED = new Set([
  'MIT', 'Apache-2.0', 'BSD-3-Clause', 'ISC', 'BSL-1.0', 'Unlicense', 'Unicode-3.0', 'CDLA-Permissive-2.0',
]);
const ALLOWED_EXCEPTIONS = new Set(['LLVM-exception']);
const LICENCE_FILE = /^(licen[cs]e|copying|notice|copyright)([-._].*)?$/i;

const root = path.join(__dirname, '..');
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const check = argv.includes('--check');
const target = opt('--target') || 'x86_64-unknown-linux-gnu';
const out = opt('--out');
if (!check && !out) {
  console.error('usage: third-party.js --check | --target <triple> --out <file>');
  process.exit(2);
}

const meta = JSON.parse(
  execFileSync('cargo', ['metadata', '--format-version', '1', '--filter-platform', target, '--locked'], {
    cwd: root, encoding: 'utf8', maxBuffer: 256 * 1048576, stdio: ['ignore', 'pipe', 'inherit'],
  }),
);
const byId = new Map(meta.packages.map((p) => [p.id, p]));
const nodes = new Map(meta.resolve.nodes.map((n) => [n.id, n]));
const workspace = new Set(meta.workspace_members);
const rootId = meta.packages.find((p) => p.name === 'mailer-rs' && workspace.has(p.id)).id;

const shipped = new Map();
const stack = [rootId];
const seen = new Set(stack);
while (stack.length) {
  const id = stack.pop();
  const pkg = byId.get(id);
  const isProcMacro = pkg.targets.some((t) => t.kind.includes('proc-macro'));
  if (isProcMacro) continue;
  if (!workspace.has(id)) shipped.set(id, pkg);
  for (const dep of nodes.get(id).deps) {
    if (!dep.dep_kinds.some((k) => k.kind === null)) continue;
    if (!seen.has(dep.pkg)) {
      seen.add(dep.pkg);
      stack.push(dep.pkg);
    }
  }
}

const crates = [...shipped.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
const problems = [];
for (const c of crates) {
  c.expr = (c.license || '').trim();
  if (!c.expr) {
    problems.push(`${c.name} ${c.version}: no licence in Cargo.toml${c.license_file ? ` (license-file = ${c.license_file})` : ''}`);
  } else if (!allowed(c.expr)) {
    problems.push(`${c.name} ${c.version}: licence "${c.expr}" is not on the allow list`);
  }
  const dir = path.dirname(c.manifest_path);
  c.files = fs.readdirSync(dir).filter((f) => LICENCE_FILE.test(f) && fs.statSync(path.join(dir, f)).isFile()).sort();
  if (c.license_file && !c.files.includes(c.license_file)) c.files.push(c.license_file);
  c.texts = c.files.map((f) => ({ file: f, text: fs.readFileSync(path.join(dir, f), 'utf8').replace(/\r\n/g, '\n').trimEnd() }));
}
// A crate without a licence file of its own (napi and napi-sys publish none) is covered by the
// licence text of its repository: taken from another crate of the same repository, or else from an
// npm package in node_modules of the same repository (@napi-rs/cli for napi-rs), and named as such.
for (const c of crates.filter((x) => x.texts.length === 0)) {
  const sibling = crates.find((o) => o !== c && o.texts.length > 0 && o.repository && o.repository === c.repository && o.expr === c.expr);
  const npmPkg = sibling ? null : npmPackageOf(c.repository);
  if (sibling) {
    c.texts = sibling.texts;
    c.borrowed = `${sibling.name} ${sibling.version}`;
  } else if (npmPkg) {
    c.texts = npmPkg.texts;
    c.borrowed = `the npm package ${npmPkg.name}, same repository`;
  } else {
    problems.push(`${c.name} ${c.version}: no licence file in the crate package and no crate of the same repository has one`);
  }
}

const counts = {};
for (const c of crates) counts[c.expr] = (counts[c.expr] || 0) + 1;
console.log(`third-party: ${crates.length} crates linked into the ${target} addon`);
for (const [expr, n] of Object.entries(counts).sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(4)}  ${expr}`);

if (out) {
  fs.writeFileSync(path.resolve(process.cwd(), out), render());
  console.log(`third-party: wrote ${out}`);
}
if (problems.length) {
  for (const p of problems) console.error(`third-party: ${p}`);
  process.exit(1);
}

function npmPackageOf(repository) {
  const norm = (u) => String(u || '').replace(/^git\+/, '').replace(/\.git$/, '').replace(/\/+$/, '').toLowerCase();
  const want = norm(repository);
  if (!want) return null;
  const nm = path.join(root, 'node_modules');
  const dirs = [];
  for (const e of fs.existsSync(nm) ? fs.readdirSync(nm) : []) {
    if (e.startsWith('@')) for (const s of fs.readdirSync(path.join(nm, e))) dirs.push(path.join(nm, e, s));
    else dirs.push(path.join(nm, e));
  }
  for (const dir of dirs) {
    let pkg;
    try {
      pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository && pkg.repository.url;
    if (norm(repo) !== want) continue;
    const files = fs.readdirSync(dir).filter((f) => LICENCE_FILE.test(f)).sort();
    if (files.length) {
      return { name: pkg.name, texts: files.map((f) => ({ file: f, text: fs.readFileSync(path.join(dir, f), 'utf8').replace(/\r\n/g, '\n').trimEnd() })) };
    }
  }
  return null;
}

function render() {
  const lines = [
    '# Third-party software in the mailer-rs native addon',
    '',
    `The \`${target}\` addon links these Rust crates (from Cargo.lock; build tools and procedural`,
    'macros, which run in the compiler, are not listed). Their licence texts follow, each text once',
    'with the crates that ship it. Generated by `scripts/third-party.js` at release.',
    '',
    '| crate | version | licence | source |',
    '|---|---|---|---|',
    ...crates.map((c) => `| ${c.name} | ${c.version} | ${c.expr} | ${c.repository || ''} |`),
    '',
  ];
  const groups = new Map();
  for (const c of crates) {
    for (const t of c.texts) {
      const h = crypto.createHash('sha256').update(t.text).digest('hex');
      if (!groups.has(h)) groups.set(h, { text: t.text, who: [] });
      groups.get(h).who.push(`${c.name} ${c.version} (${c.borrowed ? `from ${c.borrowed}` : t.file})`);
    }
  }
  for (const g of groups.values()) {
    lines.push('---', '', `Shipped by: ${[...new Set(g.who)].join(', ')}`, '', '```text', g.text.replace(/```/g, "'''"), '```', '');
  }
  return lines.join('\n');
}

// SPDX expression (with Cargo's old "/" for OR): satisfiable from the allow list?
function allowed(expr) {
  const tokens = expr.replace(/\//g, ' OR ').match(/\(|\)|[^\s()]+/g) || [];
  let i = 0;
  const parseOr = () => {
    let v = parseAnd();
    while (tokens[i] === 'OR') {
      i++;
      v = parseAnd() || v;
    }
    return v;
  };
  const parseAnd = () => {
    let v = parseAtom();
    while (tokens[i] === 'AND') {
      i++;
      v = parseAtom() && v;
    }
    return v;
  };
  const parseAtom = () => {
    if (tokens[i] === '(') {
      i++;
      const v = parseOr();
      i++; // ')'
      return v;
    }
    const id = tokens[i++];
    if (tokens[i] === 'WITH') {
      i++;
      return ALLOWED.has(id) && ALLOWED_EXCEPTIONS.has(tokens[i++]);
    }
    return ALLOWED.has(id);
  };
  const v = parseOr();
  return v && i === tokens.length;
}
