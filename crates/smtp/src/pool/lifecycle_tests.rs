//! Connection lifecycle of the pool against small scripted servers: the connection count
//! never exceeds `max_connections` while retired connections say QUIT, and `close()` fails
//! what is not yet on the wire.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::*;
use crate::test_server::{client_options, until, within_secs};

#[derive(Default)]
struct Counts {
    open: AtomicUsize,
    max_open: AtomicUsize,
    sessions: AtomicUsize,
    mails: AtomicUsize,
}

/// A session counts from accept until the server ends it: after its `221`, or at EOF.
struct Session(Arc<Counts>);

impl Session {
    fn new(c: &Arc<Counts>) -> Session {
        let now = c.open.fetch_add(1, Ordering::SeqCst) + 1;
        c.max_open.fetch_max(now, Ordering::SeqCst);
        c.sessions.fetch_add(1, Ordering::SeqCst);
        Session(c.clone())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// PIPELINING server: greets after `greeting_delay`, answers the final dot after
/// `dot_delay` and QUIT after `quit_delay`.
async fn server(
    greeting_delay: Duration,
    dot_delay: Duration,
    quit_delay: Duration,
) -> (SocketAddr, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let session = Session::new(&c);
            tokio::spawn(serve(tcp, session, greeting_delay, dot_delay, quit_delay));
        }
    });
    (addr, counts)
}

async fn serve(
    tcp: TcpStream,
    session: Session,
    greeting_delay: Duration,
    dot_delay: Duration,
    quit_delay: Duration,
) {
    tcp.set_nodelay(true).unwrap();
    let (r, mut w) = tcp.into_split();
    let mut r = BufReader::new(r);
    tokio::time::sleep(greeting_delay).await;
    if w.write_all(b"220 count.test ESMTP\r\n").await.is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if !matches!(r.read_line(&mut line).await, Ok(n) if n > 0) {
            return;
        }
        let l = line.trim_end();
        let reply: &[u8] = if l.starts_with("EHLO") {
            b"250-count.test\r\n250 PIPELINING\r\n"
        } else if l.starts_with("MAIL") {
            session.0.mails.fetch_add(1, Ordering::SeqCst);
            b"250 ok\r\n"
        } else if l.starts_with("RCPT") {
            b"250 ok\r\n"
        } else if l == "DATA" {
            let _ = w.write_all(b"354 go\r\n").await;
            loop {
                let mut dl = String::new();
                if !matches!(r.read_line(&mut dl).await, Ok(n) if n > 0) {
                    return;
                }
                if dl.trim_end() == "." {
                    break;
                }
            }
            tokio::time::sleep(dot_delay).await;
            b"250 2.0.0 queued\r\n"
        } else if l == "QUIT" {
            tokio::time::sleep(quit_delay).await;
            let _ = w.write_all(b"221 bye\r\n").await;
            // the session is over for the server once it said 221
            drop(session);
            let _ = w.shutdown().await;
            return;
        } else {
            b"500 what\r\n"
        };
        if w.write_all(reply).await.is_err() {
            return;
        }
    }
}

fn opts(addr: SocketAddr) -> Arc<ConnectOptions> {
    Arc::new(client_options(addr))
}

fn body() -> BodyFactory {
    Box::new(|| {
        Box::pin(futures_util::stream::iter([Ok(Bytes::from_static(
            b"Subject: x\r\n\r\nhello\r\n",
        ))]))
    })
}

fn send(pool: &Pool) -> impl Future<Output = SendResult> {
    let env = Envelope {
        from: "s@x".into(),
        to: vec!["r@x".into()],
        ..Default::default()
    };
    pool.send(AuthOptions::default(), env, body())
}

/// `f`, or a panic after 20 s.
async fn within<T>(f: impl Future<Output = T>) -> T {
    within_secs(20, f).await
}

#[tokio::test]
async fn recycled_connections_count_until_closed() {
    let (addr, counts) = server(Duration::ZERO, Duration::ZERO, Duration::from_millis(100)).await;
    let pool = Pool::new(
        opts(addr),
        PoolOptions {
            max_connections: 3,
            max_messages: Some(2),
            ..Default::default()
        },
        None,
    );
    let sends: Vec<_> = (0..30).map(|_| send(&pool)).collect();
    let results = within(join_all(sends)).await;
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(counts.mails.load(Ordering::SeqCst), 30);
    assert_eq!(counts.sessions.load(Ordering::SeqCst), 15);
    // the spent connection's slow QUIT keeps it counted: never a fourth beside it
    assert_eq!(counts.max_open.load(Ordering::SeqCst), 3);
    pool.close();
}

#[tokio::test]
async fn close_fails_messages_whose_connection_is_opening() {
    let (addr, counts) = server(Duration::from_secs(2), Duration::ZERO, Duration::ZERO).await;
    let pool = Pool::new(opts(addr), PoolOptions::default(), None);
    let sends: Vec<_> = (0..3).map(|_| send(&pool)).collect();
    let all = tokio::spawn(join_all(sends));
    // the connections are open and waiting for the greeting
    within(until(|| counts.sessions.load(Ordering::SeqCst) >= 3)).await;
    let start = Instant::now();
    pool.close();
    let results = within(all).await.unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    for r in results {
        let e = r.unwrap_err();
        assert_eq!(e.code, ErrorCode::EConnection);
        assert_eq!(e.message, "Connection pool was closed");
    }
    assert_eq!(counts.mails.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn close_lets_the_message_on_the_wire_finish() {
    let (addr, counts) = server(Duration::ZERO, Duration::from_millis(300), Duration::ZERO).await;
    let pool = Pool::new(
        opts(addr),
        PoolOptions {
            max_connections: 1,
            ..Default::default()
        },
        None,
    );
    let first = tokio::spawn(send(&pool));
    let rest: Vec<_> = (0..3).map(|_| send(&pool)).collect();
    within(until(|| counts.mails.load(Ordering::SeqCst) >= 1)).await;
    pool.close();
    // the queued ones fail at once, while the first still waits for its reply
    for r in within(join_all(rest)).await {
        assert_eq!(r.unwrap_err().message, "Connection pool was closed");
    }
    assert!(!first.is_finished());
    assert!(within(first).await.unwrap().is_ok());
    assert_eq!(counts.mails.load(Ordering::SeqCst), 1);
    // then the connection says QUIT and the server ends the session
    within(until(|| counts.open.load(Ordering::SeqCst) == 0)).await;
}
