'use strict';
// The transporter object nodemailer users know (`Mail`): an EventEmitter with sendMail/verify/close/
// isIdle/set/get/use. It adapts callbacks and promises and hands everything else to the Rust core.
const { EventEmitter } = require('node:events');
const { AsyncResource } = require('node:async_hooks');
const { Readable, pipeline } = require('node:stream');
const native = require('../binding.js');
const { getLogger, engineLogSink } = require('./logger');
const { prepareMailSync, applyDefaults, hasStreams, resolveStreams, headerKeyMap, composeOptions } = require('./message');
const { resolveTransport, identityChecker } = require('./options');
const { customAuthRunner } = require('./custom-auth');
const { installSocketBridge } = require('./socket-bridge');
const others = require('./transports');
const { checkSesOptions } = require('./ses');
const plugins = require('./plugins');
const { adopt, settled } = require('./realm');

/** The keys a message's `auth` may set over the transport's (nodemailer's MESSAGE_AUTH_KEYS). */
const MESSAGE_AUTH_KEYS = ['type', 'user', 'pass', 'accessToken', 'refreshToken', 'expires'];
const { coerceDsn } = require('./coerce');
const pkg = require('../package.json');

const VERSION = pkg.version;
// Message-level keys forced from the transport options onto every message (as nodemailer's lib/smtp-transport does).
const FORCED_KEYS = ['disableFileAccess', 'disableUrlAccess', 'normalizeHeaderKey', 'maxRecipients'];
// The sandbox flags are one-way: set in `defaults` they are transport configuration too, so a
// message may switch them on but never off (nodemailer's MailMessage); a message may always
// switch them on for itself.
const SANDBOX_KEYS = ['disableFileAccess', 'disableUrlAccess'];

/** Adapts a nodemailer provisioning callback `(user, renew, cb)` (or a Promise-returning one) to a Promise. */
function adaptProvisioner(fn) {
  // Always resolves: `{ accessToken, expires }` or `{ error }` (the message reaches the EAUTH error).
  return (user, renew) =>
    new Promise((resolve) => {
      let settled = false;
      const done = (err, accessToken, expires) => {
        if (settled) return; // a callback called twice is ignored after the first answer
        settled = true;
        if (err) return resolve({ error: (err && err.message) || String(err) });
        if (!accessToken) return resolve({ error: 'Provisioning callback returned no access token' });
        resolve({ accessToken: String(accessToken), expires: Number(expires) || 0 });
      };
      try {
        const r = fn(user, renew, done);
        if (r && typeof r.then === 'function') {
          r.then(
            (v) => {
              if (v === undefined) return; // it will call back
              if (typeof v === 'string') done(null, v);
              else if (v && typeof v === 'object') done(null, v.accessToken, v.expires);
            },
            (err) => done(err || new Error('Provisioning callback rejected'))
          );
        }
      } catch (err) {
        done(err);
      }
    });
}

/** prepareMailSync, plus the user's normalizeHeaderKey callback turned into a name map. */
function prepare(mailData, join) {
  const out = prepareMailSync(mailData, join);
  if (typeof mailData.normalizeHeaderKey === 'function') {
    out.mail.headerKeyMap = headerKeyMap(mailData, mailData.normalizeHeaderKey, native.normalizeHeaderKey);
  }
  return out;
}

/** DKIM options for Rust: private keys as PEM text (Buffers converted), or undefined. */
function dkimOptions(dkim) {
  // nodemailer ignores a `dkim` that is not an object
  if (!dkim || typeof dkim !== 'object') return undefined;
  const pem = (k) => (Buffer.isBuffer(k) || k instanceof Uint8Array ? Buffer.from(k).toString('utf8') : k);
  const out = Object.assign({}, dkim, { privateKey: pem(dkim.privateKey) });
  if (Array.isArray(dkim.keys)) out.keys = dkim.keys.map((k) => (k && typeof k === 'object' ? Object.assign({}, k, { privateKey: pem(k.privateKey) }) : k));
  return out;
}

/**
 * nodemailer's line-ending transforms (lib/mime-node/le-windows.js, le-unix.js): any truthy
 * `newline` other than 'win'/'windows'/'dos'/'\r\n' means unix, which drops every CR.
 */
function convertNewlines(message, newline) {
  if (!newline) return message;
  const text = message.toString('binary');
  const windows = ['win', 'windows', 'dos', '\r\n'].includes(String(newline).toLowerCase());
  return Buffer.from(windows ? text.replace(/\r?\n/g, '\r\n') : text.replace(/\r/g, ''), 'binary');
}

// Who hears a send's outcome: `settle(err, info)` is called exactly once. One small object per
// send instead of a chain of closures: 10,000 sends in flight are 10,000 of these.
class PromiseTarget {
  constructor(resolve, reject) {
    this.resolve = resolve;
    this.reject = reject;
    // the sendMail call's context, kept only when OpContexts needs it
    this.ctx = null;
  }

