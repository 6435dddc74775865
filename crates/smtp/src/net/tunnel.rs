//! Tunnels through a proxy for the SMTP connection: nodemailer's `proxy` option at work.
//!
//! `http:`/`https:` proxies get an HTTP CONNECT tunnel (byte-compatible with nodemailer's
//! `http-proxy-client`); `socks:`/`socks4:`/`socks4a:`/`socks5:` are handled natively through
//! `tokio-socks` (nodemailer needs the `socks` npm module for those). The tunnel is a plain byte
//! stream, so implicit TLS and STARTTLS then run on it exactly as on a direct connection.

use std::io;
use std::net::{IpAddr, SocketAddr};

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::dns::lookup;
use super::stream::Stream;
use super::{tcp, tls};
use crate::error::{socket_error, SmtpError};
use crate::options::{ConnectOptions, TlsOptions};
use crate::proxy::{proxy_error, ProxyConfig, ProxyKind};

/// nodemailer caps the proxy's response headers at 64 KiB.
pub(crate) const MAX_RESPONSE_HEADERS: usize = 64 * 1024;
/// tokio-socks builds SOCKS4 requests in a 513-byte buffer and does not check that a user id
/// and a domain (each up to 255 bytes) fit together: we check before calling it.
const SOCKS4_REQUEST_MAX: usize = 513;

/// `host:port` as the CONNECT target and `Host` header; IPv6 literals in brackets.
fn authority(host: &str, port: u16) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{bare}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// nodemailer's CONNECT request, byte for byte.
pub(crate) fn connect_request(
    host: &str,
    port: u16,
    username: Option<&str>,
    password: Option<&str>,
) -> String {
    let target = authority(host, port);
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nConnection: close");
    if username.is_some() || password.is_some() {
        // nodemailer sends `Basic b64(url.auth)`: "user:pass", or "user" alone without a password
        let auth = match password {
            Some(p) => format!("{}:{p}", username.unwrap_or("")),
            None => username.unwrap_or("").to_string(),
        };
        let b64 = base64::engine::general_purpose::STANDARD.encode(auth);
        req.push_str("\r\nProxy-Authorization: Basic ");
        req.push_str(&b64);
    }
    req.push_str("\r\n\r\n");
    req
}

/// Checks the proxy's response head (everything before the blank line): any 2xx status
/// opens the tunnel, anything else is `EPROXY`.
pub(crate) fn check_connect_response(head: &[u8]) -> Result<(), SmtpError> {
    let text = String::from_utf8_lossy(head);
    let status_line = text.split("\r\n").next().unwrap_or("");
    // nodemailer's /^HTTP\/\d+\.\d+ (\d+)/i
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    let reason = parts.next().unwrap_or("").trim();
    let version_ok = version
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("HTTP/"))
        && version[5..]
            .split_once('.')
            .is_some_and(|(a, b)| is_digits(a) && is_digits(b));
    if !version_ok || !is_digits(code) {
        return Err(proxy_error("Invalid response from proxy"));
    }
    if code.starts_with('2') {
        return Ok(());
    }
    // The reason phrase is the proxy's text: printable ASCII only, bounded.
    let reason: String = reason
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(200)
        .collect();
    Err(if reason.is_empty() {
        proxy_error(format!("Proxy responded with {code}"))
    } else {
        proxy_error(format!("Proxy responded with {code} {reason}"))
    })
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn io_error(e: &io::Error, proxy: SocketAddr) -> SmtpError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return proxy_error("Proxy closed the connection during the handshake");
    }
    socket_error(e, "read", Some(proxy))
}

/// Sends CONNECT and reads the response head. Reads one byte at a time so that no byte
/// after the blank line (the SMTP greeting may follow in the same packet) is consumed;
/// the head is small and read once per connection, so the cost does not matter.
async fn http_connect<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    proxy: &ProxyConfig,
    proxy_addr: SocketAddr,
    host: &str,
    port: u16,
) -> Result<(), SmtpError> {
    let req = connect_request(
        host,
        port,
        proxy.username.as_deref(),
        proxy.password.as_deref(),
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| socket_error(&e, "write", Some(proxy_addr)))?;
    s.flush()
        .await
        .map_err(|e| socket_error(&e, "write", Some(proxy_addr)))?;
    let mut head: Vec<u8> = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_RESPONSE_HEADERS {
            return Err(proxy_error("Proxy response headers too large"));
        }
        let n = s
            .read(&mut byte)
            .await
            .map_err(|e| io_error(&e, proxy_addr))?;
        if n == 0 {
            return Err(if head.is_empty() {
                proxy_error("Proxy closed the connection without responding")
            } else {
                proxy_error("Proxy closed the connection during the handshake")
            });
        }
        head.push(byte[0]);
    }
    check_connect_response(&head[..head.len() - 4])
}

