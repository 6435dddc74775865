//! mailer-config: transport configuration applied the way nodemailer 10.6.1 applies it.
//!
//! - [`parse_connection_url`]: `smtp://user:pass@host:port/?key=value` → options object
//!   (nodemailer's `shared.parseConnectionUrl`).
//! - [`well_known`]: the well-known services table (`service: 'gmail'`), shipped as
//!   `src/services.json`, copied unchanged from nodemailer 10.6.1 (MIT-0 data).
//! - [`resolve`]: `createTransport(input)` resolved once: URL, service and the user's options
//!   merged in nodemailer's order ([`Layers`], nodemailer's `shared.assign`) and read into one
//!   typed [`TransportConfig`].
//! - [`TransportConfig`]: the engine's own option types, filled in (mailer-smtp's
//!   `ConnectOptions` with its `TlsOptions` and `ProxyConfig`, `PoolOptions`; an [`AuthConfig`]
//!   holding mailer-oauth2's `OAuth2Config`), plus what no engine type takes ([`Mode`], the
//!   facts JS needs). The defaults are the engine types' own.
//! - [`Source`] / [`Val`]: how an options object is read (a JS object through the binding, or
//!   JSON), key by key, with JS's coercions.
//!
//! Where to add a transport option: the engine's type gets the field and its default;
//! [`TransportConfig::read`] reads it with nodemailer's coercion. The binding copies nothing:
//! it only adds the run-time parts (logger, socket provider, callbacks).

mod conn_url;
mod resolve;
mod source;
mod transport;
mod well_known;

pub use conn_url::{is_connection_url, parse_connection_url};
pub use resolve::{resolve, Input, Layer, Plan, Resolved};
pub use source::{json_val, JsonSource, Layers, Pick, Source, Val, Without};
pub use transport::{AuthConfig, Login, Mode, TransportConfig};
pub use well_known::well_known;

/// A configuration error. `message` never contains the URL or any credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// nodemailer's error code: always `"ECONFIG"`.
    pub code: &'static str,
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            code: "ECONFIG",
            message: message.into(),
        }
    }

    /// nodemailer throws `TypeError('Invalid URL')` here; the message is kept identical and
    /// the URL (which may carry a password) is deliberately not echoed.
    pub(crate) fn invalid_url() -> Self {
        Self::new("Invalid URL")
    }
}
