//! mailer-config: transport configuration applied the way nodemailer 10.6.1 applies it.
//!
//! - [`parse_connection_url`]: `smtp://user:pass@host:port/?key=value` → options object
//!   (nodemailer's `shared.parseConnectionUrl`).
//! - [`well_known`]: the well-known services table (`service: 'gmail'`), shipped as
//!   `src/services.json`, copied unchanged from nodemailer 10.6.1 (MIT-0 data).
//! - [`assign`], [`create_transport_options`], [`transport_options`]: how `createTransport`
//!   and the SMTP transports merge user options, URL options and the service entry.
//!
//! Options are `serde_json` objects because they arrive from JS as plain objects and the
//! binding converts them field by field afterwards; keeping them untyped here keeps every
//! unknown key (nodemailer passes them through).

mod conn_url;
mod merge;
mod well_known;

pub use conn_url::{is_connection_url, parse_connection_url};
pub use merge::{assign, create_transport_options, transport_options};
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
