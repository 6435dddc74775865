//! OAuth2 options, as nodemailer's `auth` object for `type: 'OAuth2'`.

use std::fmt;
use std::time::Duration;

use crate::{DEFAULT_ACCESS_URL, DEFAULT_SCOPE};

/// Default HTTP timeout for token requests. nodemailer has none; a hung token endpoint would
/// otherwise hang the send forever.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct OAuth2Config {
    pub user: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub access_token: Option<String>,
    /// Absolute ms epoch; 0/None = unknown (treated as valid).
    pub expires: Option<u64>,
    /// Seconds TTL for a supplied `access_token` (used when `expires` is unset).
    pub timeout: Option<u64>,
    /// Token endpoint; default Google.
    pub access_url: Option<String>,
    /// 2LO service account id (`iss`); requires `private_key` and `user`.
    pub service_client: Option<String>,
    /// PEM: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or encrypted PKCS#8 with
    /// `private_key_passphrase`.
    pub private_key: Option<String>,
    pub private_key_passphrase: Option<String>,
    pub scope: Option<String>,
    /// Seconds, clamped to 0..3600; 0/None = 300.
    pub service_request_timeout: Option<u64>,
    pub custom_headers: Vec<(String, String)>,
    pub custom_params: Vec<(String, String)>,
    /// HTTP request timeout; default 30 s.
    pub request_timeout: Option<Duration>,
    /// Verify the token endpoint's certificate (default true).
    pub tls_reject_unauthorized: bool,
    /// PEM CA certificates; when non-empty they replace the default roots (as node's `tls.ca`).
    pub tls_ca: Vec<String>,
    /// `auth.provisionCallback` or `oauth2_provision_cb` is present.
    pub has_provisioner: bool,
}

impl Default for OAuth2Config {
    fn default() -> Self {
        Self {
            user: String::new(),
            client_id: None,
            client_secret: None,
            refresh_token: None,
            access_token: None,
            expires: None,
            timeout: None,
            access_url: None,
            service_client: None,
            private_key: None,
            private_key_passphrase: None,
            scope: None,
            service_request_timeout: None,
            custom_headers: Vec::new(),
            custom_params: Vec::new(),
            request_timeout: None,
            tls_reject_unauthorized: true,
            tls_ca: Vec::new(),
            has_provisioner: false,
        }
    }
}

/// Hand-written so that `{:?}` of a config never prints a secret.
impl fmt::Debug for OAuth2Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hide = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("OAuth2Config")
            .field("user", &self.user)
            .field("client_id", &self.client_id)
            .field("client_secret", &hide(&self.client_secret))
            .field("refresh_token", &hide(&self.refresh_token))
            .field("access_token", &hide(&self.access_token))
            .field("expires", &self.expires)
            .field("timeout", &self.timeout)
            .field("access_url", &self.access_url)
            .field("service_client", &self.service_client)
            .field("private_key", &hide(&self.private_key))
            .field(
                "private_key_passphrase",
                &hide(&self.private_key_passphrase),
            )
            .field("scope", &self.scope)
            .field("service_request_timeout", &self.service_request_timeout)
            .field(
                "custom_headers",
                &self
                    .custom_headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("custom_params", &self.custom_params.len())
            .field("request_timeout", &self.request_timeout)
            .field("tls_reject_unauthorized", &self.tls_reject_unauthorized)
            .field("tls_ca", &self.tls_ca.len())
            .field("has_provisioner", &self.has_provisioner)
            .finish()
    }
}

/// Treats `Some("")` like `None`, as JS truthiness does for option strings.
pub(crate) fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl OAuth2Config {
    pub(crate) fn access_url_or_default(&self) -> &str {
        non_empty(&self.access_url).unwrap_or(DEFAULT_ACCESS_URL)
    }

    pub(crate) fn scope_or_default(&self) -> &str {
        non_empty(&self.scope).unwrap_or(DEFAULT_SCOPE)
    }

    /// Seconds, clamped to 0..=3600, 0 meaning the default 300.
    pub(crate) fn service_request_timeout_secs(&self) -> u64 {
        match self.service_request_timeout.unwrap_or(0).min(3600) {
            0 => 300,
            s => s,
        }
    }

    pub(crate) fn request_timeout_or_default(&self) -> Duration {
        self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT)
    }

    /// Expiry of the supplied `access_token`: `expires` if non-zero, else `now + timeout`, else 0.
    pub(crate) fn initial_expires(&self, now_ms: u64) -> u64 {
        match (self.expires, self.timeout) {
            (Some(e), _) if e > 0 => e,
            (_, Some(t)) if t > 0 => now_ms.saturating_add(t.saturating_mul(1000)),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_verifies_tls() {
        assert!(OAuth2Config::default().tls_reject_unauthorized);
    }

    #[test]
    fn debug_hides_secrets() {
        let cfg = OAuth2Config {
            user: "u@example.com".into(),
            client_secret: Some("client-secret-value".into()),
            refresh_token: Some("refresh-token-value".into()),
            access_token: Some("access-token-value".into()),
            private_key: Some("-----BEGIN PRIVATE KEY-----".into()),
            private_key_passphrase: Some("passphrase-value".into()),
            custom_headers: vec![("Authorization".into(), "Basic header-secret".into())],
            custom_params: vec![("secret_param".into(), "param-secret".into())],
            ..Default::default()
        };
        let s = format!("{cfg:?}");
        for secret in [
            "client-secret-value",
            "refresh-token-value",
            "access-token-value",
            "BEGIN PRIVATE KEY",
            "passphrase-value",
            "header-secret",
            "param-secret",
        ] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
        assert!(s.contains("u@example.com"));
    }

    #[test]
    fn service_request_timeout_clamp() {
        let mut cfg = OAuth2Config::default();
        assert_eq!(cfg.service_request_timeout_secs(), 300);
        cfg.service_request_timeout = Some(0);
        assert_eq!(cfg.service_request_timeout_secs(), 300);
        cfg.service_request_timeout = Some(60);
        assert_eq!(cfg.service_request_timeout_secs(), 60);
        cfg.service_request_timeout = Some(99_999);
        assert_eq!(cfg.service_request_timeout_secs(), 3600);
    }

    #[test]
    fn initial_expiry_rules() {
        let mut cfg = OAuth2Config::default();
        assert_eq!(cfg.initial_expires(1_000), 0);
        cfg.timeout = Some(10);
        assert_eq!(cfg.initial_expires(1_000), 11_000);
        cfg.expires = Some(5);
        assert_eq!(cfg.initial_expires(1_000), 5);
        cfg.expires = Some(0);
        assert_eq!(cfg.initial_expires(1_000), 11_000);
    }

    #[test]
    fn defaults_for_url_and_scope() {
        let mut cfg = OAuth2Config::default();
        assert_eq!(
            cfg.access_url_or_default(),
            "https://accounts.google.com/o/oauth2/token"
        );
        assert_eq!(cfg.scope_or_default(), "https://mail.google.com/");
        cfg.access_url = Some(String::new());
        assert_eq!(
            cfg.access_url_or_default(),
            "https://accounts.google.com/o/oauth2/token"
        );
        cfg.access_url = Some("http://127.0.0.1:1/token".into());
        assert_eq!(cfg.access_url_or_default(), "http://127.0.0.1:1/token");
    }
}
