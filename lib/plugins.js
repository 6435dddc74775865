'use strict';
// Stream plugins (`transporter.use('stream', fn)`). nodemailer (lib/mailer/index.js) calls each
// one as `plugin(mail, done)` once the message is composed; a plugin changes the message's bytes
// with `mail.message.transform(streamOrFactory)` and `mail.message.processFunc(input => output)`,
// which lib/mime-node/index.js applies when the message is read: the Transforms in order, then a
// final line break, then the process functions (DKIM signs after those). Here the message is
// composed in Rust, read from it a chunk at a time, passed through the same stages, and written
// back to Rust, where the SMTP connection (or DKIM) reads it: constant memory either way.
const { Readable, Writable, Transform, pipeline, finished } = require('node:stream');

/** `mail.message` for a stream plugin. */
class PluginMessage {
  constructor(envelope, messageId) {
    this._envelope = envelope;
    this._messageId = messageId;
    this._transforms = [];
    this._processFuncs = [];
  }

  /** A Transform stream, or a function returning one, the message is piped through. */
  transform(transform) {
    this._transforms.push(transform);
  }

  /** `fn(input) => output`: runs on the message stream after the transforms. */
  processFunc(fn) {
    this._processFuncs.push(fn);
  }

  getEnvelope() {
    return { from: this._envelope.from, to: [].concat(this._envelope.to) };
  }

  messageId() {
    return this._messageId;
  }

  /** Whether a plugin asked to change the bytes (else the composed message goes as it is). */
  get changesBytes() {
    return this._transforms.length > 0 || this._processFuncs.length > 0;
  }
}

/** Runs `plugins` in order as `plugin(mail, done)`; the first error (thrown or passed) wins. */
async function runPlugins(plugins, mail) {
  for (const plugin of plugins) {
    await new Promise((resolve, reject) => {
      try {
        plugin(mail, (err) => (err ? reject(err) : resolve()));
      } catch (err) {
        reject(err);
      }
    });
  }
}

// Node frees a Buffer's memory only when V8 collects the Buffer, and V8 collects its young
// generation early for Buffers only after 32 MB of them (Heap::AllocateExternalBackingStore
// in V8: twice the default semi-space). A message streamed through a plugin allocates little
// else, so up to 32 MB of spent chunks would stay resident. A short-lived 1 MB array every
// 4 MB of message fills the (small, mostly empty) young generation instead: a scavenge, which
// takes well under a millisecond here, then frees the chunks (500 MB attachment: 41 -> 14 MB
// of RSS growth, docs/performance.md).
const NUDGE_BYTES = 4 * 1024 * 1024;
const NUDGE_SLOTS = 128 * 1024;
let ballast = null;

function nudgeYoungGc() {
  // a module variable, so the allocation is not optimised away
  ballast = new Array(NUDGE_SLOTS).fill(0);
  ballast = null;
}

/** A composed message (binding's ComposedMessage) as a Readable. */
function composedReadable(composed) {
  let reading = false;
  let sinceNudge = 0;
  return new Readable({
    read() {
      if (reading) return;
      reading = true;
      composed.read().then(
        (chunk) => {
          reading = false;
          // a Transform that throws (instead of passing an error on) fails the message, not the
          // process
          try {
            if (chunk && (sinceNudge += chunk.length) >= NUDGE_BYTES) {
              sinceNudge = 0;
              nudgeYoungGc();
            }
            this.push(chunk);
          } catch (err) {
            this.destroy(err);
          }
        },
        (err) => this.destroy(err)
      );
    },
    destroy(err, cb) {
      // files and URLs the message still reads are closed
      composed.close();
      cb(err);
    },
  });
}

/** Ends the stream with a line break if it does not end with one (CRLF, or LF after a CR). */
class FinalLineBreak extends Transform {
  constructor() {
    super();
    this.last = -1;
  }

