//! Stream plugins (`use('stream', fn)`, lib/plugins.js): the composed message goes to JS a chunk
//! at a time (`ComposedMessage.read`), through the user's Transforms, and comes back the same
//! way (`MessageSink`) as the body of the SMTP transaction. Neither side holds more than a few
//! chunks, so a message of any size streams in constant memory.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::{FutureExt, StreamExt};
use mailer_message::{Compiled, Envelope, MailData, MessageBody};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use serde::de::IgnoredAny;
use tokio::sync::mpsc;

use super::compose::is_large;
use super::compose::{dkim_sign, envelope_to_js, off_thread, read_request, shared};
use super::errors::{reject, to_js_error, BindError};
use super::runtime;
use super::transport::NativeTransport;

/// What one `read()` hands JS at most when more is ready at once: small pieces (header blocks,
/// boundaries, short parts) travel together instead of one promise each.
const READ_TARGET: usize = 64 * 1024;

/// Chunks JS may write ahead of what the SMTP connection has taken.
const SINK_CAPACITY: usize = 4;

type Body = Arc<tokio::sync::Mutex<Option<MessageBody>>>;

/// A composed message before its stream plugins: the envelope and Message-ID the plugins see
/// (`mail.message.getEnvelope()`, `mail.message.messageId()`) and the bytes, read on demand.
#[napi]
pub struct ComposedMessage {
    envelope: Envelope,
    message_id: String,
    body: Body,
    /// `close()` was called: a read in flight drops the body when it ends.
    closed: Arc<AtomicBool>,
}

impl ComposedMessage {
    /// `body` as the plugins read it: without the final line break, which they add after
    /// their transforms.
    fn new(envelope: Envelope, message_id: String, mut body: MessageBody) -> Self {
        body.set_final_line_break(false);
        ComposedMessage {
            envelope,
            message_id,
            body: Arc::new(tokio::sync::Mutex::new(Some(body))),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Fixes the message's 8-bit parts to their 7-bit form before the plugins read it for an
    /// SMTP send (the connection that would choose between the two is not open yet); returns
    /// whether 8-bit bytes remain (a `raw` message with 8-bit content).
    fn fix_seven_bit(&self) -> std::result::Result<bool, BindError> {
        let mut guard = self.body.try_lock().map_err(|_| {
            BindError::new("EMESSAGE", "The message is already being read").with_command("API")
        })?;
        let body = guard.as_mut().ok_or_else(|| {
            BindError::new("EMESSAGE", "The message was already read").with_command("API")
        })?;
        body.fix_seven_bit();
        Ok(body.is_eight_bit())
    }

    /// The body itself, for a message whose plugins installed no transform: it goes to the
    /// connection without the round trip through JS.
    fn take_body(&self) -> std::result::Result<MessageBody, BindError> {
        self.body
            .try_lock()
            .ok()
            .and_then(|mut b| b.take())
            .map(|mut b| {
                b.set_final_line_break(true);
                b
            })
            .ok_or_else(|| {
                BindError::new("EMESSAGE", "The message was already read").with_command("API")
            })
    }
}

#[napi]
impl ComposedMessage {
    /// `{ from, to }` (`from` is `false` without a sender), as nodemailer's `getEnvelope()`.
    #[napi(getter, ts_return_type = "{ from: string | false, to: string[] }")]
    pub fn envelope<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        envelope_to_js(env, self.envelope.from.clone(), self.envelope.to.clone())
    }

    #[napi(getter)]
    pub fn message_id(&self) -> String {
        self.message_id.clone()
    }

    /// The next bytes of the message, or `null` at its end. One read at a time.
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn read<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let body = self.body.clone();
        let closed = self.closed.clone();
        let fut = async move { read_some(&body, &closed).await };
        runtime::promise(env, fut, |env, outcome| match outcome {
            Ok(Some(bytes)) => Ok(BufferSlice::copy_from(env, &bytes)?.raw()),
            // SAFETY: a value made in this scope, on the JS thread
            Ok(None) => unsafe { ToNapiValue::to_napi_value(env.raw(), Null) },
            Err(e) => Err(reject(env, &e)),
        })
    }

    /// Drops the message (the JS stream was destroyed): files it was reading are closed.
    #[napi]
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut b) = self.body.try_lock() {
            *b = None;
        }
    }
}

