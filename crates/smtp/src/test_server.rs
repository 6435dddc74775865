//! A scripted SMTP server on 127.0.0.1:0 for the async tests of this crate (test builds
//! only), and the helpers those tests share.
//!
//! - [`serve`] accepts one connection and runs a [`Script`] on it: a list of [`Step`]s as data
//!   ([`steps`]: send, expect, reply, greet, DATA, TLS, QUIT, EOF) or, where the server must
//!   decide or assert something itself, a closure ([`script!`] over [`ServerConn`]).
//! - [`client_options`] names the client `client.test` as the scripts expect; TLS uses the
//!   committed fixtures through `mailer_tls::test_util` ([`server_tls_config`], [`CA`]).
//! - [`within`] bounds a wait, [`until`] polls for what changes on other tasks.
//!
//! A test that differs from its neighbours only in data (a server reply, an option, the
//! expected error) is a row of a table in its module's tests, not a copy of them.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The loopback TLS server of the tests and the CA a client passes to trust it: one
/// definition for every crate (mailer-tls, its `test-util` feature).
pub use mailer_tls::test_util::{server_config as server_tls_config, CA};

trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

pub struct ServerConn {
    io: Option<Box<dyn Duplex>>,
    tcp: Option<TcpStream>,
    buf: Vec<u8>,
    /// Every line the client sent, in order.
    pub seen: Vec<String>,
}

impl ServerConn {
    fn io(&mut self) -> &mut (dyn Duplex + '_) {
        if let Some(io) = self.io.as_mut() {
            io.as_mut()
        } else {
            self.tcp.as_mut().unwrap()
        }
    }

    pub async fn send(&mut self, s: &str) {
        self.io().write_all(s.as_bytes()).await.unwrap();
        self.io().flush().await.unwrap();
    }

    /// Next line without CRLF; None on EOF.
    pub async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..pos]).into_owned();
                self.buf.drain(..pos + 2);
                self.seen.push(line.clone());
                return Some(line);
            }
            let mut tmp = [0u8; 4096];
            let n = self.io().read(&mut tmp).await.ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&tmp[..n]);
        }
    }

    /// The greeting `220 mx`, the client's `EHLO client.test` (as [`client_options`] names
    /// it), and `ehlo` as the server's answer.
    pub async fn greet(&mut self, ehlo: &str) {
        self.send("220 mx\r\n").await;
        self.expect("EHLO client.test").await;
        self.send(ehlo).await;
    }

    /// Reads a line and asserts it.
    pub async fn expect(&mut self, want: &str) {
        let got = self.line().await;
        assert_eq!(got.as_deref(), Some(want));
    }

    /// One exchange: reads and asserts the client's line `want`, then answers `reply`.
    pub async fn reply(&mut self, want: &str, reply: &str) {
        self.expect(want).await;
        self.send(reply).await;
    }

    /// The client's `QUIT`, answered `221 bye`.
    pub async fn quit(&mut self) {
        self.reply("QUIT", "221 bye\r\n").await;
    }

    /// Raw DATA bytes up to and including the terminating "\r\n.\r\n".
    pub async fn data(&mut self) -> Vec<u8> {
        loop {
            if let Some(pos) = self.buf.windows(5).position(|w| w == b"\r\n.\r\n") {
                let out: Vec<u8> = self.buf.drain(..pos + 5).collect();
                return out;
            }
            let mut tmp = [0u8; 4096];
            let n = self.io().read(&mut tmp).await.unwrap();
            assert!(n > 0, "EOF inside DATA");
            self.buf.extend_from_slice(&tmp[..n]);
        }
    }

    /// Server side of the TLS handshake on the current TCP stream.
    pub async fn accept_tls(&mut self) {
        assert!(self.try_accept_tls().await, "TLS handshake failed");
    }

    /// Like `accept_tls`, reporting failure (a client that rejects our certificate).
    pub async fn try_accept_tls(&mut self) -> bool {
        assert!(self.buf.is_empty(), "client sent data before TLS");
        let tcp = self.tcp.take().unwrap();
        match tokio_rustls::TlsAcceptor::from(server_tls_config())
            .accept(tcp)
            .await
        {
            Ok(tls) => {
                self.io = Some(Box::new(tls));
                true
            }
            Err(_) => false,
        }
    }

    /// Waits for the client to close (EOF) and returns whether more lines came.
    pub async fn until_eof(&mut self) -> Vec<String> {
        let mut rest = Vec::new();
        while let Some(l) = self.line().await {
            rest.push(l);
        }
        rest
    }
}

