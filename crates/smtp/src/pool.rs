//! The pooled transport (`pool: true`), nodemailer's `lib/smtp-pool` (§10), with its known
//! defects fixed.
//!
//! **Shape.** `send` appends a job to one FIFO queue shared by up to `max_connections`
//! *slots*. A slot is one long-lived tokio task that owns at most one SMTP connection and
//! pulls jobs from the queue one at a time (no task per message). Connections are opened
//! lazily, when a slot takes a job and has none: connect → EHLO → STARTTLS → login, once per
//! connection; messages then go back to back (`MAIL FROM` right after the previous `250`, no
//! `RSET`). After `max_messages` the connection is retired (QUIT in a detached task) and the
//! slot opens a new one on demand. After any failed message the connection is dropped, as
//! nodemailer does; only that message gets the error.
//!
//! **Per-message auth** (nodemailer ignores it and sends as the pool user, its issue #1875;
//! here a message never travels under another identity). Every slot carries the identity of
//! its connection: no auth, a login user (+ password), or an XOAUTH2 user, plus the forced
//! method and `force_auth`. A slot only takes jobs of its own identity, except that a job
//! whose identity has *no* slot at all may be taken by any slot that looks for work, which
//! then retires its connection (QUIT) and opens one for that identity. A new job whose
//! identity has no idle slot gets a new slot while fewer than `max_connections` exist; when
//! all are taken by other identities, an idle one is woken to switch; otherwise the job waits
//! for a busy slot. Jobs are taken in queue order (the first job that the slot may serve).
//!
//! **Retries.** An idle connection is checked before reuse ([`SmtpConnection::check_idle`]):
//! one the server closed (or sent a `421` on) is replaced without failing anything. If the
//! connection still dies before the body was started (socket closed/reset during `MAIL FROM`,
//! `RCPT TO` or `DATA`: nothing can have been accepted), the message goes back to the FRONT
//! of the queue, at most `max_requeues` times (None = 5; nodemailer retries forever), then
//! fails with ECONNECTION "Reached maximum number of retries after connection was closed".
//! A failure once the body was started (mid-body, or no reply after the final dot) is never
//! retried: the message may have been delivered, and we deliver at most once.
//!
//! **Rate limit.** At most `rate_limit` messages start per `rate_delta` window, across the
//! whole pool; a window opens with the first message taken after the previous one ended. A
//! message over the limit waits for the next window before its slot touches the network.
//!
//! **Idle.** nodemailer's semantics: the pool is idle while the queue holds fewer than
//! `max_connections` entries. `on_idle` runs once shortly after creation (if still idle) and
//! on each transition back to idle; it is never called with a lock held, so it may call
//! `is_idle`/`send`. After `close()` the pool is never idle.
//!
//! **Close.** Queued messages fail at once with ECONNECTION "Connection pool was closed"
//! (nodemailer: same message, no code); so does any later `send` (nodemailer never settles
//! it). Idle connections QUIT now, busy ones after their current message. Dropping the last
//! `Arc<Pool>` closes it.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use crate::auth::{AuthOptions, Credentials, TokenProvider};
use crate::connection::{SendInfo, SmtpConnection};
use crate::envelope::Envelope;
use crate::error::{ErrorCode, SmtpError};
use crate::log::{Level, Logger};
use crate::options::ConnectOptions;
use crate::transport;

pub type BodyStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;
/// Makes the message body; called again if the message is retried on a new connection.
pub type BodyFactory = Box<dyn Fn() -> BodyStream + Send + Sync>;
/// What `send` resolves to: nodemailer's `info` fields and `info.ehlo`.
pub type SendResult = Result<(SendInfo, Vec<String>), SmtpError>;
pub type IdleFn = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// `maxConnections`, default 5 (0 means the default, as nodemailer's `|| 5`).
    pub max_connections: usize,
    /// `maxMessages` per connection, default `Some(100)`; `None` = Infinity
    /// (`Some(0)` means the default, as nodemailer's `|| 100`).
    pub max_messages: Option<u64>,
    /// `rateDelta`, default 1 s.
    pub rate_delta: Duration,
    /// `rateLimit` messages per `rate_delta` across the pool; 0 = off.
    pub rate_limit: u64,
    /// Re-queues of a message whose connection closed before its body started; None = 5.
    pub max_requeues: Option<u32>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 5,
            max_messages: Some(100),
            rate_delta: Duration::from_millis(1000),
            rate_limit: 0,
            max_requeues: None,
        }
    }
}

