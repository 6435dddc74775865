//! mailer-oauth2: the OAuth2 token manager behind nodemailer's `auth: {type: 'OAuth2'}`.
//!
//! - [`TokenManager`]: token cache (no safety margin), 3LO refresh-token grant, 2LO service-account
//!   JWT bearer grant, provisioning-callback hook, one refresh at a time, `token` events.
//! - [`TokenRegistry`]: shares one manager per [`CredentialKey`] (user + digest of the
//!   credentials) across sends and pooled connections; a request presenting other credentials
//!   for the same user gets a manager of its own.
//!
//! No napi here: the binding adapts JS callbacks into [`Provisioner`], [`EventSink`] and [`LogFn`].

mod config;
mod error;
mod form;
mod http;
mod jwt;
mod manager;
mod redact;

use std::sync::Arc;

use futures_util::future::BoxFuture;

pub use config::{CredentialKey, OAuth2Config};
pub use error::OAuth2Error;
pub use jwt::sign_service_jwt;
pub use manager::{TokenManager, TokenRegistry};

/// Default token endpoint (Google), as nodemailer.
pub const DEFAULT_ACCESS_URL: &str = "https://accounts.google.com/o/oauth2/token";
/// Default 2LO scope (Gmail SMTP).
pub const DEFAULT_SCOPE: &str = "https://mail.google.com/";

/// Payload of the transporter's `'token'` event: `{user, accessToken, expires}`.
#[derive(Clone, Debug)]
pub struct TokenEvent {
    pub user: String,
    pub access_token: String,
    /// Absolute ms epoch; 0 when the server gave no `expires_in`.
    pub expires: u64,
}

/// Receives `token` events; the returned future is awaited before `get_token` returns, so the
/// event reaches JS before the send continues (same order as nodemailer).
pub type EventSink = Arc<dyn Fn(TokenEvent) -> BoxFuture<'static, ()> + Send + Sync>;

/// `provisionCallback(user, renew)` → `(accessToken, expires ms epoch or 0)`.
pub type Provisioner = Arc<
    dyn Fn(String, bool) -> BoxFuture<'static, Result<(String, u64), OAuth2Error>> + Send + Sync,
>;

/// Debug log sink. Lines never contain a full secret.
pub type LogFn = Arc<dyn Fn(String) + Send + Sync>;

/// Current wall-clock time in ms since the epoch (0 if the clock is before 1970).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
