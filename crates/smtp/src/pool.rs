//! The pooled transport (`pool: true`), nodemailer's `lib/smtp-pool`, with its known
//! defects fixed.
//!
//! **Shape.** `send` appends a job to one FIFO queue shared by up to `max_connections`
//! *slots*. A slot is one long-lived tokio task that owns at most one SMTP connection and
//! pulls jobs from the queue one at a time (no task per message). Connections are opened
//! lazily, when a slot takes a job and has none: connect → EHLO → STARTTLS → login, once per
//! connection; messages then go back to back (`MAIL FROM` right after the previous `250`, no
//! `RSET`). After `max_messages` the connection is retired (QUIT, then the server's close) and
//! the slot opens a new one on demand. After any failed message the connection is dropped, as
//! nodemailer does; only that message gets the error. A slot ends its old connection before it
//! opens the next (after the outcome is reported), so at most `max_connections` sockets are
//! open at any time, also while a slow server answers QUIT.
//!
//! **Per-message auth** (nodemailer ignores it and sends as the pool user, its issue #1875;
//! here a message never travels under another identity). Every slot carries the identity of
//! its connection: no auth, a login user (+ password), or an XOAUTH2 user (+ the digest of the
//! credentials behind its token, [`TokenProvider::credentials_digest`]), plus the forced
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
//! **Close.** Every message not yet on the wire fails at once with ECONNECTION "Connection
//! pool was closed" (nodemailer: same message, no code for its drained queue): the queued ones,
//! and the ones whose connection is still being opened (that attempt is dropped). A message
//! whose `MAIL FROM` was written finishes. Any later `send` fails the same way. Idle
//! connections QUIT now, busy ones after their current message. Dropping the last `Arc<Pool>`
//! closes it.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::Instant;

use crate::auth::{AuthOptions, Credentials, TokenProvider};
use crate::connection::{SendInfo, SmtpConnection};
use crate::envelope::Envelope;
use crate::error::{ErrorCode, SmtpError};
use crate::log::{Details, Field, Level, Logger, Source};
use crate::options::ConnectOptions;
use crate::transport;

pub type BodyStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;
/// Makes the message body; called again if the message is retried on a new connection.
pub type BodyFactory = Box<dyn Fn() -> BodyStream + Send + Sync>;
/// What `send` resolves to: nodemailer's `info` fields and `info.ehlo`.
pub type SendResult = Result<(SendInfo, Arc<[String]>), SmtpError>;
/// Receives a submitted message's outcome (exactly once) and its envelope back. Called on a
/// tokio worker (or the submitting thread, when the pool is closed), never with a lock held.
pub type Reply = Box<dyn FnOnce(SendResult, Envelope) + Send + Sync>;
pub type IdleFn = Arc<dyn Fn() + Send + Sync>;

/// nodemailer's pool options (lib/smtp-pool), as mailer-config reads them; `Default` holds
/// nodemailer's defaults.
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
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_messages: Some(DEFAULT_MAX_MESSAGES),
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

/// False when the XOAUTH2 token the message's identity logged in with has expired: an
/// authenticated session must not outlive it (a revoked refresh token would never be noticed).
fn token_is_fresh(auth: &AuthOptions) -> bool {
    match &auth.credentials {
        Some(Credentials::XOAuth2(p)) => p.token_is_fresh(),
        _ => true,
    }
}

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
        digest: Option<[u8; 32]>,
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
                digest: p.credentials_digest(),
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
            // The same user name is not enough: a message presenting other credentials for a
            // logged-in user must log in with its own (and fail if they are bogus).
            (
                Who::XOAuth2 {
                    user,
                    digest,
                    provider,
                },
                Some(Credentials::XOAuth2(p)),
            ) => {
                Arc::ptr_eq(provider, p)
                    || (digest.is_some() && *digest == p.credentials_digest() && *user == p.user())
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
    /// Shared: a transport's messages all carry the same auth.
    auth: Arc<AuthOptions>,
    env: Envelope,
    body: BodyFactory,
    requeues: u32,
    reply: Reply,
}

impl Job {
    fn finish(self, res: SendResult) {
        (self.reply)(res, self.env);
    }
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
    /// Becomes true on `close()`: ends connection attempts in progress.
    closed: watch::Sender<bool>,
    /// Slot tasks running (a slot leaves `slots` when it decides to end, then says QUIT).
    tasks: AtomicUsize,
    /// Woken when the last slot task has ended (see `Pool::closed`).
    all_ended: Notify,
}

/// What a slot does next.
// Short-lived stack values, moved once: boxing would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
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
// Same reason as `Step`: no allocation per message.
#[allow(clippy::large_enum_variant)]
enum Attempt {
    Done(SendResult),
    /// The connection died before the body started: the job may go back to the queue.
    Requeue,
}

/// A connection the slot must end before it opens another: it counts against
/// `max_connections` until its socket is closed.
enum Retire {
    /// Spent (`max_messages`): QUIT, then wait for the server to close.
    Quit(SmtpConnection),
    /// After a failure: close without QUIT, as nodemailer does.
    Close(SmtpConnection),
}