fn socks_error(e: tokio_socks::Error, proxy_addr: SocketAddr) -> SmtpError {
    use tokio_socks::Error as E;
    match e {
        E::Io(io) => io_error(&io, proxy_addr),
        E::PasswordAuthFailure(_) => proxy_error("SOCKS5 proxy authentication failed"),
        E::NoAcceptableAuthMethods => {
            proxy_error("SOCKS5 proxy accepts none of the offered authentication methods")
        }
        // A static text about lengths; the values themselves are never printed.
        E::InvalidAuthValues(why) => proxy_error(format!("Invalid SOCKS credentials: {why}")),
        E::InvalidTargetAddress(why) => proxy_error(format!("Invalid proxy destination: {why}")),
        // tokio-socks' texts: the reply codes of RFC 1928 / SOCKS4, no data from the URL
        other => proxy_error(format!("SOCKS proxy error: {other}")),
    }
}

/// The SMTP host's first IPv4 address, for SOCKS4 (which cannot carry a name or IPv6).
async fn resolve_v4(opts: &ConnectOptions) -> Result<SocketAddr, SmtpError> {
    let host = opts.host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(_) => Ok(SocketAddr::new(ip, opts.port)),
            IpAddr::V6(_) => Err(proxy_error(
                "Invalid proxy destination: SOCKS4 cannot reach an IPv6 address",
            )),
        };
    }
    let found = lookup(host, opts.port, opts.dns_timeout)
        .await
        .ok()
        .and_then(|found| found.into_iter().find(|a| a.is_ipv4()));
    found.ok_or_else(|| {
        proxy_error(format!(
            "Invalid proxy destination: no IPv4 address for {host}"
        ))
    })
}

/// TCP to the proxy: each of its addresses in turn (IPv4 first), from `local_address`.
async fn connect_proxy(
    proxy: &ProxyConfig,
    opts: &ConnectOptions,
) -> Result<(TcpStream, SocketAddr), SmtpError> {
    let addrs: Vec<SocketAddr> = match proxy.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, proxy.port)],
        Err(_) => {
            let mut v = lookup(&proxy.host, proxy.port, opts.dns_timeout)
                .await
                .unwrap_or_default();
            v.sort_by_key(|a| !a.is_ipv4());
            v
        }
    };
    let mut last_err = None;
    for addr in addrs {
        match tcp::connect(addr, opts.local_address).await {
            Ok(tcp) => return Ok((tcp, addr)),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err
        .unwrap_or_else(|| proxy_error(format!("Could not resolve proxy host {}", proxy.host))))
}

