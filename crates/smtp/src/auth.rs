//! Credentials, the OAuth2 token hook and the SASL encoders (as lib/smtp-connection's AUTH methods).

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use futures_util::future::BoxFuture;
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

use crate::error::SmtpError;

/// Supplies XOAUTH2 access tokens. Implemented by the binding on top of the OAuth2 crate.
pub trait TokenProvider: Send + Sync {
    /// The user name put in the XOAUTH2 string (`user=...`).
    fn user(&self) -> String;
    /// A token; `renew` asks for a fresh one after the server rejected the last. The connection
    /// turns an error into EAUTH on `AUTH XOAUTH2` (nodemailer's rewrite), keeping its message.
    fn token(&self, renew: bool) -> BoxFuture<'static, Result<String, SmtpError>>;
    /// A digest of the credentials behind this provider's tokens. A pooled connection logged in
    /// through one provider carries a message of another only when both have the same user and
    /// the same digest; `None` (the default) matches only the very same provider.
    fn credentials_digest(&self) -> Option<[u8; 32]> {
        None
    }
    /// Whether the token it would hand out now is still valid without a refresh. A pooled
    /// connection logged in through it is not reused once it is not: the next message logs in
    /// again, so a revoked grant stops the sends once its last token expires.
    fn token_is_fresh(&self) -> bool {
        true
    }
}

#[derive(Clone)]
pub enum Credentials {
    Login { user: String, pass: String },
    XOAuth2(Arc<dyn TokenProvider>),
}

// Manual Debug: never print a password.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Login { user, .. } => f
                .debug_struct("Login")
                .field("user", user)
                .field("pass", &"<redacted>")
                .finish(),
            Credentials::XOAuth2(p) => f.debug_tuple("XOAuth2").field(&p.user()).finish(),
        }
    }
}

impl Credentials {
    /// The user name for log lines ("User %s authenticated").
    pub fn user(&self) -> String {
        match self {
            Credentials::Login { user, .. } => user.clone(),
            Credentials::XOAuth2(p) => p.user(),
        }
    }
}

#[derive(Clone, Default, Debug)]
pub struct AuthOptions {
    pub credentials: Option<Credentials>,
    /// Forced SASL mechanism (`auth.method` / `authMethod`), any case.
    pub method: Option<String>,
    pub force_auth: bool,
    /// Handlers for mechanisms of the user's own (nodemailer's `customAuth`); a handler for a
    /// built-in name (`PLAIN`, ...) replaces the built-in.
    pub custom: Option<CustomAuthHandle>,
}

/// What a custom mechanism's handler learns about the session (nodemailer's handler context,
/// minus the functions).
#[derive(Clone, Debug, PartialEq)]
pub struct CustomAuthContext {
    /// The mechanism, upper case.
    pub method: String,
    pub user: String,
    pub pass: String,
    /// `SMTPUTF8`, `DSN`, `8BITMIME`, `REQUIRETLS`, `PIPELINING`, `SIZE`: those advertised, in
    /// that order.
    pub extensions: Vec<String>,
    /// Recognised mechanisms advertised (PLAIN, LOGIN, CRAM-MD5, XOAUTH2 order).
    pub auth_methods: Vec<String>,
    /// `SIZE n` with n > 0.
    pub max_allowed_size: Option<u64>,
}

/// One request of a running custom mechanism to the connection.
#[derive(Debug)]
pub enum CustomAuthStep {
    /// Write `line` (+ CRLF; logged masked) and answer with the server's reply text (lines
    /// joined by `\n`), or with the error that ended the connection.
    Command {
        line: String,
        reply: tokio::sync::oneshot::Sender<Result<String, SmtpError>>,
    },
    /// The handler says the login succeeded.
    Resolve,
    /// The handler says the login failed; `message` becomes the EAUTH error's message.
    Reject { message: String },
}

/// Runs custom mechanisms. The binding implements it by calling the user's JS handler.
pub trait CustomAuth: Send + Sync {
    /// Whether there is a handler for `method` (upper case).
    fn handles(&self, method: &str) -> bool;
    /// Starts the handler; its requests arrive on the receiver until it resolves or rejects.
    /// A receiver that closes without either is a failed login.
    fn start(&self, ctx: CustomAuthContext)
        -> tokio::sync::mpsc::UnboundedReceiver<CustomAuthStep>;
}