const DEFAULT_MAX_CONNECTIONS: usize = 5;
const DEFAULT_MAX_MESSAGES: u64 = 100;
const DEFAULT_MAX_REQUEUES: u32 = 5;

fn pool_closed() -> SmtpError {
    SmtpError::new(ErrorCode::EConnection, "Connection pool was closed")
}

fn retries_exhausted() -> SmtpError {
    SmtpError::new(
        ErrorCode::EConnection,
        "Reached maximum number of retries after connection was closed",
    )
}

// ---------------------------------------------------------------- identity

/// Who a connection is logged in as. Holds the password only to compare it; never printed.
#[derive(Clone)]
enum Who {
    Anonymous,
    Login {
        user: String,
        pass: String,
    },
    XOAuth2 {
        user: String,
        provider: Arc<dyn TokenProvider>,
    },
}

#[derive(Clone)]
struct Identity {
    who: Who,
    /// Forced SASL method, trimmed and upper-cased; None when absent or empty.
    method: Option<String>,
    force_auth: bool,
}

fn norm_method(m: Option<&str>) -> Option<&str> {
    m.map(str::trim).filter(|m| !m.is_empty())
}

impl Identity {
    fn of(auth: &AuthOptions) -> Identity {
        let who = match &auth.credentials {
            None => Who::Anonymous,
            Some(Credentials::Login { user, pass }) => Who::Login {
                user: user.clone(),
                pass: pass.clone(),
            },
            Some(Credentials::XOAuth2(p)) => Who::XOAuth2 {
                user: p.user(),
                provider: p.clone(),
            },
        };
        Identity {
            who,
            method: norm_method(auth.method.as_deref()).map(str::to_ascii_uppercase),
            force_auth: auth.force_auth,
        }
    }

    /// Whether a connection logged in as `self` may carry a message with `auth`.
    /// Allocation-free except for an XOAUTH2 provider other than the slot's own.
    fn matches(&self, auth: &AuthOptions) -> bool {
        let same_method = match (self.method.as_deref(), norm_method(auth.method.as_deref())) {
            (None, None) => true,
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        if !same_method || self.force_auth != auth.force_auth {
            return false;
        }
        match (&self.who, &auth.credentials) {
            (Who::Anonymous, None) => true,
            (Who::Login { user, pass }, Some(Credentials::Login { user: u, pass: p })) => {
                user == u && pass == p
            }
            (Who::XOAuth2 { user, provider }, Some(Credentials::XOAuth2(p))) => {
                Arc::ptr_eq(provider, p) || *user == p.user()
            }
            _ => false,
        }
    }
}

// Manual Debug: never print a password.
impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match &self.who {
            Who::Anonymous => "anonymous".to_string(),
            Who::Login { user, .. } => format!("login {user}"),
            Who::XOAuth2 { user, .. } => format!("xoauth2 {user}"),
        };
        f.debug_struct("Identity")
            .field("who", &who)
            .field("method", &self.method)
            .field("force_auth", &self.force_auth)
            .finish()
    }
}

// ---------------------------------------------------------------- state

struct Job {
    auth: AuthOptions,
    env: Envelope,
    body: BodyFactory,
    requeues: u32,
    reply: oneshot::Sender<SendResult>,
}

struct SlotInfo {
    id: u64,
    identity: Identity,
    /// Parked waiting for work (not busy, not sleeping on the rate limit).
    idle: bool,
    wake: Arc<Notify>,
}

struct State {
    queue: VecDeque<Job>,
    slots: Vec<SlotInfo>,
    next_slot: u64,
    closed: bool,
    idling: bool,
    /// Rate-limit window: start and messages started in it.
    window: Option<(Instant, u64)>,
}

struct Inner {
    connect: Arc<ConnectOptions>,
    max_connections: usize,
    max_messages: Option<u64>,
    rate_delta: Duration,
    rate_limit: u64,
    max_requeues: u32,
    on_idle: Option<IdleFn>,
    logger: Logger,
    state: Mutex<State>,
}