/// One chunk, plus whatever follows it without waiting, up to `READ_TARGET`.
async fn read_some(
    body: &Body,
    closed: &AtomicBool,
) -> std::result::Result<Option<Vec<u8>>, BindError> {
    let mut guard = body.lock().await;
    if closed.load(Ordering::Acquire) {
        *guard = None;
    }
    let Some(b) = guard.as_mut() else {
        return Ok(None);
    };
    let mut out = match b.next().await {
        None => {
            *guard = None;
            return Ok(None);
        }
        Some(Err(e)) => {
            *guard = None;
            return Err(BindError::body(&e));
        }
        Some(Ok(first)) => Vec::from(first),
    };
    while out.len() < READ_TARGET {
        match b.next().now_or_never() {
            // nothing ready: what there is goes now
            None => break,
            Some(Some(Ok(more))) => out.extend_from_slice(&more),
            // the end (or an error) is reported by the next read
            Some(None) => {
                *guard = None;
                break;
            }
            Some(Some(Err(e))) => {
                *guard = None;
                return Err(BindError::body(&e));
            }
        }
    }
    // closed while this read waited: nothing reads any more, the files close now
    if closed.load(Ordering::Acquire) {
        *guard = None;
    }
    Ok(Some(out))
}

/// The receiving end of a [`MessageSink`]: the message body the connection reads.
struct SinkStream {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    aborted: Arc<Mutex<Option<String>>>,
}

impl Stream for SinkStream {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let aborted = this
            .aborted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(message) = aborted {
            this.rx.close();
            return Poll::Ready(Some(Err(io::Error::other(message))));
        }
        this.rx.poll_recv(cx)
    }
}

/// The output of the user's stream plugins, written by JS (lib/plugins.js) and read by the
/// connection as the message body.
#[napi]
pub struct MessageSink {
    tx: Mutex<Option<mpsc::Sender<io::Result<Bytes>>>>,
    rx: Mutex<Option<SinkStream>>,
    aborted: Arc<Mutex<Option<String>>>,
    /// A chunk `write` could not queue: `drain()` queues it.
    held: Arc<Mutex<Option<Bytes>>>,
}

impl MessageSink {
    fn take_stream(&self) -> std::result::Result<SinkStream, BindError> {
        self.rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| {
                BindError::new("EMESSAGE", "The message stream is already in use")
                    .with_command("API")
            })
    }

    fn sender(&self) -> Option<mpsc::Sender<io::Result<Bytes>>> {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// `write()`: queued, held (wait for `drain()`), or nobody reads any more.
const WRITTEN: u32 = 0;
const HELD: u32 = 1;
const CLOSED: u32 = 2;

#[napi]
impl MessageSink {
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let (tx, rx) = mpsc::channel(SINK_CAPACITY);
        let aborted = Arc::new(Mutex::new(None));
        MessageSink {
            tx: Mutex::new(Some(tx)),
            rx: Mutex::new(Some(SinkStream {
                rx,
                aborted: aborted.clone(),
            })),
            aborted,
            held: Arc::new(Mutex::new(None)),
        }
    }

    /// Queues a copy of `chunk`: 0 queued, 1 held until `drain()` resolves (the reader is
    /// behind), 2 the reader is gone (the send failed or ended; its outcome says why).
    #[napi]
    pub fn write(&self, chunk: BufferSlice) -> u32 {
        let Some(tx) = self.sender() else {
            return CLOSED;
        };
        match tx.try_send(Ok(Bytes::copy_from_slice(&chunk))) {
            Ok(()) => WRITTEN,
            Err(mpsc::error::TrySendError::Closed(_)) => CLOSED,
            Err(mpsc::error::TrySendError::Full(item)) => {
                if let Ok(b) = item {
                    *self.held.lock().unwrap_or_else(PoisonError::into_inner) = Some(b);
                }
                HELD
            }
        }
    }

    /// Queues the held chunk once there is room: `true`, or `false` if the reader is gone.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn drain<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let tx = self.sender();
        let held = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let fut = async move {
            match (tx, held) {
                (Some(tx), Some(b)) => tx.send(Ok(b)).await.is_ok(),
                (Some(tx), None) => !tx.is_closed(),
                (None, _) => false,
            }
        };
        // SAFETY: a value made in this scope, on the JS thread
        runtime::promise(env, fut, |env, ok| unsafe {
            ToNapiValue::to_napi_value(env.raw(), ok)
        })
    }

    /// The end of the message.
    #[napi]
    pub fn end(&self) {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// The plugins failed: the connection stops reading with this error (the send already
    /// failed in JS with the original error).
    #[napi]
    pub fn abort(&self, message: String) {
        *self.aborted.lock().unwrap_or_else(PoisonError::into_inner) = Some(message);
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(tx) = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            // wakes a reader waiting on an empty channel; a full one sees the flag first
            let _ = tx.try_send(Err(io::Error::other("aborted")));
        }
    }
}