  settle(err, info) {
    if (err) this.reject(err);
    else this.resolve(info);
  }
}

// A callback runs in the async context of its sendMail call (AsyncLocalStorage, OpenTelemetry),
// not in the one where the transporter was created, which is where outcomes arrive from Rust:
// the target is the AsyncResource that carries it. It runs on a later tick, outside any promise
// chain or batch loop, so a throw never becomes an unhandled rejection, a second call or a lost
// outcome for the sends after it.
// A callback that throws is treated as nodemailer treats it (lib/smtp-transport/index.js,
// lib/smtp-pool/index.js): the error is logged at error level and sending goes on, except when a
// non-pooled transport reports a failed send, where the throw is an uncaught exception.
class CallbackTarget extends AsyncResource {
  // `policy`: { pooled, logger } of the transporter; never the transporter itself, which a
  // send in flight must not keep alive (see InFlight)
  constructor(cb, policy) {
    super('mailer-rs:sendMail');
    this.cb = cb;
    this.policy = policy;
    this.ctx = null;
  }

  settle(err, info) {
    process.nextTick(runCallback, this, err || null, info);
  }
}

function runCallback(target, err, info) {
  target.runInAsyncScope(callGuarded, null, target, err, info);
  target.emitDestroy();
}

function callGuarded(target, err, info) {
  const { pooled, logger } = target.policy;
  if (err && !pooled) {
    target.cb(err, info);
    return;
  }
  try {
    target.cb(err, info);
  } catch (thrown) {
    if (!logger) return;
    const e = thrown instanceof Error ? thrown : new Error(String(thrown));
    const id = info && info.messageId;
    if (id) logger.error({ err: e, tnx: 'callback' }, 'Callback error for %s: %s', id, e.message);
    else logger.error({ err: e, tnx: 'callback' }, 'Callback error: %s', e.message);
  }
}

/**
 * The async contexts of the sends and verifies in flight, by id (AsyncResources of their own,
 * holding no callback: the last few are kept after the call settled), when something needs them
 * beyond their own callback: the logger (a send's or verify's own connection logs under its
 * id), the provisioning callback and `token` events (run in the context of the oldest call in
 * flight, the one whose token request they most likely are).
 */
class OpContexts {
  constructor(closed) {
    this.live = new Map();
    this.closed = !!closed;
    // A connection still logs (QUIT, close) after its send settled: the last few are kept.
    this.recent = new Map();
  }

  add(id, res) {
    this.live.set(id, res);
  }

  get(id) {
    return this.live.get(id) || this.recent.get(id);
  }

  oldest() {
    for (const res of this.live.values()) return res;
    return null;
  }

  // A context no longer kept is destroyed (async_hooks' destroy) at once rather than when the
  // collector finds it: tools that list live async resources (jest --detectOpenHandles) do not
  // see a closed transporter's past calls as open.
  retire(id) {
    const res = this.live.get(id);
    if (!res) return;
    this.live.delete(id);
    if (this.closed) {
      res.emitDestroy();
      return;
    }
    this.recent.set(id, res);
    if (this.recent.size > 64) {
      const oldest = this.recent.keys().next().value;
      this.recent.get(oldest).emitDestroy();
      this.recent.delete(oldest);
    }
  }

  /** The transporter is closed: settled calls are not kept, those in flight only until they settle. */
  close() {
    this.closed = true;
    for (const res of this.recent.values()) res.emitDestroy();
    this.recent.clear();
  }
}

/** Runs `fn(...args)` in the context of `ops`' oldest call in flight, or where it is called. */
function inOldest(ops, fn, args) {
  const res = ops && ops.oldest();
  return res ? res.runInAsyncScope(fn, null, ...args) : fn(...args);
}

/** `(fn, args) => inOldest(ops, fn, args)`, made outside any scope that holds a transporter. */
function runInOldest(ops) {
  return (fn, args) => inOldest(ops, fn, args);
}

// Outcomes arrive from Rust in flat batches, STRIDE values per send; each value's offset, named
// as in src/binding/transport.rs (`mod slot`; __test__/completion-layout.test.mjs checks both).
const SLOT = Object.freeze({
  ID: 0,
  ERROR: 1,
  ACCEPTED: 2,
  REJECTED: 3,
  EHLO: 4,
  REJECTED_ERRORS: 5,
  ENVELOPE_TIME: 6,
  MESSAGE_TIME: 7,
  MESSAGE_SIZE: 8,
  RESPONSE: 9,
  ENVELOPE_FROM: 10,
  ENVELOPE_TO: 11,
  MESSAGE_ID: 12,
  STRIDE: 13,
});
const STRIDE = SLOT.STRIDE;

