// The Rust crates' modules import each other without cycles: each module only uses modules
// "below" it, so a newcomer can read a crate from its leaves up (issue 14). The graph is read
// from the source: every `crate::a::b` and `super::x` path outside test code, resolved to the
// longest module of that name (a file `a/b.rs` or `a/b/mod.rs` is module `a::b`).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('..', import.meta.url).pathname;
// crates/message is left out until its json <-> compose cycle is gone (composition's part of
// issue 14); add it here then.
const CRATES = ['smtp', 'oauth2', 'config', 'sendmail', 'tls', 'message'];

function rustFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e =>
    e.isDirectory() ? rustFiles(join(dir, e.name)) : e.name.endsWith('.rs') ? [join(dir, e.name)] : []
  );
}

/** Module name -> source text without comments and without the trailing test module. */
function modules(src) {
  const mods = new Map();
  for (const file of rustFiles(src)) {
    const parts = relative(src, file).slice(0, -3).split(sep);
    if (parts.at(-1) === 'mod' || parts.at(-1) === 'lib') parts.pop();
    const name = parts.join('::') || 'crate';
    // test-only files (`tests.rs`, `*_tests.rs`) may use anything
    if (/(^|::|_)tests$/.test(name)) continue;
    const text = readFileSync(file, 'utf8')
      .split(/#\[cfg\(test\)\]\s*mod tests\b/)[0]
      .replace(/\/\/.*$/gm, '');
    mods.set(name, text);
  }
  return mods;
}

/** Module name -> the other modules it uses. */
export function moduleGraph(src) {
  const mods = modules(src);
  const resolve = path => {
    const segs = path.split('::');
    for (let k = segs.length; k > 0; k--) {
      const cand = segs.slice(0, k).join('::');
      if (mods.has(cand)) return cand;
    }
    return null;
  };
  const graph = new Map();
  for (const [name, text] of mods) {
    const parent = name.split('::').slice(0, -1).join('::');
    const uses = new Set();
    const re = /\b(crate|super)::((?:[a-z_][a-z0-9_]*::)*)(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)/g;
    for (const [, kind, mid, last] of text.matchAll(re)) {
      let base = kind === 'super' ? parent : '';
      const middle = mid.replace(/::$/, '');
      if (middle) base = base ? `${base}::${middle}` : middle;
      const items = last.startsWith('{')
        ? last.slice(1, -1).split(',').map(s => s.trim().split('::')[0].split(' ')[0])
        : [last];
      for (const item of items) {
        const full = [base, item === 'self' ? '' : item].filter(Boolean).join('::');
        const target = (full && resolve(full)) || (base && resolve(base));
        // a module may use its own parent's items (`super::`): that is the parent's code
        if (target && target !== name && !name.startsWith(`${target}::`)) uses.add(target);
      }
    }
    graph.set(name, uses);
  }
  return graph;
}

/** A cycle as a list of modules (first repeated at the end), or null. */
export function findCycle(graph) {
  const state = new Map();
  const stack = [];
  const visit = node => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    if (!state.has(node)) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return null;
}

/** The same graph one level up: `net::tls -> options` counts as `net -> options`. */
function topLevel(graph) {
  const top = new Map();
  for (const [name, uses] of graph) {
    const a = name.split('::')[0];
    if (!top.has(a)) top.set(a, new Set());
    for (const u of uses) {
      const b = u.split('::')[0];
      if (b !== a) top.get(a).add(b);
    }
  }
  return top;
}

for (const crate of CRATES) {
  test(`crates/${crate}: no import cycle between modules`, () => {
    const graph = moduleGraph(join(ROOT, 'crates', crate, 'src'));
    assert.ok(graph.has('crate'), 'the crate root was read');
    const cycle = findCycle(graph);
    assert.equal(cycle, null, `modules import each other: ${cycle?.join(' -> ')}`);
    const topCycle = findCycle(topLevel(graph));
    assert.equal(topCycle, null, `top-level modules import each other: ${topCycle?.join(' -> ')}`);
  });
}

test('a cycle is found, with its path', () => {
  const g = new Map([
    ['a', new Set(['b'])],
    ['b', new Set(['c'])],
    ['c', new Set(['a'])],
    ['d', new Set(['a'])],
  ]);
  assert.deepEqual(findCycle(g), ['a', 'b', 'c', 'a']);
  assert.equal(findCycle(new Map([['a', new Set(['b'])], ['b', new Set()]])), null);
});