/// Composes a message for the stream plugins of the composition-only transports (the options
/// of `compileMessage`, without DKIM: that comes after the plugins).
#[napi(
    ts_args_type = "mail: object, buffers: Buffer[], options: object",
    ts_return_type = "Promise<ComposedMessage>"
)]
pub fn compose_message<'env>(
    env: &'env Env,
    mail: Object,
    buffers: Vec<Buffer>,
    options: Object,
) -> Result<Object<'env>> {
    let parsed = read_request::<MailData, IgnoredAny>(env, mail, buffers, options);
    let fut = async move {
        let req = parsed?;
        let c = off_thread(move || {
            Ok(mailer_message::compile(
                req.data,
                req.buffers,
                &req.options,
            )?)
        })
        .await?;
        Ok::<_, BindError>(ComposedMessage::new(c.envelope, c.message_id, c.body))
    };
    runtime::promise(env, fut, settle_composed)
}

/// Settles a promise for a [`ComposedMessage`] (a new instance of the class) or its error.
fn settle_composed(
    env: &Env,
    outcome: std::result::Result<ComposedMessage, BindError>,
) -> Result<napi::sys::napi_value> {
    match outcome {
        // SAFETY: a value made in this scope, on the JS thread
        Ok(m) => unsafe { ToNapiValue::to_napi_value(env.raw(), m) },
        Err(e) => Err(reject(env, &e)),
    }
}

/// DKIM signing after the stream plugins (streamTransport; the SMTP path signs in
/// `sendComposed`): the plugins' output is read whole (spooled to disk past `cacheTreshold`),
/// then the signed message is read back like a composed one.
#[napi(
    ts_args_type = "sink: MessageSink, dkim: object",
    ts_return_type = "Promise<ComposedMessage>"
)]
pub fn dkim_sign_stream<'env>(
    env: &'env Env,
    sink: &MessageSink,
    dkim: serde_json::Value,
) -> Result<Object<'env>> {
    let stream = sink.take_stream();
    let fut = async move {
        let compiled = Compiled {
            envelope: Envelope::default(),
            message_id: String::new(),
            body: MessageBody::from_stream(stream?),
        };
        let signed = dkim_sign(compiled, Some(&dkim)).await?;
        Ok::<_, BindError>(ComposedMessage::new(
            signed.envelope,
            signed.message_id,
            signed.body,
        ))
    };
    runtime::promise(env, fut, settle_composed)
}