/// A shared [`CustomAuth`] with a Debug that prints nothing of it.
#[derive(Clone)]
pub struct CustomAuthHandle(pub Arc<dyn CustomAuth>);

impl fmt::Debug for CustomAuthHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomAuth")
    }
}

/// nodemailer's `maskAuthCommand`: the line as logged when a custom mechanism writes it. An
/// `AUTH <mechanism>` line without arguments is shown as is; anything after the mechanism,
/// and any other line, is `/* secret */`.
pub fn mask_auth_command(line: &str) -> String {
    let bytes = line.as_bytes();
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c);
    if bytes.len() > 4 && bytes[..4].eq_ignore_ascii_case(b"AUTH") && is_space(bytes[4]) {
        let mut i = 4;
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !is_space(bytes[i]) {
            i += 1;
        }
        if i > start {
            return if i == bytes.len() {
                line.to_string()
            } else {
                format!("{} /* secret */", &line[..i])
            };
        }
    }
    "/* secret */".to_string()
}

/// `AUTH PLAIN` initial response: base64("\0" + user + "\0" + pass), no authzid.
pub fn plain(user: &str, pass: &str) -> String {
    B64.encode(format!("\0{user}\0{pass}"))
}

/// `AUTH LOGIN` step: base64 of one value.
pub fn login_step(value: &str) -> String {
    B64.encode(value)
}

/// CRAM-MD5 answer to a base64 `challenge`:
/// base64(user + " " + hex(HMAC-MD5(key = pass, msg = decoded challenge))).
/// The challenge is decoded as node's `Buffer.from(s, 'base64')` does (junk skipped, stops at '=').
pub fn cram_md5(user: &str, pass: &str, challenge: &str) -> String {
    let decoded = mailer_message::base64_decode_lenient(challenge);
    // Node decodes the challenge with 'ascii', which masks each byte to 7 bits.
    let msg: Vec<u8> = decoded.iter().map(|b| b & 0x7f).collect();
    let mut mac = match <Hmac<Md5> as KeyInit>::new_from_slice(pass.as_bytes()) {
        Ok(m) => m,
        // HMAC accepts keys of any length; this arm cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(&msg);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    B64.encode(format!("{user} {hex}"))
}

/// `AUTH XOAUTH2` argument: base64("user=" + user + "\x01auth=Bearer " + token + "\x01\x01").
pub fn xoauth2(user: &str, token: &str) -> String {
    B64.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_vector() {
        assert_eq!(plain("u", "p"), "AHUAcA==");
    }

    #[test]
    fn xoauth2_vector() {
        assert_eq!(
            xoauth2("test@example.com", "abc"),
            "dXNlcj10ZXN0QGV4YW1wbGUuY29tAWF1dGg9QmVhcmVyIGFiYwEB"
        );
        assert_eq!(
            B64.decode(xoauth2("me@example.com", "stale")).unwrap(),
            b"user=me@example.com\x01auth=Bearer stale\x01\x01"
        );
    }

    #[test]
    fn cram_md5_rfc2195_vector() {
        // RFC 2195 example: user tim, secret tanstaaftanstaaf
        let challenge = B64.encode("<1896.697170952@postoffice.reston.mci.net>");
        let ans = cram_md5("tim", "tanstaaftanstaaf", &challenge);
        assert_eq!(
            String::from_utf8(B64.decode(ans).unwrap()).unwrap(),
            "tim b913a602c7eda7a495b4e6e7334d3890"
        );
    }

    #[test]
    fn login_steps() {
        assert_eq!(login_step("user"), "dXNlcg==");
    }

    #[test]
    fn masks_custom_commands() {
        assert_eq!(mask_auth_command("AUTH X-TWO"), "AUTH X-TWO");
        assert_eq!(
            mask_auth_command("auth x-two c2VjcmV0"),
            "auth x-two /* secret */"
        );
        assert_eq!(mask_auth_command("AUTH  X a b"), "AUTH  X /* secret */");
        assert_eq!(mask_auth_command("c2VjcmV0"), "/* secret */");
        assert_eq!(mask_auth_command(""), "/* secret */");
        assert_eq!(mask_auth_command("AUTH"), "/* secret */");
        assert_eq!(mask_auth_command("AUTHX a"), "/* secret */");
    }

    #[test]
    fn debug_hides_password() {
        let c = Credentials::Login {
            user: "u".into(),
            pass: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
