//! nodemailer's `SMTPTransport`: one connection per message, and `verify()`, as lib/smtp-transport.

use bytes::Bytes;
use futures_core::Stream;

use crate::auth::AuthOptions;
use crate::connection::{SendInfo, SmtpConnection};
use crate::envelope::Envelope;
use crate::error::{ErrorCode, SmtpError};
use crate::log::{Logger, Source};
use crate::options::ConnectOptions;

/// nodemailer's login decision, shared with the pool: log in only when there are
/// credentials and (the server allows AUTH, HELO was used, or `force_auth`); otherwise
/// authentication is silently skipped, as nodemailer does.
pub(crate) async fn login_if_needed(
    conn: &mut SmtpConnection,
    auth: &AuthOptions,
) -> Result<(), SmtpError> {
    if auth.credentials.is_some() && (conn.allows_auth() || auth.force_auth) {
        conn.login(auth).await?;
    }
    Ok(())
}

/// Connect, log in when there are credentials and (the server allows AUTH, HELO was used,
/// or `force_auth`), send, then close **without** QUIT. Returns the info and `info.ehlo`
/// (empty when EHLO was not used; see [`SmtpConnection::used_ehlo`]).
pub async fn send_once<S>(
    opts: &ConnectOptions,
    auth: &AuthOptions,
    env: &Envelope,
    body: S,
) -> Result<(SendInfo, std::sync::Arc<[String]>), SmtpError>
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin + Send,
{
    let mut conn = SmtpConnection::connect(opts).await?;
    if let Err(e) = login_if_needed(&mut conn, auth).await {
        conn.close().await;
        return Err(e);
    }
    if let Some(id) = &env.message_id {
        Logger::module(opts.logger.clone(), opts.debug, Source::Transport).sending(id, &env.to);
    }
    let res = conn.send(env, body).await;
    let ehlo = conn.ehlo_shared();
    // The outcome is known: report it now and close behind it (nodemailer's callback does
    // not wait for the close either).
    tokio::spawn(conn.close());
    res.map(|info| (info, ehlo))
}

