//! Authentication on an established session (nodemailer's `login`): which mechanism, then
//! the SASL exchange for it (PLAIN, LOGIN, CRAM-MD5, XOAUTH2 with one token renewal, or a
//! custom handler's own lines), and the `authenticated` / `authfail` log records. The lines'
//! bytes are `command`'s; the encoders (base64, HMAC) are `auth`'s. A new built-in mechanism
//! is a `Password` variant (user and password) or a method here, plus its `Command`.

use std::sync::Arc;

use tokio::time::timeout;

use super::{timeout_error, SmtpConnection};
use crate::auth::{self, AuthOptions, Credentials, TokenProvider};
use crate::command::Command;
use crate::envelope;
use crate::error::{ErrorCode, SmtpError};
use crate::log::{Details, Field, Level};
use crate::reply::Reply;

/// Rounds of `334` → empty line accepted before giving up (nodemailer loops forever).
const MAX_334_ROUNDS: usize = 8;

/// The built-in mechanisms that take a user name and a password.
#[derive(Clone, Copy)]
enum Password {
    Plain,
    Login,
    CramMd5,
}

impl SmtpConnection {
    /// Authenticates, with the XOAUTH2 renew-and-retry flow of lib/smtp-connection.
    pub async fn login(&mut self, auth: &AuthOptions) -> Result<(), SmtpError> {
        if let Some(e) = self.destroyed_error("login") {
            return Err(e);
        }
        let method = self.choose_method(auth);
        let oauth = match &auth.credentials {
            Some(Credentials::XOAuth2(p)) => Some(p.clone()),
            _ => None,
        };
        let res = if let Some(handler) = auth.custom.clone().filter(|c| c.0.handles(&method)) {
            // a custom handler gets whatever user and pass there are, even none
            let (user, pass) = match &auth.credentials {
                Some(Credentials::Login { user, pass }) => (user.clone(), pass.clone()),
                Some(Credentials::XOAuth2(p)) => (p.user(), String::new()),
                None => (String::new(), String::new()),
            };
            self.auth_custom(&handler, &method, user, pass).await
        } else if method == "XOAUTH2" {
            match oauth {
                Some(p) => self.auth_xoauth2(p).await,
                // unreachable by the selection above; kept total rather than panicking
                None => Err(missing_credentials(&method)),
            }
        } else {
            // refused before a byte is sent: no authfail record, as in nodemailer
            let (user, pass) = match &auth.credentials {
                Some(Credentials::Login { user, pass }) if !user.is_empty() && !pass.is_empty() => {
                    (user.clone(), pass.clone())
                }
                _ => return Err(missing_credentials(&method)),
            };
            let mechanism = match method.as_str() {
                "PLAIN" => Password::Plain,
                "LOGIN" => Password::Login,
                "CRAM-MD5" => Password::CramMd5,
                other => {
                    return Err(SmtpError::format(
                        ErrorCode::EAuth,
                        format!("Unknown authentication method \"{other}\""),
                        None,
                        Some("API"),
                    ))
                }
            };
            self.auth_password(mechanism, &user, &pass).await
        };
        if res.is_ok() {
            self.authenticated = true;
        }
        self.log_login(auth, &method, &res);
        res
    }

    /// The mechanism nodemailer's `login` picks: the one forced by `auth.method`; else XOAUTH2
    /// with a token provider; else the first advertised one this client can run (PLAIN when
    /// none is). XOAUTH2 needs a token provider or a custom handler: without either it is
    /// skipped even when it is the only mechanism advertised, and a forced XOAUTH2 falls back.
    fn choose_method(&self, auth: &AuthOptions) -> String {
        let forced = auth
            .method
            .as_deref()
            .map(|m| m.trim().to_uppercase())
            .filter(|m| !m.is_empty());
        let has_provider = matches!(auth.credentials, Some(Credentials::XOAuth2(_)));
        let can_xoauth2 =
            has_provider || auth.custom.as_ref().is_some_and(|c| c.0.handles("XOAUTH2"));
        let first_supported = || {
            self.caps
                .auth_methods
                .iter()
                .find(|m| *m != "XOAUTH2" || can_xoauth2)
                .cloned()
                .unwrap_or_else(|| "PLAIN".to_string())
        };
        match forced {
            None if has_provider => "XOAUTH2".to_string(),
            None => first_supported(),
            Some(m) if m == "XOAUTH2" && !has_provider => first_supported(),
            Some(m) => m,
        }
    }

