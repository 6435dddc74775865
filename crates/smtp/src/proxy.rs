//! The `proxy` option: a parsed proxy URL (nodemailer's `proxy` transport option). Only the
//! configuration lives here; opening the tunnel through it is `net::tunnel`'s.

use std::fmt;

use crate::error::{ErrorCode, SmtpError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyKind {
    /// HTTP CONNECT over plain TCP.
    Http,
    /// HTTP CONNECT over TLS to the proxy.
    Https,
    /// SOCKS4: the SMTP host is resolved here, the proxy gets an IPv4 address.
    Socks4,
    /// SOCKS4a: the proxy resolves the SMTP host.
    Socks4a,
    /// SOCKS5 (`socks:` and `socks5:`): the proxy resolves the SMTP host.
    Socks5,
}

impl ProxyKind {
    fn default_port(self) -> u16 {
        match self {
            ProxyKind::Http => 80,
            ProxyKind::Https => 443,
            // nodemailer leaves an unset SOCKS port at 0; 1080 is the registered SOCKS port
            _ => 1080,
        }
    }
}

/// A parsed `proxy` URL. Credentials are percent-decoded and never printed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyConfig {
    pub kind: ProxyKind,
    /// Proxy host name or IP (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

// Manual Debug: the proxy credentials must never reach a log line.
impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username.as_ref().map(|_| "<redacted>"))
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// EPROXY with command CONN: every proxy failure, from the URL to the tunnel's handshake.
pub(crate) fn proxy_error(message: impl Into<String>) -> SmtpError {
    SmtpError::new(ErrorCode::EProxy, message).with_command("CONN")
}

/// `decodeURIComponent` of a URL's user or password; empty means absent. Lossy on invalid
/// UTF-8 (the value is only ever sent to the proxy, never echoed).
fn decode(s: &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    Some(
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

impl ProxyConfig {
    /// Parses a proxy URL (`http://user:pass@host:3128`, `socks5://host:1080`, …).
    /// Errors are `EPROXY` and never contain the URL (it may hold credentials).
    pub fn parse(proxy_url: &str) -> Result<ProxyConfig, SmtpError> {
        let url = url::Url::parse(proxy_url.trim())
            .map_err(|e| proxy_error(format!("Invalid proxy URL: {e}")))?;
        let kind = match url.scheme() {
            "http" => ProxyKind::Http,
            "https" => ProxyKind::Https,
            "socks4" => ProxyKind::Socks4,
            "socks4a" => ProxyKind::Socks4a,
            "socks" | "socks5" => ProxyKind::Socks5,
            // nodemailer's message for a scheme without a built-in or registered handler
            _ => return Err(proxy_error("Unknown proxy configuration")),
        };
        let host = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .filter(|h| !h.is_empty())
            .ok_or_else(|| proxy_error("Invalid proxy URL: no host"))?
            .to_string();
        Ok(ProxyConfig {
            kind,
            host,
            port: url.port().unwrap_or(kind.default_port()),
            username: decode(url.username()),
            password: url.password().and_then(decode),
        })
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_schemes_ports_and_credentials() {
        let p = ProxyConfig::parse("http://proxy.test").unwrap();
        assert_eq!(
            p,
            ProxyConfig {
                kind: ProxyKind::Http,
                host: "proxy.test".into(),
                port: 80,
                username: None,
                password: None,
            }
        );
        let p = ProxyConfig::parse("HTTPS://u%3Ax:p%40ss%20w@10.0.0.1:8443/").unwrap();
        assert_eq!(p.kind, ProxyKind::Https);
        assert_eq!((p.host.as_str(), p.port), ("10.0.0.1", 8443));
        assert_eq!(p.username.as_deref(), Some("u:x"));
        assert_eq!(p.password.as_deref(), Some("p@ss w"));
        assert_eq!(ProxyConfig::parse("https://h").unwrap().port, 443);
        for (url, kind) in [
            ("socks://h", ProxyKind::Socks5),
            ("socks5://h", ProxyKind::Socks5),
            ("socks4://h", ProxyKind::Socks4),
            ("socks4a://h", ProxyKind::Socks4a),
        ] {
            let p = ProxyConfig::parse(url).unwrap();
            assert_eq!((p.kind, p.port), (kind, 1080), "{url}");
        }
        let p = ProxyConfig::parse("socks5://user@[::1]:9050").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 9050));
        assert_eq!(p.username.as_deref(), Some("user"));
        assert_eq!(p.password, None);
    }

    #[test]
    fn parse_errors_are_eproxy_without_credentials() {
        let e = ProxyConfig::parse("ftp://user:hunter2@h").unwrap_err();
        assert_eq!(e.code, ErrorCode::EProxy);
        assert_eq!(e.message, "Unknown proxy configuration");
        let e = ProxyConfig::parse("user:hunter2@proxy").unwrap_err();
        assert_eq!(e.code, ErrorCode::EProxy);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        let e = ProxyConfig::parse("not a url").unwrap_err();
        assert_eq!(e.message, "Invalid proxy URL: relative URL without a base");
        let e = ProxyConfig::parse("socks5:///nohost").unwrap_err();
        assert_eq!(e.message, "Invalid proxy URL: no host");
    }
}
