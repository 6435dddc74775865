use super::*;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CLIENT_SECRET: &str = "client-secret-SENTINEL-1";
const REFRESH: &str = "1/refresh-token-SENTINEL-2";
const ROTATED: &str = "1/rotated-refresh-SENTINEL-3";
const PASSPHRASE: &str = "test-passphrase";
const KEY: &str = include_str!("../../tests/fixtures/test-key.pem");
const KEY_ENC: &str = include_str!("../../tests/fixtures/test-key.enc.pem");
const PUB: &str = include_str!("../../tests/fixtures/test-key.pub.pem");

/// One recorded request: head (request line + headers, lower-cased names) and body.
#[derive(Clone, Debug)]
struct Req {
    head: String,
    body: String,
}

type Responder = Arc<dyn Fn(usize, &Req) -> (u16, String, Duration) + Send + Sync>;

/// Tiny HTTP/1.1 server: one request per connection, answers with `Connection: close`.
struct TestServer {
    url: String,
    count: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Req>>>,
}

impl TestServer {
    async fn start(responder: Responder) -> Self {
        Self::start_with(responder, None).await
    }

    /// `tls`: serve HTTPS with this acceptor (URL host `localhost`, as the test cert's SAN).
    async fn start_with(responder: Responder, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = match tls {
            Some(_) => format!("https://localhost:{port}/token"),
            None => format!("http://127.0.0.1:{port}/token"),
        };
        let count = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (c, r) = (count.clone(), requests.clone());
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (c, r, responder, tls) = (c.clone(), r.clone(), responder.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            // A client that rejects our certificate aborts the handshake.
                            if let Ok(s) = acceptor.accept(sock).await {
                                serve(s, c, r, responder).await;
                            }
                        }
                        None => serve(sock, c, r, responder).await,
                    }
                });
            }
        });
        Self {
            url,
            count,
            requests,
        }
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    fn bodies(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.body.clone())
            .collect()
    }
}

async fn serve<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut sock: S,
    c: Arc<AtomicUsize>,
    r: Arc<Mutex<Vec<Req>>>,
    responder: Responder,
) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut tmp).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    let req = Req {
        head: head.to_ascii_lowercase(),
        body: String::from_utf8(body).unwrap(),
    };
    let idx = c.fetch_add(1, Ordering::SeqCst);
    r.lock().unwrap().push(req.clone());
    let (status, resp_body, delay) = responder(idx, &req);
    tokio::time::sleep(delay).await;
    let resp = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{resp_body}",
        resp_body.len()
    );
    let _ = sock.write_all(resp.as_bytes()).await;
    let _ = sock.shutdown().await;
}

fn fixed(status: u16, body: &str, delay_ms: u64) -> Responder {
    let body = body.to_string();
    Arc::new(move |_, _| (status, body.clone(), Duration::from_millis(delay_ms)))
}

fn cfg3(url: &str) -> OAuth2Config {
    OAuth2Config {
        user: "user@example.com".into(),
        client_id: Some("cid".into()),
        client_secret: Some(CLIENT_SECRET.into()),
        refresh_token: Some(REFRESH.into()),
        access_url: Some(url.into()),
        ..Default::default()
    }
}

