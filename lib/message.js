'use strict';
// Turns a nodemailer message object into what the Rust composer takes: plain data, with every Buffer
// moved out of band (`{ $bufferIndex: n }` + a buffers array: no copy through JSON) and every Readable
// collected into a Buffer, and the composition options it reads with it (composeOptions). Composition
// itself happens in Rust.
const { Readable } = require('node:stream');
const { coerceMessage } = require('./coerce');

const CONTENT_KEYS = ['content', 'raw'];
const BODY_FIELDS = ['text', 'html', 'watchHtml', 'amp', 'raw', 'icalEvent'];

function isStream(v) {
  return v && typeof v === 'object' && typeof v.pipe === 'function' && typeof v.on === 'function';
}

async function collect(stream) {
  const chunks = [];
  for await (const chunk of Readable.from(stream)) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

// napi cannot carry a NUL inside an object key; nodemailer strips control chars from header keys
// anyway, so dropping NULs from user-named keys (headers, httpHeaders, list) changes nothing.
function cleanKeys(v) {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const out = {};
  for (const key of Object.keys(v)) if (key !== '__proto__') out[key.replace(/\0/g, '')] = v[key];
  return out;
}

// `tls.ca` of an href may be Buffers (as node's tls options): PEM text for the Rust side.
function cleanTls(tls) {
  if (!tls || typeof tls !== 'object') return tls;
  const out = Object.assign({}, tls);
  if (out.ca !== undefined) out.ca = [].concat(out.ca).map((c) => (Buffer.isBuffer(c) ? c.toString('utf8') : c));
  return out;
}

// Shared by every message without Buffers (most): nothing ever adds to it.
const NO_BUFFERS = Object.freeze([]);

class Preparer {
  constructor() {
    this.buffers = NO_BUFFERS;
  }

  value(v) {
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
      if (this.buffers === NO_BUFFERS) this.buffers = [];
      this.buffers.push(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      return { $bufferIndex: this.buffers.length - 1 };
    }
    return v;
  }

  // A body field or attachment: string, Buffer, or an object with content/raw (streams were
  // collected by resolveStreams before).
  node(v) {
    if (v === null || v === undefined || v === false) return undefined;
    if (typeof v !== 'object' || Buffer.isBuffer(v) || v instanceof Uint8Array) return this.value(v);
    const out = Array.isArray(v) ? [] : {};
    for (const key of Object.keys(v)) {
      if (key === '__proto__') continue;
      if (CONTENT_KEYS.includes(key)) out[key] = this.value(v[key]);
      else if (key === 'headers' || key === 'httpHeaders') out[key] = cleanKeys(v[key]);
      else if (key === 'tls') out[key] = cleanTls(v[key]);
      else out[key] = v[key];
    }
    return out;
  }
}

// Where a Readable may stand: a body field itself, or `content`/`raw` of a body object,
// attachment or alternative.
function eachContentSlot(data, fn) {
  const visit = (holder, key) => {
    const v = holder[key];
    if (isStream(v)) fn(holder, key);
    else if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
      for (const k of CONTENT_KEYS) if (isStream(v[k])) fn(v, k);
    }
  };
  for (const key of BODY_FIELDS) if (data[key] !== undefined) visit(data, key);
  for (const key of ['attachments', 'alternatives']) {
    if (Array.isArray(data[key])) data[key].forEach((_, i) => visit(data[key], i));
  }
}

function slotHasStream(v) {
  if (isStream(v)) return true;
  if (!v || typeof v !== 'object' || Buffer.isBuffer(v)) return false;
  return isStream(v.content) || isStream(v.raw);
}

/** Whether the message holds a Readable that must be read before it can be composed. */
// The same slots as eachContentSlot, without allocating: it runs for every message.
function hasStreams(data) {
  for (let i = 0; i < BODY_FIELDS.length; i++) {
    const v = data[BODY_FIELDS[i]];
    if (v !== undefined && slotHasStream(v)) return true;
  }
  return listHasStream(data.attachments) || listHasStream(data.alternatives);
}