/** nodemailer's `info` for the send at `i` of a batch, with its key order. */
function infoAt(b, i) {
  const info = { accepted: b[i + SLOT.ACCEPTED], rejected: b[i + SLOT.REJECTED] };
  if (b[i + SLOT.EHLO] !== undefined) info.ehlo = b[i + SLOT.EHLO];
  if (b[i + SLOT.REJECTED_ERRORS] !== undefined) info.rejectedErrors = b[i + SLOT.REJECTED_ERRORS];
  info.envelopeTime = b[i + SLOT.ENVELOPE_TIME];
  info.messageTime = b[i + SLOT.MESSAGE_TIME];
  info.messageSize = b[i + SLOT.MESSAGE_SIZE];
  info.response = b[i + SLOT.RESPONSE];
  info.envelope = { from: b[i + SLOT.ENVELOPE_FROM], to: b[i + SLOT.ENVELOPE_TO] };
  info.messageId = b[i + SLOT.MESSAGE_ID];
  return info;
}

/**
 * Sends in flight, by id. The native completion callback does not keep Node running (it would
 * keep it running forever); while sends are in flight an unused timer does, so
 * `await sendMail()` at the end of a script works and the process exits after the last one.
 */
class InFlight {
  constructor(window) {
    this.map = new Map();
    this.timer = null;
    // Pool only: at most `window` sends are in Rust at once; later ones wait here as prepared
    // arguments (mail, buffers, auth, extras, target), five slots each, and move on as sends
    // complete. A message waiting in JS costs a fraction of a composed one in Rust, and
    // 10,000 sends started at once are the common bulk pattern.
    this.window = window;
    this.backlog = [];
    this.head = 0;
    // the transporter's OpContexts, if it keeps them
    this.ops = null;
  }

  add(id, target, owner) {
    this.map.set(id, target);
    // While sends are in flight the transporter stays reachable (from the native completion
    // callback, through this map): its events, provisioning callback and backlog are needed
    // until the last one settles. Idle, nothing native holds it.
    this.owner = owner;
    if (!this.timer) this.timer = setInterval(() => {}, 0x7fffffff);
  }

