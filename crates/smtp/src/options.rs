//! Connection options with nodemailer's defaults (lib/smtp-connection and lib/smtp-transport).
//!
//! These types are the transport's typed configuration: mailer-config reads the user's options
//! into them (starting from [`ConnectOptions::default`], the one place nodemailer's defaults
//! are written), and the binding adds what exists only at run time (the logger, the socket
//! provider, the `checkServerIdentity` callback).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::log::LogFn;
use crate::proxy::ProxyConfig;

/// The port of implicit TLS: the default with `secure`, and a port that makes `secure` the
/// default (nodemailer's lib/smtp-connection).
pub const SECURE_PORT: u16 = 465;

/// The subset of Node's `tls` options the engine honours.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TlsOptions {
    /// `rejectUnauthorized`, default true.
    pub reject_unauthorized: bool,
    /// Extra trusted CA certificates, PEM (each string may hold several).
    pub ca: Vec<String>,
    /// SNI / verification name; default: `host` unless it is an IP.
    pub servername: Option<String>,
    /// `"TLSv1.2"` or `"TLSv1.3"`; older names mean "anything rustls supports".
    pub min_version: Option<String>,
    /// Client certificate chain, PEM.
    pub cert: Option<String>,
    /// Client private key, PEM. Never printed.
    pub key: Option<String>,
    /// Decrypts an encrypted PKCS#8 `key`. Never printed.
    pub passphrase: Option<String>,
    /// Node's `checkServerIdentity`: replaces the server name check (the chain is still
    /// verified) and may refuse the certificate.
    pub check_server_identity: Option<IdentityCheck>,
}

/// What the caller's identity check is given: the server name and the peer's certificate
/// chain (DER, the server's own first). It answers with a reason to refuse, or None.
pub type IdentityCheckFn =
    dyn Fn(String, Vec<Vec<u8>>) -> BoxFuture<'static, Option<String>> + Send + Sync;

/// A shared [`IdentityCheckFn`]; equal when it is the same function (TLS configs are cached by
/// their options).
#[derive(Clone)]
pub struct IdentityCheck(pub Arc<IdentityCheckFn>);

impl PartialEq for IdentityCheck {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for IdentityCheck {}

impl Hash for IdentityCheck {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.0) as *const () as usize).hash(state);
    }
}

impl fmt::Debug for IdentityCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<checkServerIdentity>")
    }
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            reject_unauthorized: true,
            ca: Vec::new(),
            servername: None,
            min_version: None,
            cert: None,
            key: None,
            passphrase: None,
            check_server_identity: None,
        }
    }
}

// Manual Debug: the private key must never reach a log line.
impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("reject_unauthorized", &self.reject_unauthorized)
            .field("ca", &format_args!("[{} PEM]", self.ca.len()))
            .field("servername", &self.servername)
            .field("min_version", &self.min_version)
            .field("cert", &self.cert.as_ref().map(|_| "<PEM>"))
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "<redacted>"),
            )
            .field("check_server_identity", &self.check_server_identity)
            .finish()
    }
}

#[derive(Clone)]
pub struct ConnectOptions {
    pub host: String,
    pub port: u16,
    /// Implicit TLS.
    pub secure: bool,
    pub tls: TlsOptions,
    pub ignore_tls: bool,
    pub require_tls: bool,
    pub opportunistic_tls: bool,
    /// EHLO/HELO/LHLO name; unset: the host name as nodemailer picks it (see `client_name`).
    pub name: Option<String>,
    pub local_address: Option<IpAddr>,
    pub connection_timeout: Duration,
    pub greeting_timeout: Duration,
    pub socket_timeout: Duration,
    pub dns_timeout: Duration,
    pub lmtp: bool,
    /// Log the transcript (client/server lines).
    pub debug: bool,
    /// Log the message body too (nodemailer's `debug`; `transactionLog` logs the transcript
    /// without it, lib/smtp-connection).
    pub log_body: bool,
    pub logger: Option<LogFn>,
    /// Connect through this proxy (nodemailer's `proxy` URL); `None`: directly.
    pub proxy: Option<ProxyConfig>,
    /// Asked first for each connection's stream (nodemailer's `getSocket`, `connection`,
    /// `socket`, custom proxy handlers); when it has none, the engine connects by itself.
    pub socket_provider: Option<crate::external::SocketProviderHandle>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            host: "localhost".to_string(),
            port: 587,
            secure: false,
            tls: TlsOptions::default(),
            ignore_tls: false,
            require_tls: false,
            opportunistic_tls: false,
            name: None,
            local_address: None,
            connection_timeout: Duration::from_millis(120_000),
            greeting_timeout: Duration::from_millis(30_000),
            socket_timeout: Duration::from_millis(600_000),
            dns_timeout: Duration::from_millis(30_000),
            lmtp: false,
            debug: false,
            log_body: false,
            logger: None,
            proxy: None,
            socket_provider: None,
        }
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("secure", &self.secure)
            .field("tls", &self.tls)
            .field("ignore_tls", &self.ignore_tls)
            .field("require_tls", &self.require_tls)
            .field("opportunistic_tls", &self.opportunistic_tls)
            .field("name", &self.name)
            .field("local_address", &self.local_address)
            .field("connection_timeout", &self.connection_timeout)
            .field("greeting_timeout", &self.greeting_timeout)
            .field("socket_timeout", &self.socket_timeout)
            .field("dns_timeout", &self.dns_timeout)
            .field("lmtp", &self.lmtp)
            .field("debug", &self.debug)
            .field("log_body", &self.log_body)
            .field("logger", &self.logger.as_ref().map(|_| "<fn>"))
            .field("proxy", &self.proxy)
            .field("socket_provider", &self.socket_provider)
            .finish()
    }
}

