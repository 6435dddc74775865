'use strict';
// Message values of the wrong type, made into what nodemailer 10.6.1 makes of them, before the
// Rust composer reads the message (it takes strict types: a number where a string belongs
// would otherwise fail the whole message). Where nodemailer fails the send, the same code is
// given here. __test__/option-values.test.mjs holds the table of cases.
//
// Runs on the prepared copy of the message (lib/message.js), never on the caller's objects.

const ADDRESS_KEYS = ['from', 'sender', 'to', 'cc', 'bcc', 'replyTo'];
// Plain text values nodemailer turns into strings where it uses them.
const TEXT_KEYS = ['subject', 'messageId', 'inReplyTo', 'priority', 'encoding', 'textEncoding', 'boundaryPrefix', 'baseBoundary'];
const ATTACHMENT_TEXT_KEYS = ['contentType', 'contentDisposition'];
const BODY_KEYS = ['text', 'html', 'watchHtml', 'amp', 'icalEvent', 'raw'];
const FLAG_KEYS = ['attachDataUrls', 'disableFileAccess', 'disableUrlAccess'];

const isScalar = (v) => typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint';
const isBytes = (v) => Buffer.isBuffer(v) || v instanceof Uint8Array;
// prepareMailSync has already replaced Buffers with `{ $bufferIndex }`.
const isBufferRef = (v) => v !== null && typeof v === 'object' && typeof v.$bufferIndex === 'number';

function streamError(what) {
  // nodemailer: the content cannot be read as a stream (its lib/mime-node fails with ESTREAM)
  return Object.assign(new Error(`Invalid ${what} content: expected a string, Buffer, stream or { content | path | href }`), {
    code: 'ESTREAM',
    command: 'API',
  });
}

/** A content value nodemailer can read: text, bytes, a stream, or an object that points to one. */
function checkContent(v, what, allowContentKey) {
  // falsy values are no content, as nodemailer reads them
  if (v === null || v === undefined || (!v && typeof v !== 'symbol')) return;
  if (typeof v === 'symbol' || typeof v === 'function') {
    // nodemailer fails inside Node's stream code (ERR_INVALID_ARG_TYPE)
    throw Object.assign(new Error(`Invalid message: ${what} content is a ${typeof v}`), { code: 'EMESSAGE', command: 'API' });
  }
  if (typeof v === 'string' || isBytes(v) || isBufferRef(v)) return;
  if (isScalar(v) || Array.isArray(v) || typeof v !== 'object') throw streamError(what);
  if (typeof v.pipe === 'function') return;
  const keys = allowContentKey ? ['content', 'path', 'href', 'raw'] : ['path', 'href'];
  if (!keys.some((k) => v[k] !== undefined && v[k] !== null && v[k] !== false)) throw streamError(what);
  if (allowContentKey && v.content !== undefined) checkContent(v.content, what, false);
}

/** One address value: numbers become text, empty array entries drop out, as nodemailer's parser reads them. */
function address(v) {
  if (isScalar(v)) return String(v);
  if (Array.isArray(v)) {
    const out = [];
    for (const item of v) {
      if (item === null || item === undefined || item === false) continue;
      out.push(address(item));
    }
    return out;
  }
  if (v && typeof v === 'object' && !isBytes(v) && !isBufferRef(v)) {
    if (isScalar(v.name) || isScalar(v.address)) {
      const out = Object.assign({}, v);
      if (isScalar(out.name)) out.name = String(out.name);
      if (isScalar(out.address)) out.address = String(out.address);
      return out;
    }
  }
  return v;
}

function text(v) {
  return v === null || v === undefined ? v : String(v);
}

function attachment(a, i, list) {
  if (!a || typeof a !== 'object') return a;
  checkContent(a.content, `${list}[${i}]`, false);
  if (a.raw !== undefined) checkContent(a.raw, `${list}[${i}]`, true);
  for (const key of ATTACHMENT_TEXT_KEYS) if (isScalar(a[key])) a[key] = String(a[key]);
  if (a.encoding !== undefined && a.encoding !== null && a.encoding !== false && typeof a.content === 'string') {
    // nodemailer decodes the text with Buffer.from(content, encoding)
    if (!Buffer.isEncoding(String(a.encoding))) {
      throw Object.assign(new TypeError(`Unknown encoding: ${String(a.encoding)}`), { code: 'ERR_UNKNOWN_ENCODING' });
    }
    a.encoding = String(a.encoding);
  }
  return a;
}

/** Coerces the prepared message `mail` in place (its objects are copies). */
function coerceMessage(mail) {
  for (const key of ADDRESS_KEYS) if (mail[key] !== undefined) mail[key] = address(mail[key]);
  for (const key of TEXT_KEYS) if (mail[key] !== undefined && typeof mail[key] !== 'string') mail[key] = text(mail[key]);
  for (const key of FLAG_KEYS) if (mail[key] !== undefined && typeof mail[key] !== 'boolean') mail[key] = !!mail[key];
  for (const key of BODY_KEYS) if (mail[key] !== undefined) checkContent(mail[key], key, true);
  if (mail.references !== undefined && typeof mail.references !== 'string') {
    mail.references = Array.isArray(mail.references) ? mail.references.filter((r) => r !== null && r !== undefined).map(String) : text(mail.references);
  }
  // nodemailer ignores these when they are not objects
  if (mail.headers !== undefined && (mail.headers === null || typeof mail.headers !== 'object')) delete mail.headers;
  if (Array.isArray(mail.headers)) {
    mail.headers = mail.headers
      .filter((h) => h && typeof h === 'object')
      .map((h) => (isScalar(h.key) ? Object.assign({}, h, { key: String(h.key) }) : h));
  }
  if (mail.list !== undefined && (mail.list === null || typeof mail.list !== 'object')) delete mail.list;
  if (mail.date !== undefined && mail.date !== null && typeof mail.date === 'object' && !(mail.date instanceof Date)) delete mail.date;
  if (mail.envelope !== undefined) {
    if (!mail.envelope || typeof mail.envelope !== 'object') mail.envelope = {};
    else {
      mail.envelope = Object.assign({}, mail.envelope);
      for (const key of ['from', 'to', 'cc', 'bcc']) if (mail.envelope[key] !== undefined) mail.envelope[key] = address(mail.envelope[key]);
    }
  }
  for (const list of ['attachments', 'alternatives']) {
    const v = mail[list];
    if (v === undefined) continue;
    if (v === null || (typeof v !== 'object' && typeof v !== 'string')) delete mail[list];
    else if (Array.isArray(v)) v.forEach((a, i) => attachment(a, i, list));
    else if (typeof v === 'object') mail[list] = attachment(Object.assign({}, v), 0, list);
  }
}

/** `dsn` for the envelope: ignored unless an object; its text values as text. */
function coerceDsn(dsn) {
  if (!dsn || typeof dsn !== 'object') return undefined;
  const out = Object.assign({}, dsn);
  if (out.notify && typeof out.notify !== 'string' && !Array.isArray(out.notify)) {
    // nodemailer's lib/smtp-connection fails the envelope on it
    throw Object.assign(new Error(`notify: ${JSON.stringify(String(out.notify))}`), { code: 'EENVELOPE', command: 'API' });
  }
  for (const key of ['id', 'envid', 'return', 'ret', 'recipient', 'orcpt']) if (isScalar(out[key])) out[key] = String(out[key]);
  return out;
}

module.exports = { coerceMessage, coerceDsn };