#[napi]
impl NativeTransport {
    /// Composes a message for the stream plugins (as `send` would compose it): at once on this
    /// thread, as `send` does, so messages keep their order; a large one (or a failure) as a
    /// promise, composed off the JS thread.
    #[napi(
        ts_args_type = "mail: object, buffers: Buffer[]",
        ts_return_type = "ComposedMessage | Promise<ComposedMessage>"
    )]
    pub fn compose<'env>(
        &self,
        env: &'env Env,
        mail: Object,
        buffers: Vec<Buffer>,
    ) -> Result<Either<ComposedMessage, Object<'env>>> {
        let data: std::result::Result<MailData, BindError> =
            super::de::from_js_value(env, mail).map_err(BindError::invalid_message);
        let buffers = shared(buffers);
        let outcome = match data {
            Ok(data) if !is_large(&data) => match self.core.compose(data, buffers) {
                Ok(c) => {
                    return Ok(Either::A(ComposedMessage::new(
                        c.envelope,
                        c.message_id,
                        c.body,
                    )))
                }
                Err(e) => Err(e),
            },
            Ok(data) => Ok((data, buffers)),
            Err(e) => Err(e),
        };
        let core = self.core.clone();
        let fut = async move {
            let (data, buffers) = outcome?;
            // megabytes of text are encoded off the runtime's thread
            let c = off_thread(move || core.compose(data, buffers)).await?;
            Ok::<_, BindError>(ComposedMessage::new(c.envelope, c.message_id, c.body))
        };
        runtime::promise(env, fut, settle_composed).map(Either::B)
    }

    /// Sends a composed message whose body is what JS writes into `sink` (the stream plugins'
    /// output), or, with no sink, the composed body itself. DKIM (in `extras`) signs that body,
    /// after the plugins, as nodemailer does. The outcome arrives through `on_complete` with
    /// `id`; an error before anything was queued is returned.
    #[napi(
        ts_args_type = "message: ComposedMessage, sink: MessageSink | null, auth: object | null, extras: object | null, id: number",
        ts_return_type = "Error | undefined"
    )]
    pub fn send_composed<'env>(
        &self,
        env: &'env Env,
        message: &ComposedMessage,
        sink: Option<&MessageSink>,
        auth: Option<Object>,
        extras: Option<Object>,
        id: u32,
    ) -> Result<Option<Object<'env>>> {
        let parsed = (|| {
            let (extras, auth) = self.core.send_options(env, extras, auth)?;
            let body = match sink {
                Some(s) => {
                    let eight_bit = message.fix_seven_bit()?;
                    MessageBody::from_stream(s.take_stream()?).with_eight_bit(eight_bit)
                }
                None => message.take_body()?,
            };
            Ok::<_, BindError>((extras, auth, body))
        })();
        let (mut extras, auth, body) = match parsed {
            Ok(p) => p,
            Err(e) => return Ok(Some(to_js_error(env, &e)?)),
        };
        let compiled = Compiled {
            envelope: message.envelope.clone(),
            message_id: message.message_id.clone(),
            body,
        };
        let done = self.lease(env)?;
        let Some(dkim) = extras.dkim.take() else {
            let prepared = self.core.prepare(compiled, extras, auth);
            return self.core.dispatch_now(env, prepared, done, id);
        };
        // signing reads the whole body first
        let core = self.core.clone();
        let prepare = async move {
            let signed = Box::pin(dkim_sign(compiled, Some(&dkim))).await?;
            core.prepare(signed, extras, auth)
        };
        self.core.dispatch_later(prepare, done, id);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(s: &'static str) -> io::Result<Bytes> {
        Ok(Bytes::from_static(s.as_bytes()))
    }

    #[tokio::test]
    async fn the_sink_is_a_bounded_body() {
        let (tx, rx) = mpsc::channel(SINK_CAPACITY);
        let aborted = Arc::new(Mutex::new(None));
        let stream = SinkStream {
            rx,
            aborted: aborted.clone(),
        };
        for _ in 0..SINK_CAPACITY {
            tx.try_send(chunk("a\r\n")).unwrap();
        }
        assert!(matches!(
            tx.try_send(chunk("a\r\n")),
            Err(mpsc::error::TrySendError::Full(_))
        ));
        drop(tx);
        let out = MessageBody::from_stream(stream).to_vec().await.unwrap();
        assert_eq!(out, "a\r\n".repeat(SINK_CAPACITY).as_bytes());
    }

    #[tokio::test]
    async fn an_abort_ends_the_body_with_an_error() {
        let (tx, rx) = mpsc::channel(SINK_CAPACITY);
        let aborted = Arc::new(Mutex::new(None));
        let mut stream = SinkStream {
            rx,
            aborted: aborted.clone(),
        };
        tx.try_send(chunk("x")).unwrap();
        *aborted.lock().unwrap() = Some("plugin failed".into());
        let e = stream.next().await.unwrap().unwrap_err();
        assert_eq!(e.to_string(), "plugin failed");
        // the writer sees a closed reader
        assert!(tx.send(chunk("y")).await.is_err());
    }

    #[tokio::test]
    async fn reads_merge_what_is_ready() {
        let data: MailData = serde_json::from_str(
            r#"{"from":"a@example.com","to":"b@example.com","subject":"s","text":"hello","messageId":"<x@example.com>","date":"2026-01-02T03:04:05Z"}"#,
        )
        .unwrap();
        let c = mailer_message::compile(data, Vec::new(), &Default::default()).unwrap();
        let whole = mailer_message::compile(
            serde_json::from_str(
                r#"{"from":"a@example.com","to":"b@example.com","subject":"s","text":"hello","messageId":"<x@example.com>","date":"2026-01-02T03:04:05Z"}"#,
            )
            .unwrap(),
            Vec::new(),
            &Default::default(),
        )
        .unwrap();
        let whole = whole.body.to_vec().await.unwrap();
        // the plugins read the message without its final line break
        let expected = whole.strip_suffix(b"\r\n").unwrap();
        let m = ComposedMessage::new(c.envelope, c.message_id, c.body);
        let first = read_some(&m.body, &m.closed).await.unwrap().unwrap();
        // an in-memory message is ready at once: one read carries all of it
        assert_eq!(first, expected);
        assert!(read_some(&m.body, &m.closed).await.unwrap().is_none());
        assert!(m.take_body().is_err());
    }
}
