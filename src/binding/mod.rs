//! The napi binding: the only code that knows Node. It converts JS values into the crates' types
//! and results back into nodemailer's shapes.

mod body;
pub mod compose;
mod errors;
mod options;
mod pipe;
mod tokens;
pub mod transport;

use napi::bindgen_prelude::*;
use napi_derive::napi;

#[napi_derive::module_init]
fn init() {
    // reqwest (token requests) reads the process-wide rustls provider; install ring once.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// nodemailer's `parseConnectionUrl`: `smtp(s)://user:pass@host:port?opt=val` into options.
#[napi(ts_return_type = "Record<string, any>")]
pub fn parse_connection_url(url: String) -> Result<serde_json::Value> {
    mailer_config::parse_connection_url(&url)
        .map(serde_json::Value::Object)
        .map_err(|e| Error::new(Status::InvalidArg, format!("{}: {}", e.code, e.message)))
}

/// The well-known service entry for a name, alias or domain (`'Gmail'`, `'gmail.com'`), or null.
#[napi(ts_return_type = "Record<string, any> | null")]
pub fn well_known(service: String) -> Option<serde_json::Value> {
    mailer_config::well_known(&service).map(serde_json::Value::Object)
}

/// The header name nodemailer writes for `key` (`message-id` → `Message-ID`).
#[napi]
pub fn normalize_header_key(key: String) -> String {
    mailer_message::normalize_header_key(&key)
}
