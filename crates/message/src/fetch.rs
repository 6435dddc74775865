//! `href` content: fetched over HTTP(S) while the message streams (nodemailer's `nmfetch`), so a
//! big remote file never sits in memory. Certificates are checked against webpki-roots, or the
//! part's own `tls.ca`; `tls.rejectUnauthorized: false` is the only way to skip the check.

use std::io;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use mailer_tls::{TlsConfigError, TlsSettings};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};

/// nodemailer's limits (`lib/fetch/index.js`): 5 redirects, 60 s without data, 2 min per
/// fetch, 64 MiB per body (a body is often buffered whole: jsonTransport, `buffer: true`).
const MAX_REDIRECTS: usize = 5;
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_TIME: Duration = Duration::from_secs(120);
pub(crate) const MAX_BYTES: u64 = 64 * 1024 * 1024;
const UA: &str = concat!("mailer-rs/", env!("CARGO_PKG_VERSION"));

/// A fetch failure, carried inside the `io::Error` the body stream yields, so the binding can
/// give it nodemailer's code (`e.get_ref().and_then(|r| r.downcast_ref::<FetchError>())`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    /// "EFETCH"
    pub code: &'static str,
    pub message: String,
    /// the URL without its userinfo
    pub source_url: String,
}

/// The code of a body read error: a fetch error keeps its own (EFETCH); a file that cannot be
/// opened is EFILEACCESS (its node code is the text before the first ':'); anything else ESTREAM.
pub fn io_error_code(e: &io::Error) -> &'static str {
    if let Some(f) = e.get_ref().and_then(|r| r.downcast_ref::<FetchError>()) {
        return f.code;
    }
    let text = e.to_string();
    if ["ENOENT", "EACCES", "EISDIR"]
        .iter()
        .any(|p| text.starts_with(p))
    {
        "EFILEACCESS"
    } else {
        "ESTREAM"
    }
}

/// What to fetch and how (`href`, `httpHeaders`, `tls`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UrlRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// PEM certificates that replace the default roots (node's `tls.ca`)
    pub ca: Vec<String>,
    pub reject_unauthorized: bool,
}

/// Removes userinfo from a URL (never put credentials in an error message).
pub(crate) fn redact_url(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..auth_end].rfind('@') {
            return format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]);
        }
    }
    url.to_string()
}

fn fail(url: &str, message: impl Into<String>) -> io::Error {
    io::Error::other(FetchError {
        code: "EFETCH",
        message: message.into(),
        source_url: redact_url(url),
    })
}

/// Our messages for the shared builder's errors (no client certificate is used here).
fn tls_config_error(e: TlsConfigError) -> String {
    match e {
        TlsConfigError::CaPem(_) => "Invalid PEM in tls.ca",
        TlsConfigError::CaCertificate(_) => "Invalid certificate in tls.ca",
        TlsConfigError::NoCaCertificate => "No certificate found in tls.ca",
        _ => "TLS configuration failed",
    }
    .to_string()
}

fn client(req: &UrlRequest) -> Result<reqwest::Client, String> {
    // reqwest's rustls-no-provider build needs a process default
    mailer_tls::install_default_provider();
    // Cached: building a config parses every webpki root; a clone shares them (reqwest takes
    // the config by value).
    let tls = mailer_tls::cached_client_config(&TlsSettings {
        reject_unauthorized: req.reject_unauthorized,
        ca: req.ca.clone(),
        // node's https `ca` replaces the default roots
        ca_replaces_roots: true,
        min_version: None,
        client_cert: None,
        skip_hostname: false,
    })
    .map_err(tls_config_error)?
    .as_ref()
    .clone();
    let mut headers = HeaderMap::new();
    headers.insert(USER_AGENT, HeaderValue::from_static(UA));
    for (k, v) in &req.headers {
        // header values are not echoed: httpHeaders often carry an Authorization secret
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("Invalid HTTP header name {k:?}"))?;
        let mut value =
            HeaderValue::from_str(v).map_err(|_| format!("Invalid value for HTTP header {k:?}"))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .default_headers(headers)
        .read_timeout(IDLE_TIMEOUT)
        .timeout(MAX_TIME)
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        // HTTP_PROXY/HTTPS_PROXY are not honoured, as in nodemailer: the request carries the
        // part's httpHeaders (often an Authorization secret) and goes where the URL says.
        .no_proxy()
        .build()
        .map_err(|_| "HTTP client configuration failed".to_string())
}