  take(id) {
    const target = this.map.get(id);
    this.map.delete(id);
    if (this.map.size === 0) {
      this.owner = null;
      if (this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    }
    return target;
  }

  /** Whether a new send must wait in the backlog (FIFO: behind any that already wait). */
  full() {
    return this.window > 0 && (this.waiting() > 0 || this.map.size >= this.window);
  }

  waiting() {
    return (this.backlog.length - this.head) / 5;
  }

  hold(mail, buffers, auth, extras, target) {
    this.backlog.push(mail, buffers, auth, extras, target);
  }

  /** Moves waiting sends into Rust (through `owner._send`) while the window has room, in order. */
  release(owner) {
    const b = this.backlog;
    while (this.head < b.length && this.map.size < this.window) {
      const h = this.head;
      const target = b[h + 4];
      const mail = b[h];
      const buffers = b[h + 1];
      const auth = b[h + 2];
      const extras = b[h + 3];
      b[h] = b[h + 1] = b[h + 2] = b[h + 3] = b[h + 4] = undefined;
      this.head += 5;
      try {
        // a message with stream plugins waits as the function that sends it
        if (typeof mail === 'function') mail();
        else owner._send(mail, buffers, auth, extras, target);
      } catch (err) {
        // e.g. a getter in the message that throws while Rust reads it: that send fails, the
        // others go on (this runs from the outcome callback, where a throw would be fatal)
        target.settle(err);
      }
    }
    if (this.head === b.length) {
      this.backlog = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > b.length) {
      this.backlog = b.slice(this.head);
      this.head = 0;
    }
  }

  /** The transporter is gone: waiting sends fail as the closed pool fails its queue. */
  failWaiting() {
    const b = this.backlog;
    for (let h = this.head; h < b.length; h += 5) {
      b[h + 4].settle(Object.assign(new Error('Connection pool was closed'), { code: 'ECONNECTION' }));
    }
    this.backlog = [];
    this.head = 0;
  }
}

/**
 * The functions the native transport calls from its threadsafe functions. Those hold their
 * function through a GC root, so these reach the transporter only through a WeakRef (or through
 * `pending` while sends are in flight): a transporter nobody uses is collected, with its native
 * state. Made here, outside the Mail constructor, because closures made in one scope share it:
 * a callback next to one that captured `this` would hold the transporter too.
 */
function nativeCallbacks(mail, pending, logging, pool) {
  const ref = new WeakRef(mail);
  const emitToken = (me, ev) => me.emit('token', { user: ev.user, accessToken: ev.accessToken, expires: ev.expires });
  const onToken = (ev) => {
    const me = ref.deref();
    if (me) inOldest(me._ops, emitToken, [me, ev]);
  };
  // `op`: the send or verify whose own connection wrote the line (nodemailer logs in the
  // context of the call whose socket it is); 0 for the pool's shared connections.
  const onLog = logging
    ? (level, tnx, source, fields, template, args, op) => {
        const me = ref.deref();
        if (!me || !me._logWrite) return;
        const res = op && me._ops && me._ops.get(op);
        if (res) res.runInAsyncScope(me._logWrite, null, level, tnx, source, fields, template, args);
        else me._logWrite(level, tnx, source, fields, template, args);
      }
    : null;
  // The pool calls this when it can take more messages (nodemailer's 'idle').
  // Not while sends wait in JS: they are about to refill the pool's queue.
  const onIdle = pool
    ? () => {
        const me = ref.deref();
        if (me && me._pending.waiting() === 0) me.emit('idle');
      }
    : null;
  const onProvision = (user, renew) => {
    const me = ref.deref();
    if (me && me._provision) return me._provision(user, renew);
    return Promise.resolve({ error: 'The provisioning callback is no longer available' });
  };
  // customAuth: the user's handlers stay on the transporter (they may well refer to it)
  const onCustomAuth = (session, method, user, pass, extensions, authMethods, maxAllowedSize) => {
    const me = ref.deref();
    if (me && me._customAuth) me._customAuth(session, method, user, pass, extensions, authMethods, maxAllowedSize);
    else native.customAuthDone(session, 'The transporter is gone');
  };
  const onComplete = (batch) => {
    // made in the addon's realm when that is not this one (jest): copied here, once per batch
    if (!(batch instanceof Array)) batch = adopt(batch);
    const owner = pending.owner; // before the takes below let go of it
    const ops = pending.ops;
    for (let i = 0; i < batch.length; i += STRIDE) {
      const entry = pending.take(batch[i + SLOT.ID]);
      if (!entry) continue;
      if (ops) ops.retire(batch[i + SLOT.ID]);
      if (batch[i + SLOT.ERROR]) entry.settle(batch[i + SLOT.ERROR]);
      else entry.settle(null, infoAt(batch, i));
    }
    if (pending.waiting() > 0) {
      const me = owner || ref.deref();
      if (me) pending.release(me);
      else pending.failWaiting();
    }
  };
  return { onToken, onLog, onIdle, onProvision, onCustomAuth, onComplete };
}

// Sends in Rust at once per pooled transport: enough that the connections never wait for JS
// to top the queue up (it does so on every batch of outcomes), few enough to cost nothing.
const WINDOW_PER_CONNECTION = 20;
const MIN_WINDOW = 100;

class Mail extends EventEmitter {
  // `input`: what createTransport was given (an options object or a connection URL)
  constructor(input, defaults) {
    super();
    const resolved = resolveTransport(input);
    const options = resolved.options;
    this.options = options;
    this._defaults = defaults || {};
    this._userPlugins = { compile: [], stream: [] };
    this.meta = new Map();

    // the user's options with the URL's and the well-known service's merged in
    const merged = resolved.transportOptions;
    if (resolved.mode === 'ses') checkSesOptions(merged);
    // 'sendmail' | 'ses' | null
    const other = resolved.mode === 'sendmail' || resolved.mode === 'ses' ? resolved.mode : null;
    this.logger = getLogger(merged, { component: merged.component || others.COMPONENTS[other] || (resolved.pool ? 'smtp-pool' : 'smtp-transport') });

    // 'sendmail' | 'ses' | 'stream' | 'json' | null (SMTP)
    this._streamMode = resolved.mode;
    this._customProxy = resolved.customProxy;
    // No defaults and no transport option forced onto messages: messages go as given.
    this._noMerge =
      Object.keys(this._defaults).length === 0 && !FORCED_KEYS.some((k) => Object.prototype.hasOwnProperty.call(options, k));
    this._policy = { pooled: resolved.pool, logger: this.logger };
    // Contexts of calls in flight, kept only when a logger or OAuth2 callbacks need them (the
    // send and verify callbacks carry their own): a pooled send costs nothing more without.
    const auth = merged.auth;
    const oauth = !!(auth && (String(auth.type || '').toLowerCase() === 'oauth2' || auth.provisionCallback || auth.accessToken || auth.refreshToken));
    this._ops = this.logger || oauth ? new OpContexts() : null;
    // The engine's log records as nodemailer's logger calls (read through a WeakRef by the
    // native callback, see nativeCallbacks).
    this._logWrite = this.logger ? engineLogSink(this.logger, merged) : null;
    // Outcomes of sends arrive by id (one native callback for the whole transport).
    const pending = new InFlight(resolved.pool ? Math.max(MIN_WINDOW, resolved.maxConnections * WINDOW_PER_CONNECTION) : 0);
    this._pending = pending;
    pending.ops = this._ops;
    this._nextId = 1;
    this._provision = null;
    const cb = nativeCallbacks(this, pending, !!this.logger, resolved.pool);
    this._onProvision = cb.onProvision;
    if (this.logger && resolved.ignoredTls.length) {
      this.logger.debug({ tnx: 'tls' }, 'tls options without effect (rustls chooses its own): %s', resolved.ignoredTls.join(', '));
    }
    const checkIdentity = merged.tls && typeof merged.tls.checkServerIdentity === 'function' ? identityChecker(merged.tls.checkServerIdentity, resolved.tlsCa) : null;
    try {
      this._native = new native.NativeTransport(resolved.settings, cb.onToken, cb.onLog, cb.onIdle, cb.onComplete, checkIdentity);
    } catch (err) {
      throw adopt(err);
    }
    if (merged.auth && typeof merged.auth.provisionCallback === 'function') {
      this._setProvisioner(merged.auth.provisionCallback);
    }
    if (merged.customAuth && typeof merged.customAuth === 'object') {
      // the handler runs in the context of the call that logs in (the oldest in flight)
      if (!this._ops) this._ops = this._pending.ops = new OpContexts();
      this._customAuth = customAuthRunner(merged.customAuth, merged.auth, merged.authMethod, runInOldest(this._ops));
      this._native.setCustomAuth(Object.keys(merged.customAuth), cb.onCustomAuth);
    }
    // sockets made in JS (a proxy handler may also come later, through set())
    if (typeof merged.getSocket === 'function' || merged.connection || merged.socket || resolved.customProxy) installSocketBridge(this);
    this.transporter = {
      name: other ? others.NAMES[other] : this._streamMode === 'json' ? 'JSONTransport' : this._streamMode ? 'StreamTransport' : resolved.pool ? 'SMTP (pool)' : 'SMTP',
      // nodemailer's sendmail and SES transports have no separate client version
      version: other ? VERSION : `${VERSION}[client:${VERSION}]`,
      options: merged,
      mailer: this,
    };
    // nodemailer's lib/mailer records carry component 'mail'.
    if (this.logger) this.logger.debug({ component: merged.component || 'mail', tnx: 'create' }, 'Creating transport: %s', this.getVersionString());
  }

