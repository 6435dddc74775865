//! OAuth2 options, as nodemailer's `auth` object for `type: 'OAuth2'`.

use std::fmt;
use std::time::Duration;

use sha2::{Digest, Sha256};

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
    /// Which provisioning callback serves this config: an id the caller gives each callback it
    /// installs (0 = none). Part of the [`CredentialKey`], so a token one callback produced is
    /// never handed out on behalf of another.
    pub provisioner_id: u64,
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
            provisioner_id: 0,
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
            .field("provisioner_id", &self.provisioner_id)
            .finish()
    }
}

/// Who a cached token belongs to: the user name, byte for byte (no case folding, no Unicode
/// normalisation: `Alice@x` and `alice@x` are different logins to the SMTP server), and a SHA-256
/// digest of everything that authorises getting a token for it. A token is shared only between
/// requests whose keys are equal, i.e. that present the same credentials; the digest keeps raw
/// secrets out of map keys and debug output.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CredentialKey {
    user: String,
    digest: [u8; 32],
}

impl CredentialKey {
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Covers the user too, so it identifies the credential set on its own.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
}

impl fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short: String = self.digest[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        write!(f, "CredentialKey({:?}, {short}…)", self.user)
    }
}

/// Length-prefixed fields, so no two different field lists encode to the same bytes.
struct Canonical(Sha256);

impl Canonical {
    fn bytes(&mut self, b: &[u8]) {
        self.0.update((b.len() as u64).to_le_bytes());
        self.0.update(b);
    }

    fn opt(&mut self, v: Option<&str>) {
        match v {
            None => self.0.update([0u8]),
            Some(s) => {
                self.0.update([1u8]);
                self.bytes(s.as_bytes());
            }
        }
    }

    fn pairs(&mut self, v: &[(String, String)]) {
        self.0.update((v.len() as u64).to_le_bytes());
        for (k, val) in v {
            self.bytes(k.as_bytes());
            self.bytes(val.as_bytes());
        }
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

    /// The token cache key: the user, and a digest of the secrets (client secret, refresh token,
    /// access token, private key and its passphrase, custom headers and params, which may carry
    /// credentials), the provisioning callback, and what decides where a token comes from and
    /// what it grants (client id, token URL, service client, scope, TLS trust). Not `expires`,
    /// `timeout` or the request timeouts: they describe a token, not who may use it.
    pub fn credential_key(&self) -> CredentialKey {
        let mut c = Canonical(Sha256::new());
        c.0.update(b"mailer-rs oauth2 credentials v1");
        c.bytes(self.user.as_bytes());
        c.opt(non_empty(&self.client_id));
        c.opt(non_empty(&self.client_secret));
        c.opt(non_empty(&self.refresh_token));
        c.opt(non_empty(&self.access_token));
        c.opt(Some(self.access_url_or_default()));
        c.opt(non_empty(&self.service_client));
        c.opt(non_empty(&self.private_key));
        c.opt(non_empty(&self.private_key_passphrase));
        c.opt(Some(self.scope_or_default()));
        c.pairs(&self.custom_headers);
        c.pairs(&self.custom_params);
        c.0.update([u8::from(self.tls_reject_unauthorized)]);
        c.0.update((self.tls_ca.len() as u64).to_le_bytes());
        for pem in &self.tls_ca {
            c.bytes(pem.as_bytes());
        }
        c.0.update([u8::from(self.has_provisioner)]);
        c.0.update(self.provisioner_id.to_le_bytes());
        CredentialKey {
            user: self.user.clone(),
            digest: c.0.finalize().into(),
        }
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
    fn credential_key_covers_every_secret_and_the_user_exactly() {
        let base = OAuth2Config {
            user: "alice@x.test".into(),
            client_id: Some("cid".into()),
            client_secret: Some("cs".into()),
            refresh_token: Some("rt".into()),
            access_url: Some("http://127.0.0.1:1/token".into()),
            ..Default::default()
        };
        let key = base.credential_key();
        assert_eq!(key, base.clone().credential_key());
        assert_eq!(key.user(), "alice@x.test");
        type Change = Box<dyn Fn(&mut OAuth2Config)>;
        let variants: Vec<(&str, Change)> = vec![
            ("user case", Box::new(|c| c.user = "Alice@x.test".into())),
            (
                "client_id",
                Box::new(|c| c.client_id = Some("other".into())),
            ),
            (
                "client_secret",
                Box::new(|c| c.client_secret = Some("wrong".into())),
            ),
            ("no client_secret", Box::new(|c| c.client_secret = None)),
            (
                "refresh_token",
                Box::new(|c| c.refresh_token = Some("RT_BOGUS".into())),
            ),
            ("no refresh_token", Box::new(|c| c.refresh_token = None)),
            (
                "access_token",
                Box::new(|c| c.access_token = Some("AT_BOGUS".into())),
            ),
            (
                "access_url",
                Box::new(|c| c.access_url = Some("http://127.0.0.1:2/token".into())),
            ),
            (
                "service_client",
                Box::new(|c| c.service_client = Some("sa".into())),
            ),
            (
                "private_key",
                Box::new(|c| c.private_key = Some("-----BEGIN".into())),
            ),
            (
                "passphrase",
                Box::new(|c| c.private_key_passphrase = Some("pp".into())),
            ),
            ("scope", Box::new(|c| c.scope = Some("s".into()))),
            (
                "header",
                Box::new(|c| c.custom_headers = vec![("X-Api-Key".into(), "k".into())]),
            ),
            (
                "param",
                Box::new(|c| c.custom_params = vec![("client_assertion".into(), "a".into())]),
            ),
            (
                "tls verify",
                Box::new(|c| c.tls_reject_unauthorized = false),
            ),
            ("tls ca", Box::new(|c| c.tls_ca = vec!["pem".into()])),
            ("has provisioner", Box::new(|c| c.has_provisioner = true)),
            ("provisioner", Box::new(|c| c.provisioner_id = 7)),
        ];
        for (what, change) in &variants {
            let mut c = base.clone();
            change(&mut c);
            assert_ne!(c.credential_key(), key, "{what} must change the key");
        }
        // Unicode: NFC and NFD spellings are different users.
        let nfc = OAuth2Config {
            user: "jos\u{e9}@x.test".into(),
            ..base.clone()
        };
        let nfd = OAuth2Config {
            user: "jose\u{301}@x.test".into(),
            ..base.clone()
        };
        assert_ne!(nfc.credential_key(), nfd.credential_key());
        // Field boundaries count: moving bytes between fields changes the key.
        let a = OAuth2Config {
            client_id: Some("ab".into()),
            client_secret: Some("c".into()),
            ..base.clone()
        };
        let b = OAuth2Config {
            client_id: Some("a".into()),
            client_secret: Some("bc".into()),
            ..base.clone()
        };
        assert_ne!(a.credential_key(), b.credential_key());
        // What describes a token but not who may use it leaves the key alone; "" is absent.
        let same = OAuth2Config {
            expires: Some(5),
            timeout: Some(60),
            request_timeout: Some(Duration::from_secs(1)),
            service_request_timeout: Some(10),
            access_token: Some(String::new()),
            ..base.clone()
        };
        assert_eq!(same.credential_key(), key);
        // No secret in the key's debug output.
        let dbg = format!("{key:?}");
        assert!(
            dbg.contains("alice@x.test") && !dbg.contains("cs") && !dbg.contains("rt"),
            "{dbg}"
        );
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