/// Message of a reqwest error without the URL (it may carry credentials) and with its cause.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = if e.is_timeout() {
        "Request Timeout".to_string()
    } else if e.is_redirect() {
        "Maximum redirect count exceeded".to_string()
    } else {
        e.to_string()
    };
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

async fn fetch(req: &UrlRequest) -> io::Result<reqwest::Response> {
    let url = req.url.trim();
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(fail(
            url,
            format!("Unsupported protocol for URL {}", redact_url(url)),
        ));
    }
    let client = client(req).map_err(|m| fail(url, m))?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| fail(url, describe(e)))?;
    let status = resp.status().as_u16();
    if status >= 300 {
        return Err(fail(url, format!("Invalid status code {status}")));
    }
    Ok(resp)
}

enum St {
    Start(UrlRequest),
    /// the response, its URL and the bytes received so far
    Body(reqwest::Response, String, u64),
    Done,
}

async fn next_chunk(
    mut resp: reqwest::Response,
    url: String,
    received: u64,
) -> Option<(io::Result<Bytes>, St)> {
    match resp.chunk().await {
        Ok(Some(b)) => {
            let received = received.saturating_add(b.len() as u64);
            if received > MAX_BYTES {
                // dropping the response closes the connection: nothing more is read
                let msg = format!("Response size exceeds the allowed {MAX_BYTES} bytes");
                return Some((Err(fail(&url, msg)), St::Done));
            }
            Some((Ok(b), St::Body(resp, url, received)))
        }
        Ok(None) => None,
        Err(e) => Some((Err(fail(&url, describe(e))), St::Done)),
    }
}

/// The response body as a stream of chunks; the request is sent when it is first polled.
pub(crate) fn url_stream(req: UrlRequest) -> Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>> {
    Box::pin(futures_util::stream::unfold(
        St::Start(req),
        |st| async move {
            match st {
                St::Start(req) => match fetch(&req).await {
                    Ok(resp) => match resp.content_length().filter(|n| *n > MAX_BYTES) {
                        // announced too big: refused before any of it is read
                        Some(_) => {
                            let msg =
                                format!("Response size exceeds the allowed {MAX_BYTES} bytes");
                            Some((Err(fail(&req.url, msg)), St::Done))
                        }
                        None => next_chunk(resp, req.url, 0).await,
                    },
                    Err(e) => Some((Err(e), St::Done)),
                },
                St::Body(resp, url, received) => next_chunk(resp, url, received).await,
                St::Done => None,
            }
        },
    ))
}