impl Retire {
    async fn run(self) {
        match self {
            Retire::Quit(c) => c.quit().await,
            Retire::Close(c) => c.close().await,
        }
    }
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
    /// After `close()` the job fails at once (its reply runs here, outside the lock).
    fn enqueue(self: &Arc<Self>, job: Job) -> Option<Launch> {
        let mut st = self.lock();
        if st.closed {
            drop(st);
            job.finish(Err(pool_closed()));
            return None;
        }
        let auth = &job.auth;
        let mut launch = None;
        if let Some(s) = st
            .slots
            .iter_mut()
            .find(|s| s.idle && s.identity.matches(auth))
        {
            s.idle = false;
            s.wake.notify_one();
        } else if st.slots.len() < self.max_connections {
            let id = st.next_slot;
            st.next_slot += 1;
            let wake = Arc::new(Notify::new());
            st.slots.push(SlotInfo {
                id,
                identity: Identity::of(auth),
                idle: false,
                wake: wake.clone(),
            });
            self.logger
                .log(Level::Info, "pool", "Created new pool resource #%s", || {
                    Details::args([id.to_string()])
                        .field(Field::Num("cid", id))
                        // sic: nodemailer's value
                        .field(Field::Str("action", "conection".to_string()))
                });
            launch = Some(Launch {
                slot: Some((self.clone(), id, wake)),
            });
        } else if !st.slots.iter().any(|s| s.identity.matches(auth)) {
            if let Some(s) = st.slots.iter_mut().find(|s| s.idle) {
                s.idle = false;
                s.wake.notify_one();
            }
        }
        st.queue.push_back(job);
        if st.idling && st.queue.len() >= self.max_connections {
            st.idling = false;
        }
        launch
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
                self.logger.log(
                    Level::Debug,
                    "pool",
                    "Re-queued message after connection was closed. Attempt: #%s",
                    || {
                        Details::args([attempt.to_string()])
                            .field(Field::Str("action", "requeue".to_string()))
                    },
                );
                st.queue.push_front(job);
                if st.idling && st.queue.len() >= self.max_connections {
                    st.idling = false;
                }
                None
            }
        };
        if let Some((job, err)) = failed {
            job.finish(Err(err));
        }
    }

    fn remove_slot(&self, id: u64) {
        let mut st = self.lock();
        st.slots.retain(|s| s.id != id);
    }

    fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Resolves once the pool is closed.
    async fn closed(&self) {
        let mut rx = self.closed.subscribe();
        // Err only if the sender is gone, which `self` prevents
        let _ = rx.wait_for(|closed| *closed).await;
    }

    /// Connect, EHLO, STARTTLS and login for `auth`. A connection whose login failed comes
    /// back with the error, to be closed.
    async fn open(
        &self,
        auth: &AuthOptions,
    ) -> Result<SmtpConnection, (SmtpError, Option<SmtpConnection>)> {
        let mut conn = SmtpConnection::connect(&self.connect)
            .await
            .map_err(|e| (e, None))?;
        match transport::login_if_needed(&mut conn, auth).await {
            Ok(()) => Ok(conn),
            Err(e) => Err((e, Some(conn))),
        }
    }

    /// One attempt at `job` on the slot's connection, opening one if needed. The connection
    /// is put back in `live` only if it may carry the next message (or must QUIT after
    /// `close()`); one to end before the slot goes on comes back as a [`Retire`].
    async fn attempt(
        &self,
        id: u64,
        live: &mut Option<Live>,
        job: &Job,
    ) -> (Attempt, Option<Retire>) {
        let logger = self.logger.resource(id);
        let reusable = match live.take() {
            Some(mut l) => {
                if !token_is_fresh(&job.auth) {
                    self.logger.log(
                        Level::Debug,
                        "pool",
                        "The access token of this connection's login has expired, logging in again",
                        || Details::args([]),
                    );
                    // closed before the new one opens: never more than max_connections
                    l.conn.quit().await;
                    None
                } else if l.conn.check_idle() {
                    Some(l)
                } else {
                    logger.log(
                        Level::Info,
                        "pool",
                        "Idle connection was closed by the server, replacing it",
                        Details::default,
                    );
                    // the socket is already unusable: dropping it closes it
                    None
                }
            }
            None => None,
        };
        let mut l = match reusable {
            Some(l) => l,
            None => {
                // close() fails a message still waiting for its connection at once, as
                // nodemailer fails everything not handed to a connection; dropping the
                // half-open connection closes it
                let opened = tokio::select! {
                    biased;
                    _ = self.closed() => return (Attempt::Done(Err(pool_closed())), None),
                    opened = self.open(&job.auth) => opened,
                };
                match opened {
                    Ok(conn) => Live { conn, sent: 0 },
                    Err((e, conn)) => return (Attempt::Done(Err(e)), conn.map(Retire::Close)),
                }
            }
        };
        // Past this point the message goes on the wire (MAIL FROM) and may finish after
        // close(); before it, close() wins.
        if self.is_closed() {
            *live = Some(l);
            return (Attempt::Done(Err(pool_closed())), None);
        }
        let mut body = Tracked {
            inner: (job.body)(),
            started: false,
        };
        if let Some(message_id) = &job.env.message_id {
            logger.sending(message_id, &job.env.to);
        }
        match l.conn.send(&job.env, &mut body).await {
            Ok(info) => {
                l.sent += 1;
                let ehlo = l.conn.ehlo_shared();
                if self.max_messages.is_some_and(|max| l.sent >= max) {
                    // sic: nodemailer's wording
                    logger.log(
                        Level::Debug,
                        "pool",
                        "Max messages limit exchausted for #%s",
                        || {
                            Details::args([id.to_string()])
                                .field(Field::Str("action", "maxlimit".to_string()))
                        },
                    );
                    return (Attempt::Done(Ok((info, ehlo))), Some(Retire::Quit(l.conn)));
                }
                *live = Some(l);
                (Attempt::Done(Ok((info, ehlo))), None)
            }
            Err(e) => {
                let usable = l.conn.is_usable();
                // nodemailer drops a connection after any error: simpler and safer; a broken
                // socket is closed by dropping it
                let retire = usable.then_some(Retire::Close(l.conn));
                let closed = matches!(e.code, ErrorCode::EConnection | ErrorCode::ESocket);
                if !body.started && !usable && closed {
                    (Attempt::Requeue, retire)
                } else {
                    (Attempt::Done(Err(e)), retire)
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
        if self.inner.tasks.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.all_ended.notify_waiters();
        }
    }
}

async fn run_slot(inner: Arc<Inner>, id: u64, wake: Arc<Notify>) {
    inner.tasks.fetch_add(1, Ordering::SeqCst);
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
                        // closed before the new one opens: never more than max_connections
                        old.conn.quit().await;
                    }
                }
                let (outcome, retire) = inner.attempt(id, &mut live, &job).await;
                match outcome {
                    Attempt::Done(res) => job.finish(res),
                    Attempt::Requeue => inner.requeue(job),
                }
                // the outcome is out first; the slot opens no other connection until this
                // one's socket is closed, so the pool never holds more than max_connections
                if let Some(r) = retire {
                    r.run().await;
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
        let logger = Logger::module(connect.logger.clone(), connect.debug, Source::Pool);
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
            closed: watch::Sender::new(false),
            state: Mutex::new(State {
                queue: VecDeque::new(),
                slots: Vec::new(),
                next_slot: 1,
                closed: false,
                idling: true,
                window: None,
            }),
            tasks: AtomicUsize::new(0),
            all_ended: Notify::new(),
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
        auth: impl Into<Arc<AuthOptions>>,
        env: Envelope,
        body: BodyFactory,
    ) -> impl Future<Output = SendResult> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let reply: Reply = Box::new(move |res, _env| {
            let _ = tx.send(res);
        });
        let queued = self.inner.enqueue(Job {
            auth: auth.into(),
            env,
            body,
            requeues: 0,
            reply,
        });
        async move {
            // dropping the reservation starts its slot (we are on the runtime now)
            drop(queued);
            // a dropped sender means the slot's task died with the job: report it as closed
            rx.await.unwrap_or_else(|_| Err(pool_closed()))
        }
    }

    /// Queues a message without a task or channel of its own: `reply` gets the outcome. The
    /// cheapest way in for callers that hold thousands of messages in flight (the binding).
    /// Call it inside a tokio runtime context (`Handle::enter`): a slot it opens is spawned
    /// there. After `close()`, `reply` runs at once, on this thread, with the error.
    pub fn submit(&self, auth: Arc<AuthOptions>, env: Envelope, body: BodyFactory, reply: Reply) {
        drop(self.inner.enqueue(Job {
            auth,
            env,
            body,
            requeues: 0,
            reply,
        }));
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

    /// Fails every message not yet on the wire (queued, or waiting for its connection to
    /// open) and later `send`s, QUITs idle connections now and busy ones after their current
    /// message. Never blocks.
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
        self.inner.closed.send_replace(true);
        for job in jobs {
            job.finish(Err(pool_closed()));
        }
    }

    /// Resolves once the pool is closed and every slot has ended, its connection's QUIT
    /// answered or given up (the binding keeps the logger until then).
    pub async fn closed(&self) {
        loop {
            let ended = self.inner.all_ended.notified();
            tokio::pin!(ended);
            // registered before the check, so a slot ending in between still wakes us
            ended.as_mut().enable();
            {
                let st = self.inner.lock();
                if st.closed && self.inner.tasks.load(Ordering::SeqCst) == 0 {
                    return;
                }
            }
            ended.await;
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod lifecycle_tests;

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use base64::Engine as _;
    use futures_util::future::{join_all, BoxFuture};
    use futures_util::FutureExt as _;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::test_server::{client_options, until, within};

    /// What one server-side connection saw.
    #[derive(Default, Clone, Debug)]
    struct ConnRec {
        /// AUTH PLAIN / XOAUTH2 user.
        user: Option<String>,
        /// MAIL FROM addresses, in order.
        froms: Vec<String>,
        /// Subjects of the messages accepted (250 after the dot).
        delivered: Vec<String>,
        /// Subjects whose DATA was received, accepted or not.
        data_seen: Vec<String>,
        quit: bool,
        rset: usize,
    }

    type Recs = Arc<Mutex<Vec<ConnRec>>>;

    #[derive(Clone)]
    struct Behaviour {
        /// Delay before the reply to the final dot.
        reply_delay: Duration,
        /// Close a connection idle this long, with a `421` first when the flag is set.
        idle_close: Option<(Duration, bool)>,
        /// Drop the connection on `MAIL FROM` of (connection index, message index on it).
        drop_at_mail: Arc<dyn Fn(usize, usize) -> bool + Send + Sync>,
    }

    impl Default for Behaviour {
        fn default() -> Self {
            Behaviour {
                reply_delay: Duration::ZERO,
                idle_close: None,
                drop_at_mail: Arc::new(|_, _| false),
            }
        }
    }

    /// A small SMTP server accepting any number of connections: PIPELINING, AUTH PLAIN and
    /// XOAUTH2 (any credentials), recipients starting with `bad` rejected, a message whose
    /// subject contains `DIE` makes it close without replying to the final dot.
    async fn mock(b: Behaviour) -> (SocketAddr, Recs) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let recs: Recs = Arc::default();
        let r2 = recs.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let idx = {
                    let mut r = r2.lock().unwrap();
                    r.push(ConnRec::default());
                    r.len() - 1
                };
                tokio::spawn(handle(tcp, idx, b.clone(), r2.clone()));
            }
        });
        (addr, recs)
    }

    async fn handle(tcp: TcpStream, idx: usize, b: Behaviour, recs: Recs) {
        let (r, mut w) = tcp.into_split();
        let mut r = BufReader::new(r);
        let rec = |f: &mut dyn FnMut(&mut ConnRec)| f(&mut recs.lock().unwrap()[idx]);
        let _ = w.write_all(b"220 mx.test ESMTP\r\n").await;
        let mut msgs = 0;
        loop {
            let mut line = String::new();
            let n = match b.idle_close {
                Some((d, say)) => match tokio::time::timeout(d, r.read_line(&mut line)).await {
                    Err(_) => {
                        if say {
                            let _ = w.write_all(b"421 4.4.2 mx.test Error: timeout\r\n").await;
                        }
                        return;
                    }
                    Ok(n) => n,
                },
                None => r.read_line(&mut line).await,
            };
            if !matches!(n, Ok(n) if n > 0) {
                return;
            }
            let l = line.trim_end();
            let reply: String = if l.starts_with("EHLO") {
                "250-mx.test\r\n250-PIPELINING\r\n250 AUTH PLAIN XOAUTH2\r\n".into()
            } else if let Some(b64) = l.strip_prefix("AUTH PLAIN ") {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                let user = String::from_utf8(raw)
                    .unwrap()
                    .split('\0')
                    .nth(1)
                    .unwrap()
                    .to_string();
                rec(&mut |c| c.user = Some(user.clone()));
                "235 2.7.0 ok\r\n".into()
            } else if let Some(b64) = l.strip_prefix("AUTH XOAUTH2 ") {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                let s = String::from_utf8(raw).unwrap();
                let user = s
                    .strip_prefix("user=")
                    .unwrap()
                    .split('\x01')
                    .next()
                    .unwrap()
                    .to_string();
                rec(&mut |c| c.user = Some(user.clone()));
                "235 2.7.0 ok\r\n".into()
            } else if let Some(from) = l.strip_prefix("MAIL FROM:") {
                if (b.drop_at_mail)(idx, msgs) {
                    return;
                }
                let from = from.trim_matches(['<', '>']).to_string();
                rec(&mut |c| c.froms.push(from.clone()));
                "250 ok\r\n".into()
            } else if let Some(to) = l.strip_prefix("RCPT TO:<") {
                if to.starts_with("bad") {
                    "550 5.1.1 no such user\r\n".into()
                } else {
                    "250 ok\r\n".into()
                }
            } else if l == "DATA" {
                let _ = w.write_all(b"354 go\r\n").await;
                let mut subject = String::new();
                loop {
                    let mut dl = String::new();
                    if !matches!(r.read_line(&mut dl).await, Ok(n) if n > 0) {
                        return;
                    }
                    let dl = dl.trim_end();
                    if dl == "." {
                        break;
                    }
                    if let Some(s) = dl.strip_prefix("Subject: ") {
                        subject = s.to_string();
                    }
                }
                rec(&mut |c| c.data_seen.push(subject.clone()));
                if subject.contains("DIE") {
                    return;
                }
                if !b.reply_delay.is_zero() {
                    tokio::time::sleep(b.reply_delay).await;
                }
                rec(&mut |c| c.delivered.push(subject.clone()));
                msgs += 1;
                format!("250 2.0.0 Ok: queued {subject}\r\n")
            } else if l == "RSET" {
                rec(&mut |c| c.rset += 1);
                "250 ok\r\n".into()
            } else if l == "QUIT" {
                rec(&mut |c| c.quit = true);
                let _ = w.write_all(b"221 bye\r\n").await;
                return;
            } else {
                "500 unknown\r\n".into()
            };
            if w.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    fn connect_opts(addr: SocketAddr) -> Arc<ConnectOptions> {
        Arc::new(client_options(addr))
    }

    /// A pool to `addr` with `opts`, no idle callback.
    fn pool_with(addr: SocketAddr, opts: PoolOptions) -> Arc<Pool> {
        Pool::new(connect_opts(addr), opts, None)
    }

    /// A pool of at most `max_connections` connections to `addr`, no idle callback.
    fn pool_of(addr: SocketAddr, max_connections: usize) -> Arc<Pool> {
        pool_with(addr, max_conns(max_connections))
    }

    /// A pool of at most `max_connections` connections to `addr` that calls `on_idle`.
    fn pool_calling(
        addr: SocketAddr,
        max_connections: usize,
        on_idle: impl Fn() + Send + Sync + 'static,
    ) -> Arc<Pool> {
        Pool::new(
            connect_opts(addr),
            max_conns(max_connections),
            Some(Arc::new(on_idle)),
        )
    }

    fn max_conns(max_connections: usize) -> PoolOptions {
        PoolOptions {
            max_connections,
            ..Default::default()
        }
    }

    fn env(from: &str, to: &str) -> Envelope {
        Envelope {
            from: from.into(),
            to: vec![to.into()],
            ..Default::default()
        }
    }

    fn body(subject: &str) -> BodyFactory {
        let text = Bytes::from(format!("Subject: {subject}\r\n\r\nhello\r\n"));
        Box::new(move || {
            let chunk = text.clone();
            Box::pin(futures_util::stream::iter([Ok(chunk)]))
        })
    }

    fn login(user: &str) -> AuthOptions {
        AuthOptions {
            credentials: Some(Credentials::Login {
                user: user.into(),
                pass: "secret".into(),
            }),
            ..Default::default()
        }
    }

    /// Message `i` of `n`: `send(i)` gives its auth, envelope and subject.
    fn send_each(
        pool: &Pool,
        n: usize,
        send: impl Fn(usize) -> (AuthOptions, Envelope, String),
    ) -> Vec<impl Future<Output = SendResult>> {
        (0..n)
            .map(|i| {
                let (auth, env, subject) = send(i);
                pool.send(auth, env, body(&subject))
            })
            .collect()
    }

    /// `n` messages without auth from `s@x` to `r@x`, subjects `m0`, `m1`, ...
    fn send_n(pool: &Pool, n: usize) -> Vec<impl Future<Output = SendResult>> {
        send_each(pool, n, |i| {
            (AuthOptions::default(), env("s@x", "r@x"), format!("m{i}"))
        })
    }

    /// [`send_n`]'s messages, all settled.
    async fn send_all(pool: &Pool, n: usize) -> Vec<SendResult> {
        within(join_all(send_n(pool, n))).await
    }

    /// [`send_each`]'s messages, all settled.
    async fn send_all_each(
        pool: &Pool,
        n: usize,
        send: impl Fn(usize) -> (AuthOptions, Envelope, String),
    ) -> Vec<SendResult> {
        within(join_all(send_each(pool, n, send))).await
    }

    fn assert_all_ok(results: &[SendResult]) {
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    }

    /// How many messages the server accepted over all its connections.
    fn delivered(seen: &[ConnRec]) -> usize {
        seen.iter().map(|c| c.delivered.len()).sum()
    }

    fn recs(r: &Recs) -> Vec<ConnRec> {
        r.lock().unwrap().clone()
    }

    /// Waits until the server saw `f` hold (connections close asynchronously).
    async fn eventually(r: &Recs, f: impl Fn(&[ConnRec]) -> bool) {
        within(until(|| f(&r.lock().unwrap()))).await
    }

    #[tokio::test]
    async fn hundred_messages_over_three_connections() {
        let (addr, r) = mock(Behaviour::default()).await;
        let pool = pool_with(
            addr,
            PoolOptions {
                max_connections: 3,
                max_messages: None,
                ..Default::default()
            },
        );
        let results = send_all(&pool, 100).await;
        for (i, res) in results.iter().enumerate() {
            let (info, ehlo) = res.as_ref().unwrap();
            assert_eq!(info.accepted, vec!["r@x"]);
            assert_eq!(info.response, format!("250 2.0.0 Ok: queued m{i}"));
            assert_eq!(ehlo[..], vec!["PIPELINING", "AUTH PLAIN XOAUTH2"]);
        }
        let seen = recs(&r);
        assert_eq!(seen.len(), 3);
        let per_conn: Vec<usize> = seen.iter().map(|c| c.delivered.len()).collect();
        assert_eq!(per_conn.iter().sum::<usize>(), 100, "{per_conn:?}");
        assert!(per_conn.iter().all(|n| *n > 0), "{per_conn:?}");
        // back to back: no RSET, no QUIT while the pool is open
        assert!(seen.iter().all(|c| c.rset == 0 && !c.quit));
        assert!(pool.is_idle());
        assert_eq!(pool.pending_count(), 0);
        pool.close();
        eventually(&r, |c| c.iter().all(|c| c.quit)).await;
    }

    #[tokio::test]
    async fn submit_replies_with_outcome_and_envelope_in_order() {
        let (addr, r) = mock(Behaviour::default()).await;
        let pool = pool_of(addr, 1);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let auth = Arc::new(AuthOptions::default());
        for i in 0..20 {
            let tx = tx.clone();
            pool.submit(
                auth.clone(),
                env("s@x", &format!("r{i}@x")),
                body(&format!("m{i}")),
                Box::new(move |res, env| {
                    let _ = tx.send((i, res, env));
                }),
            );
        }
        for i in 0..20 {
            let (n, res, env) = within(rx.recv()).await.unwrap();
            // one connection: outcomes in submission order, each with its own envelope back
            assert_eq!(n, i);
            assert_eq!(env.to, vec![format!("r{i}@x")]);
            let (info, _) = res.unwrap();
            assert_eq!(info.response, format!("250 2.0.0 Ok: queued m{i}"));
        }
        assert_eq!(recs(&r).len(), 1);
        pool.close();
        // after close the reply runs at once, on the submitting thread
        let got = Arc::new(Mutex::new(None));
        let slot = got.clone();
        pool.submit(
            auth,
            env("s@x", "late@x"),
            body("late"),
            Box::new(move |res, env| {
                *slot.lock().unwrap() = Some((res.map(|_| ()), env.to));
            }),
        );
        let (res, to) = got.lock().unwrap().take().expect("reply must run at once");
        assert_eq!(res.unwrap_err().message, "Connection pool was closed");
        assert_eq!(to, vec!["late@x"]);
    }

    #[tokio::test]
    async fn max_messages_recycles_connections() {
        let (addr, r) = mock(Behaviour::default()).await;
        let pool = pool_with(
            addr,
            PoolOptions {
                max_connections: 1,
                max_messages: Some(5),
                ..Default::default()
            },
        );
        let results = send_all(&pool, 12).await;
        assert_all_ok(&results);
        eventually(&r, |c| c.len() == 3 && c[1].quit).await;
        let seen = recs(&r);
        let per_conn: Vec<Vec<String>> = seen.iter().map(|c| c.delivered.clone()).collect();
        let names = |a: std::ops::Range<usize>| a.map(|i| format!("m{i}")).collect::<Vec<_>>();
        assert_eq!(per_conn, vec![names(0..5), names(5..10), names(10..12)]);
        // retired connections said QUIT; the live one did not
        assert!(seen[0].quit && seen[1].quit && !seen[2].quit);
    }

    #[tokio::test]
    async fn rate_limit_spans_the_whole_pool() {
        let (addr, r) = mock(Behaviour::default()).await;
        let pool = pool_with(
            addr,
            PoolOptions {
                max_connections: 3,
                rate_limit: 10,
                rate_delta: Duration::from_millis(200),
                ..Default::default()
            },
        );
        let start = Instant::now();
        let results = send_all(&pool, 30).await;
        let took = start.elapsed();
        assert_all_ok(&results);
        assert!(took >= Duration::from_millis(400), "{took:?}");
        assert!(took < Duration::from_millis(2000), "{took:?}");
        assert_eq!(delivered(&recs(&r)), 30);
    }

    #[tokio::test]
    async fn rejected_recipients_fail_only_their_messages() {
        let (addr, r) = mock(Behaviour::default()).await;
        let pool = pool_of(addr, 2);
        let results = send_all_each(&pool, 20, |i| {
            let to = if i % 2 == 0 { "bad@x" } else { "good@x" };
            (AuthOptions::default(), env("s@x", to), format!("m{i}"))
        })
        .await;
        for (i, res) in results.iter().enumerate() {
            if i % 2 == 0 {
                let e = res.as_ref().unwrap_err();
                assert_eq!(e.code, ErrorCode::EEnvelope);
                assert_eq!(
                    e.message,
                    "Can't send mail - all recipients were rejected: 550 5.1.1 no such user"
                );
                assert_eq!(e.rejected, vec!["bad@x"]);
            } else {
                assert_eq!(res.as_ref().unwrap().0.accepted, vec!["good@x"]);
            }
        }
        let mut delivered: Vec<String> = recs(&r).into_iter().flat_map(|c| c.delivered).collect();
        delivered.sort();
        let mut want: Vec<String> = (0..20)
            .filter(|i| i % 2 == 1)
            .map(|i| format!("m{i}"))
            .collect();
        want.sort();
        assert_eq!(delivered, want);
    }

    #[tokio::test]
    async fn server_closing_idle_connections_fails_nothing() {
        // with a 421 notice first (Postfix style) and with a bare close
        for say_421 in [true, false] {
            let (addr, r) = mock(Behaviour {
                idle_close: Some((Duration::from_millis(100), say_421)),
                ..Default::default()
            })
            .await;
            let pool = pool_of(addr, 2);
            let first = send_all(&pool, 10).await;
            assert_all_ok(&first);
            let before = recs(&r).len();
            assert_eq!(before, 2);
            tokio::time::sleep(Duration::from_millis(300)).await;
            let second = send_all(&pool, 10).await;
            for res in &second {
                assert!(res.is_ok(), "{res:?}");
            }
            let seen = recs(&r);
            assert_eq!(seen.len(), 4, "new connections replace the closed ones");
            let total: usize = delivered(&seen);
            assert_eq!(total, 20);
        }
    }

    #[tokio::test]
    async fn connection_dropped_at_mail_from_is_requeued() {
        // the third MAIL FROM on the first connection kills it: the message is retried
        let (addr, r) = mock(Behaviour {
            drop_at_mail: Arc::new(|conn, msg| conn == 0 && msg == 2),
            ..Default::default()
        })
        .await;
        let pool = pool_of(addr, 1);
        let results = send_all(&pool, 6).await;
        assert_all_ok(&results);
        let seen = recs(&r);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].delivered, vec!["m0", "m1"]);
        assert_eq!(seen[1].delivered, vec!["m2", "m3", "m4", "m5"]);
    }

    #[tokio::test]
    async fn connection_dying_mid_message_fails_only_that_message() {
        let (addr, r) = mock(Behaviour::default()).await;
        let pool = pool_of(addr, 2);
        let results = send_all_each(&pool, 10, |i| {
            let subject = if i == 4 {
                "m4 DIE".to_string()
            } else {
                format!("m{i}")
            };
            (AuthOptions::default(), env("s@x", "r@x"), subject)
        })
        .await;
        for (i, res) in results.iter().enumerate() {
            if i == 4 {
                let e = res.as_ref().unwrap_err();
                assert_eq!(e.code, ErrorCode::EConnection);
                assert_eq!(e.message, "Connection closed unexpectedly");
            } else {
                assert!(res.is_ok(), "{i}: {res:?}");
            }
        }
        let seen = recs(&r);
        // after the final dot: never retried (at most once)
        let die_seen = seen
            .iter()
            .flat_map(|c| c.data_seen.iter())
            .filter(|s| s.contains("DIE"))
            .count();
        assert_eq!(die_seen, 1);
        let total: usize = delivered(&seen);
        assert_eq!(total, 9);
    }

    #[tokio::test]
    async fn close_fails_pending_at_once_and_later_sends() {
        let (addr, r) = mock(Behaviour {
            reply_delay: Duration::from_millis(300),
            ..Default::default()
        })
        .await;
        let pool = pool_of(addr, 1);
        let handles: Vec<_> = send_n(&pool, 5).into_iter().map(tokio::spawn).collect();
        // let the first message reach the server
        eventually(&r, |c| c.len() == 1 && c[0].data_seen.len() == 1).await;
        assert_eq!(pool.pending_count(), 4);
        let closed_at = Instant::now();
        pool.close();
        assert_eq!(pool.pending_count(), 0);
        assert!(!pool.is_idle());
        let mut results = Vec::new();
        for h in handles {
            results.push(within(h).await.unwrap());
        }
        // the in-flight message completes; the queued ones failed right away
        assert!(results[0].is_ok(), "{:?}", results[0]);
        for res in &results[1..] {
            let e = res.as_ref().unwrap_err();
            assert_eq!(e.code, ErrorCode::EConnection);
            assert_eq!(e.message, "Connection pool was closed");
        }
        // send after close: ready at once
        let later = pool
            .send(AuthOptions::default(), env("s@x", "r@x"), body("late"))
            .now_or_never()
            .expect("send after close must settle at once");
        assert_eq!(later.unwrap_err().message, "Connection pool was closed");
        // the busy connection QUITs after its message
        eventually(&r, |c| c[0].quit).await;
        assert!(closed_at.elapsed() >= Duration::from_millis(100));
        assert_eq!(recs(&r)[0].delivered, vec!["m0"]);
    }

    #[tokio::test]
    async fn pending_messages_fail_promptly_on_close() {
        let (addr, _r) = mock(Behaviour {
            reply_delay: Duration::from_millis(500),
            ..Default::default()
        })
        .await;
        let pool = pool_of(addr, 1);
        let mut futs = send_n(&pool, 3).into_iter();
        let first = tokio::spawn(futs.next().unwrap());
        let rest: Vec<_> = futs.map(tokio::spawn).collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let t = Instant::now();
        pool.close();
        for h in rest {
            assert!(h.await.unwrap().is_err());
        }
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
        assert!(within(first).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn idle_transitions_and_on_idle() {
        let (addr, _r) = mock(Behaviour {
            reply_delay: Duration::from_millis(30),
            ..Default::default()
        })
        .await;
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = calls.clone();
        let pool = pool_calling(addr, 2, move || {
            c2.fetch_add(1, Ordering::SeqCst);
        });
        assert!(pool.is_idle());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "once after creation");
        let mut futs = send_n(&pool, 1);
        assert!(pool.is_idle(), "1 queued < 2 connections");
        futs.extend(send_n(&pool, 3));
        assert!(!pool.is_idle());
        assert_eq!(pool.pending_count(), 4);
        let results = within(join_all(futs)).await;
        assert_all_ok(&results);
        assert!(pool.is_idle());
        // exactly one transition back to idle: when the queue fell below 2
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(pool.pending_count(), 0);
    }

    #[tokio::test]
    async fn feeding_the_queue_on_idle_delivers_everything() {
        let (addr, r) = mock(Behaviour::default()).await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let pool = pool_calling(addr, 2, move || {
            let _ = tx.send(());
        });
        let mut queue: VecDeque<usize> = (0..30).collect();
        let mut handles = Vec::new();
        within(async {
            while !queue.is_empty() {
                rx.recv().await.unwrap();
                while pool.is_idle() {
                    let Some(i) = queue.pop_front() else { break };
                    let f = pool.send(
                        AuthOptions::default(),
                        env("s@x", "r@x"),
                        body(&format!("m{i}")),
                    );
                    handles.push(tokio::spawn(f));
                }
            }
        })
        .await;
        for h in handles {
            assert!(within(h).await.unwrap().is_ok());
        }
        assert_eq!(delivered(&recs(&r)), 30);
    }

    #[tokio::test]
    async fn per_message_auth_never_crosses_identities() {
        let (addr, r) = mock(Behaviour::default()).await;
        let pool = pool_of(addr, 2);
        let results = send_all_each(&pool, 20, |i| {
            let user = if i % 3 == 0 { "alice" } else { "bob" };
            (
                login(user),
                env(&format!("{user}@x"), "r@x"),
                format!("m{i}"),
            )
        })
        .await;
        assert_all_ok(&results);
        let seen = recs(&r);
        let mut total = 0;
        for c in &seen {
            let user = c.user.clone().expect("every connection logged in");
            assert!(c.froms.iter().all(|f| *f == format!("{user}@x")), "{c:?}");
            total += c.delivered.len();
        }
        assert_eq!(total, 20);
    }

    #[tokio::test]
    async fn single_slot_switches_identity_when_idle() {
        let (addr, r) = mock(Behaviour::default()).await;
        let pool = pool_of(addr, 1);
        for (i, user) in ["alice", "alice", "bob", "alice"].iter().enumerate() {
            let res = within(pool.send(
                login(user),
                env(&format!("{user}@x"), "r@x"),
                body(&format!("m{i}")),
            ))
            .await;
            assert!(res.is_ok(), "{res:?}");
        }
        // a message without auth never rides an authenticated connection
        within(pool.send(AuthOptions::default(), env("anon@x", "r@x"), body("m4")))
            .await
            .unwrap();
        eventually(&r, |c| c.len() == 4 && c[2].quit).await;
        let seen = recs(&r);
        let users: Vec<Option<String>> = seen.iter().map(|c| c.user.clone()).collect();
        assert_eq!(
            users,
            vec![
                Some("alice".into()),
                Some("bob".into()),
                Some("alice".into()),
                None
            ]
        );
        assert_eq!(seen[0].delivered, vec!["m0", "m1"]);
        assert_eq!(seen[3].froms, vec!["anon@x"]);
        // the retired identities said QUIT
        assert!(seen[0].quit && seen[1].quit && seen[2].quit);
    }

    struct Tokens {
        user: &'static str,
        calls: AtomicUsize,
    }

    impl TokenProvider for Tokens {
        fn user(&self) -> String {
            self.user.into()
        }
        fn credentials_digest(&self) -> Option<[u8; 32]> {
            Some([self.user.len() as u8; 32])
        }
        fn token(&self, _renew: bool) -> BoxFuture<'static, Result<String, SmtpError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok("tok".to_string()) })
        }
    }

    #[tokio::test]
    async fn xoauth2_users_share_their_provider_across_connections() {
        let (addr, r) = mock(Behaviour::default()).await;
        let pool = pool_of(addr, 3);
        let carol = Arc::new(Tokens {
            user: "carol",
            calls: AtomicUsize::new(0),
        });
        let auth = AuthOptions {
            credentials: Some(Credentials::XOAuth2(carol.clone())),
            ..Default::default()
        };
        let results = send_all_each(&pool, 9, |i| {
            (auth.clone(), env("carol@x", "r@x"), format!("m{i}"))
        })
        .await;
        assert_all_ok(&results);
        let seen = recs(&r);
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|c| c.user.as_deref() == Some("carol")));
        // one token request per connection at most; the provider dedupes across them
        assert_eq!(carol.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn max_requeues_bounds_retries() {
        for (max, conns) in [(Some(2), 3), (None, 6), (Some(0), 1)] {
            let (addr, r) = mock(Behaviour {
                drop_at_mail: Arc::new(|_, _| true),
                ..Default::default()
            })
            .await;
            let pool = pool_with(
                addr,
                PoolOptions {
                    max_connections: 1,
                    max_requeues: max,
                    ..Default::default()
                },
            );
            let e = within(pool.send(AuthOptions::default(), env("s@x", "r@x"), body("m0")))
                .await
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::EConnection);
            assert_eq!(
                e.message,
                "Reached maximum number of retries after connection was closed"
            );
            assert_eq!(recs(&r).len(), conns, "max_requeues {max:?}");
        }
    }

    #[tokio::test]
    async fn connect_failure_fails_the_message_and_the_queue_goes_on() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let pool = pool_with(addr, PoolOptions::default());
        let results = send_all(&pool, 3).await;
        for res in results {
            let e = res.unwrap_err();
            assert_eq!(e.code, ErrorCode::ESocket);
            assert_eq!(
                e.message,
                format!("connect ECONNREFUSED 127.0.0.1:{}", addr.port())
            );
        }
    }

    #[tokio::test]
    async fn verify_uses_a_temporary_connection() {
        let (addr, r) = mock(Behaviour::default()).await;
        let pool = pool_with(addr, PoolOptions::default());
        within(pool.verify(&login("alice"))).await.unwrap();
        eventually(&r, |c| c.len() == 1 && c[0].quit).await;
        assert_eq!(recs(&r)[0].user.as_deref(), Some("alice"));
    }

    /// Rough throughput against the in-process mock (which shares the CPU with the client):
    /// `cargo test -p mailer-smtp --release -- --ignored --nocapture pool_throughput`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore]
    async fn pool_throughput() {
        let (addr, r) = mock(Behaviour::default()).await;
        let pool = pool_with(addr, PoolOptions::default());
        let n = 10_000;
        let start = Instant::now();
        let results = join_all(send_n(&pool, n)).await;
        let took = start.elapsed();
        assert_all_ok(&results);
        assert_eq!(delivered(&recs(&r)), n);
        println!(
            "{n} messages in {took:?}: {:.0} msg/s over {} connections",
            n as f64 / took.as_secs_f64(),
            recs(&r).len()
        );
    }

    #[test]
    fn identity_matching() {
        let alice = Identity::of(&login("alice"));
        assert!(alice.matches(&login("alice")));
        assert!(!alice.matches(&login("bob")));
        assert!(!alice.matches(&AuthOptions::default()));
        let other_pass = AuthOptions {
            credentials: Some(Credentials::Login {
                user: "alice".into(),
                pass: "other".into(),
            }),
            ..Default::default()
        };
        assert!(!alice.matches(&other_pass));
        let forced = AuthOptions {
            method: Some(" login ".into()),
            ..login("alice")
        };
        assert!(!alice.matches(&forced));
        let forced_id = Identity::of(&forced);
        assert_eq!(forced_id.method.as_deref(), Some("LOGIN"));
        assert!(forced_id.matches(&AuthOptions {
            method: Some("LOGIN".into()),
            ..login("alice")
        }));
        let anon = Identity::of(&AuthOptions::default());
        assert!(anon.matches(&AuthOptions {
            method: Some("".into()),
            ..Default::default()
        }));
        assert!(!anon.matches(&AuthOptions {
            force_auth: true,
            ..Default::default()
        }));
        let p1: Arc<dyn TokenProvider> = Arc::new(Tokens {
            user: "carol",
            calls: AtomicUsize::new(0),
        });
        let p2: Arc<dyn TokenProvider> = Arc::new(Tokens {
            user: "carol",
            calls: AtomicUsize::new(0),
        });
        let p3: Arc<dyn TokenProvider> = Arc::new(Tokens {
            user: "dave",
            calls: AtomicUsize::new(0),
        });
        let x = |p: &Arc<dyn TokenProvider>| AuthOptions {
            credentials: Some(Credentials::XOAuth2(p.clone())),
            ..Default::default()
        };
        let carol = Identity::of(&x(&p1));
        assert!(carol.matches(&x(&p1)));
        assert!(carol.matches(&x(&p2)));
        assert!(!carol.matches(&x(&p3)));
        // Same user, other credentials (or none known): not the same identity.
        struct Other(Option<[u8; 32]>);
        impl TokenProvider for Other {
            fn user(&self) -> String {
                "carol".into()
            }
            fn token(&self, _renew: bool) -> BoxFuture<'static, Result<String, SmtpError>> {
                Box::pin(async { Ok("bogus".to_string()) })
            }
            fn credentials_digest(&self) -> Option<[u8; 32]> {
                self.0
            }
        }
        let bogus: Arc<dyn TokenProvider> = Arc::new(Other(Some([9; 32])));
        let unknown: Arc<dyn TokenProvider> = Arc::new(Other(None));
        assert!(!carol.matches(&x(&bogus)));
        assert!(!carol.matches(&x(&unknown)));
        assert!(!Identity::of(&x(&unknown)).matches(&x(&p1)));
        assert!(Identity::of(&x(&unknown)).matches(&x(&unknown)));
        let same_digest: Arc<dyn TokenProvider> = Arc::new(Other(Some([5; 32])));
        assert!(
            carol.matches(&x(&same_digest)),
            "carol: same user, same digest"
        );
        assert!(!carol.matches(&login("carol")));
        let dbg = format!("{:?}", alice);
        assert!(dbg.contains("alice") && !dbg.contains("secret"), "{dbg}");
    }

    #[test]
    fn options_defaults() {
        let o = PoolOptions::default();
        assert_eq!(o.max_connections, 5);
        assert_eq!(o.max_messages, Some(100));
        assert_eq!(o.rate_delta, Duration::from_secs(1));
        assert_eq!(o.rate_limit, 0);
        assert_eq!(o.max_requeues, None);
    }

    #[test]
    fn created_without_runtime_calls_on_idle_and_send_after_close_settles() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = calls.clone();
        let pool = Pool::new(
            Arc::new(ConnectOptions::default()),
            PoolOptions::default(),
            Some(Arc::new(move || {
                c2.fetch_add(1, Ordering::SeqCst);
            })),
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // queued on a thread without a runtime, dropped unpolled: the slot is released
        drop(pool.send(AuthOptions::default(), Envelope::default(), body("x")));
        assert_eq!(pool.inner.lock().slots.len(), 0);
        assert_eq!(pool.pending_count(), 1);
        pool.close();
        let res = pool
            .send(AuthOptions::default(), Envelope::default(), body("x"))
            .now_or_never()
            .unwrap();
        assert_eq!(res.unwrap_err().message, "Connection pool was closed");
    }
}