    /// nodemailer's `authenticated` / `authfail` log records.
    fn log_login(&self, auth: &AuthOptions, method: &str, res: &Result<(), SmtpError>) {
        let user = || {
            auth.credentials
                .as_ref()
                .map(Credentials::user)
                .unwrap_or_default()
        };
        match res {
            Ok(()) => self
                .logger
                .log(Level::Info, "smtp", "User %s authenticated", || {
                    auth_details(&user(), "authenticated", method)
                }),
            Err(_) => self.logger.log(
                Level::Info,
                "smtp",
                "User %s failed to authenticate",
                || auth_details(&user(), "authfail", method),
            ),
        }
    }

    /// A user name and password mechanism.
    async fn auth_password(
        &mut self,
        mechanism: Password,
        user: &str,
        pass: &str,
    ) -> Result<(), SmtpError> {
        match mechanism {
            Password::Plain => {
                let r = self.command(Command::AuthPlain { user, pass }).await?;
                self.auth_complete(r, false, "PLAIN", None).await
            }
            Password::Login => self.auth_login(user, pass).await,
            Password::CramMd5 => self.auth_cram_md5(user, pass).await,
        }
    }

    async fn auth_login(&mut self, user: &str, pass: &str) -> Result<(), SmtpError> {
        let is_334 = |r: &Reply| r.starts_with("334 ") || r.starts_with("334-");
        let r = self.command(Command::AuthLogin).await?;
        if !is_334(&r) {
            return Err(auth_error(
                "Invalid login sequence while waiting for \"334 VXNlcm5hbWU6\"",
                &r,
                "AUTH LOGIN",
            ));
        }
        let r = self.command(Command::LoginUser(user)).await?;
        if !is_334(&r) {
            return Err(auth_error(
                "Invalid login sequence while waiting for \"334 UGFzc3dvcmQ6\"",
                &r,
                "AUTH LOGIN",
            ));
        }
        let r = self.command(Command::LoginPass(pass)).await?;
        self.auth_complete(r, false, "LOGIN", None).await
    }

    async fn auth_cram_md5(&mut self, user: &str, pass: &str) -> Result<(), SmtpError> {
        let r = self.command(Command::AuthCramMd5).await?;
        let text = r.text();
        // /^334\s+(.+)$/ on the whole reply: a single line only
        let challenge = text
            .strip_prefix("334")
            .filter(|rest| rest.starts_with(char::is_whitespace) && !rest.contains('\n'))
            .map(str::trim_start)
            .filter(|c| !c.is_empty());
        let challenge = match challenge {
            Some(c) => c.to_string(),
            None => {
                return Err(auth_error(
                    "Invalid login sequence while waiting for server challenge string",
                    &r,
                    "AUTH CRAM-MD5",
                ))
            }
        };
        let r = self
            .command(Command::CramMd5Answer {
                user,
                pass,
                challenge: &challenge,
            })
            .await?;
        let ok = r
            .text()
            .strip_prefix("235")
            .is_some_and(|rest| rest.starts_with(char::is_whitespace));
        if !ok {
            return Err(auth_error(
                "Invalid login sequence while waiting for \"235\"",
                &r,
                "AUTH CRAM-MD5",
            ));
        }
        Ok(())
    }