/// Collects events and log lines.
#[derive(Default, Clone)]
struct Sinks {
    events: Arc<Mutex<Vec<TokenEvent>>>,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Sinks {
    fn events(&self) -> EventSink {
        let ev = self.events.clone();
        Arc::new(move |e| {
            let ev = ev.clone();
            async move { ev.lock().unwrap().push(e) }.boxed()
        })
    }
    fn log(&self) -> LogFn {
        let logs = self.logs.clone();
        Arc::new(move |l| logs.lock().unwrap().push(l))
    }
}

fn manager(cfg: OAuth2Config, s: &Sinks) -> Arc<TokenManager> {
    TokenManager::new(cfg, Some(s.events()), Some(s.log())).unwrap()
}

/// A manager without event sink or logger.
fn plain(cfg: OAuth2Config) -> Arc<TokenManager> {
    TokenManager::new(cfg, None, None).unwrap()
}

/// The error a manager for `cfg` is refused with.
fn refused(cfg: OAuth2Config) -> OAuth2Error {
    TokenManager::new(cfg, None, None).err().unwrap()
}

/// A service-account configuration (`serviceClient` "svc").
fn service(user: &str, private_key: Option<&str>) -> OAuth2Config {
    OAuth2Config {
        user: user.into(),
        service_client: Some("svc".into()),
        private_key: private_key.map(Into::into),
        ..Default::default()
    }
}

const OK_BODY: &str = r#"{"access_token":"fresh-token-1","expires_in":3600,"token_type":"Bearer"}"#;

#[tokio::test]
async fn three_legged_refresh_exact_request_and_cache() {
    let srv = TestServer::start(fixed(200, OK_BODY, 0)).await;
    let mut cfg = cfg3(&srv.url);
    cfg.custom_headers = vec![("X-Custom".into(), "hdr".into())];
    let s = Sinks::default();
    let m = manager(cfg, &s);
    let before = now_ms();
    assert_eq!(m.get_token(false, None).await.unwrap(), "fresh-token-1");
    let after = now_ms();
    assert_eq!(srv.count(), 1);
    let req = srv.requests.lock().unwrap()[0].clone();
    assert!(
        req.head.starts_with("post /token http/1.1\r\n"),
        "{}",
        req.head
    );
    assert!(req
        .head
        .contains("content-type: application/x-www-form-urlencoded"));
    assert!(req.head.contains("x-custom: hdr"));
    assert_eq!(
        req.body,
        "client_id=cid&client_secret=client-secret-SENTINEL-1&refresh_token=1%2Frefresh-token-SENTINEL-2&grant_type=refresh_token"
    );
    let (tok, exp) = m.cached().unwrap();
    assert_eq!(tok, "fresh-token-1");
    assert!(exp >= before + 3_600_000 && exp <= after + 3_600_000);
    {
        let ev = s.events.lock().unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].user, "user@example.com");
        assert_eq!(ev[0].access_token, "fresh-token-1");
        assert_eq!(ev[0].expires, exp);
    }
    // Cached: no new request.
    assert_eq!(m.get_token(false, None).await.unwrap(), "fresh-token-1");
    assert_eq!(srv.count(), 1);
    // renew=true always fetches.
    assert_eq!(m.get_token(true, None).await.unwrap(), "fresh-token-1");
    assert_eq!(srv.count(), 2);
    assert_eq!(s.events.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn custom_params_override_in_place_and_append() {
    let srv = TestServer::start(fixed(200, OK_BODY, 0)).await;
    let mut cfg = cfg3(&srv.url);
    cfg.custom_params = vec![
        ("grant_type".into(), "other".into()),
        ("scope".into(), " a b ".into()),
    ];
    let m = plain(cfg);
    m.get_token(false, None).await.unwrap();
    assert_eq!(
        srv.bodies()[0],
        "client_id=cid&client_secret=client-secret-SENTINEL-1&refresh_token=1%2Frefresh-token-SENTINEL-2&grant_type=other&scope=a%20b"
    );
}

#[tokio::test]
async fn supplied_token_cache_rules() {
    let srv = TestServer::start(fixed(200, OK_BODY, 0)).await;
    // Valid supplied token: used, no request.
    let mut cfg = cfg3(&srv.url);
    cfg.access_token = Some("supplied".into());
    cfg.expires = Some(now_ms() + 60_000);
    let m = plain(cfg.clone());
    assert_eq!(m.get_token(false, None).await.unwrap(), "supplied");
    assert_eq!(srv.count(), 0);
    // Expired one millisecond ago: no safety margin the other way either, it refreshes.
    cfg.expires = Some(now_ms() - 1);
    let m = plain(cfg.clone());
    assert_eq!(m.get_token(false, None).await.unwrap(), "fresh-token-1");
    assert_eq!(srv.count(), 1);
    // expires 0 = never expires.
    cfg.expires = Some(0);
    let m = plain(cfg.clone());
    assert_eq!(m.get_token(false, None).await.unwrap(), "supplied");
    // timeout (seconds TTL) gives an expiry.
    cfg.expires = None;
    cfg.timeout = Some(10);
    let now = now_ms();
    let m = plain(cfg);
    let (_, exp) = m.cached().unwrap();
    assert!(exp >= now + 10_000 && exp <= now_ms() + 10_000);
    assert_eq!(srv.count(), 1);
}

#[tokio::test]
async fn a_token_expiring_soon_is_used_until_its_last_millisecond() {
    let srv = TestServer::start(fixed(200, OK_BODY, 0)).await;
    let mut cfg = cfg3(&srv.url);
    cfg.access_token = Some("short".into());
    cfg.expires = Some(now_ms() + 150);
    let m = plain(cfg);
    assert_eq!(m.get_token(false, None).await.unwrap(), "short");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(m.get_token(false, None).await.unwrap(), "fresh-token-1");
    assert_eq!(srv.count(), 1);
}

#[tokio::test]
async fn no_mechanism() {
    let s = Sinks::default();
    let cfg = OAuth2Config {
        user: "u@example.com".into(),
        access_token: Some("stale".into()),
        expires: Some(1),
        ..Default::default()
    };
    let m = manager(cfg, &s);
    // Expired, renew: still the same stale token (nodemailer).
    assert_eq!(m.get_token(true, None).await.unwrap(), "stale");
    assert_eq!(m.get_token(false, None).await.unwrap(), "stale");
    let m = manager(
        OAuth2Config {
            user: "u@example.com".into(),
            ..Default::default()
        },
        &s,
    );
    let e = m.get_token(false, None).await.unwrap_err();
    assert_eq!(e.code, "EOAUTH2");
    assert_eq!(e.message, "Can't create new access token for user");
    assert!(s.events.lock().unwrap().is_empty());
    assert_eq!(
        s.logs.lock().unwrap().last().unwrap(),
        "Cannot renew access token for u@example.com: No refresh mechanism available"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_calls_share_one_refresh() {
    let srv = TestServer::start(Arc::new(|i, _| {
        (
            200,
            format!(r#"{{"access_token":"tok-{i}","expires_in":3600}}"#),
            Duration::from_millis(300),
        )
    }))
    .await;
    let s = Sinks::default();
    let m = manager(cfg3(&srv.url), &s);
    let mut handles = Vec::new();
    for i in 0..100 {
        let m = m.clone();
        handles.push(tokio::spawn(
            async move { m.get_token(i % 2 == 0, None).await },
        ));
    }
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap(), "tok-0");
    }
    assert_eq!(srv.count(), 1);
    assert_eq!(s.events.lock().unwrap().len(), 1);
    // Completed: a later renew starts a new refresh.
    assert_eq!(m.get_token(true, None).await.unwrap(), "tok-1");
    assert_eq!(srv.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_the_error() {
    let srv = TestServer::start(fixed(
        400,
        r#"{"error":"invalid_grant","error_description":"Bad Request"}"#,
        300,
    ))
    .await;
    let m = plain(cfg3(&srv.url));
    let calls = (0..100).map(|i| {
        let m = m.clone();
        async move { m.get_token(i % 3 == 0, None).await }
    });
    let results = futures_util::future::join_all(calls).await;
    for r in results {
        let e = r.unwrap_err();
        assert_eq!(e.code, "EOAUTH2");
        assert_eq!(e.message, "invalid_grant: Bad Request");
        assert_eq!(e.status, Some(400));
    }
    assert_eq!(srv.count(), 1);
}

#[tokio::test]
async fn rotated_refresh_token_is_used_next_time() {
    let srv = TestServer::start(Arc::new(|i, _| {
        let body = if i == 0 {
            format!(r#"{{"access_token":"a0","expires_in":1,"refresh_token":"{ROTATED}"}}"#)
        } else {
            r#"{"access_token":"a1"}"#.to_string()
        };
        (200, body, Duration::ZERO)
    }))
    .await;
    let m = plain(cfg3(&srv.url));
    assert_eq!(m.get_token(false, None).await.unwrap(), "a0");
    assert_eq!(m.get_token(true, None).await.unwrap(), "a1");
    // No expires_in: expires 0 (never).
    assert_eq!(m.cached().unwrap(), ("a1".to_string(), 0));
    let bodies = srv.bodies();
    assert!(bodies[0].contains("refresh_token=1%2Frefresh-token-SENTINEL-2&"));
    assert!(bodies[1].contains("refresh_token=1%2Frotated-refresh-SENTINEL-3&"));
    // A request presenting the configured (pre-rotation) token gets the same manager from the
    // registry, which keeps using the rotated one.
    let srv = TestServer::start(fixed(
        200,
        &format!(r#"{{"access_token":"r","refresh_token":"{ROTATED}"}}"#),
        0,
    ))
    .await;
    let reg = TokenRegistry::new();
    let a = reg.get_or_create(cfg3(&srv.url), None, None).unwrap();
    a.get_token(true, None).await.unwrap();
    let b = reg.get_or_create(cfg3(&srv.url), None, None).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    b.get_token(true, None).await.unwrap();
    let bodies = srv.bodies();
    assert!(bodies[0].contains("refresh_token=1%2Frefresh-token-SENTINEL-2&"));
    assert!(bodies[1].contains("refresh_token=1%2Frotated-refresh-SENTINEL-3&"));
}

#[tokio::test]
async fn token_event_is_awaited_before_get_token_returns() {
    let srv = TestServer::start(fixed(200, OK_BODY, 0)).await;
    let order = Arc::new(Mutex::new(Vec::<String>::new()));
    let o = order.clone();
    let sink: EventSink = Arc::new(move |e: TokenEvent| {
        let o = o.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            o.lock().unwrap().push(format!("event {}", e.access_token));
        }
        .boxed()
    });
    let m = TokenManager::new(cfg3(&srv.url), Some(sink), None).unwrap();
    let t = m.get_token(false, None).await.unwrap();
    order.lock().unwrap().push(format!("returned {t}"));
    assert_eq!(
        *order.lock().unwrap(),
        vec!["event fresh-token-1", "returned fresh-token-1"]
    );
}

#[tokio::test]
async fn provisioner_has_priority_and_emits_no_event() {
    let srv = TestServer::start(fixed(200, OK_BODY, 0)).await;
    let s = Sinks::default();
    let mut cfg = cfg3(&srv.url);
    cfg.has_provisioner = true;
    let m = manager(cfg, &s);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let p: Provisioner = Arc::new(move |user, renew| {
        seen2.lock().unwrap().push((user, renew));
        async move { Ok((format!("prov-{renew}"), 0)) }.boxed()
    });
    assert_eq!(
        m.get_token(false, Some(p.clone())).await.unwrap(),
        "prov-false"
    );
    // Cached with expires 0: reused without calling the provisioner.
    assert_eq!(
        m.get_token(false, Some(p.clone())).await.unwrap(),
        "prov-false"
    );
    assert_eq!(m.get_token(true, Some(p)).await.unwrap(), "prov-true");
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            ("user@example.com".to_string(), false),
            ("user@example.com".to_string(), true)
        ]
    );
    assert_eq!(srv.count(), 0);
    assert!(s.events.lock().unwrap().is_empty());

    // Provisioner errors come back unchanged; an absolute expires in the past means stale.
    let failing: Provisioner =
        Arc::new(|_, _| async { Err(OAuth2Error::new("EPROV", "Unknown user")) }.boxed());
    let e = m.get_token(true, Some(failing)).await.unwrap_err();
    assert_eq!((e.code, e.message.as_str()), ("EPROV", "Unknown user"));
    let ttl_mistake: Provisioner = Arc::new(|_, _| async { Ok(("p".to_string(), 3600)) }.boxed());
    m.get_token(true, Some(ttl_mistake)).await.unwrap();
    assert_eq!(m.cached().unwrap(), ("p".to_string(), 3600));
    // Stale now, so the next non-renew call refreshes over HTTP (no provisioner passed).
    assert_eq!(m.get_token(false, None).await.unwrap(), "fresh-token-1");
    assert_eq!(srv.count(), 1);
}

#[tokio::test]
async fn http_error_mapping() {
    let html = TestServer::start(Arc::new(|_, _| {
        (
            500,
            "<html><body>Server Error</body></html>".to_string(),
            Duration::ZERO,
        )
    }))
    .await;
    let m = plain(cfg3(&html.url));
    let e = m.get_token(false, None).await.unwrap_err();
    assert_eq!(e.code, "EOAUTH2");
    assert_eq!(e.status, Some(500));
    assert_eq!(
        e.message,
        "Invalid JSON in token response (HTTP 500): <html><body>Server Error</body></html>"
    );

    let bad = TestServer::start(fixed(200, "{not json", 0)).await;
    let m = plain(cfg3(&bad.url));
    let e = m.get_token(false, None).await.unwrap_err();
    assert_eq!(
        e.message,
        "Invalid JSON in token response (HTTP 200): {not json"
    );

    let slow = TestServer::start(fixed(200, OK_BODY, 2_000)).await;
    let mut cfg = cfg3(&slow.url);
    cfg.request_timeout = Some(Duration::from_millis(200));
    let m = plain(cfg);
    let e = m.get_token(false, None).await.unwrap_err();
    assert_eq!(e.code, "ETIMEDOUT");
    assert_eq!(e.message, "Token request timed out after 200 ms");

    // A port nobody listens on.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let m = plain(cfg3(&format!("http://127.0.0.1:{port}/t")));
    let e = m.get_token(false, None).await.unwrap_err();
    assert_eq!(e.code, "EFETCH");
    assert!(
        e.message.starts_with("Token request failed: "),
        "{}",
        e.message
    );
    assert!(!e.message.contains("127.0.0.1"), "{}", e.message);
}

#[tokio::test]
async fn service_account_jwt_bearer_request() {
    let srv = TestServer::start(fixed(200, OK_BODY, 0)).await;
    let s = Sinks::default();
    let cfg = OAuth2Config {
        user: "user@example.com".into(),
        service_client: Some("svc@p.iam.gserviceaccount.com".into()),
        private_key: Some(KEY_ENC.into()),
        private_key_passphrase: Some(PASSPHRASE.into()),
        access_url: Some(srv.url.clone()),
        custom_params: vec![("extra".into(), "x".into())],
        ..Default::default()
    };
    let m = manager(cfg, &s);
    let before = now_ms() / 1000;
    assert_eq!(m.get_token(false, None).await.unwrap(), "fresh-token-1");
    let body = srv.bodies()[0].clone();
    let rest = body
        .strip_prefix("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=")
        .unwrap();
    let (jwt, tail) = rest.split_once('&').unwrap();
    assert_eq!(tail, "extra=x");
    let parts: Vec<&str> = jwt.split('.').collect();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    let iat = claims["iat"].as_u64().unwrap();
    assert!(iat >= before && iat <= now_ms() / 1000);
    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 300);
    assert_eq!(claims["iss"], "svc@p.iam.gserviceaccount.com");
    assert_eq!(claims["sub"], "user@example.com");
    assert_eq!(claims["aud"], srv.url.as_str());
    assert_eq!(claims["scope"], "https://mail.google.com/");
    let pubkey = jsonwebtoken::DecodingKey::from_rsa_pem(PUB.as_bytes()).unwrap();
    assert!(jsonwebtoken::crypto::verify(
        parts[2],
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &pubkey,
        jsonwebtoken::Algorithm::RS256
    )
    .unwrap());
    assert_eq!(s.events.lock().unwrap().len(), 1);
    // The log shows claims, not the signed assertion.
    let logs = s.logs.lock().unwrap().join("\n");
    assert!(!logs.contains(jwt), "{logs}");
    assert!(logs.contains(r#""assertion":{"#), "{logs}");
    assert!(logs.contains(r#""sub":"user@example.com""#), "{logs}");
}

#[tokio::test]
async fn service_account_config_errors() {
    let e = refused(service("u@example.com", None));
    assert_eq!(e.code, "ECONFIG");
    assert_eq!(
        e.message,
        "Options \"privateKey\" and \"user\" are required for service account!"
    );
    let e = refused(service("", Some(KEY)));
    assert_eq!(e.code, "ECONFIG");
    // A key that can't be used fails at refresh time with nodemailer's message.
    let m = plain(OAuth2Config {
        access_url: Some("http://127.0.0.1:9/".into()),
        ..service("u@example.com", Some("garbage"))
    });
    let e = m.get_token(false, None).await.unwrap_err();
    assert_eq!(e.code, "EOAUTH2");
    assert_eq!(e.message, "Can't generate token. Check your auth options");
}

#[tokio::test]
async fn secrets_never_in_logs_or_errors() {
    // The server echoes the request body back in every possible place.
    let srv = TestServer::start(Arc::new(|i, req: &Req| {
        let echoed = serde_json::to_string(&req.body).unwrap();
        let body = match i {
            0 => format!("<html>{}</html>", req.body),
            1 => format!(r#"{{"error":"bad","error_description":{echoed},"error_uri":{echoed}}}"#),
            _ => format!(
                r#"{{"access_token":"ya29.access-SENTINEL-4","refresh_token":"{ROTATED}","echo":{echoed}}}"#
            ),
        };
        (400, body, Duration::ZERO)
    }))
    .await;
    let s = Sinks::default();
    let mut cfg = cfg3(&srv.url);
    cfg.custom_params = vec![("client_assertion".into(), "param-SENTINEL-5".into())];
    cfg.custom_headers = vec![("Authorization".into(), "Basic header-SENTINEL-6".into())];
    let m = manager(cfg, &s);
    let mut outputs = Vec::new();
    outputs.push(m.get_token(false, None).await.unwrap_err().to_string());
    let e = m.get_token(false, None).await.unwrap_err();
    outputs.push(e.to_string());
    outputs.push(format!("{:?}", e.error));
    outputs.push(format!("{:?}", e.error_description));
    assert_eq!(
        m.get_token(false, None).await.unwrap(),
        "ya29.access-SENTINEL-4"
    );
    // Next request uses the rotated token; the server echoes it (error path again is i>=2: success).
    m.get_token(true, None).await.unwrap();
    outputs.extend(s.logs.lock().unwrap().iter().cloned());
    assert!(outputs.len() > 8, "{outputs:?}");
    for out in &outputs {
        for secret in [
            "SENTINEL-1",
            "SENTINEL-2",
            "SENTINEL-3",
            "SENTINEL-4",
            "SENTINEL-5",
            "SENTINEL-6",
        ] {
            assert!(!out.contains(secret), "{secret} leaked in: {out}");
        }
    }
    // The lines are still useful.
    let logs = s.logs.lock().unwrap().join("\n");
    assert!(logs.contains(r#"Requesting token using: {"client_id":"cid","client_secret":"client...","refresh_token":"1/refr...","grant_type":"refresh_token","client_assertion":"param-..."}"#), "{logs}");
    assert!(
        logs.contains("Generated new Access Token for user@example.com"),
        "{logs}"
    );
    assert!(
        logs.contains("Failed generating new Access Token for user@example.com: bad: "),
        "{logs}"
    );
}

#[tokio::test]
async fn registry_shares_managers_per_credential_set() {
    let srv = TestServer::start(fixed(200, OK_BODY, 0)).await;
    let reg = TokenRegistry::new();
    let a = reg.get_or_create(cfg3(&srv.url), None, None).unwrap();
    let b = reg.get_or_create(cfg3(&srv.url), None, None).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let mut other = cfg3(&srv.url);
    other.user = "other@example.com".into();
    let c = reg.get_or_create(other, None, None).unwrap();
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!(c.user(), "other@example.com");

    assert_eq!(a.key().user(), "user@example.com");
    assert_eq!(c.key().user(), "other@example.com");
    // Config errors surface from get_or_create.
    let e = reg
        .get_or_create(service("x", None), None, None)
        .err()
        .unwrap();
    assert_eq!(e.code, "ECONFIG");
}

/// A token endpoint that checks the client secret and the refresh token, as a real one does.
fn strict() -> Responder {
    Arc::new(|i, req: &Req| {
        let secret = format!("client_secret={}&", encode(CLIENT_SECRET));
        let refresh = format!("refresh_token={}&", encode(REFRESH));
        let (status, body) = if !req.body.contains(&secret) {
            (401, r#"{"error":"invalid_client"}"#.to_string())
        } else if !req.body.contains(&refresh) {
            (400, r#"{"error":"invalid_grant"}"#.to_string())
        } else {
            (
                200,
                format!(r#"{{"access_token":"alice-{i}","expires_in":3600}}"#),
            )
        };
        (status, body, Duration::ZERO)
    })
}

fn encode(s: &str) -> String {
    crate::form::encode_component(s)
}

#[tokio::test]
async fn registry_reuses_a_token_only_for_the_same_credentials() {
    let srv = TestServer::start(strict()).await;
    let reg = TokenRegistry::new();
    let alice = reg.get_or_create(cfg3(&srv.url), None, None).unwrap();
    assert_eq!(alice.get_token(false, None).await.unwrap(), "alice-0");

    let with = |f: &dyn Fn(&mut OAuth2Config)| {
        let mut c = cfg3(&srv.url);
        f(&mut c);
        reg.get_or_create(c, None, None).unwrap()
    };
    // Bogus refresh token: a manager of its own, which asks and is refused.
    let m = with(&|c| c.refresh_token = Some("1/RT_BOGUS".into()));
    assert!(!Arc::ptr_eq(&m, &alice));
    let e = m.get_token(false, None).await.unwrap_err();
    assert!(e.message.starts_with("invalid_grant"), "{}", e.message);
    // Wrong client secret: refused too.
    let m = with(&|c| c.client_secret = Some("wrong".into()));
    let e = m.get_token(false, None).await.unwrap_err();
    assert!(e.message.starts_with("invalid_client"), "{}", e.message);
    // A bogus access token and nothing to renew it with: that token, never Alice's.
    let m = with(&|c| {
        c.refresh_token = None;
        c.access_token = Some("AT_BOGUS".into());
    });
    assert_eq!(m.get_token(false, None).await.unwrap(), "AT_BOGUS");
    assert_eq!(m.get_token(true, None).await.unwrap(), "AT_BOGUS");
    // No credential at all: an error, not a borrowed token.
    let m = with(&|c| {
        c.refresh_token = None;
        c.client_secret = None;
    });
    let e = m.get_token(false, None).await.unwrap_err();
    assert_eq!(e.message, "Can't create new access token for user");
    // Another spelling of the user presenting nothing: nothing to borrow either.
    let m = with(&|c| {
        c.user = "User@example.com".into();
        c.refresh_token = None;
    });
    assert!(m.get_token(false, None).await.is_err());

    // Alice's manager was not touched: cached token, and her own refresh token on renewal.
    assert_eq!(alice.get_token(false, None).await.unwrap(), "alice-0");
    let renewed = alice.get_token(true, None).await.unwrap();
    assert!(renewed.starts_with("alice-"), "{renewed}");
    assert!(srv.bodies().last().unwrap().contains(&encode(REFRESH)));
    // The same credentials again share her manager.
    assert!(Arc::ptr_eq(&with(&|_| {}), &alice));
}

#[tokio::test]
async fn registry_drops_unused_managers_without_a_token_when_large() {
    let reg = TokenRegistry::new();
    let cfg = |i: usize| OAuth2Config {
        user: "u@example.com".into(),
        access_token: Some(format!("per-message-{i}")),
        expires: Some(1), // long expired
        ..Default::default()
    };
    let held = reg.get_or_create(cfg(0), None, None).unwrap();
    for i in 1..1000 {
        drop(reg.get_or_create(cfg(i), None, None).unwrap());
    }
    assert!(reg.len() <= PRUNE_ABOVE, "{}", reg.len());
    // The one still in use survives and is found again.
    assert!(Arc::ptr_eq(
        &reg.get_or_create(cfg(0), None, None).unwrap(),
        &held
    ));
}

#[tokio::test]
async fn cancelled_initiator_does_not_wedge_the_refresh() {
    let srv = TestServer::start(fixed(200, OK_BODY, 200)).await;
    let m = plain(cfg3(&srv.url));
    // Start a refresh and drop it mid-flight.
    let started = Arc::new(AtomicBool::new(false));
    {
        let fut = m.get_token(true, None);
        let _ = tokio::time::timeout(Duration::from_millis(50), fut).await;
        started.store(true, Ordering::SeqCst);
    }
    assert!(started.load(Ordering::SeqCst));
    // A later caller joins (or restarts) it and gets a token.
    assert_eq!(m.get_token(false, None).await.unwrap(), "fresh-token-1");
}

use mailer_tls::test_util::CA;

fn acceptor() -> tokio_rustls::TlsAcceptor {
    tokio_rustls::TlsAcceptor::from(mailer_tls::test_util::server_config())
}

#[tokio::test]
async fn https_token_endpoint_tls_options() {
    let srv = TestServer::start_with(fixed(200, OK_BODY, 0), Some(acceptor())).await;
    // Private CA not trusted by default (webpki roots): EFETCH, no request reached the handler.
    let m = plain(cfg3(&srv.url));
    let e = m.get_token(false, None).await.unwrap_err();
    assert_eq!(e.code, "EFETCH");
    assert!(e.message.contains("certificate"), "{}", e.message);
    assert_eq!(srv.count(), 0);
    // tls.ca given: verified and accepted.
    let mut cfg = cfg3(&srv.url);
    cfg.tls_ca = vec![CA.to_string()];
    let m = plain(cfg);
    assert_eq!(m.get_token(false, None).await.unwrap(), "fresh-token-1");
    assert_eq!(srv.count(), 1);
    // rejectUnauthorized: false: accepted without the CA.
    let mut cfg = cfg3(&srv.url);
    cfg.tls_reject_unauthorized = false;
    let m = plain(cfg);
    assert_eq!(m.get_token(false, None).await.unwrap(), "fresh-token-1");
    assert_eq!(srv.count(), 2);
    // An unusable CA is a construction error.
    let mut cfg = cfg3(&srv.url);
    cfg.tls_ca = vec!["nope".into()];
    assert_eq!(refused(cfg).code, "ECONFIG");
}
