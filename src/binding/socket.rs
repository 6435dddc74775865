//! Sockets made in JS (`getSocket`, `connection`, `socket`, custom proxy handlers) as the stream
//! of a Rust SMTP connection. Bytes the JS socket receives come in through `socketData`; the
//! engine's writes go out through a threadsafe function and count as in flight until JS reports
//! them written (`socketWritten`), which is the backpressure towards Rust. A JS side that buffers
//! too much unread input is asked to pause its socket, and to resume it once Rust has read it.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use mailer_smtp::external::{ExternalError, ExternalSocket, OpenFuture, SocketProvider};
use mailer_smtp::{ErrorCode, SmtpError};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi_derive::napi;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

use super::callbacks::{Hub, WeakFn};

/// `(socketId, host, port)`: make (or find) the socket of a new connection.
pub type OpenArgs = FnArgs<(u32, String, u32)>;
pub type OpenFn = WeakFn<OpenArgs>;
/// `(socketId, op, data)`: see the `OP_` constants.
pub type OpsArgs = FnArgs<(u32, u32, Option<Buffer>)>;
pub type OpsFn = WeakFn<OpsArgs>;

const OP_WRITE: u32 = 0;
const OP_END: u32 = 1;
const OP_DESTROY: u32 = 2;
const OP_RESUME: u32 = 3;

/// Bytes written to JS and not yet reported written before a write waits.
const WRITE_HIGH_WATER: usize = 256 * 1024;
/// The largest single write handed to JS.
const WRITE_CHUNK: usize = 64 * 1024;
/// Unread input buffered here before JS is asked to pause its socket.
const READ_HIGH_WATER: usize = 1024 * 1024;

/// What the JS side says about a socket it hands over.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct SocketInfo {
    secure: Option<bool>,
    secured: bool,
    host: Option<String>,
    remote_address: Option<String>,
    remote_port: Option<u32>,
    local_address: Option<String>,
    local_port: Option<u32>,
}

fn addr(ip: &Option<String>, port: Option<u32>) -> Option<SocketAddr> {
    let ip: IpAddr = ip.as_deref()?.parse().ok()?;
    Some(SocketAddr::new(ip, u16::try_from(port.unwrap_or(0)).ok()?))
}

type OpenResult = std::result::Result<Option<SocketInfo>, SmtpError>;

#[derive(Default)]
struct State {
    incoming: VecDeque<Bytes>,
    buffered: usize,
    /// The peer ended its side (`end`): reads return EOF once `incoming` is empty.
    eof: bool,
    /// The socket is gone (`close`) or failed (`error`): writes fail.
    closed: bool,
    error: Option<ExternalError>,
    paused: bool,
    read_waker: Option<Waker>,
    in_flight: usize,
    write_waker: Option<Waker>,
    /// Until JS answers the open request.
    open: Option<oneshot::Sender<OpenResult>>,
}

