//! One error shape for everything that reaches JS, with nodemailer's fields, and its conversion
//! into a real JS `Error` (so `err instanceof Error`, `err.code`, `err.responseCode`, … all hold).

use mailer_smtp::error::SmtpError;
use napi::bindgen_prelude::*;
use napi::{Env, JsError, JsValue};

#[derive(Debug, Clone, Default)]
pub struct BindError {
    pub code: String,
    pub message: String,
    pub response: Option<String>,
    pub response_code: Option<u16>,
    pub command: Option<String>,
    pub recipient: Option<String>,
    pub rejected: Vec<String>,
    pub rejected_errors: Vec<BindError>,
    pub errno: Option<String>,
    pub syscall: Option<String>,
    pub address: Option<String>,
    pub port: Option<u16>,
}

impl BindError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        BindError {
            code: code.to_string(),
            message: message.into(),
            ..Default::default()
        }
    }

    pub fn with_command(mut self, command: &str) -> Self {
        self.command = Some(command.to_string());
        self
    }
}

impl From<SmtpError> for BindError {
    fn from(e: SmtpError) -> Self {
        BindError {
            code: e.code.as_str().to_string(),
            message: e.message,
            response: e.response,
            response_code: e.response_code,
            command: e.command,
            recipient: e.recipient,
            rejected: e.rejected,
            rejected_errors: e.rejected_errors.into_iter().map(BindError::from).collect(),
            errno: e.errno,
            syscall: e.syscall,
            address: e.address,
            port: e.port,
        }
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

/// Builds the JS `Error` object for `e`.
pub fn to_js_error<'env>(env: &'env Env, e: &BindError) -> Result<Object<'env>> {
    let unknown =
        JsError::from(napi::Error::new(e.code.clone(), e.message.clone())).into_unknown(*env);
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

pub fn to_js_error_array<'env>(env: &'env Env, errors: &[BindError]) -> Result<Array<'env>> {
    let objects = errors
        .iter()
        .map(|e| to_js_error(env, e))
        .collect::<Result<Vec<_>>>()?;
    Array::from_vec(env, objects)
}

/// A rejection that carries the JS error object itself (napi reuses the referenced object).
pub fn reject(env: &Env, e: &BindError) -> napi::Error {
    match to_js_error(env, e) {
        Ok(obj) => napi::Error::from(obj.to_unknown()),
        Err(err) => err,
    }
}