/// Opens the tunnel to `opts.host:opts.port` through `proxy`. Returns the stream and the
/// proxy's address. The caller bounds the whole of it with `connection_timeout`.
pub(crate) async fn open(
    proxy: &ProxyConfig,
    opts: &ConnectOptions,
) -> Result<(Stream, SocketAddr), SmtpError> {
    let host = opts.host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || opts.port == 0 {
        return Err(proxy_error("Invalid proxy destination"));
    }
    let (mut tcp, proxy_addr) = connect_proxy(proxy, opts).await?;
    match proxy.kind {
        ProxyKind::Http => {
            http_connect(&mut tcp, proxy, proxy_addr, host, opts.port).await?;
            Ok((Stream::Tcp(tcp), proxy_addr))
        }
        ProxyKind::Https => {
            // The proxy's certificate is checked against the transport's trust settings
            // (`rejectUnauthorized`, `ca`); the SMTP client certificate is not sent to it.
            let proxy_tls = TlsOptions {
                reject_unauthorized: opts.tls.reject_unauthorized,
                ca: opts.tls.ca.clone(),
                min_version: opts.tls.min_version.clone(),
                ..TlsOptions::default()
            };
            let cfg = tls::client_config(&proxy_tls, "CONN")?;
            let name = tls::server_name(&proxy_tls, &proxy.host, "CONN")?;
            let mut stream = tls::connect(cfg, name, Stream::Tcp(tcp))
                .await
                .map_err(|e| proxy_error(format!("Proxy TLS handshake failed: {e}")))?;
            http_connect(&mut stream, proxy, proxy_addr, host, opts.port).await?;
            Ok((stream, proxy_addr))
        }
        ProxyKind::Socks5 => {
            let target = (host, opts.port);
            let res = match (&proxy.username, &proxy.password) {
                (None, None) => {
                    tokio_socks::tcp::Socks5Stream::connect_with_socket(tcp, target).await
                }
                (user, pass) => {
                    tokio_socks::tcp::Socks5Stream::connect_with_password_and_socket(
                        tcp,
                        target,
                        user.as_deref().unwrap_or(""),
                        pass.as_deref().unwrap_or(""),
                    )
                    .await
                }
            };
            let s = res.map_err(|e| socks_error(e, proxy_addr))?;
            Ok((Stream::Tcp(s.into_inner()), proxy_addr))
        }
        ProxyKind::Socks4 | ProxyKind::Socks4a => {
            let user = proxy.username.as_deref();
            let res = if proxy.kind == ProxyKind::Socks4 {
                let target = resolve_v4(opts).await?;
                socks4(tcp, target, user).await
            } else {
                // a literal IP goes as SOCKS4 (tokio-socks picks by the target's form)
                let domain_len = if host.parse::<IpAddr>().is_ok() {
                    0
                } else {
                    host.len() + 1
                };
                if 8 + user.map_or(0, str::len) + 1 + domain_len > SOCKS4_REQUEST_MAX {
                    return Err(proxy_error(
                        "Invalid proxy destination: SOCKS4a request too long",
                    ));
                }
                socks4(tcp, (host, opts.port), user).await
            };
            let s = res.map_err(|e| socks_error(e, proxy_addr))?;
            Ok((Stream::Tcp(s), proxy_addr))
        }
    }
}