function listHasStream(list) {
  if (!Array.isArray(list)) return false;
  for (let i = 0; i < list.length; i++) if (slotHasStream(list[i])) return true;
  return false;
}

/**
 * Reads every Readable of the message into a Buffer, on copies of the objects that held them
 * (the caller's message is not modified).
 */
async function resolveStreams(data) {
  const out = Object.assign({}, data);
  for (const key of ['attachments', 'alternatives']) {
    if (Array.isArray(out[key])) out[key] = out[key].map((a) => (a && typeof a === 'object' && !isStream(a) ? Object.assign({}, a) : a));
  }
  for (const key of BODY_FIELDS) {
    if (out[key] && typeof out[key] === 'object' && !isStream(out[key]) && !Buffer.isBuffer(out[key])) out[key] = Object.assign({}, out[key]);
  }
  const jobs = [];
  eachContentSlot(out, (holder, key) => {
    jobs.push(
      collect(holder[key]).then(
        (buf) => {
          holder[key] = buf;
        },
        (err) => {
          if (err && typeof err === 'object' && !err.code) err.code = 'ESTREAM';
          throw err;
        }
      )
    );
  });
  await Promise.all(jobs);
  return out;
}

// A list of more plain strings than this crosses to Rust as one NUL-separated string
// (`{ $addressList }`, split back in crates/message/src/input.rs): napi reads an array entry by
// entry, ~1 µs each on Node's thread, while one string is copied at once.
const JOIN_ADDRESSES = 1000;

function joinAddresses(v) {
  if (!Array.isArray(v) || v.length <= JOIN_ADDRESSES) return v;
  for (let i = 0; i < v.length; i++) {
    // an entry with a NUL would split in two: such a list goes as it is
    if (typeof v[i] !== 'string' || v[i].includes('\0')) return v;
  }
  return { $addressList: v.join('\0') };
}

function joinEnvelope(env) {
  if (!env || typeof env !== 'object') return env;
  let out = env;
  for (const key of ['to', 'cc', 'bcc']) {
    const joined = joinAddresses(env[key]);
    if (joined !== env[key]) {
      if (out === env) out = Object.assign({}, env);
      out[key] = joined;
    }
  }
  return out;
}

/**
 * Synchronous: call resolveStreams first when hasStreams says so. `join`: long address lists
 * may cross as one string (not for jsonTransport, whose output echoes the fields).
 * @returns {{ mail: object, buffers: Buffer[] }}
 */
function prepareMailSync(data, join = true) {
  const p = new Preparer();
  const mail = {};
  for (const key of Object.keys(data)) {
    if (key === '__proto__' || key === 'auth' || key === 'normalizeHeaderKey') continue;
    const v = data[key];
    if (v === undefined || typeof v === 'function') continue;
    if (BODY_FIELDS.includes(key)) mail[key] = p.node(v);
    else if (key === 'attachments' || key === 'alternatives') {
      mail[key] = Array.isArray(v) ? v.map((a) => p.node(a)) : v;
    } else if (key === 'date') mail.date = v instanceof Date ? v.getTime() : v;
    else if (key === 'headers' || key === 'list') mail[key] = cleanKeys(v);
    else if (join && (key === 'to' || key === 'cc' || key === 'bcc')) mail[key] = joinAddresses(v);
    else if (join && key === 'envelope') mail[key] = joinEnvelope(v);
    else mail[key] = v;
  }
  // the shape first: a circular or absurdly deep value must not reach the coercion's walk
  checkShape(mail);
  coerceMessage(mail);
  return { mail, buffers: p.buffers };
}

// The native side walks the message recursively: a circular or absurdly deep object must be an
// error here, not a stack overflow there. Real messages nest a few levels (attachments → headers).
const MAX_DEPTH = 32;

