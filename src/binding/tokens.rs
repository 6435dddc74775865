//! The bridge between the SMTP engine's `TokenProvider` and the OAuth2 token manager, and the JS
//! callbacks it reaches through threadsafe functions (the provisioning callback, `token` events).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use mailer_oauth2::{EventSink, OAuth2Error, Provisioner, TokenEvent, TokenManager};
use mailer_smtp::auth::TokenProvider;
use mailer_smtp::error::{ErrorCode, SmtpError};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::callbacks::{Hub, WeakFn};

/// How long a provisioning callback may take before the send fails, unless `auth.requestTimeout`
/// says otherwise (nodemailer waits forever: a silent hang).
pub const PROVISION_TIMEOUT: Duration = Duration::from_secs(60);

/// Bounds a provisioner's answer time.
fn with_timeout(p: Provisioner, limit: Duration) -> Provisioner {
    Arc::new(move |user: String, renew: bool| {
        let call = p(user, renew);
        let fut: BoxFuture<'static, std::result::Result<(String, u64), OAuth2Error>> =
            Box::pin(async move {
                match tokio::time::timeout(limit, call).await {
                    Ok(r) => r,
                    Err(_) => Err(provision_error(&format!(
                        "Provisioning callback did not answer within {} ms",
                        limit.as_millis()
                    ))),
                }
            });
        fut
    })
}

#[napi(object)]
pub struct ProvisionResult {
    pub access_token: Option<String>,
    pub expires: Option<f64>,
    pub error: Option<String>,
}

#[napi(object)]
pub struct TokenEventJs {
    pub user: String,
    pub access_token: String,
    pub expires: f64,
}

/// `(user, renew) => Promise<ProvisionResult>` (lib/mailer.js adapts the node-style callback).
pub type ProvisionFn = WeakFn<FnArgs<(String, bool)>, Promise<ProvisionResult>>;

pub type TokenListenerFn = WeakFn<TokenEventJs>;

/// The transport's provisioning callback, reached through its current threadsafe functions.
pub fn provisioner(hub: Arc<Hub>) -> Provisioner {
    Arc::new(move |user: String, renew: bool| {
        // looked up now, on the calling task: the send that asks holds the callbacks open
        let tsfn = hub.get().and_then(|c| c.provision.get());
        let fut: BoxFuture<'static, std::result::Result<(String, u64), OAuth2Error>> =
            Box::pin(async move {
                let call = async {
                    let tsfn = tsfn.ok_or_else(|| {
                        provision_error("The provisioning callback is no longer available")
                    })?;
                    let promise = tsfn
                        .call_async_catch((user, renew).into())
                        .await
                        .map_err(|e| provision_error(&e.reason))?;
                    let result = promise.await.map_err(|e| provision_error(&e.reason))?;
                    if let Some(message) = result.error {
                        return Err(provision_error(&message));
                    }
                    match result.access_token {
                        Some(token) if !token.is_empty() => {
                            let expires = result
                                .expires
                                .filter(|e| e.is_finite() && *e > 0.0)
                                .unwrap_or(0.0);
                            Ok((token, expires as u64))
                        }
                        _ => Err(provision_error(
                            "Provisioning callback returned no access token",
                        )),
                    }
                };
                call.await
            });
        fut
    })
}

fn provision_error(message: &str) -> OAuth2Error {
    OAuth2Error {
        code: "EOAUTH2",
        message: message.to_string(),
        status: None,
        error: None,
        error_description: None,
    }
}

/// `token` events for the transport's listener, reached through its current threadsafe functions.
pub fn event_sink(hub: Arc<Hub>) -> EventSink {
    Arc::new(move |ev: TokenEvent| {
        let callbacks = hub.get();
        let fut: BoxFuture<'static, ()> = Box::pin(async move {
            // Awaited so the event reaches JS before the message that needed the token is sent.
            if let Some(tsfn) = callbacks.as_ref().and_then(|c| c.token()) {
                let _ = tsfn
                    .call_async_catch(TokenEventJs {
                        user: ev.user,
                        access_token: ev.access_token,
                        expires: ev.expires as f64,
                    })
                    .await;
            }
        });
        fut
    })
}

/// An SMTP `TokenProvider` backed by a shared token manager. The provisioning callback is the
/// one installed when the auth was built (its id is part of the manager's key); the transport
/// rebuilds its auth when `transporter.set('oauth2_provision_cb', …)` installs another.
pub struct ManagedToken {
    pub manager: Arc<TokenManager>,
    pub provisioner: Option<Provisioner>,
    pub provision_timeout: Duration,
}

impl TokenProvider for ManagedToken {
    fn user(&self) -> String {
        self.manager.user().to_string()
    }

    fn credentials_digest(&self) -> Option<[u8; 32]> {
        Some(*self.manager.key().digest())
    }

    fn token_is_fresh(&self) -> bool {
        self.manager.token_is_fresh()
    }

    fn token(&self, renew: bool) -> BoxFuture<'static, std::result::Result<String, SmtpError>> {
        let manager = self.manager.clone();
        let limit = self.provision_timeout;
        let provisioner = self.provisioner.clone().map(|p| with_timeout(p, limit));
        Box::pin(async move {
            manager
                .get_token(renew, provisioner)
                .await
                // the connection gives it EAUTH and the AUTH XOAUTH2 command, as nodemailer does
                .map_err(|e| SmtpError::new(ErrorCode::EAuth, e.message))
        })
    }
}
