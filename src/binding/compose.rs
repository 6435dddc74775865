//! The composition-only transports (`streamTransport`, `jsonTransport`), and what every path
//! that composes shares: reading a message and its options from JS ([`read_request`], used by
//! the stream plugins' and the sendmail/SES entry points too), the message's Buffers shared
//! with JS ([`shared`]), composing off the JS thread ([`off_thread`]) and DKIM signing.

use bytes::Bytes;
use mailer_message::{ComposeOptions, MailData};
use napi::bindgen_prelude::*;
use napi::{Env, JsValue};
use napi_derive::napi;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;

use super::errors::{reject, BindError};

#[derive(Deserialize, Default)]
#[serde(default)]
struct JsDkimOnly {
    dkim: Option<serde_json::Value>,
}

/// Signs the composed message when DKIM options are given (the body is hashed as it streams).
pub(super) async fn dkim_sign(
    mut c: mailer_message::Compiled,
    dkim: Option<&serde_json::Value>,
) -> std::result::Result<mailer_message::Compiled, BindError> {
    if let Some(o) = dkim
        .map(mailer_message::DkimOptions::from_json)
        .transpose()?
        .flatten()
    {
        c.body = mailer_message::dkim::sign(c.body, &o).await?;
    }
    Ok(c)
}

/// Messages with more string content than this are composed off the JS thread.
const LARGE_INLINE: usize = 256 * 1024;
/// Nor are messages with more recipients than this (composing costs ~1 µs per recipient).
const LARGE_RECIPIENTS: usize = 1000;

/// Whether composing `data` would hold the thread long enough to be worth moving it to the
/// blocking pool (Node's thread, or the runtime's worker that also drives the sockets).
pub(super) fn is_large(data: &MailData) -> bool {
    data.inline_len() > LARGE_INLINE || data.recipient_count_hint() > LARGE_RECIPIENTS
}

/// Options of the composition-only transports (`streamTransport`, `jsonTransport`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsComposeOptions {
    hostname: Option<String>,
    keep_bcc: bool,
    disable_file_access: bool,
    disable_url_access: bool,
    raw_as_is: bool,
}

/// Composes a message without sending it: `{ envelope, messageId, message: Buffer }`
/// (the stream transport; Bcc is kept, as nodemailer's stream transport keeps it).
#[napi(
    ts_args_type = "mail: object, buffers: Buffer[], options: object",
    ts_return_type = "Promise<{ envelope: { from: string | false, to: string[] }, messageId: string, message: Buffer }>"
)]
pub fn compile_message<'env>(
    env: &'env Env,
    mail: Object,
    buffers: Vec<Buffer>,
    options: Object,
) -> Result<Object<'env>> {
    let parsed = read_request::<MailData, JsDkimOnly>(env, mail, buffers, options);
    let fut = async move {
        let req = parsed?;
        let compiled = if is_large(&req.data) {
            off_thread(move || {
                Ok(mailer_message::compile(
                    req.data,
                    req.buffers,
                    &req.options,
                )?)
            })
            .await?
        } else {
            mailer_message::compile(req.data, req.buffers, &req.options)?
        };
        let compiled = dkim_sign(compiled, req.extra.dkim.as_ref()).await?;
        let bytes = compiled
            .body
            .to_vec()
            .await
            .map_err(|e| BindError::body(&e))?;
        Ok::<_, BindError>((compiled.envelope, compiled.message_id, bytes))
    };
    super::runtime::promise(env, fut, |env, outcome| match outcome {
        Ok((envelope, message_id, bytes)) => {
            let mut out = Object::new(env)?;
            out.set("envelope", envelope_to_js(env, envelope.from, envelope.to)?)?;
            out.set("messageId", message_id)?;
            out.set("message", Buffer::from(bytes))?;
            Ok(out.raw())
        }
        Err(e) => Err(reject(env, &e)),
    })
}