function checkShape(root) {
  // A depth-only walk first (allocates nothing: it runs for every message); a circular object
  // also ends up too deep. Only then the walk that tells the two apart.
  if (!tooDeep(root, 0)) return;
  const seen = new Set();
  const walk = (v, depth) => {
    if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || v instanceof Uint8Array) return;
    if (depth > MAX_DEPTH || seen.has(v)) {
      throw Object.assign(new Error(depth > MAX_DEPTH ? 'Message object is nested too deeply' : 'Message object is circular'), {
        code: 'EMESSAGE',
        command: 'API',
      });
    }
    seen.add(v);
    for (const key of Object.keys(v)) walk(v[key], depth + 1);
    seen.delete(v);
  };
  walk(root, 0);
}

function tooDeep(v, depth) {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || v instanceof Uint8Array) return false;
  if (depth > MAX_DEPTH) return true;
  for (const key in v) {
    if (Object.prototype.hasOwnProperty.call(v, key) && tooDeep(v[key], depth + 1)) return true;
  }
  return false;
}

// Every header name the composer may write, for the user's normalizeHeaderKey callback (which
// cannot run on the composer's thread: it is applied here, ahead of time, to each possible name).
const STANDARD_HEADER_KEYS = [
  'From', 'Sender', 'To', 'Cc', 'Bcc', 'Reply-To', 'In-Reply-To', 'References', 'Subject',
  'Message-ID', 'Date', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding',
  'Content-Disposition', 'Content-ID', 'Content-Description', 'X-Mailer', 'X-Priority',
  'X-Msmail-Priority', 'Importance',
];

/** `{ defaultName: userName }` for every header name the message may use. */
function headerKeyMap(data, fn, normalize) {
  const keys = new Set(STANDARD_HEADER_KEYS);
  const addFrom = (headers) => {
    if (!headers || typeof headers !== 'object') return;
    if (Array.isArray(headers)) headers.forEach((h) => h && h.key && keys.add(normalize(String(h.key))));
    else Object.keys(headers).forEach((k) => keys.add(normalize(k)));
  };
  addFrom(data.headers);
  for (const list of [data.attachments, data.alternatives]) {
    if (Array.isArray(list)) list.forEach((a) => a && addFrom(a.headers));
  }
  const map = {};
  for (const key of keys) {
    let out = fn(key);
    out = out === undefined || out === null ? key : String(out).replace(/[\x00-\x1f\x7f:]/g, '').trim();
    if (out && out !== key) map[key] = out;
  }
  return map;
}

/** Copies defaults into unset keys; headers merge key by key (nodemailer's MailMessage). */
function applyDefaults(data, defaults) {
  const out = {};
  for (const key of Object.keys(data || {})) if (key !== '__proto__') out[key] = data[key];
  if (!defaults) return out;
  for (const key of Object.keys(defaults)) {
    if (key === '__proto__') continue;
    // an own-key test: `key in out` also matches Object.prototype's members and dropped
    // defaults named `constructor` or `toString` (nodemailer's lib/mailer/mail-message.js)
    if (!Object.prototype.hasOwnProperty.call(out, key)) out[key] = defaults[key];
    else if (key === 'headers' && out.headers && !Array.isArray(out.headers) && !Array.isArray(defaults.headers)) {
      out.headers = Object.assign({}, defaults.headers, out.headers);
    }
  }
  return out;
}

/**
 * The options the Rust composer reads for one message (crates/message's ComposeOptions): the
 * transport's `hostname` and the message's file and URL access switches, plus the caller's
 * `more` (keepBcc, rawAsIs, dkim, its transport's own options). Undefined keys are left out.
 */
function composeOptions(transportOptions, mail, more) {
  const options = Object.assign(
    { hostname: transportOptions.hostname, disableFileAccess: !!mail.disableFileAccess, disableUrlAccess: !!mail.disableUrlAccess },
    more
  );
  for (const k of Object.keys(options)) if (options[k] === undefined) delete options[k];
  return options;
}

/**
 * Reads any Readable content, then prepares the message.
 * @returns {Promise<{ mail: object, buffers: Buffer[] }>}
 */
async function prepareMail(data) {
  return prepareMailSync(hasStreams(data) ? await resolveStreams(data) : data);
}

module.exports = { prepareMail, prepareMailSync, applyDefaults, hasStreams, resolveStreams, headerKeyMap, composeOptions };