async fn socks4<'t, T: tokio_socks::IntoTargetAddr<'t>>(
    tcp: TcpStream,
    target: T,
    user: Option<&str>,
) -> Result<TcpStream, tokio_socks::Error> {
    let s = match user {
        Some(u) => {
            tokio_socks::tcp::Socks4Stream::connect_with_userid_and_socket(tcp, target, u).await?
        }
        None => tokio_socks::tcp::Socks4Stream::connect_with_socket(tcp, target).await?,
    };
    Ok(s.into_inner())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;

    use super::*;
    use crate::connection::SmtpConnection;
    use crate::error::ErrorCode;
    use crate::test_server::{serve, server_tls_config, steps, Step as S, CA};

    #[test]
    fn connect_request_bytes() {
        assert_eq!(
            connect_request("smtp.example.com", 587, None, None),
            "CONNECT smtp.example.com:587 HTTP/1.1\r\nHost: smtp.example.com:587\r\nConnection: close\r\n\r\n"
        );
        // base64("alice:s3cr@t")
        assert_eq!(
            connect_request("10.1.2.3", 465, Some("alice"), Some("s3cr@t")),
            "CONNECT 10.1.2.3:465 HTTP/1.1\r\nHost: 10.1.2.3:465\r\nConnection: close\r\nProxy-Authorization: Basic YWxpY2U6czNjckB0\r\n\r\n"
        );
        // base64("bob")
        assert_eq!(
            connect_request("::1", 25, Some("bob"), None),
            "CONNECT [::1]:25 HTTP/1.1\r\nHost: [::1]:25\r\nConnection: close\r\nProxy-Authorization: Basic Ym9i\r\n\r\n"
        );
    }

    #[test]
    fn connect_response_status() {
        for ok in [
            "HTTP/1.1 200 Connection established",
            "HTTP/1.0 200",
            "http/1.1 204 No Content\r\nVia: x",
        ] {
            assert_eq!(check_connect_response(ok.as_bytes()), Ok(()), "{ok}");
        }
        let msg = |head: &str| check_connect_response(head.as_bytes()).unwrap_err();
        let e = msg("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic");
        assert_eq!(e.code, ErrorCode::EProxy);
        assert_eq!(
            e.message,
            "Proxy responded with 407 Proxy Authentication Required"
        );
        assert_eq!(msg("HTTP/1.1 403").message, "Proxy responded with 403");
        assert_eq!(
            msg("HTTP/1.1 502 Bad\x1b[31m Gateway").message,
            "Proxy responded with 502 Bad[31m Gateway"
        );
        for bad in [
            "SSH-2.0-OpenSSH",
            "HTTP/1.1 OK",
            "HTTP/x.1 200",
            "",
            "220 smtp ready",
        ] {
            assert_eq!(msg(bad).message, "Invalid response from proxy", "{bad:?}");
        }
    }

    fn cfg(url: &str) -> ProxyConfig {
        ProxyConfig::parse(url).unwrap()
    }

    /// The error opening a tunnel through `url` to `smtp.test:port`.
    async fn refusal(url: &str, port: u16) -> SmtpError {
        open(&cfg(url), &dest(port)).await.err().unwrap()
    }

    fn dest(port: u16) -> ConnectOptions {
        ConnectOptions {
            host: "smtp.test".into(),
            port,
            ..Default::default()
        }
    }

    /// A one-connection proxy peer: reads `expect_len` bytes (or the HTTP head when 0),
    /// writes `reply`, then echoes what follows. Yields what it read first.
    async fn fake_peer(replies: Vec<(usize, Vec<u8>)>) -> (SocketAddr, JoinHandle<Vec<Vec<u8>>>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let h = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut seen = Vec::new();
            for (len, reply) in replies {
                let mut got = Vec::new();
                if len == 0 {
                    while !got.ends_with(b"\r\n\r\n") {
                        let mut b = [0u8; 1];
                        if s.read(&mut b).await.unwrap() == 0 {
                            break;
                        }
                        got.push(b[0]);
                    }
                } else {
                    got = vec![0u8; len];
                    s.read_exact(&mut got).await.unwrap();
                }
                seen.push(got);
                let _ = s.write_all(&reply).await;
            }
            let mut rest = [0u8; 64];
            if let Ok(n) = s.read(&mut rest).await {
                let _ = s.write_all(&rest[..n]).await;
            }
            seen
        });
        (addr, h)
    }

    async fn read_some(s: &mut Stream) -> Vec<u8> {
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await.unwrap();
        buf[..n].to_vec()
    }

    #[tokio::test]
    async fn http_tunnel_keeps_bytes_after_the_head() {
        let (addr, peer) = fake_peer(vec![(
            0,
            b"HTTP/1.1 200 Connection established\r\nX: y\r\n\r\n220 hello\r\n".to_vec(),
        )])
        .await;
        let p = cfg(&format!("http://u:p@127.0.0.1:{}", addr.port()));
        let (mut s, proxy_addr) = open(&p, &dest(2525)).await.unwrap();
        assert_eq!(proxy_addr, addr);
        assert_eq!(read_some(&mut s).await, b"220 hello\r\n");
        s.write_all(b"EHLO x\r\n").await.unwrap();
        assert_eq!(read_some(&mut s).await, b"EHLO x\r\n");
        let seen = peer.await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&seen[0]),
            "CONNECT smtp.test:2525 HTTP/1.1\r\nHost: smtp.test:2525\r\nConnection: close\r\nProxy-Authorization: Basic dTpw\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn http_refusals_and_oversized_heads() {
        let (addr, _peer) = fake_peer(vec![(
            0,
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n".to_vec(),
        )])
        .await;
        let p = cfg(&format!("http://alice:hunter2@127.0.0.1:{}", addr.port()));
        let e = open(&p, &dest(25)).await.err().unwrap();
        assert_eq!(e.code, ErrorCode::EProxy);
        assert_eq!(
            e.message,
            "Proxy responded with 407 Proxy Authentication Required"
        );

        let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_RESPONSE_HEADERS));
        let (addr, _peer) = fake_peer(vec![(0, huge)]).await;
        let e = refusal(&format!("http://127.0.0.1:{}", addr.port()), 25).await;
        assert_eq!(e.message, "Proxy response headers too large");

        // a proxy that answers half a status line and hangs up
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut req = vec![0u8; 72];
            let _ = s.read_exact(&mut req).await;
            let _ = s.write_all(b"HTTP/1.1 200").await;
        });
        let e = refusal(&format!("http://127.0.0.1:{}", addr.port()), 25).await;
        assert_eq!(
            e.message,
            "Proxy closed the connection during the handshake"
        );

        let e = refusal("http://127.0.0.1:1", 0).await;
        assert_eq!(e.message, "Invalid proxy destination");
    }

    #[tokio::test]
    async fn proxy_down_is_a_socket_error_on_the_proxy_address() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let e = refusal(&format!("socks5://127.0.0.1:{port}"), 25).await;
        assert_eq!(e.code, ErrorCode::ESocket);
        assert_eq!(e.message, format!("connect ECONNREFUSED 127.0.0.1:{port}"));
    }

    #[tokio::test]
    async fn socks5_no_auth_sends_the_host_name() {
        let (addr, peer) = fake_peer(vec![
            (3, vec![5, 0]),
            (
                5 + 9 + 2,
                vec![5, 0, 0, 1, 127, 0, 0, 1, 0x09, 0xc5, b'2', b'2', b'0'],
            ),
        ])
        .await;
        let (mut s, _) = open(
            &cfg(&format!("socks5://127.0.0.1:{}", addr.port())),
            &dest(2501),
        )
        .await
        .unwrap();
        assert_eq!(read_some(&mut s).await, b"220");
        drop(s);
        let seen = peer.await.unwrap();
        assert_eq!(seen[0], [5, 1, 0]);
        let mut req = vec![5, 1, 0, 3, 9];
        req.extend_from_slice(b"smtp.test");
        req.extend_from_slice(&2501u16.to_be_bytes());
        assert_eq!(seen[1], req);
    }

    #[tokio::test]
    async fn socks5_password_auth_and_failure() {
        let (addr, peer) = fake_peer(vec![(4, vec![5, 2]), (1 + 1 + 5 + 1 + 6, vec![1, 1])]).await;
        let p = cfg(&format!(
            "socks5://alice:s3cr%40t@127.0.0.1:{}",
            addr.port()
        ));
        let e = open(&p, &dest(25)).await.err().unwrap();
        assert_eq!(e.code, ErrorCode::EProxy);
        assert_eq!(e.message, "SOCKS5 proxy authentication failed");
        let seen = peer.await.unwrap();
        assert_eq!(seen[0], [5, 2, 0, 2]);
        assert_eq!(seen[1], b"\x01\x05alice\x06s3cr@t");

        // the proxy refuses the destination: RFC 1928 reply 0x02
        let (addr, _peer) = fake_peer(vec![
            (3, vec![5, 0]),
            (16, vec![5, 2, 0, 1, 0, 0, 0, 0, 0, 0]),
        ])
        .await;
        let e = refusal(&format!("socks://127.0.0.1:{}", addr.port()), 25).await;
        assert_eq!(
            e.message,
            "SOCKS proxy error: Connection not allowed by ruleset"
        );
    }

    #[tokio::test]
    async fn socks4a_sends_the_name_and_socks4_resolves_locally() {
        // SOCKS4a: VN CD PORT 0.0.0.1 USERID\0 HOST\0
        let (addr, peer) = fake_peer(vec![(8 + 4 + 10, vec![0, 0x5a, 0, 0, 0, 0, 0, 0])]).await;
        let p = cfg(&format!("socks4a://bob@127.0.0.1:{}", addr.port()));
        let (mut s, _) = open(&p, &dest(587)).await.unwrap();
        s.write_all(b"hi").await.unwrap();
        assert_eq!(read_some(&mut s).await, b"hi");
        let seen = peer.await.unwrap();
        assert_eq!(
            seen[0],
            b"\x04\x01\x02\x4b\x00\x00\x00\x01bob\x00smtp.test\x00"
        );

        let (addr, peer) = fake_peer(vec![(9, vec![0, 0x5b, 0, 0, 0, 0, 0, 0])]).await;
        let o = ConnectOptions {
            host: "localhost".into(),
            port: 25,
            ..Default::default()
        };
        let e = open(&cfg(&format!("socks4://127.0.0.1:{}", addr.port())), &o)
            .await
            .err()
            .unwrap();
        assert_eq!(e.message, "SOCKS proxy error: General SOCKS server failure");
        assert_eq!(
            peer.await.unwrap()[0],
            b"\x04\x01\x00\x19\x7f\x00\x00\x01\x00"
        );
    }

    #[tokio::test]
    async fn socks4a_overlong_request_is_refused_before_sending() {
        let p = ProxyConfig {
            username: Some("u".repeat(255)),
            ..cfg("socks4a://127.0.0.1:1")
        };
        let o = ConnectOptions {
            host: format!("{}.test", "h".repeat(250)),
            port: 25,
            ..Default::default()
        };
        // the proxy is not even reached... but connecting comes first, so listen
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let p = ProxyConfig {
            port: l.local_addr().unwrap().port(),
            ..p
        };
        let e = open(&p, &o).await.err().unwrap();
        assert_eq!(
            e.message,
            "Invalid proxy destination: SOCKS4a request too long"
        );
    }

    trait DuplexIo: AsyncRead + AsyncWrite + Unpin + Send {}
    impl<T: AsyncRead + AsyncWrite + Unpin + Send> DuplexIo for T {}

    /// An HTTP CONNECT proxy that splices to the address it is asked for (127.0.0.1 only),
    /// optionally over TLS. Yields the request head.
    async fn splicing_proxy(tls: bool) -> (SocketAddr, JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let h = tokio::spawn(async move {
            let (tcp, _) = l.accept().await.unwrap();
            let mut s: Box<dyn DuplexIo> = if tls {
                Box::new(
                    tokio_rustls::TlsAcceptor::from(server_tls_config())
                        .accept(tcp)
                        .await
                        .unwrap(),
                )
            } else {
                Box::new(tcp)
            };
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut b = [0u8; 1];
                assert_eq!(s.read(&mut b).await.unwrap(), 1);
                head.push(b[0]);
            }
            let head = String::from_utf8(head).unwrap();
            let port: u16 = head
                .split_whitespace()
                .nth(1)
                .and_then(|t| t.rsplit(':').next())
                .unwrap()
                .parse()
                .unwrap();
            let mut up = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
                .unwrap();
            let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
            head
        });
        (addr, h)
    }

    async fn starttls_through(proxy_url: String, smtp: SocketAddr) {
        let o = ConnectOptions {
            host: "localhost".into(),
            port: smtp.port(),
            name: Some("client.test".into()),
            socket_timeout: Duration::from_secs(5),
            connection_timeout: Duration::from_secs(5),
            tls: TlsOptions {
                ca: vec![CA.to_string()],
                ..Default::default()
            },
            proxy: Some(cfg(&proxy_url)),
            ..Default::default()
        };
        let c = SmtpConnection::connect(&o).await.unwrap();
        assert!(c.is_secure());
        c.quit().await;
    }

    #[tokio::test]
    async fn starttls_through_http_and_https_proxies() {
        for tls in [false, true] {
            let (smtp, server) = serve(
                false,
                steps(&[
                    S::Send("220 smtp.test ESMTP\r\n"),
                    S::Reply("EHLO client.test", "250-smtp.test\r\n250 STARTTLS\r\n"),
                    S::Reply("STARTTLS", "220 go ahead\r\n"),
                    S::AcceptTls,
                    S::Reply("EHLO client.test", "250 smtp.test\r\n"),
                    S::Quit,
                ]),
            )
            .await;
            let (proxy, head) = splicing_proxy(tls).await;
            let scheme = if tls { "https" } else { "http" };
            // the proxy's certificate is for localhost; `tls.ca` trusts it
            starttls_through(format!("{scheme}://localhost:{}", proxy.port()), smtp).await;
            let seen = server.await.unwrap();
            assert_eq!(seen.last().map(String::as_str), Some("QUIT"));
            assert_eq!(
                head.await.unwrap(),
                format!(
                    "CONNECT localhost:{p} HTTP/1.1\r\nHost: localhost:{p}\r\nConnection: close\r\n\r\n",
                    p = smtp.port()
                )
            );
        }
    }

    #[tokio::test]
    async fn https_proxy_certificate_is_verified() {
        let (proxy, _h) = splicing_proxy(true).await;
        let o = ConnectOptions {
            port: 25,
            connection_timeout: Duration::from_secs(5),
            proxy: Some(cfg(&format!("https://localhost:{}", proxy.port()))),
            ..Default::default()
        };
        let e = SmtpConnection::connect(&o).await.err().unwrap();
        assert_eq!(e.code, ErrorCode::EProxy);
        assert!(
            e.message
                .starts_with("Proxy TLS handshake failed: invalid peer certificate"),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn a_silent_proxy_hits_the_connection_timeout() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let o = ConnectOptions {
            port: 25,
            connection_timeout: Duration::from_millis(200),
            proxy: Some(cfg(&format!(
                "http://127.0.0.1:{}",
                l.local_addr().unwrap().port()
            ))),
            ..Default::default()
        };
        let e = SmtpConnection::connect(&o).await.err().unwrap();
        assert_eq!(e.code, ErrorCode::ETimedOut);
        assert_eq!(e.message, "Connection timeout");
        drop(l);
    }
}
