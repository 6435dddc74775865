// Waiting in tests for the event itself instead of for a fixed time.
//
//   await waitFor(() => srv.messages.length === 2, { what: 'the server to receive both messages' });
//   await within(once(t, 'idle'), { what: "the pool's first 'idle' event" });
//   await gcUntil(() => ref.deref() === undefined);   // a process started with --expose-gc
//
// Every wait has a deadline and, past it, fails naming what it waited for: a broken expectation
// is a clear failure at once, not a hang until the test runner's own timeout. The deadlines are
// generous (the machine may be loaded); a wait that succeeds returns as soon as the event happens,
// so a generous deadline costs nothing.
//
// Where time itself is what a test checks (a token must expire, nothing more may happen within a
// window, a server fault injects a delay), the test keeps a plain timer, its length a named
// constant with a comment that says why the time must pass.

import { setTimeout as sleep } from 'node:timers/promises';

/** Deadline of every wait here unless the caller gives one (ms). */
export const WAIT_TIMEOUT_MS = 10_000;

/**
 * Polls `cond` (sync or async) every `interval` ms until it returns a truthy value, and returns
 * that value. Past `timeout` ms, throws `timed out after <timeout> ms waiting for <what>`.
 */
export async function waitFor(cond, { timeout = WAIT_TIMEOUT_MS, interval = 5, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await cond();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}

/**
 * Resolves as `promise` does (e.g. `once(emitter, 'event')`, a promise resolved by a server's
 * handler); past `timeout` ms, rejects with `timed out after <timeout> ms waiting for <what>`.
 */
export async function within(promise, { timeout = WAIT_TIMEOUT_MS, what = 'an event' } = {}) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms waiting for ${what}`)), timeout);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the garbage collector (`gc()`, from --expose-gc) with a turn of the event loop between
 * runs (finalizers and native releases run there) until `done()` holds or `timeout` ms passed.
 * Returns the last `done()`: the caller reports what was not collected, with its own figures.
 */
export async function gcUntil(done, { timeout = WAIT_TIMEOUT_MS, interval = 10 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    globalThis.gc();
    await sleep(interval);
    if (done()) return true;
    if (Date.now() >= deadline) return false;
  }
}