/// `jsonTransport`: the normalised message data as JSON text, as nodemailer's JSON transport.
#[napi(
    ts_args_type = "mail: object, buffers: Buffer[], options: object",
    ts_return_type = "Promise<{ envelope: { from: string | false, to: string[] }, messageId: string, message: string }>"
)]
pub fn normalize_json<'env>(
    env: &'env Env,
    mail: Object,
    buffers: Vec<Buffer>,
    options: Object,
) -> Result<Object<'env>> {
    // `Json` keeps key order, which nodemailer's output depends on.
    let parsed = read_request::<mailer_message::Json, IgnoredAny>(env, mail, buffers, options);
    let fut = async move {
        let req = parsed?;
        let out = mailer_message::normalize_json(req.data, req.buffers, &req.options).await?;
        Ok::<_, BindError>((out.envelope, out.message_id, out.json))
    };
    super::runtime::promise(env, fut, |env, outcome| match outcome {
        Ok((envelope, message_id, json)) => {
            let mut out = Object::new(env)?;
            out.set("envelope", envelope_to_js(env, envelope.from, envelope.to)?)?;
            out.set("messageId", message_id)?;
            out.set("message", json)?;
            Ok(out.raw())
        }
        Err(e) => Err(reject(env, &e)),
    })
}

/// One message to compose, as the transports that compose without sending read it from JS.
pub(super) struct Request<T, X> {
    /// the message (`MailData`, or `Json` for the JSON transport)
    pub data: T,
    /// the Buffers `data` refers to as `{ $bufferIndex }`, shared with JS (see [`shared`])
    pub buffers: Vec<Bytes>,
    pub options: ComposeOptions,
    /// the transport's own options besides the composition ones (`IgnoredAny` for none: napi
    /// reads nothing for it)
    pub extra: X,
}

/// Reads a [`Request`]: the message, then the options (an unreadable message is reported
/// first).
pub(super) fn read_request<T: DeserializeOwned, X: DeserializeOwned>(
    env: &Env,
    mail: Object,
    buffers: Vec<Buffer>,
    options: Object,
) -> std::result::Result<Request<T, X>, BindError> {
    let data = super::de::from_js_value(env, mail).map_err(BindError::invalid_message)?;
    let extra = env
        .from_js_value(options)
        .map_err(BindError::invalid_options)?;
    Ok(Request {
        data,
        buffers: shared(buffers),
        options: compose_options(env, options)?,
        extra,
    })
}

/// The message's Buffers, shared with JS rather than copied (napi's Buffer is Send + Sync and
/// released on the JS thread wherever it is dropped): 200 queued messages with one 1 MB
/// attachment hold it once, as nodemailer does.
pub(super) fn shared(buffers: Vec<Buffer>) -> Vec<Bytes> {
    buffers.into_iter().map(Bytes::from_owner).collect()
}

fn compose_options(env: &Env, options: Object) -> std::result::Result<ComposeOptions, BindError> {
    let o: JsComposeOptions = env
        .from_js_value(options)
        .map_err(BindError::invalid_options)?;
    Ok(ComposeOptions {
        hostname: o.hostname,
        keep_bcc: o.keep_bcc,
        disable_file_access: o.disable_file_access,
        disable_url_access: o.disable_url_access,
        raw_as_is: o.raw_as_is,
    })
}

/// `{ from, to }`; `from` is `false` when the message has no sender, as in nodemailer.
pub(super) fn envelope_to_js(env: &Env, from: String, to: Vec<String>) -> Result<Object<'_>> {
    let mut env_obj = Object::new(env)?;
    if from.is_empty() {
        env_obj.set("from", false)?;
    } else {
        env_obj.set("from", from)?;
    }
    env_obj.set("to", to)?;
    Ok(env_obj)
}

/// Runs `compose` on the blocking pool (composing megabytes of text, or a hundred thousand
/// recipients, would hold Node's thread or the runtime's worker that drives the sockets).
pub(super) async fn off_thread<T: Send + 'static>(
    compose: impl FnOnce() -> std::result::Result<T, BindError> + Send + 'static,
) -> std::result::Result<T, BindError> {
    tokio::task::spawn_blocking(compose)
        .await
        .map_err(|_| BindError::compose_incomplete())?
}