    /// A mechanism of the user's own: the handler writes the lines and reads the replies
    /// through the connection, then resolves or rejects. Each wait for the handler's next
    /// request is bounded by `socket_timeout`, as the socket's idle timer bounds it in
    /// nodemailer.
    async fn auth_custom(
        &mut self,
        handler: &auth::CustomAuthHandle,
        method: &str,
        user: String,
        pass: String,
    ) -> Result<(), SmtpError> {
        let c = &self.caps;
        let extensions = [
            (c.smtputf8, "SMTPUTF8"),
            (c.dsn, "DSN"),
            (c.eight_bit_mime, "8BITMIME"),
            (c.requiretls, "REQUIRETLS"),
            (c.pipelining, "PIPELINING"),
            (c.size, "SIZE"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| name.to_string())
        .collect();
        let ctx = auth::CustomAuthContext {
            method: method.to_string(),
            user,
            pass,
            extensions,
            auth_methods: c.auth_methods.clone(),
            max_allowed_size: c.max_size,
        };
        let mut steps = handler.0.start(ctx);
        let command = format!("AUTH {method}");
        // the reply to the handler's last command goes into its rejection, as in nodemailer
        let mut last: Option<String> = None;
        loop {
            let step = match timeout(self.opts.socket_timeout, steps.recv()).await {
                Err(_) => {
                    self.broken = true;
                    return Err(timeout_error());
                }
                Ok(None) => {
                    return Err(SmtpError::format(
                        ErrorCode::EAuth,
                        "Authentication handler ended without resolving",
                        last.as_deref(),
                        Some(&command),
                    ))
                }
                Ok(Some(step)) => step,
            };
            match step {
                auth::CustomAuthStep::Command { line, reply } => {
                    match self.command(Command::Custom(&line)).await {
                        Ok(r) => {
                            let text = r.text();
                            last = Some(text.clone());
                            let _ = reply.send(Ok(text));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e.clone()));
                            return Err(e);
                        }
                    }
                }
                auth::CustomAuthStep::Resolve => return Ok(()),
                auth::CustomAuthStep::Reject { message } => {
                    return Err(SmtpError::format(
                        ErrorCode::EAuth,
                        message,
                        last.as_deref(),
                        Some(&command),
                    ))
                }
            }
        }
    }

    /// XOAUTH2 with nodemailer's one-time renew after a `334` challenge.
    async fn auth_xoauth2(&mut self, provider: Arc<dyn TokenProvider>) -> Result<(), SmtpError> {
        let r = self.send_xoauth2(&provider, false).await?;
        self.auth_complete(r, false, "XOAUTH2", Some(provider))
            .await
    }

    async fn send_xoauth2(
        &mut self,
        provider: &Arc<dyn TokenProvider>,
        renew: bool,
    ) -> Result<Reply, SmtpError> {
        let token = match timeout(self.opts.socket_timeout, provider.token(renew)).await {
            Err(_) => return Err(timeout_error()),
            Ok(Err(mut e)) => {
                // nodemailer rewrites the token error's code and command, keeps its message
                e.code = ErrorCode::EAuth;
                e.command = Some("AUTH XOAUTH2".to_string());
                return Err(e);
            }
            Ok(Ok(t)) => t,
        };
        let user = provider.user();
        self.command(Command::AuthXOAuth2 {
            user: &user,
            token: &token,
        })
        .await
    }

    /// nodemailer's `_actionAUTHComplete`: a `334` gets an empty line; for a first XOAUTH2
    /// attempt the next reply (whatever it is) triggers one renew-and-retry.
    async fn auth_complete(
        &mut self,
        mut r: Reply,
        mut is_retry: bool,
        method: &str,
        provider: Option<Arc<dyn TokenProvider>>,
    ) -> Result<(), SmtpError> {
        let mut rounds = 0;
        loop {
            if r.starts_with("334") && rounds < MAX_334_ROUNDS {
                rounds += 1;
                let next = self.command(Command::AuthContinue).await?;
                match (&provider, is_retry) {
                    (Some(p), false) if method == "XOAUTH2" => {
                        r = self.send_xoauth2(p, true).await?;
                        is_retry = true;
                    }
                    _ => {
                        r = next;
                        is_retry = true;
                    }
                }
                continue;
            }
            if !r.is_positive() {
                return Err(auth_error("Invalid login", &r, &format!("AUTH {method}")));
            }
            return Ok(());
        }
    }
}

/// nodemailer's fields of the authenticated / authfail records.
fn auth_details(user: &str, action: &str, method: &str) -> Details {
    Details::args([envelope::json_string(user)])
        .field(Field::Str("username", user.to_string()))
        .field(Field::Str("action", action.to_string()))
        .field(Field::Str("method", method.to_string()))
}

fn missing_credentials(method: &str) -> SmtpError {
    SmtpError::format(
        ErrorCode::EAuth,
        format!("Missing credentials for \"{method}\""),
        None,
        Some("API"),
    )
}

fn auth_error(message: &str, r: &Reply, command: &str) -> SmtpError {
    let text = r.text();
    SmtpError::format(ErrorCode::EAuth, message, Some(&text), Some(command))
}