/// What a slot does next.
enum Step {
    Exit,
    Wait,
    Sleep(Instant),
    /// Run the job; `true` when the slot switched identity for it.
    Run(Job, bool),
}

/// A slot's live connection and the messages it has carried.
struct Live {
    conn: SmtpConnection,
    sent: u64,
}

/// Outcome of one attempt at a job.
enum Attempt {
    Done(SendResult),
    /// The connection died before the body started: the job may go back to the queue.
    Requeue,
}

/// The body stream, noting whether the engine ever asked it for data: it does so only after
/// `DATA` was accepted, so an unpolled body proves no message byte reached the server.
struct Tracked {
    inner: BodyStream,
    started: bool,
}

impl Stream for Tracked {
    type Item = std::io::Result<Bytes>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.started = true;
        this.inner.as_mut().poll_next(cx)
    }
}

impl Inner {
    // A poisoned lock only means a panic elsewhere; the state itself stays consistent
    // (every critical section is panic-free), so keep going rather than hang sends.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn emit_idle(&self) {
        if let Some(cb) = &self.on_idle {
            cb();
        }
    }

    /// Queues a job and decides which slot serves it: an idle one of its identity, a new
    /// one, or an idle one of another identity that will switch.
    fn enqueue(
        self: &Arc<Self>,
        auth: AuthOptions,
        env: Envelope,
        body: BodyFactory,
        reply: oneshot::Sender<SendResult>,
    ) -> Result<Option<Launch>, SmtpError> {
        let mut st = self.lock();
        if st.closed {
            return Err(pool_closed());
        }
        let mut launch = None;
        if let Some(s) = st
            .slots
            .iter_mut()
            .find(|s| s.idle && s.identity.matches(&auth))
        {
            s.idle = false;
            s.wake.notify_one();
        } else if st.slots.len() < self.max_connections {
            let id = st.next_slot;
            st.next_slot += 1;
            let wake = Arc::new(Notify::new());
            st.slots.push(SlotInfo {
                id,
                identity: Identity::of(&auth),
                idle: false,
                wake: wake.clone(),
            });
            self.logger.log(Level::Info, "pool", || {
                format!("Created new pool resource #{id}")
            });
            launch = Some(Launch {
                slot: Some((self.clone(), id, wake)),
            });
        } else if !st.slots.iter().any(|s| s.identity.matches(&auth)) {
            if let Some(s) = st.slots.iter_mut().find(|s| s.idle) {
                s.idle = false;
                s.wake.notify_one();
            }
        }
        st.queue.push_back(Job {
            auth,
            env,
            body,
            requeues: 0,
            reply,
        });
        if st.idling && st.queue.len() >= self.max_connections {
            st.idling = false;
        }
        Ok(launch)
    }

    /// The slot's next step; the flag says whether the pool just became idle again.
    fn next_step(&self, id: u64) -> (Step, bool) {
        let mut st = self.lock();
        let Some(me) = st.slots.iter().position(|s| s.id == id) else {
            return (Step::Exit, false);
        };
        if st.closed {
            st.slots.swap_remove(me);
            return (Step::Exit, false);
        }
        // first job this slot may serve: its own identity, or one no slot has
        let mut pick = None;
        for (i, job) in st.queue.iter().enumerate() {
            if st.slots[me].identity.matches(&job.auth) {
                pick = Some((i, false));
                break;
            }
            if !st.slots.iter().any(|s| s.identity.matches(&job.auth)) {
                pick = Some((i, true));
                break;
            }
        }
        let Some((index, switch)) = pick else {
            st.slots[me].idle = true;
            return (Step::Wait, false);
        };
        if self.rate_limit > 0 {
            let now = Instant::now();
            match st.window {
                Some((start, n)) if now < start + self.rate_delta => {
                    if n >= self.rate_limit {
                        st.slots[me].idle = false;
                        return (Step::Sleep(start + self.rate_delta), false);
                    }
                    st.window = Some((start, n + 1));
                }
                _ => st.window = Some((now, 1)),
            }
        }
        let Some(job) = st.queue.remove(index) else {
            // cannot happen: `index` came from iterating this queue under the same lock
            st.slots[me].idle = true;
            return (Step::Wait, false);
        };
        let slot = &mut st.slots[me];
        slot.idle = false;
        if switch {
            slot.identity = Identity::of(&job.auth);
        }
        // other work may be waiting for an identity this slot just left or never had
        if !st.queue.is_empty() {
            if let Some(s) = st.slots.iter_mut().find(|s| s.idle) {
                s.idle = false;
                s.wake.notify_one();
            }
        }
        let emit = !st.idling && st.queue.len() < self.max_connections;
        if emit {
            st.idling = true;
        }
        (Step::Run(job, switch), emit)
    }

    /// A job whose connection died before its body started: back to the front, or failed.
    fn requeue(&self, mut job: Job) {
        let failed = {
            let mut st = self.lock();
            if st.closed {
                Some((job, pool_closed()))
            } else if job.requeues >= self.max_requeues {
                Some((job, retries_exhausted()))
            } else {
                job.requeues += 1;
                let attempt = job.requeues;
                self.logger.log(Level::Debug, "pool", || {
                    format!("Re-queued message after connection was closed. Attempt: #{attempt}")
                });
                st.queue.push_front(job);
                if st.idling && st.queue.len() >= self.max_connections {
                    st.idling = false;
                }
                None
            }
        };
        if let Some((job, err)) = failed {
            let _ = job.reply.send(Err(err));
        }
    }

    fn remove_slot(&self, id: u64) {
        let mut st = self.lock();
        st.slots.retain(|s| s.id != id);
    }

    /// One attempt at `job` on the slot's connection, opening one if needed. The connection
    /// is put back in `live` only if it may carry the next message.
    async fn attempt(&self, live: &mut Option<Live>, job: &Job) -> Attempt {
        let reusable = match live.take() {
            Some(mut l) => {
                if l.conn.check_idle() {
                    Some(l)
                } else {
                    self.logger.log(Level::Info, "pool", || {
                        "Idle connection was closed by the server, replacing it".to_string()
                    });
                    // the socket is already unusable: dropping it closes it
                    None
                }
            }
            None => None,
        };
        let mut l = match reusable {
            Some(l) => l,
            None => {
                let mut conn = match SmtpConnection::connect(&self.connect).await {
                    Ok(c) => c,
                    Err(e) => return Attempt::Done(Err(e)),
                };
                if let Err(e) = transport::login_if_needed(&mut conn, &job.auth).await {
                    tokio::spawn(conn.close());
                    return Attempt::Done(Err(e));
                }
                Live { conn, sent: 0 }
            }
        };
        let mut body = Tracked {
            inner: (job.body)(),
            started: false,
        };
        match l.conn.send(&job.env, &mut body).await {
            Ok(info) => {
                l.sent += 1;
                let ehlo = l.conn.ehlo().to_vec();
                if self.max_messages.is_some_and(|max| l.sent >= max) {
                    self.logger.log(Level::Debug, "pool", || {
                        "Max messages limit exhausted, recycling the connection".to_string()
                    });
                    tokio::spawn(l.conn.quit());
                } else {
                    *live = Some(l);
                }
                Attempt::Done(Ok((info, ehlo)))
            }
            Err(e) => {
                let usable = l.conn.is_usable();
                // nodemailer drops a connection after any error: simpler and safer; a broken
                // socket is closed by dropping it
                if usable {
                    tokio::spawn(l.conn.close());
                }
                let closed = matches!(e.code, ErrorCode::EConnection | ErrorCode::ESocket);
                if !body.started && !usable && closed {
                    Attempt::Requeue
                } else {
                    Attempt::Done(Err(e))
                }
            }
        }
    }
}