impl ConnectOptions {
    /// The EHLO name: `name` with CR/LF stripped, else the hostname if it has a `.`,
    /// else `[127.0.0.1]`; a bare IPv4 is wrapped in `[]`.
    pub fn client_name(&self) -> String {
        match &self.name {
            // CR/LF (nodemailer) and every other control character (NUL…): nothing but the
            // name may reach the EHLO line.
            Some(n) if !n.is_empty() => n.chars().filter(|c| !c.is_control()).collect(),
            // The machine's name does not change under us: one syscall per process, not per connection.
            _ => {
                static DEFAULT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                DEFAULT
                    .get_or_init(|| {
                        default_client_name(&gethostname::gethostname().to_string_lossy())
                    })
                    .clone()
            }
        }
    }
}

pub(crate) fn default_client_name(hostname: &str) -> String {
    let name = if hostname.contains('.') {
        hostname.to_string()
    } else {
        "[127.0.0.1]".to_string()
    };
    // nodemailer's /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/
    let parts: Vec<&str> = name.split('.').collect();
    let is_v4 = parts.len() == 4
        && parts
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    if is_v4 {
        format!("[{name}]")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let o = ConnectOptions::default();
        assert_eq!(o.host, "localhost");
        assert_eq!(o.port, 587);
        assert!(o.tls.reject_unauthorized);
        assert_eq!(o.connection_timeout, Duration::from_secs(120));
        assert_eq!(o.greeting_timeout, Duration::from_secs(30));
        assert_eq!(o.socket_timeout, Duration::from_secs(600));
        assert_eq!(o.dns_timeout, Duration::from_secs(30));
    }

    #[test]
    fn client_name_rules() {
        assert_eq!(default_client_name("box"), "[127.0.0.1]");
        assert_eq!(default_client_name("mail.example.com"), "mail.example.com");
        assert_eq!(default_client_name("10.0.0.1"), "[10.0.0.1]");
        assert_eq!(default_client_name(""), "[127.0.0.1]");
        let o = ConnectOptions {
            name: Some("evil\r\nMAIL FROM:<x>".into()),
            ..Default::default()
        };
        assert_eq!(o.client_name(), "evilMAIL FROM:<x>");
        let o = ConnectOptions {
            name: Some("a\0b\x7fc".into()),
            ..Default::default()
        };
        assert_eq!(o.client_name(), "abc");
    }

    #[test]
    fn debug_redacts_key() {
        let t = TlsOptions {
            key: Some("-----BEGIN PRIVATE KEY-----secret".into()),
            ..Default::default()
        };
        let s = format!(
            "{:?}",
            ConnectOptions {
                tls: t,
                ..Default::default()
            }
        );
        assert!(!s.contains("secret"), "{s}");
        assert!(s.contains("<redacted>"));
    }

    #[test]
    fn debug_redacts_proxy_credentials() {
        let o = ConnectOptions {
            proxy: Some(ProxyConfig::parse("http://alice:s3cr%40t@proxy.test:3128").unwrap()),
            ..Default::default()
        };
        assert_eq!(
            o.proxy.as_ref().unwrap().password.as_deref(),
            Some("s3cr@t")
        );
        let s = format!("{o:?}");
        assert!(!s.contains("s3cr"), "{s}");
        assert!(!s.contains("alice"), "{s}");
        assert!(s.contains("proxy.test"), "{s}");
    }
}