impl State {
    fn wake_all(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

static SOCKETS: LazyLock<Mutex<HashMap<u32, Arc<Shared>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT_SOCKET: AtomicU32 = AtomicU32::new(1);

fn sockets() -> MutexGuard<'static, HashMap<u32, Arc<Shared>>> {
    SOCKETS.lock().unwrap_or_else(PoisonError::into_inner)
}

fn shared(id: u32) -> Option<Arc<Shared>> {
    sockets().get(&id).cloned()
}

/// A JS socket as an `AsyncRead + AsyncWrite` for the engine.
struct JsSocket {
    id: u32,
    shared: Arc<Shared>,
    ops: Arc<OpsFn>,
    ended: bool,
}

fn broken_pipe(s: &State) -> io::Error {
    match &s.error {
        Some(e) => e.clone().into_io(),
        None => io::Error::new(io::ErrorKind::BrokenPipe, "socket closed"),
    }
}

impl AsyncRead for JsSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut s = this.shared.lock();
        if s.incoming.is_empty() {
            if let Some(e) = &s.error {
                return Poll::Ready(Err(e.clone().into_io()));
            }
            if s.eof || s.closed {
                return Poll::Ready(Ok(()));
            }
            s.read_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        while buf.remaining() > 0 {
            let Some(front) = s.incoming.front_mut() else {
                break;
            };
            let n = front.len().min(buf.remaining());
            buf.put_slice(&front[..n]);
            if n == front.len() {
                s.incoming.pop_front();
            } else {
                let _ = front.split_to(n);
            }
            s.buffered -= n;
        }
        if s.paused && s.buffered < READ_HIGH_WATER / 2 {
            s.paused = false;
            drop(s);
            this.ops.call(
                (this.id, OP_RESUME, None).into(),
                ThreadsafeFunctionCallMode::NonBlocking,
            );
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for JsSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = buf.len().min(WRITE_CHUNK);
        {
            let mut s = this.shared.lock();
            if s.closed || s.error.is_some() {
                return Poll::Ready(Err(broken_pipe(&s)));
            }
            if s.in_flight >= WRITE_HIGH_WATER {
                s.write_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            s.in_flight += n;
        }
        let status = this.ops.call(
            (this.id, OP_WRITE, Some(Buffer::from(buf[..n].to_vec()))).into(),
            ThreadsafeFunctionCallMode::NonBlocking,
        );
        if status != Status::Ok {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the JavaScript side of the socket is gone",
            )));
        }
        Poll::Ready(Ok(n))
    }

    /// Done when JS has reported every write written.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut s = self.shared.lock();
        if s.in_flight == 0 {
            return Poll::Ready(Ok(()));
        }
        if s.closed || s.error.is_some() {
            return Poll::Ready(Err(broken_pipe(&s)));
        }
        s.write_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.ended {
            this.ended = true;
            this.ops.call(
                (this.id, OP_END, None).into(),
                ThreadsafeFunctionCallMode::NonBlocking,
            );
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for JsSocket {
    fn drop(&mut self) {
        sockets().remove(&self.id);
        // JS ends it gracefully if it was ended, else destroys it
        self.ops.call(
            (self.id, OP_DESTROY, None).into(),
            ThreadsafeFunctionCallMode::NonBlocking,
        );
    }
}

/// Removes an open request nobody waits for any more (timed out, or answered "no socket").
struct OpenGuard(Option<u32>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            sockets().remove(&id);
        }
    }
}

/// The transport's JS socket maker; inactive (the engine connects by itself) until
/// [`JsSocketProvider::enable`]. Its JS functions are among the transport's callbacks (see
/// `callbacks.rs`), found through the [`Hub`] while a send or verify holds them open.
pub struct JsSocketProvider {
    hub: Arc<Hub>,
    enabled: AtomicBool,
}

impl JsSocketProvider {
    pub fn new(hub: Arc<Hub>) -> Self {
        JsSocketProvider {
            hub,
            enabled: AtomicBool::new(false),
        }
    }

    pub fn enable(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }
}

impl SocketProvider for JsSocketProvider {
    fn open(&self, host: &str, port: u16) -> Option<OpenFuture> {
        if !self.enabled.load(Ordering::Relaxed) {
            return None;
        }
        let Some((open, ops)) = self.hub.get().and_then(|c| c.sockets.get()) else {
            // never around the user's socket hook: no connection at all
            return Some(Box::pin(async {
                Err(SmtpError::new(
                    ErrorCode::EConnection,
                    "The socket could not be requested from JavaScript",
                )
                .with_command("CONN"))
            }));
        };
        let mut id = NEXT_SOCKET.fetch_add(1, Ordering::Relaxed);
        if id == 0 {
            id = NEXT_SOCKET.fetch_add(1, Ordering::Relaxed);
        }
        let (tx, rx) = oneshot::channel();
        let sh = Arc::new(Shared::default());
        sh.lock().open = Some(tx);
        sockets().insert(id, sh.clone());
        let status = open.call(
            (id, host.to_string(), u32::from(port)).into(),
            ThreadsafeFunctionCallMode::NonBlocking,
        );
        Some(Box::pin(async move {
            let mut guard = OpenGuard(Some(id));
            if status != Status::Ok {
                return Err(SmtpError::new(
                    ErrorCode::EConnection,
                    "The socket could not be requested from JavaScript",
                )
                .with_command("CONN"));
            }
            let info = match rx.await {
                Err(_) => {
                    return Err(SmtpError::new(
                        ErrorCode::EConnection,
                        "The socket request was dropped",
                    )
                    .with_command("CONN"))
                }
                Ok(Err(e)) => return Err(e),
                Ok(Ok(None)) => return Ok(None),
                Ok(Ok(Some(info))) => info,
            };
            guard.0 = None;
            Ok(Some(ExternalSocket {
                secured: info.secured,
                secure: info.secure,
                host: info.host.clone(),
                remote: addr(&info.remote_address, info.remote_port),
                local: addr(&info.local_address, info.local_port),
                stream: Box::new(JsSocket {
                    id,
                    shared: sh,
                    ops,
                    ended: false,
                }),
            }))
        }))
    }
}