/// Removes the slot from the pool however its task ends (even by a panic), so its place
/// can be taken again.
struct SlotGuard {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.inner.remove_slot(self.id);
    }
}

async fn run_slot(inner: Arc<Inner>, id: u64, wake: Arc<Notify>) {
    let _guard = SlotGuard {
        inner: inner.clone(),
        id,
    };
    let mut live: Option<Live> = None;
    loop {
        let (step, emit) = inner.next_step(id);
        if emit {
            inner.emit_idle();
        }
        match step {
            Step::Exit => break,
            Step::Wait => wake.notified().await,
            Step::Sleep(until) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => {}
                    _ = wake.notified() => {}
                }
            }
            Step::Run(job, switched) => {
                if switched {
                    if let Some(old) = live.take() {
                        tokio::spawn(old.conn.quit());
                    }
                }
                match inner.attempt(&mut live, &job).await {
                    Attempt::Done(res) => {
                        let _ = job.reply.send(res);
                    }
                    Attempt::Requeue => inner.requeue(job),
                }
            }
        }
    }
    if let Some(l) = live.take() {
        l.conn.quit().await;
    }
}

/// A slot reserved by `send`, started on the tokio runtime when the returned future is first
/// polled (`send` itself may run on a thread without a runtime, e.g. the JS thread). If the
/// future is dropped unpolled outside any runtime, the reservation is released.
struct Launch {
    slot: Option<(Arc<Inner>, u64, Arc<Notify>)>,
}

