//! The transports that do not speak SMTP themselves: sendmail (the message streamed into a
//! binary's stdin, crates/sendmail), SES (the raw message composed here, sent by the user's AWS
//! client in JS) and createTestAccount's request to the Ethereal API.

use mailer_message::{LineEndings, MailData, Newline};
use mailer_sendmail::{Sendmail, SendmailError};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use serde::Deserialize;

use super::compose::{dkim_sign, envelope_to_js, read_request};
use super::errors::{reject, to_js_error, BindError};

/// Transport-side options besides the composition ones.
#[derive(Deserialize, Default)]
#[serde(default)]
struct JsPipeOptions {
    dkim: Option<serde_json::Value>,
    path: Option<String>,
    args: Option<Vec<String>>,
    newline: Option<String>,
}

/// Why a sendmail send failed: the crate's error, or one from composing before the process ran.
enum PipeError {
    Compose(BindError),
    Sendmail(SendmailError),
}

impl From<BindError> for PipeError {
    fn from(e: BindError) -> Self {
        PipeError::Compose(e)
    }
}

/// The JS error for a sendmail failure, with the fields node's own errors carry: a spawn
/// error has `errno` (negative), `syscall`, `path` and `spawnargs`, a stdin error `errno` and
/// `syscall`; a failed message keeps its code (EFILEACCESS, EFETCH...).
fn sendmail_error<'env>(env: &'env Env, e: &SendmailError) -> Result<Object<'env>> {
    let mut obj = to_js_error(env, &BindError::from(e))?;
    if let Some(errno) = e.errno() {
        obj.set("errno", errno)?;
    }
    if let Some(syscall) = e.syscall() {
        obj.set("syscall", syscall)?;
    }
    if let SendmailError::Spawn { path, args, .. } = e {
        obj.set("path", path.as_str())?;
        obj.set("spawnargs", args.clone())?;
    }
    Ok(obj)
}

/// The sendmail transport: composes the message (Bcc kept: sendmail strips it itself), signs it
/// when DKIM options are given, and streams it into the binary's stdin. Resolves with
/// `{ envelope, messageId }` once the process exited with 0.
#[napi(
    ts_args_type = "mail: object, buffers: Buffer[], options: { path?: string, args?: string[], newline?: string, dkim?: object, hostname?: string, keepBcc?: boolean, disableFileAccess?: boolean, disableUrlAccess?: boolean }",
    ts_return_type = "Promise<{ envelope: { from: string | false, to: string[] }, messageId: string }>"
)]
pub fn sendmail_send<'env>(
    env: &'env Env,
    mail: Object,
    buffers: Vec<Buffer>,
    options: Object,
) -> Result<Object<'env>> {
    let parsed = read_request::<MailData, JsPipeOptions>(env, mail, buffers, options);
    let fut = async move {
        let req = parsed?;
        let compiled = mailer_message::compile(req.data, req.buffers, &req.options)
            .map_err(BindError::from)?;
        let compiled = dkim_sign(compiled, req.extra.dkim.as_ref()).await?;
        let extra = req.extra;
        let sendmail = Sendmail {
            path: extra
                .path
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "sendmail".to_string()),
            args: extra.args,
        };
        let newline = Newline::from_sendmail_option(extra.newline.as_deref());
        let envelope = compiled.envelope;
        sendmail
            .send(
                &envelope.from,
                &envelope.to,
                LineEndings::new(compiled.body, newline),
            )
            .await
            .map_err(PipeError::Sendmail)?;
        Ok::<_, PipeError>((envelope, compiled.message_id))
    };
    super::runtime::promise(env, fut, |env, outcome| match outcome {
        Ok((envelope, message_id)) => {
            let mut out = Object::new(env)?;
            out.set("envelope", envelope_to_js(env, envelope.from, envelope.to)?)?;
            out.set("messageId", message_id)?;
            Ok(out.raw())
        }
        Err(PipeError::Compose(e)) => Err(reject(env, &e)),
        Err(PipeError::Sendmail(e)) => Err(match sendmail_error(env, &e) {
            Ok(obj) => napi::Error::from(obj.to_unknown()),
            Err(err) => err,
        }),
    })
}