/// The answer to an open request: `info` for a socket, null to connect as usual. False when
/// nobody waits for it any more (the caller then destroys the socket).
#[napi(ts_args_type = "id: number, info: object | null")]
pub fn socket_opened(env: Env, id: u32, info: Option<Object>) -> Result<bool> {
    let info: Option<SocketInfo> = match info {
        Some(o) => Some(env.from_js_value(o)?),
        None => None,
    };
    let Some(sh) = shared(id) else {
        return Ok(false);
    };
    let tx = sh.lock().open.take();
    let Some(tx) = tx else { return Ok(false) };
    Ok(tx.send(Ok(info)).is_ok())
}

/// The open request failed (getSocket's or the proxy handler's error): the connection fails
/// with `code` when it is one of nodemailer's, else `ESOCKET` with `code` as `errno`.
#[napi]
pub fn socket_open_failed(id: u32, message: String, code: Option<String>) {
    let Some(sh) = shared(id) else { return };
    let tx = sh.lock().open.take();
    if let Some(tx) = tx {
        let known = code.as_deref().and_then(error_code);
        let mut e =
            SmtpError::new(known.unwrap_or(ErrorCode::ESocket), message).with_command("CONN");
        if known.is_none() {
            e.errno = code;
        }
        let _ = tx.send(Err(e));
    }
}

fn error_code(code: &str) -> Option<ErrorCode> {
    use ErrorCode::*;
    [
        EConnection,
        ETimedOut,
        ESocket,
        EDns,
        ETls,
        EProtocol,
        EAuth,
        EProxy,
    ]
    .into_iter()
    .find(|c| c.as_str() == code)
}

/// Bytes the JS socket received; true asks JS to pause the socket until Rust resumes it.
#[napi]
pub fn socket_data(id: u32, data: Buffer) -> bool {
    let Some(sh) = shared(id) else { return false };
    let mut s = sh.lock();
    if data.is_empty() {
        return s.paused;
    }
    s.buffered += data.len();
    s.incoming.push_back(Bytes::from_owner(data));
    if let Some(w) = s.read_waker.take() {
        w.wake();
    }
    if s.buffered >= READ_HIGH_WATER {
        s.paused = true;
    }
    s.paused
}

/// The peer ended its side of the JS socket.
#[napi]
pub fn socket_end(id: u32) {
    if let Some(sh) = shared(id) {
        let mut s = sh.lock();
        s.eof = true;
        s.wake_all();
    }
}

/// The JS socket closed.
#[napi]
pub fn socket_closed(id: u32) {
    if let Some(sh) = shared(id) {
        let mut s = sh.lock();
        s.eof = true;
        s.closed = true;
        s.wake_all();
    }
}

/// The JS socket failed (`error` event).
#[napi]
pub fn socket_error(id: u32, message: String, code: Option<String>) {
    if let Some(sh) = shared(id) {
        let mut s = sh.lock();
        if s.error.is_none() {
            s.error = Some(ExternalError { message, code });
        }
        s.closed = true;
        s.wake_all();
    }
}

/// JS wrote `n` bytes of what Rust handed it (its write callback ran).
#[napi]
pub fn socket_written(id: u32, n: u32) {
    if let Some(sh) = shared(id) {
        let mut s = sh.lock();
        s.in_flight = s.in_flight.saturating_sub(n as usize);
        if let Some(w) = s.write_waker.take() {
            w.wake();
        }
    }
}