  // The native side calls a fixed trampoline (see nativeCallbacks); the user's callback stays here.
  _setProvisioner(fn) {
    this._provision = fn ? this._provisioner(fn) : null;
    this._native.setProvisioner(fn ? this._onProvision : null);
  }

  getVersionString() {
    return `mailer-rs (${VERSION}; +https://github.com/mailer-rs/mailer-rs; ${this.transporter.name}/${this.transporter.version})`;
  }

  set(key, value) {
    this.meta.set(key, value);
    if (typeof value === 'function' && String(key).startsWith('proxy_handler_')) installSocketBridge(this);
    if (key === 'oauth2_provision_cb') {
      // The value set here wins over auth.provisionCallback and is read at send time.
      const fallback = this.transporter.options.auth && this.transporter.options.auth.provisionCallback;
      const fn = typeof value === 'function' ? value : typeof fallback === 'function' ? fallback : null;
      this._setProvisioner(fn);
    }
    return this.meta;
  }

  get(key) {
    return this.meta.get(key);
  }

  // The provisioning callback runs in the context of the call that needs the token (the oldest
  // in flight: the first send, or the verify, that found no valid token).
  _provisioner(fn) {
    if (!this._ops) this._ops = this._pending.ops = new OpContexts(this._closed);
    const adapted = adaptProvisioner(fn);
    const ops = this._ops;
    return (user, renew) => inOldest(ops, adapted, [user, renew]);
  }

  use(step, plugin) {
    step = String(step || '').toLowerCase();
    if (step === 'stream' && (this._streamMode === 'sendmail' || this._streamMode === 'ses')) {
      // These transports compose and hand over the message in one native call: a plugin's
      // transforms could not run. Refuse rather than send the message unprocessed.
      throw Object.assign(new Error('Stream plugins are not supported with the sendmail and SES transports (see docs/compatibility.md)'), { code: 'ECONFIG' });
    }
    if (!this._userPlugins[step]) this._userPlugins[step] = [];
    this._userPlugins[step].push(plugin);
    return this;
  }

  sendMail(data, callback) {
    let target;
    let promise;
    if (typeof callback === 'function') target = new CallbackTarget(callback, this._policy);
    else promise = new Promise((resolve, reject) => (target = new PromiseTarget(resolve, reject)));
    try {
      this._dispatch(data || {}, target);
    } catch (err) {
      target.settle(err);
    }
    return promise;
  }