/// Connect, log in if applicable, QUIT. With `force_auth`, no credentials and a server
/// that advertises AUTH: ENOAUTH "Authentication info was not provided".
pub async fn verify(opts: &ConnectOptions, auth: &AuthOptions) -> Result<(), SmtpError> {
    let mut conn = SmtpConnection::connect(opts).await?;
    if auth.credentials.is_some() {
        if let Err(e) = login_if_needed(&mut conn, auth).await {
            conn.close().await;
            return Err(e);
        }
    } else if conn.allows_auth() && auth.force_auth {
        conn.close().await;
        return Err(SmtpError::new(
            ErrorCode::ENoAuth,
            "Authentication info was not provided",
        ));
    }
    conn.quit().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use futures_util::future::BoxFuture;

    use super::*;
    use crate::auth::{self, Credentials, TokenProvider};
    use crate::log::{Field, LogEntry, Source};
    use crate::script;
    use crate::test_server::{client_options as opts, serve, steps, within, Step, Step as S, CA};

    fn body(parts: &[&'static [u8]]) -> impl Stream<Item = std::io::Result<Bytes>> + Unpin + Send {
        futures_util::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    fn env(to: &[&str]) -> Envelope {
        Envelope {
            from: "sender@example.com".into(),
            to: to.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    /// A one-line body `x` from the sender to `to`, without authentication.
    async fn send_x(
        addr: std::net::SocketAddr,
        to: &[&str],
    ) -> Result<(SendInfo, std::sync::Arc<[String]>), SmtpError> {
        within(send_once(
            &opts(addr),
            &AuthOptions::default(),
            &env(to),
            body(&[b"x"]),
        ))
        .await
    }

    fn login(user: &str, pass: &str) -> AuthOptions {
        AuthOptions {
            credentials: Some(Credentials::Login {
                user: user.into(),
                pass: pass.into(),
            }),
            ..Default::default()
        }
    }

    /// A server exchange that makes `verify()` (or, with [`Failure::send`], sending `x` to
    /// `a@x`) fail, and the error's code, message, command and response code.
    struct Failure {
        case: &'static str,
        script: &'static [Step],
        opts: fn(ConnectOptions) -> ConnectOptions,
        auth: AuthOptions,
        send: bool,
        want: (ErrorCode, &'static str, Option<&'static str>, Option<u16>),
    }

    impl Failure {
        fn verify(
            case: &'static str,
            script: &'static [Step],
            want: (ErrorCode, &'static str, Option<&'static str>, Option<u16>),
        ) -> Failure {
            Failure {
                case,
                script,
                opts: |o| o,
                auth: AuthOptions::default(),
                send: false,
                want,
            }
        }

        fn send(self) -> Failure {
            Failure { send: true, ..self }
        }

        fn opts(self, opts: fn(ConnectOptions) -> ConnectOptions) -> Failure {
            Failure { opts, ..self }
        }

        fn auth(self, auth: AuthOptions) -> Failure {
            Failure { auth, ..self }
        }

        async fn run(self) {
            let Failure {
                case,
                script,
                opts: tweak,
                auth,
                send,
                want,
            } = self;
            let (addr, server) = serve(false, steps(script)).await;
            let o = tweak(opts(addr));
            let res = if send {
                within(send_once(&o, &auth, &env(&["a@x"]), body(&[b"x"])))
                    .await
                    .map(|_| ())
            } else {
                within(verify(&o, &auth)).await
            };
            let e = res.expect_err(case);
            let got = (
                e.code,
                e.message.as_str(),
                e.command.as_deref(),
                e.response_code,
            );
            assert_eq!(got, want, "{case}");
            // the server's script ran to its end: every line it expected came
            within(server).await.expect(case);
        }
    }

    #[tokio::test]
    async fn failures_carry_code_message_command() {
        let cases = [
            Failure::verify(
                "no greeting within greeting_timeout",
                &[S::UntilEof],
                (
                    ErrorCode::ETimedOut,
                    "Greeting never received",
                    Some("CONN"),
                    None,
                ),
            )
            .opts(|o| ConnectOptions {
                greeting_timeout: Duration::from_millis(200),
                ..o
            }),
            Failure::verify(
                "silence mid-session past socket_timeout",
                &[
                    S::Send("220 mx\r\n"),
                    S::Expect("EHLO client.test"),
                    S::UntilEof,
                ],
                (ErrorCode::ETimedOut, "Timeout", Some("CONN"), None),
            )
            .opts(|o| ConnectOptions {
                socket_timeout: Duration::from_millis(200),
                ..o
            }),
            Failure::verify(
                "invalid greeting repeats the reply",
                &[S::Send("554 5.7.1 no\r\n"), S::UntilEof],
                (
                    ErrorCode::EProtocol,
                    "Invalid greeting. response=554 5.7.1 no: 554 5.7.1 no",
                    Some("CONN"),
                    Some(554),
                ),
            ),
            Failure::verify(
                "requireTLS forbids the HELO fallback",
                &[S::Greet("502 no\r\n"), S::UntilEof],
                (
                    ErrorCode::EConnection,
                    concat!(
                        "EHLO failed but HELO does not support required STARTTLS. ",
                        "response=502 no: 502 no"
                    ),
                    Some("EHLO"),
                    Some(502),
                ),
            )
            .opts(|o| ConnectOptions {
                require_tls: true,
                ..o
            }),
            Failure::verify(
                "verify with forceAuth and no credentials is ENOAUTH",
                &[S::Greet("250-mx\r\n250 AUTH PLAIN\r\n"), S::UntilEof],
                (
                    ErrorCode::ENoAuth,
                    "Authentication info was not provided",
                    None,
                    None,
                ),
            )
            .auth(AuthOptions {
                force_auth: true,
                ..Default::default()
            }),
            Failure::verify(
                "forceAuth without a password is missing credentials",
                &[S::Greet("250 mx\r\n"), S::UntilEof],
                (
                    ErrorCode::EAuth,
                    "Missing credentials for \"PLAIN\"",
                    Some("API"),
                    None,
                ),
            )
            .auth(AuthOptions {
                force_auth: true,
                ..login("zzz", "")
            })
            .send(),
            Failure::verify(
                "CRAM-MD5 rejected",
                &[
                    S::Greet("250-mx\r\n250 AUTH LOGIN CRAM-MD5\r\n"),
                    S::Reply(
                        "AUTH CRAM-MD5",
                        "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
                    ),
                    S::Reply(
                        "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw",
                        "535 5.7.8 bad\r\n",
                    ),
                    S::UntilEof,
                ],
                (
                    ErrorCode::EAuth,
                    "Invalid login sequence while waiting for \"235\": 535 5.7.8 bad",
                    Some("AUTH CRAM-MD5"),
                    Some(535),
                ),
            )
            .auth(AuthOptions {
                method: Some("cram-md5".into()),
                ..login("tim", "tanstaaftanstaaf")
            }),
            Failure::verify(
                "MAIL FROM rejected",
                &[
                    S::Greet("250 mx\r\n"),
                    S::Answer("550 5.7.1 sender denied\r\n"),
                    S::UntilEof,
                ],
                (
                    ErrorCode::EEnvelope,
                    "Mail command failed: 550 5.7.1 sender denied",
                    Some("MAIL FROM"),
                    Some(550),
                ),
            )
            .send(),
            Failure::verify(
                "message rejected after the final dot",
                &[
                    S::Greet("250 mx\r\n"),
                    S::Answer("250 ok\r\n"),
                    S::Answer("250 ok\r\n"),
                    S::Reply("DATA", "354 go\r\n"),
                    S::Data,
                    S::Send("552 5.3.4 too big\r\n"),
                    S::UntilEof,
                ],
                (
                    ErrorCode::EMessage,
                    "Message failed: 552 5.3.4 too big",
                    Some("DATA"),
                    Some(552),
                ),
            )
            .send(),
            Failure::verify(
                "closed mid-reply",
                &[S::Greet("250 mx\r\n"), S::Answer("250-partial\r\n")],
                (
                    ErrorCode::EConnection,
                    "Connection closed unexpectedly: 250-partial",
                    Some("CONN"),
                    Some(250),
                ),
            )
            .send(),
        ];
        for case in cases {
            case.run().await;
        }
    }

    #[tokio::test]
    async fn send_once_full_path_pipelined() {
        let (addr, server) = serve(
            false,
            script!(|c| {
                c.send("220 mx.test ESMTP\r\n").await;
                c.expect("EHLO client.test").await;
                c.send(
                    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 AUTH LOGIN PLAIN\r\n",
                )
                .await;
                c.expect(&format!("AUTH PLAIN {}", auth::plain("u", "p")))
                    .await;
                c.send("235 2.7.0 ok\r\n").await;
                c.reply("MAIL FROM:<sender@example.com>", "250 ok\r\n")
                    .await;
                // both RCPTs arrive before any reply: proves pipelining
                c.expect("RCPT TO:<a@example.com>").await;
                c.reply(
                    "RCPT TO:<bad@example.com>",
                    "250 ok\r\n550 5.1.1 no such user\r\n",
                )
                .await;
                c.reply("DATA", "354 go\r\n").await;
                let data = c.data().await;
                assert_eq!(data, b"Subject: x\r\n\r\n..dot\r\nline\r\n.\r\n".to_vec());
                c.send("250 2.0.0 Ok: queued as ABC\r\n").await;
                // no QUIT after a single send
                assert_eq!(c.until_eof().await, Vec::<String>::new());
            }),
        )
        .await;
        let (info, ehlo) = within(send_once(
            &opts(addr),
            &login("u", "p"),
            &env(&["a@example.com", "bad@example.com"]),
            body(&[b"Subject: x\n\n", b".dot\r\nline\r\n"]),
        ))
        .await
        .unwrap();
        assert_eq!(info.accepted, vec!["a@example.com"]);
        assert_eq!(info.rejected, vec!["bad@example.com"]);
        assert_eq!(info.rejected_errors.len(), 1);
        let re = &info.rejected_errors[0];
        assert_eq!(
            re.message,
            "Recipient command failed: 550 5.1.1 no such user"
        );
        assert_eq!(re.recipient.as_deref(), Some("bad@example.com"));
        assert_eq!(re.response_code, Some(550));
        assert_eq!(re.command.as_deref(), Some("RCPT TO"));
        assert_eq!(info.response, "250 2.0.0 Ok: queued as ABC");
        assert_eq!(info.message_size, 30);
        assert_eq!(
            ehlo[..],
            vec!["PIPELINING", "SIZE 1000000", "AUTH LOGIN PLAIN"]
        );
        server.await.unwrap();
    }

    #[tokio::test]
    async fn no_pipelining_sends_rcpt_one_by_one_and_skips_auth_without_advert() {
        let (addr, server) = serve(
            false,
            steps(&[
                S::Greet("250 mx\r\n"),
                S::Reply("MAIL FROM:<sender@example.com>", "250 ok\r\n"),
                S::Reply("RCPT TO:<a@x>", "250 ok\r\n"),
                S::Reply("RCPT TO:<b@x>", "250 ok\r\n"),
                S::Reply("DATA", "354 go\r\n"),
                S::Data,
                S::Send("250 done\r\n"),
            ]),
        )
        .await;
        let (info, ehlo) = within(send_once(
            &opts(addr),
            &login("u", "p"),
            &env(&["a@x", "b@x"]),
            body(&[b"x"]),
        ))
        .await
        .unwrap();
        assert_eq!(info.accepted, vec!["a@x", "b@x"]);
        assert!(ehlo.is_empty());
        assert_eq!(info.message_size, 6);
        server.await.unwrap();
    }

    struct MockTokens {
        calls: Mutex<Vec<bool>>,
    }

    impl TokenProvider for MockTokens {
        fn user(&self) -> String {
            "me@example.com".into()
        }
        fn token(&self, renew: bool) -> BoxFuture<'static, Result<String, SmtpError>> {
            let mut calls = self.calls.lock().unwrap();
            calls.push(renew);
            let n = calls.len();
            Box::pin(async move {
                if n == 1 {
                    Ok("stale".to_string())
                } else {
                    Ok(format!("fresh-token-{}", n - 1))
                }
            })
        }
    }

    fn oauth() -> (Arc<MockTokens>, AuthOptions) {
        let p = Arc::new(MockTokens {
            calls: Mutex::new(Vec::new()),
        });
        let a = AuthOptions {
            credentials: Some(Credentials::XOAuth2(p.clone())),
            ..Default::default()
        };
        (p, a)
    }

    async fn xoauth_server(
        final_reply: &'static str,
    ) -> (std::net::SocketAddr, tokio::task::JoinHandle<Vec<String>>) {
        serve(
            false,
            Box::new(move |mut c: crate::test_server::ServerConn| {
                Box::pin(async move {
                    c.greet("250-mx\r\n250 AUTH PLAIN XOAUTH2\r\n").await;
                    c.expect(&format!(
                        "AUTH XOAUTH2 {}",
                        auth::xoauth2("me@example.com", "stale")
                    ))
                    .await;
                    c.send("334 eyJzdGF0dXMiOiI0MDEifQ==\r\n").await;
                    c.reply("", "535 5.7.8 Username and Password not accepted\r\n")
                        .await;
                    c.expect(&format!(
                        "AUTH XOAUTH2 {}",
                        auth::xoauth2("me@example.com", "fresh-token-1")
                    ))
                    .await;
                    if final_reply.starts_with("334") {
                        c.send("334 eyJzdGF0dXMiOiI0MDEifQ==\r\n").await;
                        c.reply("", "535 5.7.8 Username and Password not accepted\r\n")
                            .await;
                    } else {
                        c.send(final_reply).await;
                        c.quit().await;
                    }
                    c.until_eof().await;
                    c.seen
                })
            }),
        )
        .await
    }

    #[tokio::test]
    async fn xoauth2_renew_after_334_then_success() {
        let (addr, server) = xoauth_server("235 2.7.0 Accepted\r\n").await;
        let (p, a) = oauth();
        within(verify(&opts(addr), &a)).await.unwrap();
        assert_eq!(*p.calls.lock().unwrap(), vec![false, true]);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn xoauth2_retry_rejected_is_eauth() {
        let (addr, server) = xoauth_server("334").await;
        let (p, a) = oauth();
        let e = within(verify(&opts(addr), &a)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::EAuth);
        assert_eq!(
            e.message,
            "Invalid login: 535 5.7.8 Username and Password not accepted"
        );
        assert_eq!(e.response_code, Some(535));
        assert_eq!(e.command.as_deref(), Some("AUTH XOAUTH2"));
        assert_eq!(*p.calls.lock().unwrap(), vec![false, true]);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn xoauth2_direct_535_has_no_retry() {
        let (addr, server) = serve(
            false,
            script!(|c| {
                c.greet("250-mx\r\n250 AUTH XOAUTH2\r\n").await;
                c.line().await;
                c.send("535 5.7.8 nope\r\n").await;
                assert!(c.until_eof().await.is_empty());
            }),
        )
        .await;
        let (p, a) = oauth();
        let e = within(verify(&opts(addr), &a)).await.unwrap_err();
        assert_eq!(e.message, "Invalid login: 535 5.7.8 nope");
        assert_eq!(*p.calls.lock().unwrap(), vec![false]);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn token_error_becomes_eauth() {
        struct Failing;
        impl TokenProvider for Failing {
            fn user(&self) -> String {
                "me".into()
            }
            fn token(&self, _renew: bool) -> BoxFuture<'static, Result<String, SmtpError>> {
                Box::pin(async {
                    Err(SmtpError::new(
                        ErrorCode::EOAuth2,
                        "invalid_grant: Bad Request",
                    ))
                })
            }
        }
        let (addr, server) = serve(
            false,
            script!(|c| {
                c.greet("250-mx\r\n250 AUTH XOAUTH2\r\n").await;
                assert!(c.until_eof().await.is_empty());
            }),
        )
        .await;
        let a = AuthOptions {
            credentials: Some(Credentials::XOAuth2(Arc::new(Failing))),
            ..Default::default()
        };
        let e = within(verify(&opts(addr), &a)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::EAuth);
        assert_eq!(e.message, "invalid_grant: Bad Request");
        assert_eq!(e.command.as_deref(), Some("AUTH XOAUTH2"));
        assert_eq!(e.response, None);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn connection_refused_is_esocket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let o = ConnectOptions {
            host: "127.0.0.1".into(),
            port,
            ..Default::default()
        };
        let e = within(verify(&o, &AuthOptions::default()))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ESocket);
        assert_eq!(e.message, format!("connect ECONNREFUSED 127.0.0.1:{port}"));
        assert_eq!(e.errno.as_deref(), Some("ECONNREFUSED"));
        assert_eq!(e.syscall.as_deref(), Some("connect"));
        assert_eq!(e.port, Some(port));
    }

    #[tokio::test]
    async fn helo_fallback_then_auth_assumed() {
        let (addr, server) = serve(
            false,
            script!(|c| {
                c.greet("502 5.5.1 no EHLO\r\n").await;
                c.reply("HELO client.test", "250 mx\r\n").await;
                c.expect(&format!("AUTH PLAIN {}", auth::plain("u", "p")))
                    .await;
                c.send("235 ok\r\n").await;
                c.reply("MAIL FROM:<sender@example.com>", "250 ok\r\n")
                    .await;
                c.reply("RCPT TO:<a@x>", "250 ok\r\n").await;
                c.reply("DATA", "250 go ahead\r\n").await; // 2xx to DATA is accepted too
                c.data().await;
                c.send("250 queued\r\n").await;
            }),
        )
        .await;
        let (info, ehlo) = within(send_once(
            &opts(addr),
            &login("u", "p"),
            &env(&["a@x"]),
            body(&[b"hi\r\n"]),
        ))
        .await
        .unwrap();
        assert_eq!(info.response, "250 queued");
        assert!(ehlo.is_empty());
        server.await.unwrap();
    }

    fn tls_opts(addr: std::net::SocketAddr) -> ConnectOptions {
        let mut o = opts(addr);
        o.tls.ca = vec![CA.to_string()];
        o
    }

    #[tokio::test]
    async fn starttls_discards_injected_plaintext() {
        let (addr, server) = serve(
            false,
            steps(&[
                S::Greet("250-mx\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"),
                S::Expect("STARTTLS"),
                // a response-injection attempt riding on the plaintext 220
                S::Send("220 go ahead\r\n250-injected\r\n250 AUTH PLAIN LOGIN\r\n"),
                S::AcceptTls,
                S::Reply("EHLO client.test", "250-mx.tls\r\n250 SIZE 1000\r\n"),
                S::Quit,
                S::UntilEof,
            ]),
        )
        .await;
        let o = tls_opts(addr);
        let mut conn = within(SmtpConnection::connect(&o)).await.unwrap();
        assert!(conn.is_secure());
        assert_eq!(conn.ehlo(), ["SIZE 1000"]);
        assert!(!conn.allows_auth());
        assert_eq!(conn.max_size(), Some(1000));
        let e = conn
            .send(
                &Envelope {
                    size: Some(2000),
                    ..env(&["a@x"])
                },
                body(&[b"x"]),
            )
            .await
            .unwrap_err();
        assert_eq!(e.message, "Message size larger than allowed 1000");
        assert_eq!(
            (e.code, e.command.as_deref()),
            (ErrorCode::EMessage, Some("MAIL FROM"))
        );
        within(conn.quit()).await;
        let seen = server.await.unwrap();
        assert_eq!(
            seen,
            vec!["EHLO client.test", "STARTTLS", "EHLO client.test", "QUIT"]
        );
    }

    /// Hands out a TCP stream it connected itself, as a JS `getSocket` would.
    struct Provide(std::net::SocketAddr, Option<bool>);

    impl crate::external::SocketProvider for Provide {
        fn open(&self, host: &str, _port: u16) -> Option<crate::external::OpenFuture> {
            assert_eq!(host, "mx.invalid");
            let (addr, secure) = (self.0, self.1);
            Some(Box::pin(async move {
                let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
                Ok(Some(crate::external::ExternalSocket {
                    stream: Box::new(tcp),
                    secured: false,
                    secure,
                    host: Some("localhost".into()),
                    remote: Some(addr),
                    local: None,
                }))
            }))
        }
    }

    #[tokio::test]
    async fn provided_socket_carries_starttls_and_implicit_tls() {
        // STARTTLS over the provided stream; no DNS for the (unresolvable) host
        let (addr, server) = serve(
            false,
            steps(&[
                S::Greet("250-mx\r\n250 STARTTLS\r\n"),
                S::Reply("STARTTLS", "220 go ahead\r\n"),
                S::AcceptTls,
                S::Reply("EHLO client.test", "250 mx.tls\r\n"),
                S::Quit,
                S::UntilEof,
            ]),
        )
        .await;
        let mut o = tls_opts(addr);
        o.host = "mx.invalid".into();
        o.socket_provider = Some(crate::external::SocketProviderHandle(Arc::new(Provide(
            addr, None,
        ))));
        let conn = within(SmtpConnection::connect(&o)).await.unwrap();
        assert!(conn.is_secure());
        within(conn.quit()).await;
        server.await.unwrap();

        // `secure` from the provider: implicit TLS on top of its stream
        let (addr, server) =
            serve(true, steps(&[S::Greet("250 mx\r\n"), S::Quit, S::UntilEof])).await;
        o.socket_provider = Some(crate::external::SocketProviderHandle(Arc::new(Provide(
            addr,
            Some(true),
        ))));
        let conn = within(SmtpConnection::connect(&o)).await.unwrap();
        assert!(conn.is_secure());
        within(conn.quit()).await;
        server.await.unwrap();
    }

    #[tokio::test]
    async fn starttls_rejected_is_etls_or_opportunistic() {
        for opportunistic in [false, true] {
            let (addr, _server) = serve(
                false,
                steps(&[
                    S::Greet("250-mx\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"),
                    S::Reply("STARTTLS", "454 4.7.0 TLS not available\r\n"),
                    S::UntilEof,
                ]),
            )
            .await;
            let o = ConnectOptions {
                opportunistic_tls: opportunistic,
                ..opts(addr)
            };
            let res = within(SmtpConnection::connect(&o)).await;
            if opportunistic {
                let conn = res.unwrap();
                assert!(!conn.is_secure());
                assert!(!conn.allows_auth()); // nodemailer's quirk: no capabilities parsed
                conn.close().await;
            } else {
                let e = res.err().unwrap();
                assert_eq!(e.code, ErrorCode::ETls);
                assert_eq!(
                    e.message,
                    "Error upgrading connection with STARTTLS: 454 4.7.0 TLS not available"
                );
                assert_eq!(e.command.as_deref(), Some("STARTTLS"));
            }
        }
    }

    #[tokio::test]
    async fn implicit_tls_verify_and_untrusted_cert() {
        let (addr, server) = serve(
            true,
            steps(&[
                S::Greet("250-mx\r\n250-STARTTLS\r\n250 8BITMIME\r\n"),
                S::Quit,
            ]),
        )
        .await;
        let o = ConnectOptions {
            secure: true,
            ..tls_opts(addr)
        };
        within(verify(&o, &AuthOptions::default())).await.unwrap();
        server.await.unwrap();

        // without the test CA the certificate is rejected
        let (addr, _server) = serve(true, steps(&[S::UntilEof])).await;
        let o = ConnectOptions {
            secure: true,
            ..opts(addr)
        };
        let e = within(verify(&o, &AuthOptions::default()))
            .await
            .unwrap_err();
        // an untrusted certificate is the TLS socket's own error in nodemailer: ESOCKET
        assert_eq!(e.code, ErrorCode::ESocket);
        assert_eq!(e.command.as_deref(), Some("CONN"));
        assert!(e.message.contains("UnknownIssuer"), "{}", e.message);
    }

    #[tokio::test]
    async fn reject_unauthorized_false_accepts_unknown_ca() {
        let (addr, server) = serve(true, steps(&[S::Greet("250 mx\r\n"), S::Quit])).await;
        let mut o = ConnectOptions {
            secure: true,
            host: "localhost".into(),
            ..opts(addr)
        };
        o.tls.reject_unauthorized = false;
        o.host = "127.0.0.1".into();
        o.tls.servername = Some("wrong.example".into());
        within(verify(&o, &AuthOptions::default())).await.unwrap();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn login_mechanism() {
        let (addr, server) = serve(
            false,
            steps(&[
                S::Greet("250-mx\r\n250 AUTH LOGIN CRAM-MD5\r\n"),
                S::Reply("AUTH LOGIN", "334 VXNlcm5hbWU6\r\n"),
                S::Reply("dQ==", "334 UGFzc3dvcmQ6\r\n"),
                S::Reply("cA==", "235 ok\r\n"),
                S::Quit,
            ]),
        )
        .await;
        within(verify(&opts(addr), &login("u", "p"))).await.unwrap();
        server.await.unwrap();
    }

    /// A custom mechanism in Rust: two challenge-response steps, then resolve (or reject).
    struct TwoStep {
        reject: bool,
    }

    impl crate::auth::CustomAuth for TwoStep {
        fn handles(&self, method: &str) -> bool {
            method == "X-TWO"
        }
        fn start(
            &self,
            ctx: crate::auth::CustomAuthContext,
        ) -> tokio::sync::mpsc::UnboundedReceiver<crate::auth::CustomAuthStep> {
            use crate::auth::CustomAuthStep as S;
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let reject = self.reject;
            tokio::spawn(async move {
                assert_eq!(ctx.extensions, vec!["PIPELINING", "SIZE"]);
                assert_eq!(ctx.auth_methods, vec!["PLAIN"]);
                assert_eq!(ctx.max_allowed_size, Some(1000));
                let ask = |line: String| {
                    let (reply, rx) = tokio::sync::oneshot::channel();
                    tx.send(S::Command { line, reply }).unwrap();
                    rx
                };
                let r = ask(format!("AUTH {} {}", ctx.method, ctx.user))
                    .await
                    .unwrap();
                let challenge = r.unwrap().trim_start_matches("334 ").to_string();
                let r = ask(format!("{challenge}:{}", ctx.pass))
                    .await
                    .unwrap()
                    .unwrap();
                if reject || !r.starts_with("235") {
                    tx.send(S::Reject {
                        message: "nope".into(),
                    })
                    .unwrap();
                } else {
                    tx.send(S::Resolve).unwrap();
                }
            });
            rx
        }
    }

    #[tokio::test]
    async fn custom_mechanism_steps_and_masks() {
        for reject in [false, true] {
            let (addr, server) = serve(
                false,
                script!(|c| {
                    c.send("220 mx\r\n").await;
                    c.reply(
                        "EHLO client.test",
                        "250-mx\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 AUTH PLAIN X-TWO\r\n",
                    )
                    .await;
                    c.reply("AUTH X-TWO alice", "334 abc\r\n").await;
                    c.reply("abc:pw", "235 2.7.0 ok\r\n").await;
                    if c.line().await.as_deref() == Some("QUIT") {
                        c.send("221 bye\r\n").await;
                    }
                    c.until_eof().await;
                }),
            )
            .await;
            let lines = Arc::new(Mutex::new(Vec::<String>::new()));
            let seen = lines.clone();
            let mut o = opts(addr);
            o.debug = true;
            o.logger = Some(Arc::new(move |e: crate::log::LogEntry| {
                seen.lock().unwrap().push(e.args.join(" "));
            }));
            let a = AuthOptions {
                method: Some("x-two".into()),
                custom: Some(crate::auth::CustomAuthHandle(Arc::new(TwoStep { reject }))),
                ..login("alice", "pw")
            };
            let res = within(verify(&o, &a)).await;
            if reject {
                let e = res.unwrap_err();
                assert_eq!(e.code, ErrorCode::EAuth);
                assert_eq!(e.message, "nope: 235 2.7.0 ok");
                assert_eq!(e.command.as_deref(), Some("AUTH X-TWO"));
                assert_eq!(e.response_code, Some(235));
            } else {
                res.unwrap();
            }
            let lines = lines.lock().unwrap().join("\n");
            assert!(lines.contains("AUTH X-TWO /* secret */"), "{lines}");
            assert!(!lines.contains("abc:pw"), "{lines}");
            drop(server);
        }
    }

    #[tokio::test]
    async fn all_recipients_rejected() {
        let (addr, _server) = serve(
            false,
            steps(&[
                S::Greet("250-mx\r\n250 PIPELINING\r\n"),
                S::Reply("MAIL FROM:<sender@example.com>", "250 ok\r\n"),
                S::Line,
                S::Answer("550 no a\r\n551 no b\r\n"),
                S::UntilEof,
            ]),
        )
        .await;
        let e = send_x(addr, &["a@x", "b@x"]).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::EEnvelope);
        assert_eq!(
            e.message,
            "Can't send mail - all recipients were rejected: 551 no b"
        );
        assert_eq!(e.rejected, vec!["a@x", "b@x"]);
        assert_eq!(e.rejected_errors.len(), 2);
        assert_eq!(e.command.as_deref(), Some("RCPT TO"));
    }

    #[tokio::test]
    async fn lmtp_per_recipient_replies() {
        let (addr, _server) = serve(
            false,
            steps(&[
                S::Send("220 lmtp\r\n"),
                S::Reply("LHLO client.test", "250-lmtp\r\n250 PIPELINING\r\n"),
                S::Answer("250 ok\r\n"),
                S::Line,
                S::Answer("250 ok\r\n250 ok\r\n"),
                S::Reply("DATA", "354 go\r\n"),
                S::Data,
                S::Send("250 a delivered\r\n452 b over quota\r\n"),
                S::UntilEof,
            ]),
        )
        .await;
        let o = ConnectOptions {
            lmtp: true,
            ..opts(addr)
        };
        let (info, _) = within(send_once(
            &o,
            &AuthOptions::default(),
            &env(&["a@x", "b@x"]),
            body(&[b"x\r\n"]),
        ))
        .await
        .unwrap();
        assert_eq!(info.accepted, vec!["a@x"]);
        assert_eq!(info.rejected, vec!["b@x"]);
        assert_eq!(
            info.rejected_errors[0].message,
            "Message failed for recipient b@x: 452 b over quota"
        );
        assert_eq!(info.response, "452 b over quota");
    }

    #[tokio::test]
    async fn body_stream_error_is_estream() {
        let (addr, _server) = serve(
            false,
            steps(&[
                S::Greet("250 mx\r\n"),
                S::Answer("250 ok\r\n"),
                S::Answer("250 ok\r\n"),
                S::Reply("DATA", "354 go\r\n"),
                S::UntilEof,
            ]),
        )
        .await;
        let failing = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"a")),
            Err(std::io::Error::other("file vanished")),
        ]);
        let e = within(send_once(
            &opts(addr),
            &AuthOptions::default(),
            &env(&["a@x"]),
            failing,
        ))
        .await
        .unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::EStream, "file vanished")
        );
    }

    #[tokio::test]
    async fn debug_log_hides_secrets() {
        let (addr, _server) = serve(
            false,
            steps(&[
                S::Greet("250-mx\r\n250 AUTH LOGIN PLAIN\r\n"),
                S::Answer("235 ok\r\n"),
                S::Quit,
            ]),
        )
        .await;
        let entries: Arc<Mutex<Vec<LogEntry>>> = Arc::default();
        let sink = entries.clone();
        let o = ConnectOptions {
            debug: true,
            logger: Some(Arc::new(move |e| sink.lock().unwrap().push(e))),
            ..opts(addr)
        };
        within(verify(&o, &login("user", "hunter2"))).await.unwrap();
        let entries = entries.lock().unwrap();
        let real = auth::plain("user", "hunter2");
        assert!(entries
            .iter()
            .all(|e| !e.message().contains(&real) && !e.message().contains("hunter2")));
        let shown = format!("AUTH PLAIN {}", auth::plain("user", "/* secret */"));
        assert!(entries
            .iter()
            .any(|e| e.tnx == "client" && e.message() == shown));
        assert!(entries
            .iter()
            .any(|e| e.tnx == "server" && e.message() == "250-mx\n250 AUTH LOGIN PLAIN"));
        assert!(entries
            .iter()
            .any(|e| e.message() == "User \"user\" authenticated"));
        assert!(
            entries
                .iter()
                .any(|e| e.message()
                    == format!("Connection established to 127.0.0.1:{}", addr.port()))
        );
        // nodemailer's fields: the socket's ends on "established", the login on "authenticated"
        let established = entries.iter().find(|e| e.tnx == "network").unwrap();
        assert!(established
            .fields
            .contains(&Field::Num("remotePort", addr.port().into())));
        assert!(established
            .fields
            .iter()
            .any(|f| matches!(f, Field::Num("localPort", p) if *p > 0)));
        let authed = entries
            .iter()
            .find(|e| e.template == "User %s authenticated")
            .unwrap();
        assert!(authed
            .fields
            .contains(&Field::Str("username", "user".into())));
        assert!(authed
            .fields
            .contains(&Field::Str("action", "authenticated".into())));
        // every record of one connection carries the same non-empty sid
        assert!(!entries[0].sid.is_empty());
        assert!(entries
            .iter()
            .all(|e| e.sid == entries[0].sid && e.source == Source::Connection));
    }
}