/// Options for a client of [`serve`] on `addr`: named `client.test`, 5 s socket timeout.
pub fn client_options(addr: SocketAddr) -> crate::options::ConnectOptions {
    crate::options::ConnectOptions {
        host: "127.0.0.1".into(),
        port: addr.port(),
        name: Some("client.test".into()),
        socket_timeout: std::time::Duration::from_secs(5),
        ..Default::default()
    }
}

/// `f`, or a panic after 10 s: a test that hangs fails instead.
pub async fn within<T>(f: impl Future<Output = T>) -> T {
    within_secs(10, f).await
}

/// `f`, or a panic after `secs` seconds.
pub async fn within_secs<T>(secs: u64, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(secs), f)
        .await
        .expect("test timed out")
}

/// Returns once `cond` holds, checking every 5 ms: for what changes on other tasks (what a
/// server saw, a counter). Wrap it in [`within`] to bound the wait.
pub async fn until(cond: impl Fn() -> bool) {
    while !cond() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// One step of a server's side of a session, for scripts written as data ([`steps`]).
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// Sends these bytes.
    Send(&'static str),
    /// Reads a line and asserts it.
    Expect(&'static str),
    /// Reads a line, whatever it is.
    Line,
    /// Reads a line, whatever it is, and answers this.
    Answer(&'static str),
    /// Reads and asserts a line, then answers ([`ServerConn::reply`]).
    Reply(&'static str, &'static str),
    /// The greeting, the client's EHLO and this answer to it ([`ServerConn::greet`]).
    Greet(&'static str),
    /// Reads DATA's bytes through the final dot.
    Data,
    /// The server side of the TLS handshake ([`ServerConn::accept_tls`]).
    AcceptTls,
    /// The client's QUIT, answered `221 bye`.
    Quit,
    /// Reads until the client closes.
    UntilEof,
}

impl ServerConn {
    /// Runs `steps` in order.
    pub async fn run(&mut self, steps: &[Step]) {
        for step in steps {
            match *step {
                Step::Send(s) => self.send(s).await,
                Step::Expect(l) => self.expect(l).await,
                Step::Line => {
                    self.line().await;
                }
                Step::Answer(s) => {
                    self.line().await;
                    self.send(s).await;
                }
                Step::Reply(l, s) => self.reply(l, s).await,
                Step::Greet(ehlo) => self.greet(ehlo).await,
                Step::Data => {
                    self.data().await;
                }
                Step::AcceptTls => self.accept_tls().await,
                Step::Quit => self.quit().await,
                Step::UntilEof => {
                    self.until_eof().await;
                }
            }
        }
    }
}

/// A script that runs `steps`.
pub fn steps(steps: &'static [Step]) -> Script {
    Box::new(move |mut c: ServerConn| {
        Box::pin(async move {
            c.run(steps).await;
            c.seen
        })
    })
}

/// A server's side of one connection; it returns the lines the client sent.
pub type Script =
    Box<dyn FnOnce(ServerConn) -> Pin<Box<dyn Future<Output = Vec<String>> + Send>> + Send>;

/// Serves one connection with `script`; the handle yields the client's lines.
/// With `implicit_tls`, TLS is accepted before the script runs.
pub async fn serve(implicit_tls: bool, script: Script) -> (SocketAddr, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut conn = ServerConn {
            io: None,
            tcp: Some(tcp),
            buf: Vec::new(),
            seen: Vec::new(),
        };
        if implicit_tls && !conn.try_accept_tls().await {
            return conn.seen;
        }
        script(conn).await
    });
    (addr, handle)
}

/// `Box::new(|c| Box::pin(async move { ... }))` shorthand.
#[macro_export]
macro_rules! script {
    (|$c:ident| $body:block) => {
        Box::new(|mut $c: $crate::test_server::ServerConn| {
            Box::pin(async move {
                $body;
                $c.seen
            })
        })
    };
}