impl Drop for Launch {
    fn drop(&mut self) {
        if let Some((inner, id, wake)) = self.slot.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(run_slot(inner, id, wake));
                }
                Err(_) => inner.remove_slot(id),
            }
        }
    }
}

// ---------------------------------------------------------------- API

/// The pool. `Pool::new` returns an `Arc`: share it freely.
pub struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    pub fn new(
        connect: Arc<ConnectOptions>,
        opts: PoolOptions,
        on_idle: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> Arc<Pool> {
        let logger = Logger {
            sink: connect.logger.clone(),
            debug: connect.debug,
        };
        let inner = Arc::new(Inner {
            connect,
            max_connections: match opts.max_connections {
                0 => DEFAULT_MAX_CONNECTIONS,
                n => n,
            },
            max_messages: match opts.max_messages {
                Some(0) => Some(DEFAULT_MAX_MESSAGES),
                m => m,
            },
            rate_delta: opts.rate_delta,
            rate_limit: opts.rate_limit,
            max_requeues: opts.max_requeues.unwrap_or(DEFAULT_MAX_REQUEUES),
            on_idle,
            logger,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                slots: Vec::new(),
                next_slot: 1,
                closed: false,
                idling: true,
                window: None,
            }),
        });
        if let Some(cb) = inner.on_idle.clone() {
            // nodemailer emits 'idle' on the next tick after creation, if still idle
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    let weak = Arc::downgrade(&inner);
                    rt.spawn(async move {
                        tokio::task::yield_now().await;
                        if let Some(inner) = weak.upgrade() {
                            let idle = {
                                let st = inner.lock();
                                st.idling && !st.closed
                            };
                            if idle {
                                cb();
                            }
                        }
                    });
                }
                // no runtime on this thread (the JS thread): the binding's callback only
                // queues a call to JS, so calling it now still fires after this tick
                Err(_) => cb(),
            }
        }
        Arc::new(Pool { inner })
    }

    /// Queues a message (FIFO) and resolves with its result. The message is queued when
    /// `send` is called, not when the future is first polled, so calls made in order are
    /// sent in order. After `close()` the future is ready at once with an error.
    pub fn send(
        &self,
        auth: AuthOptions,
        env: Envelope,
        body: BodyFactory,
    ) -> impl Future<Output = SendResult> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let queued = self.inner.enqueue(auth, env, body, tx);
        async move {
            // dropping the reservation starts its slot (we are on the runtime now)
            drop(queued?);
            // a dropped sender means the slot's task died with the job: report it as closed
            rx.await.unwrap_or_else(|_| Err(pool_closed()))
        }
    }

    /// nodemailer's `isIdle()`: fewer than `max_connections` messages are queued.
    pub fn is_idle(&self) -> bool {
        let st = self.inner.lock();
        st.idling && !st.closed
    }

    /// Messages queued and not yet started.
    pub fn pending_count(&self) -> usize {
        self.inner.lock().queue.len()
    }

    /// One temporary connection, like [`transport::verify`]; pooled connections are untouched.
    pub async fn verify(&self, auth: &AuthOptions) -> Result<(), SmtpError> {
        transport::verify(&self.inner.connect, auth).await
    }

    /// Fails every queued message and later `send`s, QUITs idle connections now and busy
    /// ones after their current message. Never blocks.
    pub fn close(&self) {
        let jobs = {
            let mut st = self.inner.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            for s in &st.slots {
                s.wake.notify_one();
            }
            std::mem::take(&mut st.queue)
        };
        for job in jobs {
            let _ = job.reply.send(Err(pool_closed()));
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.close();
    }
}