/// A POST whose whole response is read, as nodemailer's fetch sends createTestAccount's request
/// (lib/nodemailer.js): the given content type, a status of 300 or more is an error, redirects
/// and timeouts as for `href`. Certificates are always checked. The response is bounded.
pub async fn post(
    req: &UrlRequest,
    content_type: &str,
    body: Vec<u8>,
) -> Result<Vec<u8>, FetchError> {
    const MAX_RESPONSE: usize = 1 << 20;
    let url = req.url.trim();
    let err = |m: String| FetchError {
        code: "EFETCH",
        message: m,
        source_url: redact_url(url),
    };
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(err(format!(
            "Unsupported protocol for URL {}",
            redact_url(url)
        )));
    }
    let client = client(req).map_err(err)?;
    let mut resp = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .map_err(|e| err(describe(e)))?;
    let status = resp.status().as_u16();
    if status >= 300 {
        return Err(err(format!("Invalid status code {status}")));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| err(describe(e)))? {
        if out.len() + chunk.len() > MAX_RESPONSE {
            return Err(err("Response too large".to_string()));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Fetches a whole body (jsonTransport resolves all content before writing it).
pub(crate) async fn fetch_body(req: UrlRequest) -> io::Result<Vec<u8>> {
    let mut s = url_stream(req);
    let mut out = Vec::new();
    while let Some(chunk) = std::future::poll_fn(|cx| s.as_mut().poll_next(cx)).await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn io_error_codes() {
        let fetch = FetchError {
            code: "EFETCH",
            message: "Response status code 404".into(),
            source_url: "http://127.0.0.1/".into(),
        };
        assert_eq!(io_error_code(&io::Error::other(fetch)), "EFETCH");
        let open = io::Error::other("ENOENT: no such file or directory, open '/x'");
        assert_eq!(io_error_code(&open), "EFILEACCESS");
        assert_eq!(io_error_code(&io::Error::other("EISDIR: x")), "EFILEACCESS");
        assert_eq!(io_error_code(&io::Error::other("broken pipe")), "ESTREAM");
    }

    /// One-shot HTTP/1.1 server on loopback: returns its URL and the request it received.
    async fn serve(response: &'static [u8]) -> (String, tokio::task::JoinHandle<String>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let h = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut req = Vec::new();
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            s.write_all(response).await.unwrap();
            s.shutdown().await.ok();
            String::from_utf8_lossy(&req).to_string()
        });
        (format!("http://{addr}/file.txt"), h)
    }

    fn req(url: &str) -> UrlRequest {
        UrlRequest {
            url: url.into(),
            headers: vec![("X-Token".into(), "secret-value".into())],
            ca: vec![],
            reject_unauthorized: true,
        }
    }

    #[tokio::test]
    async fn fetches_with_headers() {
        let (url, h) =
            serve(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world")
                .await;
        let body = fetch_body(req(&url)).await.unwrap();
        assert_eq!(body, b"hello world");
        let seen = h.await.unwrap().to_lowercase();
        assert!(seen.starts_with("get /file.txt http/1.1\r\n"), "{seen}");
        assert!(seen.contains("\r\nx-token: secret-value\r\n"), "{seen}");
        assert!(seen.contains("\r\nuser-agent: mailer-rs/"), "{seen}");
    }

    #[tokio::test]
    async fn posts_a_body_and_reads_the_answer() {
        let (url, h) =
            serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}").await;
        let out = post(&req(&url), "application/json", b"{\"a\":1}".to_vec())
            .await
            .unwrap();
        assert_eq!(out, b"{}");
        let seen = h.await.unwrap().to_lowercase();
        assert!(seen.starts_with("post /file.txt http/1.1\r\n"), "{seen}");
        assert!(
            seen.contains("\r\ncontent-type: application/json\r\n"),
            "{seen}"
        );
        let (url, _h) =
            serve(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
        let e = post(&req(&url), "application/json", Vec::new())
            .await
            .unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("EFETCH", "Invalid status code 500")
        );
    }

    #[test]
    fn tls_ca_errors() {
        let with_ca = |ca: &str| UrlRequest {
            ca: vec![ca.into()],
            ..req("https://localhost/")
        };
        let msg = |r: &UrlRequest| client(r).err();
        assert_eq!(msg(&req("https://localhost/")), None);
        assert_eq!(
            msg(&with_ca("not a pem")).as_deref(),
            Some("No certificate found in tls.ca")
        );
        assert_eq!(
            msg(&with_ca(
                "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"
            ))
            .as_deref(),
            Some("Invalid PEM in tls.ca")
        );
        assert_eq!(
            msg(&with_ca(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            ))
            .as_deref(),
            Some("Invalid certificate in tls.ca")
        );
        // tls.rejectUnauthorized: false reads no CA
        let r = UrlRequest {
            reject_unauthorized: false,
            ..with_ca("not a pem")
        };
        assert_eq!(msg(&r), None);
    }

    /// The [`FetchError`] a failed fetch of `url` carries.
    async fn fetch_error(url: &str) -> FetchError {
        let e = fetch_body(req(url)).await.unwrap_err();
        e.get_ref()
            .and_then(|r| r.downcast_ref::<FetchError>())
            .unwrap()
            .clone()
    }

    #[tokio::test]
    async fn status_errors_are_efetch() {
        let (url, _h) =
            serve(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
        let f = fetch_error(&url).await;
        assert_eq!(f.code, "EFETCH");
        assert_eq!(f.message, "Invalid status code 404");
    }

    #[tokio::test]
    async fn an_announced_body_over_64_mib_is_refused_unread() {
        let (url, _h) =
            serve(b"HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\nConnection: close\r\n\r\nabc")
                .await;
        let f = fetch_error(&url).await;
        assert_eq!(f.code, "EFETCH");
        assert_eq!(
            f.message,
            "Response size exceeds the allowed 67108864 bytes"
        );
    }

    #[tokio::test]
    async fn other_schemes_are_refused_and_credentials_redacted() {
        let e = fetch_body(req("ftp://user:pw@example.com/x"))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unsupported protocol for URL ftp://example.com/x"
        );
        assert_eq!(
            redact_url("https://u:p@h.example/a@b"),
            "https://h.example/a@b"
        );
    }
}