  _transform(chunk, encoding, done) {
    if (chunk.length) this.last = chunk[chunk.length - 1];
    done(null, chunk);
  }

  _flush(done) {
    if (this.last === 0x0a) return done();
    done(null, Buffer.from(this.last === 0x0d ? '\n' : '\r\n'));
  }
}

const noop = () => {};

/**
 * The message's bytes after the plugins: `source` through the transforms and a final line break
 * (one pipeline: an error in any stage destroys all of them and reaches the output), then
 * through the process functions.
 */
function pluginStream(source, message) {
  const stages = [source];
  try {
    for (const t of message._transforms) stages.push(typeof t === 'function' ? t() : t);
  } catch (err) {
    source.destroy();
    throw err;
  }
  stages.push(new FinalLineBreak());
  let out = pipeline(stages, noop);
  for (const fn of message._processFuncs) {
    const input = out;
    out = fn(input);
    // the function reads its input; an output that fails or is destroyed stops the input too
    if (out !== input) finished(out, (err) => err && input.destroy());
  }
  return out;
}

/** The reader on the Rust side went away (the send failed or finished): stop quietly. */
const READER_GONE = new Error('The message is no longer read');

/**
 * Writes `out` into a binding MessageSink as fast as Rust reads it. `onError(err)` hears an
 * error of the stream (not the reader going away, whose own outcome says why).
 */
function pipeToSink(out, sink, onError) {
  const target = new Writable({
    write(chunk, encoding, cb) {
      let r;
      try {
        r = sink.write(chunk);
      } catch (err) {
        return cb(err);
      }
      if (r === 0) return cb();
      if (r === 2) return cb(READER_GONE);
      sink.drain().then((ok) => cb(ok ? null : READER_GONE), cb);
    },
    final(cb) {
      sink.end();
      cb();
    },
  });
  pipeline(out, target, (err) => {
    if (!err) return;
    sink.abort(String((err && err.message) || err));
    if (err !== READER_GONE) onError(err);
  });
}

/**
 * A message stream's error as the SMTP transports report it (nodemailer's
 * lib/smtp-connection/index.js): the error itself, code ESTREAM (its own code kept as
 * originalCode), command API.
 */
function streamError(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  if (e.code !== 'ERR_ACCESS_DENIED') {
    if (e.code && e.code !== 'ESTREAM' && !e.originalCode) e.originalCode = e.code;
    e.code = 'ESTREAM';
  }
  e.command = 'API';
  return e;
}

/**
 * A `newline` option on a stream, as lib/mailer.js applies it to a whole message (and
 * nodemailer's lib/mime-node/le-windows.js and le-unix.js): 'windows' (or 'win', 'dos',
 * '\r\n') writes every LF as CRLF, any other value removes every CR.
 */
function newlineStream(newline) {
  if (!newline) return null;
  if (['win', 'windows', 'dos', '\r\n'].includes(String(newline).toLowerCase())) {
    let lastCr = false;
    return new Transform({
      transform(chunk, encoding, done) {
        let s = chunk.toString('binary');
        // a LF that starts the chunk after a CR ending the last one is already CRLF
        const lead = lastCr && s.startsWith('\n') ? '\n' : '';
        if (lead) s = s.slice(1);
        if (s.length) lastCr = s.endsWith('\r');
        else if (lead) lastCr = false;
        done(null, Buffer.from(lead + s.replace(/\r?\n/g, '\r\n'), 'binary'));
      },
    });
  }
  return new Transform({
    transform(chunk, encoding, done) {
      done(null, Buffer.from(chunk.toString('binary').replace(/\r/g, ''), 'binary'));
    },
  });
}

/** Reads a stream whole. */
function collect(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.once('error', reject);
    stream.once('end', () => resolve(Buffer.concat(chunks)));
  });
}

module.exports = {
  PluginMessage,
  runPlugins,
  composedReadable,
  pluginStream,
  pipeToSink,
  streamError,
  newlineStream,
  collect,
};
