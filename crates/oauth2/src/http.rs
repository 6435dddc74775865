//! Token endpoint HTTP: client (rustls + ring), POST, response parsing (the form body is `form`).

use std::time::Duration;

use mailer_tls::{TlsConfigError, TlsSettings};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, USER_AGENT};
use serde_json::Value;

use crate::redact::{shorten, truncate, Redactor};
use crate::{OAuth2Config, OAuth2Error};

/// Largest token response read; a token reply is a few KB, this bounds memory on a bad endpoint.
const MAX_BODY: usize = 1024 * 1024;
/// How much of an unparseable body goes into an error message (after redaction).
const BODY_SNIPPET: usize = 200;

const UA: &str = concat!("mailer-rs/", env!("CARGO_PKG_VERSION"));

/// Request headers: content-type, user-agent, then customHeaders (which may override).
/// Errors name the header but never print its value (it may be an Authorization secret).
pub(crate) fn build_headers(custom: &[(String, String)]) -> Result<HeaderMap, OAuth2Error> {
    let mut h = HeaderMap::new();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    h.insert(USER_AGENT, HeaderValue::from_static(UA));
    for (k, v) in custom {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| OAuth2Error::config(format!("Invalid custom header name {k:?}")))?;
        let mut value = HeaderValue::from_str(v)
            .map_err(|_| OAuth2Error::config(format!("Invalid value for custom header {k:?}")))?;
        value.set_sensitive(true);
        h.insert(name, value);
    }
    Ok(h)
}

/// Our messages for the shared builder's errors (no client certificate is used here).
fn tls_config_error(e: TlsConfigError) -> OAuth2Error {
    OAuth2Error::config(match e {
        TlsConfigError::CaPem(_) => "Invalid PEM in tls.ca",
        TlsConfigError::CaCertificate(_) => "Invalid certificate in tls.ca",
        TlsConfigError::NoCaCertificate => "No certificate found in tls.ca",
        _ => "TLS configuration failed",
    })
}

/// Root store: `tls_ca` PEMs when given (they replace the defaults, as node's `ca`), else webpki-roots.
pub(crate) fn root_store(ca: &[String]) -> Result<rustls::RootCertStore, OAuth2Error> {
    mailer_tls::root_store(ca, true).map_err(tls_config_error)
}

pub(crate) fn build_client(cfg: &OAuth2Config) -> Result<reqwest::Client, OAuth2Error> {
    // reqwest's rustls-no-provider build panics without a process default (toolchain gotcha 1).
    mailer_tls::install_default_provider();
    let tls = mailer_tls::client_config(&TlsSettings {
        reject_unauthorized: cfg.tls_reject_unauthorized,
        ca: cfg.tls_ca.clone(),
        // node's https `ca` replaces the default roots
        ca_replaces_roots: true,
        min_version: None,
        client_cert: None,
        skip_hostname: false,
    })
    .map_err(tls_config_error)?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(cfg.request_timeout_or_default())
        .redirect(redirect_policy())
        // nodemailer's fetch ignores HTTP(S)_PROXY; so do we.
        .no_proxy()
        .build()
        .map_err(|_| OAuth2Error::config("Could not create the HTTP client"))
}

/// Redirects followed per token request, as nodemailer's lib/fetch/index.js.
const MAX_REDIRECTS: usize = 5;

/// Whether a token request may follow a redirect to `next`; `previous` starts with the URL first
/// asked. Only redirects within that URL's origin (scheme, host, port) are followed: the form body
/// carries the client secret and the refresh token (or the signed assertion) and custom headers
/// may carry an API key, so a 307/308 elsewhere would re-post them to whoever `Location` names
/// (in clear text after https -> http), and even a 301-303, turned into a GET without the body,
/// would carry the headers along. nodemailer follows every redirect as a bodyless GET, headers
/// (but `Authorization`/`Cookie`) included.
fn redirect_allowed(previous: &[reqwest::Url], next: &reqwest::Url) -> Result<(), String> {
    if previous.len() > MAX_REDIRECTS {
        return Err("Maximum redirect count exceeded".to_string());
    }
    let Some(first) = previous.first() else {
        return Err("Redirect without a request".to_string());
    };
    let same_origin = first.scheme() == next.scheme()
        && first.host_str() == next.host_str()
        && first.port_or_known_default() == next.port_or_known_default();
    if same_origin {
        return Ok(());
    }
    // The origin only: a path or query could carry something the endpoint wanted to keep.
    let origin = next.origin().ascii_serialization();
    Err(format!(
        "the token endpoint redirected to another origin ({origin}); not followed, the request carries credentials"
    ))
}

fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        match redirect_allowed(attempt.previous(), attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(why) => attempt.error(why),
        }
    })
}

/// "outer: inner: innermost" from an error and its sources.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let m = s.to_string();
        if parts.last() != Some(&m) {
            parts.push(m);
        }
        cur = s.source();
    }
    parts.join(": ")
}

fn fetch_error(e: reqwest::Error, timeout: Duration) -> OAuth2Error {
    if e.is_timeout() {
        return OAuth2Error::new(
            OAuth2Error::ETIMEDOUT,
            format!("Token request timed out after {} ms", timeout.as_millis()),
        );
    }
    // without_url: the URL is user configuration and may carry query secrets.
    let e = e.without_url();
    OAuth2Error::new(
        OAuth2Error::EFETCH,
        format!("Token request failed: {}", chain(&e)),
    )
}

/// POSTs the form body; returns status and body whatever the status (nodemailer's allowErrorResponse).
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &str,
    headers: HeaderMap,
    body: String,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), OAuth2Error> {
    let url = reqwest::Url::parse(url)
        .map_err(|_| OAuth2Error::new(OAuth2Error::EFETCH, "Invalid token endpoint URL"))?;
    let mut resp = client
        .post(url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|e| fetch_error(e, timeout))?;
    let status = resp.status().as_u16();
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| fetch_error(e, timeout))? {
        if out.len() + chunk.len() > MAX_BODY {
            return Err(
                OAuth2Error::oauth(format!("Token response too large (HTTP {status})"))
                    .with_status(status),
            );
        }
        out.extend_from_slice(&chunk);
    }
    Ok((status, out))
}

/// A successful token response.
#[derive(Debug, PartialEq)]
pub(crate) struct Granted {
    pub access_token: String,
    /// Seconds; 0 = not given.
    pub expires_in: u64,
    /// Rotated refresh token, if the server sent one.
    pub refresh_token: Option<String>,
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null | Value::Bool(false) => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn seconds(v: Option<&Value>) -> u64 {
    let n = match v {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        // Some endpoints (older Azure AD) send `"expires_in": "3599"`; JS Number() accepts it.
        Some(Value::String(s)) => s.trim().parse::<f64>().unwrap_or(0.0),
        _ => 0.0,
    };
    if n.is_finite() && n > 0.0 {
        // Capped far beyond any real TTL, so the cast cannot saturate surprisingly.
        n.min(1e12) as u64
    } else {
        0
    }
}

/// The response as a debug line: token-like fields shortened, then every known secret redacted.
pub(crate) fn response_log(status: u16, body: &[u8], redactor: &Redactor) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            for key in ["access_token", "refresh_token", "id_token"] {
                if let Some(v) = map.get_mut(key) {
                    if let Some(t) = value_text(v) {
                        *v = Value::String(shorten(&t));
                    }
                }
            }
            Value::Object(map).to_string()
        }
        _ => truncate(&String::from_utf8_lossy(body), BODY_SNIPPET),
    };
    format!("Response (HTTP {status}): {}", redactor.redact(&text))
}