/// The SES transport's message: composed, DKIM-signed without Date and Message-ID (SES rewrites
/// them), every bare LF made CRLF, whole in a Buffer for the SendEmail request. `from` is the
/// From header's addresses as nodemailer's SES transport passes them as FromEmailAddress.
#[napi(
    ts_args_type = "mail: object, buffers: Buffer[], options: { dkim?: object, hostname?: string, disableFileAccess?: boolean, disableUrlAccess?: boolean }",
    ts_return_type = "Promise<{ envelope: { from: string | false, to: string[] }, messageId: string, from: string | null, message: Buffer }>"
)]
pub fn compose_raw<'env>(
    env: &'env Env,
    mail: Object,
    buffers: Vec<Buffer>,
    options: Object,
) -> Result<Object<'env>> {
    let parsed = read_request::<MailData, JsPipeOptions>(env, mail, buffers, options);
    let fut = async move {
        let req = parsed?;
        let (compiled, from) =
            mailer_message::compile_with_from(req.data, req.buffers, &req.options)?;
        let compiled = dkim_sign(compiled, req.extra.dkim.as_ref()).await?;
        let mut body = LineEndings::new(compiled.body, Newline::Windows);
        let mut bytes = Vec::new();
        while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
            let chunk = chunk.map_err(|e| BindError::body(&e))?;
            bytes.extend_from_slice(&chunk);
        }
        Ok::<_, BindError>((compiled.envelope, compiled.message_id, from, bytes))
    };
    super::runtime::promise(env, fut, |env, outcome| match outcome {
        Ok((envelope, message_id, from, bytes)) => {
            let mut out = Object::new(env)?;
            out.set("envelope", envelope_to_js(env, envelope.from, envelope.to)?)?;
            out.set("messageId", message_id)?;
            match from {
                Some(f) => out.set("from", f)?,
                None => out.set("from", Null)?,
            }
            out.set("message", Buffer::from(bytes))?;
            Ok(out.raw())
        }
        Err(e) => Err(reject(env, &e)),
    })
}

/// createTestAccount's request (lib/nodemailer.js): POST `<apiUrl>/user` with
/// `{"requestor","version"}` as JSON and the API key, if any, as a Bearer token. Resolves with
/// the response text (parsed in JS, as nodemailer parses it); certificates are always checked.
#[napi(ts_return_type = "Promise<string>")]
pub fn ethereal_request<'env>(
    env: &'env Env,
    api_url: String,
    api_key: Option<String>,
) -> Result<Object<'env>> {
    let body =
        serde_json::json!({ "requestor": "mailer-rs", "version": env!("CARGO_PKG_VERSION") });
    let req = mailer_message::UrlRequest {
        url: format!("{}/user", api_url),
        headers: api_key
            .filter(|k| !k.is_empty())
            .map(|k| vec![("Authorization".to_string(), format!("Bearer {k}"))])
            .unwrap_or_default(),
        ca: Vec::new(),
        reject_unauthorized: true,
    };
    let fut = async move {
        mailer_message::http_post(&req, "application/json", body.to_string().into_bytes()).await
    };
    super::runtime::promise(env, fut, |env, outcome| match outcome {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            // SAFETY: env is the live JS environment this callback runs in.
            unsafe { ToNapiValue::to_napi_value(env.raw(), text) }
        }
        Err(e) => {
            let source_url = e.source_url.clone();
            let mut obj = to_js_error(env, &BindError::from(e))?;
            obj.set("sourceUrl", source_url)?;
            Err(napi::Error::from(obj.to_unknown()))
        }
    })
}
