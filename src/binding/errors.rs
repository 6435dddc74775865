//! The one error shape that reaches JS, and its conversion into a real JS `Error` (so
//! `err instanceof Error`, `err.code`, `err.responseCode`, … all hold).
//!
//! The shape is the SMTP engine's [`SmtpError`] (crates/smtp/src/error.rs): nodemailer's error
//! fields (`code`, `response`, `responseCode`, `command`, `recipient`, `rejected`,
//! `rejectedErrors`, and a socket error's `errno`, `syscall`, `address`, `port`). Errors from
//! the other crates (composition, configuration, sendmail, fetches) become one with their own
//! code ([`ErrorCode::Other`]). [`BindError`] only wraps it so that those crates' errors convert
//! with `?` (Rust's orphan rule forbids `impl From<ComposeError> for SmtpError` here); it adds
//! no field. [`to_js_error`] is the only place that turns the shape into a JS object.

use std::ops::{Deref, DerefMut};

use mailer_sendmail::SendmailError;
use mailer_smtp::error::{ErrorCode, SmtpError};
use napi::bindgen_prelude::*;
use napi::{Env, JsError, JsValue};

/// An [`SmtpError`] on its way to JS (see the module doc for why it is wrapped).
#[derive(Debug, Clone)]
pub struct BindError(pub SmtpError);

impl Deref for BindError {
    type Target = SmtpError;

    fn deref(&self) -> &SmtpError {
        &self.0
    }
}

impl DerefMut for BindError {
    fn deref_mut(&mut self) -> &mut SmtpError {
        &mut self.0
    }
}

impl BindError {
    /// An error with nodemailer's `code` (any, not only the SMTP engine's) and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        BindError(SmtpError::new(ErrorCode::named(code), message))
    }

    pub fn with_command(self, command: &str) -> Self {
        BindError(self.0.with_command(command))
    }

    /// The message object from JS could not be read (`EMESSAGE`, command `API`).
    pub fn invalid_message(e: napi::Error) -> Self {
        BindError::new("EMESSAGE", format!("Invalid message: {}", e.reason)).with_command("API")
    }

    /// The options object from JS could not be read (`ECONFIG`).
    pub fn invalid_options(e: napi::Error) -> Self {
        BindError::new("ECONFIG", format!("Invalid options: {}", e.reason))
    }

    /// Reading the composed message failed (a file or URL attachment, a stream): the reading
    /// error's own code (EFETCH, EFILEACCESS or ESTREAM), command `API`.
    pub fn body(e: &std::io::Error) -> Self {
        BindError::new(mailer_message::io_error_code(e), e.to_string()).with_command("API")
    }

    /// The blocking task that composed a message ended without a result (it panicked).
    pub fn compose_incomplete() -> Self {
        BindError::new("EMESSAGE", "Composing the message did not complete").with_command("API")
    }
}

impl From<SmtpError> for BindError {
    fn from(e: SmtpError) -> Self {
        BindError(e)
    }
}

impl From<mailer_message::ComposeError> for BindError {
    fn from(e: mailer_message::ComposeError) -> Self {
        let err = BindError::new(e.code, e.message);
        // nodemailer's recipient limit error has no command
        if e.code == "EMAXRECIPIENTS" {
            err
        } else {
            err.with_command("API")
        }
    }
}

impl From<mailer_config::ConfigError> for BindError {
    fn from(e: mailer_config::ConfigError) -> Self {
        BindError::new(e.code, e.message)
    }
}

impl From<mailer_message::FetchError> for BindError {
    fn from(e: mailer_message::FetchError) -> Self {
        BindError::new(e.code, e.message)
    }
}

/// A sendmail failure: a failed message keeps its code (EFILEACCESS, EFETCH...) and command
/// `API`; the others have ESENDMAIL or the system error's name. (Node's numeric `errno`,
/// `syscall`, `path` and `spawnargs` are set on the JS object by the sendmail transport, in
/// node's order.)
impl From<&SendmailError> for BindError {
    fn from(e: &SendmailError) -> Self {
        match e {
            SendmailError::Body(io) => BindError::body(io),
            other => BindError::new(other.code(), other.to_string()),
        }
    }
}

/// Builds the JS `Error` object for `e`.
pub fn to_js_error<'env>(env: &'env Env, e: &SmtpError) -> Result<Object<'env>> {
    let unknown =
        JsError::from(napi::Error::new(e.code.as_str(), e.message.clone())).into_unknown(*env);
    let mut obj = Object::from_raw(env.raw(), unknown.raw());
    if let Some(r) = &e.response {
        obj.set("response", r.as_str())?;
    }
    if let Some(c) = e.response_code {
        obj.set("responseCode", c as u32)?;
    }
    if let Some(c) = &e.command {
        obj.set("command", c.as_str())?;
    }
    if let Some(r) = &e.recipient {
        obj.set("recipient", r.as_str())?;
    }
    if !e.rejected.is_empty() {
        obj.set("rejected", e.rejected.clone())?;
    }
    if !e.rejected_errors.is_empty() {
        obj.set(
            "rejectedErrors",
            to_js_error_array(env, &e.rejected_errors)?,
        )?;
    }
    if let Some(v) = &e.errno {
        obj.set("errno", v.as_str())?;
    }
    if let Some(v) = &e.syscall {
        obj.set("syscall", v.as_str())?;
    }
    if let Some(v) = &e.address {
        obj.set("address", v.as_str())?;
    }
    if let Some(v) = e.port {
        obj.set("port", v as u32)?;
    }
    Ok(obj)
}

pub fn to_js_error_array<'env>(env: &'env Env, errors: &[SmtpError]) -> Result<Array<'env>> {
    let objects = errors
        .iter()
        .map(|e| to_js_error(env, e))
        .collect::<Result<Vec<_>>>()?;
    Array::from_vec(env, objects)
}

/// A rejection that carries the JS error object itself (napi reuses the referenced object).
pub fn reject(env: &Env, e: &SmtpError) -> napi::Error {
    match to_js_error(env, e) {
        Ok(obj) => napi::Error::from(obj.to_unknown()),
        Err(err) => err,
    }
}