  // The common message (no plugins, no Readable content, SMTP) goes to Rust synchronously: no
  // async frames or extra promises per message. Anything else takes the async path.
  _dispatch(data, target) {
    if (this.logger) {
      const { name, version } = this.transporter;
      this.logger.debug({ component: this.options.component || 'mail', tnx: 'transport', name, version, action: 'send' }, 'Sending mail using %s/%s', name, version);
    }
    if (this._noMerge && this._userPlugins.compile.length === 0 && this._userPlugins.stream.length === 0 && !this._streamMode && !hasStreams(data)) {
      // nothing to merge and nothing that modifies it: the message is read, never written
      // (prepare copies what it sends), so no copy of it here
      this._submit(data, target);
      return;
    }
    const mailData = applyDefaults(data, this._defaults);
    for (const key of FORCED_KEYS) {
      if (Object.prototype.hasOwnProperty.call(this.options, key)) mailData[key] = this.options[key];
    }
    for (const key of SANDBOX_KEYS) {
      if (Object.prototype.hasOwnProperty.call(this.options, key)) {
        // a transport option `false` does not reopen what the message closed for itself
        // (nodemailer's forced copy would)
        mailData[key] = this.options[key] || data[key];
      } else if (Object.prototype.hasOwnProperty.call(this._defaults, key)) {
        mailData[key] = mailData[key] || this._defaults[key];
      }
    }
    const plugins = this._userPlugins.compile.length + this._userPlugins.stream.length;
    if (plugins || this._streamMode || hasStreams(mailData)) {
      this._sendAsync(mailData).then(
        (info) => target.settle(null, info),
        (err) => target.settle(err)
      );
      return;
    }
    this._submit(mailData, target);
  }

  async _sendAsync(mailData) {
    await this._runPlugins('compile', mailData);
    if (hasStreams(mailData)) mailData = await resolveStreams(mailData);
    // plugins added while this message is on its way do not apply to it
    const streamPlugins = this._userPlugins.stream.length ? this._userPlugins.stream.slice() : this._userPlugins.stream;
    if (this._streamMode) {
      const { mail, buffers } = prepare(mailData, this._streamMode !== 'json');
      const dkim = dkimOptions(mailData.dkim || this.options.dkim);
      if (streamPlugins.length === 0) return this._compileOnly(mail, buffers, dkim);
      if (this._streamMode === 'json') {
        // nodemailer's JSON transport never reads the message stream: the plugins run (and
        // may fail the send), their transforms do not
        const info = await this._compileOnly(mail, buffers, dkim);
        const message = new plugins.PluginMessage(info.envelope, info.messageId);
        await this._runStreamPlugins(streamPlugins, mailData, message);
        return info;
      }
      return this._streamWithPlugins(mailData, mail, buffers, dkim, streamPlugins);
    }
    if (streamPlugins.length) return this._sendWithPlugins(mailData, streamPlugins);
    return new Promise((resolve, reject) => this._submit(mailData, new PromiseTarget(resolve, reject)));
  }

  // SMTP with stream plugins: composed in Rust, read through the plugins' stages in JS, sent
  // from what comes out (DKIM signs that, as in nodemailer).
  async _sendWithPlugins(mailData, streamPlugins) {
    const dkim = dkimOptions(mailData.dkim || this.options.dkim);
    const { mail, buffers } = prepare(mailData);
    if (this.transporter.options.attachDataUrls) mail.attachDataUrls = true;
    const auth = this._messageAuth(mailData);
    const extras =
      mailData.dsn || mailData.requireTLSExtensionEnabled || dkim
        ? { dsn: coerceDsn(mailData.dsn), requireTLSExtensionEnabled: !!mailData.requireTLSExtensionEnabled, dkim }
        : null;
    const { composed, message } = await this._composeForPlugins(() => this._native.compose(mail, buffers), streamPlugins, mailData);
    return new Promise((resolve, reject) => {
      const target = new PromiseTarget(resolve, reject);
      if (this._ops) target.ctx = new AsyncResource('mailer-rs:sendMail');
      // plugins that only looked: the composed message goes as it is, without the JS round trip
      const sink = message.changesBytes ? new native.MessageSink() : null;
      const go = () => {
        if (!this._sendComposed(composed, sink, auth, extras, target) || !sink) return;
        // a stream error fails the send at once, as in nodemailer; the connection stops
        // reading the message and is not reused
        let out;
        try {
          out = plugins.pluginStream(plugins.composedReadable(composed), message);
        } catch (err) {
          sink.abort(String((err && err.message) || err));
          return reject(plugins.streamError(err));
        }
        plugins.pipeToSink(out, sink, (err) => reject(plugins.streamError(err)));
      };
      if (this._pending.full() && !this._closed) this._pending.hold(go, null, null, null, target);
      else go();
    });
  }