/// nodemailer's response handling (HTTP status ignored), with clearer messages for bad bodies.
pub(crate) fn parse_response(
    status: u16,
    body: &[u8],
    redactor: &Redactor,
) -> Result<Granted, OAuth2Error> {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        return Err(
            OAuth2Error::oauth(format!("Empty token response (HTTP {status})")).with_status(status),
        );
    }
    let data: Value = serde_json::from_str(&text).map_err(|_| {
        // Redact before truncating, so a cut can't leave part of a secret unrecognised.
        let snippet = truncate(&redactor.redact(text.trim()), BODY_SNIPPET);
        OAuth2Error::oauth(format!(
            "Invalid JSON in token response (HTTP {status}): {snippet}"
        ))
        .with_status(status)
    })?;
    let Value::Object(map) = data else {
        return Err(OAuth2Error::oauth("Invalid authentication response").with_status(status));
    };
    if let Some(error) = map.get("error").and_then(value_text) {
        let error = redactor.redact(&error);
        let description = map
            .get("error_description")
            .and_then(value_text)
            .map(|d| redactor.redact(&d));
        let mut message = error.clone();
        if let Some(d) = &description {
            message.push_str(": ");
            message.push_str(d);
        }
        if let Some(uri) = map.get("error_uri").and_then(value_text) {
            message.push_str(&format!(" ({})", redactor.redact(&uri)));
        }
        let mut e = OAuth2Error::oauth(message).with_status(status);
        e.error = Some(error);
        e.error_description = description;
        return Err(e);
    }
    if let Some(access_token) = map.get("access_token").and_then(value_text) {
        return Ok(Granted {
            access_token,
            expires_in: seconds(map.get("expires_in")),
            refresh_token: map.get("refresh_token").and_then(value_text),
        });
    }
    Err(OAuth2Error::oauth("No access token").with_status(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_within_the_origin() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        let start = [u("https://login.example/oauth2/token?x=1")];
        assert!(redirect_allowed(&start, &u("https://login.example/v2/token")).is_ok());
        assert!(redirect_allowed(&start, &u("https://login.example:443/t")).is_ok());
        for other in [
            "http://login.example/oauth2/token", // https -> http
            "https://evil.example/oauth2/token", // another host
            "https://login.example:8443/token",  // another port
            "https://sub.login.example/token",   // a subdomain is another origin
        ] {
            let e = redirect_allowed(&start, &u(other)).unwrap_err();
            assert!(e.contains("another origin"), "{other}: {e}");
            assert!(!e.contains("/token") && !e.contains("x=1"), "{e}");
        }
        // Judged against the first URL, not the last hop.
        let chain = [u("http://127.0.0.1:1/a"), u("http://127.0.0.1:1/b")];
        assert!(redirect_allowed(&chain, &u("http://127.0.0.1:1/c")).is_ok());
        assert!(redirect_allowed(&chain, &u("http://127.0.0.1:2/c")).is_err());
        // At most five redirects.
        let six: Vec<_> = (0..6)
            .map(|i| u(&format!("http://127.0.0.1:1/{i}")))
            .collect();
        assert!(redirect_allowed(&six[..5], &u("http://127.0.0.1:1/x")).is_ok());
        assert_eq!(
            redirect_allowed(&six, &u("http://127.0.0.1:1/x")).unwrap_err(),
            "Maximum redirect count exceeded"
        );
    }

    fn redactor() -> Redactor {
        let mut r = Redactor::default();
        r.add(Some("client-secret-XYZ"));
        r.add(Some("1/refresh-token-XYZ"));
        r
    }

    #[test]
    fn headers_custom_override_and_errors_hide_values() {
        let h = build_headers(&[
            ("X-Extra".into(), "1".into()),
            ("User-Agent".into(), "custom".into()),
        ])
        .unwrap();
        assert_eq!(h.get("x-extra").unwrap(), "1");
        assert_eq!(h.get("user-agent").unwrap(), "custom");
        assert_eq!(
            h.get("content-type").unwrap(),
            "application/x-www-form-urlencoded"
        );
        let e = build_headers(&[("Authorization".into(), "Bearer sec\nret".into())]).unwrap_err();
        assert_eq!(e.code, "ECONFIG");
        assert_eq!(
            e.message,
            "Invalid value for custom header \"Authorization\""
        );
        let e = build_headers(&[("bad name".into(), "v".into())]).unwrap_err();
        assert_eq!(e.message, "Invalid custom header name \"bad name\"");
    }

    use mailer_tls::test_util::CA;

    #[test]
    fn root_store_rules() {
        assert_eq!(
            root_store(&[]).unwrap().len(),
            webpki_roots::TLS_SERVER_ROOTS.len()
        );
        // tls.ca replaces the default roots
        assert_eq!(root_store(&[CA.into()]).unwrap().len(), 1);
        let e = root_store(&["not a pem".into()]).unwrap_err();
        assert_eq!(e.code, "ECONFIG");
        assert_eq!(e.message, "No certificate found in tls.ca");
        let e =
            root_store(&["-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".into()])
                .unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("ECONFIG", "Invalid PEM in tls.ca")
        );
        let e =
            root_store(&["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into()])
                .unwrap_err();
        assert_eq!(e.message, "Invalid certificate in tls.ca");
    }

    #[test]
    fn client_builds_and_reports_bad_ca() {
        let mut cfg = OAuth2Config::default();
        assert!(build_client(&cfg).is_ok());
        cfg.tls_ca = vec!["not a pem".into()];
        let e = build_client(&cfg).unwrap_err();
        assert_eq!(e.message, "No certificate found in tls.ca");
        // not read when nothing is verified
        cfg.tls_reject_unauthorized = false;
        assert!(build_client(&cfg).is_ok());
    }

    #[test]
    fn parse_success_with_rotation() {
        let g = parse_response(
            200,
            br#"{"access_token":"at1","expires_in":3600,"refresh_token":"rt2"}"#,
            &redactor(),
        )
        .unwrap();
        assert_eq!(
            g,
            Granted {
                access_token: "at1".into(),
                expires_in: 3600,
                refresh_token: Some("rt2".into())
            }
        );
        let g = parse_response(
            200,
            br#"{"access_token":"at1","expires_in":"99"}"#,
            &redactor(),
        )
        .unwrap();
        assert_eq!((g.expires_in, g.refresh_token), (99, None));
        let g = parse_response(200, br#"{"access_token":"at1"}"#, &redactor()).unwrap();
        assert_eq!(g.expires_in, 0);
    }

    #[test]
    fn parse_oauth_error_any_status() {
        let e = parse_response(
            400,
            br#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
            &redactor(),
        )
        .unwrap_err();
        assert_eq!(e.code, "EOAUTH2");
        assert_eq!(
            e.message,
            "invalid_grant: Token has been expired or revoked."
        );
        assert_eq!(e.status, Some(400));
        assert_eq!(e.error.as_deref(), Some("invalid_grant"));
        assert_eq!(
            e.error_description.as_deref(),
            Some("Token has been expired or revoked.")
        );
        let e = parse_response(
            200,
            br#"{"error":"invalid_client","error_uri":"https://x/y"}"#,
            &redactor(),
        )
        .unwrap_err();
        assert_eq!(e.message, "invalid_client (https://x/y)");
    }

    #[test]
    fn parse_bad_bodies() {
        let e = parse_response(
            500,
            b"<html><body>Internal error</body></html>",
            &redactor(),
        )
        .unwrap_err();
        assert_eq!(e.code, "EOAUTH2");
        assert_eq!(e.status, Some(500));
        assert_eq!(
            e.message,
            "Invalid JSON in token response (HTTP 500): <html><body>Internal error</body></html>"
        );
        let e = parse_response(502, b"  ", &redactor()).unwrap_err();
        assert_eq!(e.message, "Empty token response (HTTP 502)");
        let e = parse_response(200, b"[1,2]", &redactor()).unwrap_err();
        assert_eq!(e.message, "Invalid authentication response");
        let e = parse_response(200, b"{\"foo\":1}", &redactor()).unwrap_err();
        assert_eq!(e.message, "No access token");
        let long = "x".repeat(500);
        let e = parse_response(200, long.as_bytes(), &redactor()).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "Invalid JSON in token response (HTTP 200): {}...",
                "x".repeat(200)
            )
        );
    }

    #[test]
    fn echoed_secrets_are_redacted() {
        let body =
            b"bad request: client_secret=client-secret-XYZ&refresh_token=1%2Frefresh-token-XYZ";
        let e = parse_response(400, body, &redactor()).unwrap_err();
        assert!(!e.message.contains("client-secret-XYZ"), "{}", e.message);
        assert!(!e.message.contains("refresh-token-XYZ"), "{}", e.message);
        assert!(e.message.contains("client..."), "{}", e.message);
        let e = parse_response(
            400,
            br#"{"error":"bad","error_description":"got 1/refresh-token-XYZ"}"#,
            &redactor(),
        )
        .unwrap_err();
        assert_eq!(e.message, "bad: got 1/refr...");
        let line = response_log(
            200,
            br#"{"access_token":"ya29.secret-access","expires_in":5,"refresh_token":"1/refresh-token-NEW"}"#,
            &redactor(),
        );
        assert_eq!(
            line,
            r#"Response (HTTP 200): {"access_token":"ya29.s...","expires_in":5,"refresh_token":"1/refr..."}"#
        );
    }
}
