//! 2LO service-account assertion: an RS256 JWT, byte-compatible with nodemailer's.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use pkcs8::PrivateKeyInfoRef;
use serde::Serialize;

use crate::config::non_empty;
use crate::{OAuth2Config, OAuth2Error};

/// nodemailer's exact message for any signing failure.
pub(crate) const SIGN_ERROR: &str = "Can't generate token. Check your auth options";

/// The header literal nodemailer sends. jsonwebtoken's `Header` serialises `typ` first, so the
/// signing input is assembled here and only the signature comes from jsonwebtoken.
const HEADER: &str = r#"{"alg":"RS256","typ":"JWT"}"#;

/// Claims in nodemailer's key order (serde keeps field order).
#[derive(Serialize)]
pub(crate) struct Claims<'a> {
    pub iss: &'a str,
    pub scope: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub iat: u64,
    pub exp: u64,
}

pub(crate) fn claims(cfg: &OAuth2Config, now_secs: u64) -> Claims<'_> {
    Claims {
        iss: cfg.service_client.as_deref().unwrap_or(""),
        scope: cfg.scope_or_default(),
        sub: &cfg.user,
        aud: cfg.access_url_or_default(),
        iat: now_secs,
        exp: now_secs.saturating_add(cfg.service_request_timeout_secs()),
    }
}

/// Parses `private_key` (PKCS#8, PKCS#1, or encrypted PKCS#8 with the passphrase).
/// Every failure is nodemailer's generic EOAUTH2 message: key parser errors could quote key bytes.
pub(crate) fn load_key(cfg: &OAuth2Config) -> Result<EncodingKey, OAuth2Error> {
    let pem = non_empty(&cfg.private_key).ok_or_else(|| OAuth2Error::oauth(SIGN_ERROR))?;
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let pass =
            non_empty(&cfg.private_key_passphrase).ok_or_else(|| OAuth2Error::oauth(SIGN_ERROR))?;
        return decrypt_pkcs8(pem.trim(), pass).ok_or_else(|| OAuth2Error::oauth(SIGN_ERROR));
    }
    EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| OAuth2Error::oauth(SIGN_ERROR))
}

/// Encrypted PKCS#8 → the inner PKCS#1 RSAPrivateKey DER that jsonwebtoken's RSA signer takes.
fn decrypt_pkcs8(pem: &str, pass: &str) -> Option<EncodingKey> {
    let plain = mailer_tls::decrypt_pkcs8_pem(pem, pass)?;
    let info = PrivateKeyInfoRef::try_from(plain.as_bytes()).ok()?;
    Some(EncodingKey::from_rsa_der(info.private_key.as_bytes()))
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

pub(crate) fn sign_with_key(
    cfg: &OAuth2Config,
    key: &EncodingKey,
    now_secs: u64,
) -> Result<String, OAuth2Error> {
    let claims_json =
        serde_json::to_vec(&claims(cfg, now_secs)).map_err(|_| OAuth2Error::oauth(SIGN_ERROR))?;
    let mut token = b64url(HEADER.as_bytes());
    token.push('.');
    token.push_str(&b64url(&claims_json));
    let sig = jsonwebtoken::crypto::sign(token.as_bytes(), key, Algorithm::RS256)
        .map_err(|_| OAuth2Error::oauth(SIGN_ERROR))?;
    token.push('.');
    token.push_str(&sig);
    Ok(token)
}

/// Signs the 2LO assertion for `cfg` at `now_secs` (unix seconds).
pub fn sign_service_jwt(cfg: &OAuth2Config, now_secs: u64) -> Result<String, OAuth2Error> {
    let key = load_key(cfg)?;
    sign_with_key(cfg, &key, now_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::DecodingKey;

    pub(crate) const KEY: &str = include_str!("../tests/fixtures/test-key.pem");
    const KEY_PKCS1: &str = include_str!("../tests/fixtures/test-key.pkcs1.pem");
    const KEY_ENC: &str = include_str!("../tests/fixtures/test-key.enc.pem");
    const PUB: &str = include_str!("../tests/fixtures/test-key.pub.pem");

    fn cfg(key: &str) -> OAuth2Config {
        OAuth2Config {
            user: "user@example.com".into(),
            service_client: Some("svc@project.iam.gserviceaccount.com".into()),
            private_key: Some(key.into()),
            access_url: Some("http://127.0.0.1:9/token".into()),
            ..Default::default()
        }
    }

    fn check(jwt: &str, expect_claims: &str) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let dec = |s: &str| {
            String::from_utf8(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(s)
                    .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(dec(parts[0]), r#"{"alg":"RS256","typ":"JWT"}"#);
        assert_eq!(dec(parts[1]), expect_claims);
        let pubkey = DecodingKey::from_rsa_pem(PUB.as_bytes()).unwrap();
        let msg = format!("{}.{}", parts[0], parts[1]);
        assert!(
            jsonwebtoken::crypto::verify(parts[2], msg.as_bytes(), &pubkey, Algorithm::RS256)
                .unwrap()
        );
        // A tampered message must not verify (the check above can fail).
        assert!(
            !jsonwebtoken::crypto::verify(parts[2], b"x.y", &pubkey, Algorithm::RS256).unwrap()
        );
    }

    const EXPECT: &str = r#"{"iss":"svc@project.iam.gserviceaccount.com","scope":"https://mail.google.com/","sub":"user@example.com","aud":"http://127.0.0.1:9/token","iat":1700000000,"exp":1700000300}"#;

    #[test]
    fn pkcs8_key_claims_and_signature() {
        check(&sign_service_jwt(&cfg(KEY), 1_700_000_000).unwrap(), EXPECT);
    }

    #[test]
    fn pkcs1_key() {
        check(
            &sign_service_jwt(&cfg(KEY_PKCS1), 1_700_000_000).unwrap(),
            EXPECT,
        );
    }

    #[test]
    fn encrypted_pkcs8_key_with_passphrase() {
        let mut c = cfg(KEY_ENC);
        c.private_key_passphrase = Some("test-passphrase".into());
        check(&sign_service_jwt(&c, 1_700_000_000).unwrap(), EXPECT);
        c.private_key_passphrase = Some("wrong".into());
        let e = sign_service_jwt(&c, 1_700_000_000).unwrap_err();
        assert_eq!(e.code, "EOAUTH2");
        assert_eq!(e.message, "Can't generate token. Check your auth options");
        c.private_key_passphrase = None;
        assert_eq!(
            sign_service_jwt(&c, 1).unwrap_err().message,
            "Can't generate token. Check your auth options"
        );
    }

    #[test]
    fn custom_scope_and_timeout() {
        let mut c = cfg(KEY);
        c.scope = Some("s1 s2".into());
        c.service_request_timeout = Some(7200);
        check(
            &sign_service_jwt(&c, 10).unwrap(),
            r#"{"iss":"svc@project.iam.gserviceaccount.com","scope":"s1 s2","sub":"user@example.com","aud":"http://127.0.0.1:9/token","iat":10,"exp":3610}"#,
        );
    }

    #[test]
    fn bad_key_is_generic_error_without_key_bytes() {
        let c = cfg("-----BEGIN PRIVATE KEY-----\nbm90YWtleQ==\n-----END PRIVATE KEY-----\n");
        let e = sign_service_jwt(&c, 1).unwrap_err();
        assert_eq!(e.code, "EOAUTH2");
        assert_eq!(e.message, SIGN_ERROR);
    }
}