  // A message composed in Rust by `compose()` (the native object is kept as is; its errors and
  // envelope are copied into the caller's realm, lib/realm.js), seen by the stream plugins'
  // hooks; closed when they fail.
  async _composeForPlugins(compose, streamPlugins, mailData) {
    let composed;
    try {
      composed = await compose();
    } catch (err) {
      throw adopt(err);
    }
    const message = new plugins.PluginMessage(adopt(composed.envelope), composed.messageId);
    try {
      await this._runStreamPlugins(streamPlugins, mailData, message);
    } catch (err) {
      composed.close();
      throw err;
    }
    return { composed, message };
  }

  // nodemailer's lib/mailer/index.js logs these two records under the transporter's logger
  async _runStreamPlugins(streamPlugins, data, message) {
    const component = this.options.component || 'mail';
    if (this.logger) {
      const n = streamPlugins.length;
      this.logger.debug({ component, tnx: 'transaction', pluginCount: n, step: 'stream' }, 'Using %s plugins for %s', n, 'stream');
    }
    try {
      await plugins.runPlugins(streamPlugins, { data, message, resolveContent: null });
    } catch (err) {
      if (this.logger) {
        const e = err instanceof Error ? err : new Error(String(err));
        this.logger.error({ component, err: e, tnx: 'plugin', action: 'stream' }, 'PluginStream Error: %s', e.message);
      }
      throw err;
    }
  }

  // Hands a composed message to the native transport; false if it failed at once (settled).
  _sendComposed(composed, sink, auth, extras, target) {
    return this._handOver(target, (id) => this._native.sendComposed(composed, sink, auth, extras, id), () => composed.close());
  }

  // streamTransport with stream plugins: the composed message through the plugins' stages, then
  // DKIM, then the transport's `newline` (nodemailer's order).
  async _streamWithPlugins(mailData, mail, buffers, dkim, streamPlugins) {
    const o = this.transporter.options;
    if (o.attachDataUrls) mail.attachDataUrls = true;
    const compose = () => native.composeMessage(mail, buffers, composeOptions(o, mail, { keepBcc: true, rawAsIs: true }));
    const { composed, message } = await this._composeForPlugins(compose, streamPlugins, mailData);
    let out = plugins.pluginStream(plugins.composedReadable(composed), message);
    if (dkim) {
      const sink = new native.MessageSink();
      const signing = native.dkimSignStream(sink, dkim);
      let failed = null;
      plugins.pipeToSink(out, sink, (err) => (failed = err));
      let signed;
      try {
        signed = await signing;
      } catch (err) {
        throw failed || err;
      }
      out = plugins.composedReadable(signed);
    }
    // the message's own `newline`, then the transport's (as _compileOnly)
    for (const nl of [mail.newline, o.newline]) {
      const t = plugins.newlineStream(nl);
      if (t) out = pipeline(out, t, () => {});
    }
    if (!o.buffer) {
      // as nodemailer's lib/stream-transport/index.js: an error of the returned stream is
      // logged, and is not an uncaught exception when the caller does not listen for it
      out.once('error', (err) => {
        if (this.logger) {
          const id = composed.messageId;
          this.logger.error({ component: this.options.component || 'stream-transport', err, tnx: 'send', messageId: id }, 'Failed creating message for %s. %s', id, err.message);
        }
      });
    }
    return { envelope: composed.envelope, messageId: composed.messageId, message: o.buffer ? await plugins.collect(out) : out };
  }

  // Hands one message to the native transport; `target.settle(err, info)` is called once.
  _submit(mailData, target) {
    // A message's dkim replaces the transport's (no merge), as in nodemailer.
    const dkim = dkimOptions(mailData.dkim || this.options.dkim);
    const { mail, buffers } = prepare(mailData);
    if (this.transporter.options.attachDataUrls) mail.attachDataUrls = true;
    const auth = mailData.auth && typeof mailData.auth === 'object' ? this._messageAuth(mailData) : null;
    // captured here, in the sendMail call's context (this runs synchronously in sendMail, or in
    // a continuation of its promise chain)
    if (this._ops && !target.ctx) target.ctx = new AsyncResource('mailer-rs:sendMail');
    const extras =
      mailData.dsn || mailData.requireTLSExtensionEnabled || dkim
        ? { dsn: coerceDsn(mailData.dsn), requireTLSExtensionEnabled: !!mailData.requireTLSExtensionEnabled, dkim }
        : null;
    if (this._pending.full() && !this._closed) {
      this._pending.hold(mail, buffers, auth, extras, target);
      return;
    }
    this._send(mail, buffers, auth, extras, target);
  }

  _messageAuth(mailData) {
    if (!mailData.auth || typeof mailData.auth !== 'object') return null;
    // Per-message auth merges over the transport's auth (nodemailer example 5), but only the
    // keys that say who logs in and with what, as nodemailer's lib/smtp-transport/index.js:
    // a message must not point the transport's client secret at another accessUrl.
    const auth = Object.assign({}, this.transporter.options.auth || {});
    for (const key of MESSAGE_AUTH_KEYS) {
      if (Object.hasOwn(mailData.auth, key)) auth[key] = mailData.auth[key];
    }
    if (!this._ops) this._ops = this._pending.ops = new OpContexts(this._closed);
    return auth;
  }

  _send(mail, buffers, auth, extras, target) {
    this._handOver(target, (id) => this._native.send(mail, buffers, auth, extras, id));
  }

  // Hands one message to the native transport under a new id: `call(id)` makes the native
  // call, which returns an error when the message failed at once (then `onFail` runs, `target`
  // is settled with the error and false is returned); otherwise its outcome arrives by id.
  _handOver(target, call, onFail) {
    const id = this._takeId();
    const ops = this._ops;
    if (ops) ops.add(id, target.ctx);
    let error;
    try {
      error = call(id);
    } catch (err) {
      // e.g. a value Rust cannot read: thrown from the addon's realm
      if (ops) ops.retire(id);
      throw adopt(err);
    }
    if (error) {
      if (ops) ops.retire(id);
      if (onFail) onFail();
      target.settle(adopt(error));
      return false;
    }
    this._pending.add(id, target, this);
    return true;
  }

  // The id of a send or verify (from 1, wrapping before 2^32: the native side takes a u32, and
  // 0 stands for the pool's shared connections in log records).
  _takeId() {
    const id = this._nextId++;
    if (this._nextId > 0xffffffff) this._nextId = 1;
    return id;
  }

  // streamTransport: the composed message instead of a delivery (Bcc kept, as nodemailer keeps it).
  // jsonTransport: the normalised message data as JSON (the object itself with skipEncoding).
  async _compileOnly(mail, buffers, dkim) {
    const o = this.transporter.options;
    if (this._streamMode === 'json') {
      const out = await settled(native.normalizeJson(mail, buffers, composeOptions(o, mail, { keepBcc: true })));
      return { envelope: out.envelope, messageId: out.messageId, message: o.skipEncoding ? JSON.parse(out.message) : out.message };
    }
    // the transport's attachDataUrls applies to every message, as in nodemailer
    if (o.attachDataUrls) mail.attachDataUrls = true;
    if (this._streamMode === 'sendmail' || this._streamMode === 'ses') return others.sendOther(this._streamMode, this, mail, buffers, dkim);
    const out = await settled(native.compileMessage(mail, buffers, composeOptions(o, mail, { dkim, keepBcc: true, rawAsIs: true })));
    // The message's own `newline` first (nodemailer's MimeNode applies it after DKIM), then
    // the transport's on top (lib/stream-transport).
    const message = convertNewlines(convertNewlines(out.message, mail.newline), o.newline);
    return { envelope: out.envelope, messageId: out.messageId, message: o.buffer ? message : Readable.from([message]) };
  }

  async _runPlugins(step, data) {
    const plugins = this._userPlugins[step] || [];
    for (const plugin of plugins) {
      await new Promise((resolve, reject) => {
        try {
          plugin({ data, resolveContent: null }, (err) => (err ? reject(err) : resolve()));
        } catch (err) {
          reject(err);
        }
      });
    }
  }

  verify(callback) {
    if (this._streamMode === 'sendmail' || this._streamMode === 'ses') return others.verifyOther(this._streamMode, this, callback);
    let promise;
    if (typeof callback !== 'function') {
      promise = new Promise((resolve, reject) => {
        callback = (err, ok) => (err ? reject(err) : resolve(ok));
      });
    }
    const cb = callback;
    // The callback runs where verify() was called (a continuation of the native promise), and a
    // throw from it is an uncaught exception, as in nodemailer (lib/smtp-transport/index.js).
    let id = 0;
    const ops = this._ops;
    if (ops) {
      id = this._takeId();
      ops.add(id, new AsyncResource('mailer-rs:verify'));
    }
    this._native.verify(id).then(
      () => {
        if (ops) ops.retire(id);
        process.nextTick(cb, null, true);
      },
      (err) => {
        if (ops) ops.retire(id);
        process.nextTick(cb, adopt(err));
      }
    );
    return promise;
  }

  isIdle() {
    if (!this.transporter.options.pool) {
      if (this.logger) this.logger.warn({ tnx: 'transport' }, 'Transporter does not support isIdle()');
      return false;
    }
    return this._native.isIdle() && this._pending.waiting() === 0;
  }

  pendingCount() {
    return this._native.pendingCount() + this._pending.waiting();
  }

  close() {
    this._closed = true;
    this._native.close();
    if (this._ops) this._ops.close();
    // waiting sends fail like the pool's own queue: handed over now, refused at once
    this._pending.window = Infinity;
    this._pending.release(this);
  }
}

module.exports = { Mail, VERSION };
