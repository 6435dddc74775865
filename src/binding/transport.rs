//! `NativeTransport`: what `lib/mailer.js` drives. Converts JS values into the crates' types, runs
//! the send on napi's tokio runtime and turns the outcome into nodemailer's `info` or error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use mailer_config::{AuthConfig, Login, TransportConfig};
use mailer_message::{ComposeOptions, MailData};
use mailer_oauth2::{EventSink, Provisioner, TokenManager, TokenRegistry};
use mailer_smtp::auth::{AuthOptions, Credentials};
use mailer_smtp::connection::SendInfo;
use mailer_smtp::envelope::{Dsn, Envelope};
use mailer_smtp::log::{Field, Level, LogEntry, LogFn, Source};
use mailer_smtp::options::ConnectOptions;
use mailer_smtp::pool::Pool;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Env;
use napi_derive::napi;
use serde::Deserialize;

use super::callbacks::{
    provision_tsfn, runner_tsfn, socket_tsfns, Callbacks, Hub, JsFns, LogArgs, ProvisionArgs,
};
use super::custom_auth::RunnerArgs;
use super::errors::{reject, to_js_error_array, BindError};
use super::options::{oauth2_config, read_auth, TransportSettings};
use super::runtime;
use super::socket::{JsSocketProvider, OpenArgs, OpsArgs};
use super::tokens::{
    event_sink, provisioner, ManagedToken, ProvisionResult, TokenEventJs, PROVISION_TIMEOUT,
};

type ProvisionArg = Function<'static, ProvisionArgs, Promise<ProvisionResult>>;
type ParsedSend = (MailData, EnvelopeExtras, Option<AuthConfig>);

type IdentityArgs = FnArgs<(String, Vec<Buffer>)>;
/// `(servername, chain) => reason | null`: lib/mailer.js calls the user's `checkServerIdentity`
/// with Node's peer certificate object built from the DER chain.
type IdentityFn =
    ThreadsafeFunction<IdentityArgs, Option<String>, IdentityArgs, Status, false, true>;

/// The engine's identity check, answered by JS through `tsfn`. A callback that cannot be
/// reached (the transporter is gone) refuses: the check is never skipped.
fn identity_check(tsfn: Arc<IdentityFn>) -> mailer_smtp::options::IdentityCheck {
    mailer_smtp::options::IdentityCheck(Arc::new(move |host: String, chain: Vec<Vec<u8>>| {
        let tsfn = tsfn.clone();
        Box::pin(async move {
            let chain: Vec<Buffer> = chain.into_iter().map(Buffer::from).collect();
            match tsfn.call_async_catch((host, chain).into()).await {
                Ok(answer) => answer,
                Err(e) => Some(format!("checkServerIdentity failed: {}", e.reason)),
            }
        })
    }))
}

/// The SMTP engine's log sink for the connections of call `op` (0: shared connections): the
/// transport's logger, if its callbacks are open.
fn smtp_log_fn(hub: Arc<Hub>, op: u32) -> LogFn {
    Arc::new(move |entry: LogEntry| {
        if let Some(c) = hub.get() {
            c.log(log_args(entry, op));
        }
    })
}

/// Message options that reach the SMTP envelope rather than the MIME message.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct EnvelopeExtras {
    dsn: Option<JsDsn>,
    /// The message's `dkim`, or the transport's (nodemailer: the message's replaces it).
    pub(super) dkim: Option<serde_json::Value>,
    require_tls_extension_enabled: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct JsDsn {
    id: Option<String>,
    envid: Option<String>,
    #[serde(rename = "return")]
    ret_long: Option<String>,
    ret: Option<String>,
    notify: Option<serde_json::Value>,
    recipient: Option<String>,
    orcpt: Option<String>,
}

impl JsDsn {
    fn into_dsn(self) -> Dsn {
        let notify = match self.notify {
            Some(serde_json::Value::String(s)) => s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            Some(serde_json::Value::Array(items)) => items
                .into_iter()
                .filter_map(|v| v.as_str().map(|s| s.trim().to_string()))
                .collect(),
            _ => Vec::new(),
        };
        Dsn {
            ret: self.ret.or(self.ret_long),
            envid: self.envid.or(self.id),
            notify,
            orcpt: self.orcpt.or(self.recipient),
        }
    }
}

pub(super) struct Core {
    connect: Arc<ConnectOptions>,
    /// Set with `pool: true`: messages queue for shared connections.
    pool: Option<Arc<Pool>>,
    config_error: Option<BindError>,
    config: TransportConfig,
    /// `NODE_TLS_REJECT_UNAUTHORIZED=0` when the transport was made (a message's `auth.tls`
    /// reads it as the transport's did).
    insecure_env: bool,
    compose: ComposeOptions,
    /// One token manager per user + credentials: the transport-level auth and every per-message
    /// auth presenting the same credentials share a cache; other credentials never reach it.
    registry: TokenRegistry,
    /// The transport-level auth, built on first use; cleared when the provisioner changes.
    transport_auth: RwLock<Option<Arc<AuthOptions>>>,
    /// The provisioning callback and its id (a new one for every `set_provisioner`).
    provisioner: RwLock<Option<(u64, Provisioner)>>,
    provisioner_seq: AtomicU64,
    events: Option<EventSink>,
    oauth_log: Option<mailer_oauth2::LogFn>,
    /// The transport's callbacks (the user's logger among them), when open (see `connect_for`).
    hub: Arc<Hub>,
    /// Whether the user gave a logger.
    logging: bool,
    /// `customAuth` handlers (JS), when the transport has any.
    custom_auth: RwLock<Option<mailer_smtp::auth::CustomAuthHandle>>,
    /// Sockets made in JS (`getSocket`, `connection`, `socket`, proxy handlers), once enabled.
    sockets: Arc<JsSocketProvider>,
}

/// A composed message with everything the engine needs.
pub(super) struct Prepared {
    envelope: Envelope,
    auth: Arc<AuthOptions>,
    body: mailer_message::MessageBody,
    message_id: String,
}

pub struct Outcome {
    info: SendInfo,
    ehlo: Arc<[String]>,
    envelope_from: String,
    envelope_to: Vec<String>,
    message_id: String,
}

impl Core {
    /// A send's envelope options (`dsn`, …) and per-message auth, as the binding reads them for
    /// `send` and `sendComposed`.
    pub(super) fn send_options(
        &self,
        env: &Env,
        extras: Option<Object>,
        auth: Option<Object>,
    ) -> std::result::Result<(EnvelopeExtras, Option<AuthConfig>), BindError> {
        let extras: EnvelopeExtras = match extras {
            Some(x) => env.from_js_value(x).map_err(|e| {
                BindError::new(
                    "EENVELOPE",
                    format!("Invalid message options: {}", e.reason),
                )
                .with_command("API")
            })?,
            None => EnvelopeExtras::default(),
        };
        Ok((extras, auth.and_then(|a| read_auth(a, self.insecure_env))))
    }

    /// Drops the transport's auth settings built so far: the next send builds them again with
    /// the provisioner and `customAuth` handlers now set.
    fn forget_transport_auth(&self) {
        if let Ok(mut guard) = self.transport_auth.write() {
            *guard = None;
        }
    }

    /// The connection options for one send's or verify's own connection: with logging on,
    /// its log lines carry `op`.
    fn connect_for(&self, op: u32) -> Arc<ConnectOptions> {
        if self.logging && op != 0 {
            let mut c = (*self.connect).clone();
            c.logger = Some(smtp_log_fn(self.hub.clone(), op));
            Arc::new(c)
        } else {
            self.connect.clone()
        }
    }

    fn manager_for(
        &self,
        config: mailer_oauth2::OAuth2Config,
    ) -> std::result::Result<Arc<TokenManager>, BindError> {
        self.registry
            .get_or_create(config, self.events.clone(), self.oauth_log.clone())
            .map_err(|e| BindError::new("EAUTH", e.message).with_command("AUTH XOAUTH2"))
    }

    /// Builds the AUTH settings for one send: the transport's auth, or per-message auth merged over it.
    fn auth_options(
        &self,
        per_message: Option<AuthConfig>,
    ) -> std::result::Result<AuthOptions, BindError> {
        let auth = per_message.or_else(|| self.config.auth.clone());
        let provisioner = self.provisioner.read().ok().and_then(|p| p.clone());
        let method = self.config.auth_method.clone();
        let (credentials, method) = match auth {
            None => (None, method),
            Some(a) => match a.login() {
                Login::None => (None, method),
                Login::Password { user, pass } => {
                    (Some(Credentials::Login { user, pass }), a.method.or(method))
                }
                Login::OAuth2 => {
                    let mut config = oauth2_config(&a, provisioner.is_some());
                    let provision_timeout = config.request_timeout.unwrap_or(PROVISION_TIMEOUT);
                    // A token a callback produced is cached under that callback only.
                    config.provisioner_id = provisioner.as_ref().map_or(0, |(id, _)| *id);
                    let manager = self.manager_for(config)?;
                    let provider = ManagedToken {
                        manager,
                        provisioner: provisioner.map(|(_, p)| p),
                        provision_timeout,
                    };
                    (
                        Some(Credentials::XOAuth2(Arc::new(provider))),
                        a.method.or(method),
                    )
                }
            },
        };
        Ok(AuthOptions {
            credentials,
            method,
            force_auth: self.config.force_auth,
            custom: self.custom_auth.read().ok().and_then(|c| c.clone()),
        })
    }

    /// The transport's own auth, built once (a pooled transport's messages all share it);
    /// per-message auth is built per message.
    fn auth_for(
        &self,
        per_message: Option<AuthConfig>,
    ) -> std::result::Result<Arc<AuthOptions>, BindError> {
        if per_message.is_some() {
            return Ok(Arc::new(self.auth_options(per_message)?));
        }
        if let Ok(guard) = self.transport_auth.read() {
            if let Some(a) = guard.as_ref() {
                return Ok(a.clone());
            }
        }
        let auth = Arc::new(self.auth_options(None)?);
        if let Ok(mut guard) = self.transport_auth.write() {
            *guard = Some(auth.clone());
        }
        Ok(auth)
    }

    /// Composes the message on the calling thread (the JS thread for most messages). This is
    /// CPU work only: files and URLs are opened, and parts over 64 KiB encoded, while the body
    /// streams. Composing here means a queued message holds only its bytes, its envelope and
    /// a reply, not a parsed message and a task of its own.
    pub(super) fn compose(
        &self,
        data: MailData,
        buffers: Vec<bytes::Bytes>,
    ) -> std::result::Result<mailer_message::Compiled, BindError> {
        if let Some(e) = &self.config_error {
            return Err(e.clone());
        }
        Ok(mailer_message::compile(data, buffers, &self.compose)?)
    }

    /// The engine's envelope and auth for a composed message; fails before any network
    /// work for a message without recipients.
    pub(super) fn prepare(
        &self,
        compiled: mailer_message::Compiled,
        extras: EnvelopeExtras,
        auth: Option<AuthConfig>,
    ) -> std::result::Result<Prepared, BindError> {
        let mailer_message::Compiled {
            envelope: composed,
            message_id,
            body,
        } = compiled;
        let extra = &composed.extra;
        let size = extra
            .get("size")
            .and_then(|v| v.as_f64())
            .filter(|v| *v > 0.0)
            .map(|v| v as u64);
        let use_8bit_mime = extra
            .get("use8BitMime")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if composed.to.is_empty() {
            return Err(BindError::new("EENVELOPE", "No recipients defined").with_command("API"));
        }
        let envelope = Envelope {
            from: composed.from,
            to: composed.to,
            size,
            // 8-bit content is never sent undeclared (RFC 6152)
            use_8bit_mime: use_8bit_mime || body.is_eight_bit(),
            dsn: extras.dsn.map(JsDsn::into_dsn),
            require_tls_extension: extras.require_tls_extension_enabled,
            // for the "Sending message" record; no copy when logging is off
            message_id: self.connect.logger.as_ref().map(|_| message_id.clone()),
            seven_bit: body.seven_bit_switch(),
        };
        Ok(Prepared {
            envelope,
            auth: self.auth_for(auth)?,
            body,
            message_id,
        })
    }

    /// A message prepared on Node's thread: sent, or its preparation error returned (the send
    /// fails at once, as `send` and `sendComposed` report it).
    pub(super) fn dispatch_now<'env>(
        self: &Arc<Self>,
        env: &'env Env,
        prepared: std::result::Result<Prepared, BindError>,
        done: Arc<Completions>,
        id: u32,
    ) -> Result<Option<Object<'env>>> {
        match prepared {
            Ok(p) => {
                self.dispatch(p, done, id);
                Ok(None)
            }
            Err(e) => Ok(Some(super::errors::to_js_error(env, &e)?)),
        }
    }

    /// A message prepared off Node's thread by `prepare` (composed large, or DKIM-signed):
    /// sent, or its preparation error reported as the send's outcome.
    pub(super) fn dispatch_later(
        self: &Arc<Self>,
        prepare: impl std::future::Future<Output = std::result::Result<Prepared, BindError>>
            + Send
            + 'static,
        done: Arc<Completions>,
        id: u32,
    ) {
        let core = self.clone();
        runtime::spawn(async move {
            match prepare.await {
                Ok(p) => core.dispatch(p, done, id),
                Err(e) => done.push(Completion {
                    id,
                    outcome: Err(e),
                }),
            }
        });
    }

    /// Hands a prepared message to the engine; `done` gets the outcome exactly once. Pooled
    /// messages join the pool's queue directly (no task per message); a non-pooled message
    /// gets a task that owns its connection.
    fn dispatch(self: &Arc<Self>, p: Prepared, done: Arc<Completions>, id: u32) {
        let Prepared {
            envelope,
            auth,
            body,
            message_id,
        } = p;
        match &self.pool {
            Some(pool) => {
                let reply: mailer_smtp::pool::Reply =
                    Box::new(move |res, env| done.push(Completion::of(id, res, env, message_id)));
                // a slot the pool opens for this message is spawned on the addon's runtime
                let _rt = runtime::handle().enter();
                pool.submit(auth, envelope, super::body::factory(body), reply);
            }
            None => {
                let connect = self.connect_for(id);
                runtime::spawn(async move {
                    // Boxed: the connection state machine is kilobytes.
                    let res = Box::pin(mailer_smtp::transport::send_once(
                        &connect, &auth, &envelope, body,
                    ))
                    .await;
                    done.push(Completion::of(id, res, envelope, message_id));
                });
            }
        }
    }

    async fn verify(self: Arc<Self>, op: u32) -> std::result::Result<(), BindError> {
        if let Some(e) = &self.config_error {
            return Err(e.clone());
        }
        let auth = self.auth_options(None)?;
        match &self.pool {
            Some(pool) => pool.verify(&auth).await?,
            None => mailer_smtp::transport::verify(&self.connect_for(op), &auth).await?,
        }
        Ok(())
    }
}

/// Where each value of one send's outcome sits in a completion batch, `STRIDE` values per
/// send. `lib/mailer.js` builds nodemailer's `info` from them with the same names in its `SLOT`
/// (`__test__/completion-layout.test.mjs` fails when the two disagree).
mod slot {
    pub const ID: u32 = 0;
    pub const ERROR: u32 = 1;
    pub const ACCEPTED: u32 = 2;
    pub const REJECTED: u32 = 3;
    pub const EHLO: u32 = 4;
    pub const REJECTED_ERRORS: u32 = 5;
    pub const ENVELOPE_TIME: u32 = 6;
    pub const MESSAGE_TIME: u32 = 7;
    pub const MESSAGE_SIZE: u32 = 8;
    pub const RESPONSE: u32 = 9;
    pub const ENVELOPE_FROM: u32 = 10;
    pub const ENVELOPE_TO: u32 = 11;
    pub const MESSAGE_ID: u32 = 12;
    pub const STRIDE: u32 = 13;
    const _: () = assert!(STRIDE == MESSAGE_ID + 1);
}
use slot::STRIDE;

/// Writes one completion into the flat batch array at `base`. Positional values instead of an
/// `info` object: napi sets a named property by decoding its key from UTF-8 every time, and
/// the JS side builds the object far more cheaply.
fn write_completion(env: &Env, out: &mut Array, base: u32, c: Completion) -> Result<()> {
    out.set(base + slot::ID, c.id)?;
    let o = match c.outcome {
        Ok(o) => o,
        Err(e) => return out.set(base + slot::ERROR, super::errors::to_js_error(env, &e)?),
    };
    let info = o.info;
    out.set(base + slot::ACCEPTED, info.accepted)?;
    out.set(base + slot::REJECTED, info.rejected)?;
    if !o.ehlo.is_empty() {
        let mut ehlo = env.create_array(o.ehlo.len() as u32)?;
        for (i, line) in o.ehlo.iter().enumerate() {
            ehlo.set(i as u32, line.as_str())?;
        }
        out.set(base + slot::EHLO, ehlo)?;
    }
    if !info.rejected_errors.is_empty() {
        out.set(
            base + slot::REJECTED_ERRORS,
            to_js_error_array(env, &info.rejected_errors)?,
        )?;
    }
    out.set(base + slot::ENVELOPE_TIME, info.envelope_time as f64)?;
    out.set(base + slot::MESSAGE_TIME, info.message_time as f64)?;
    out.set(base + slot::MESSAGE_SIZE, info.message_size as f64)?;
    out.set(base + slot::RESPONSE, info.response)?;
    if o.envelope_from.is_empty() {
        out.set(base + slot::ENVELOPE_FROM, false)?;
    } else {
        out.set(base + slot::ENVELOPE_FROM, o.envelope_from)?;
    }
    out.set(base + slot::ENVELOPE_TO, o.envelope_to)?;
    out.set(base + slot::MESSAGE_ID, o.message_id)?;
    Ok(())
}

/// An engine record as the JS logger adapter (lib/logger.js) takes it.
fn log_args(entry: LogEntry, op: u32) -> LogArgs {
    let source = match entry.source {
        Source::Connection => "connection",
        Source::Transport => "transport",
        Source::Pool => "pool",
    };
    let mut fields = Vec::with_capacity(2 * entry.fields.len() + 4);
    if !entry.sid.is_empty() {
        fields.push("sid".to_string());
        fields.push(entry.sid.to_string());
    }
    for f in entry.fields {
        match f {
            Field::Str(k, v) => {
                fields.push(k.to_string());
                fields.push(v);
            }
            Field::Num(k, v) => {
                fields.push(format!("#{k}"));
                fields.push(v.to_string());
            }
            Field::Bool(k, v) => {
                fields.push(format!("?{k}"));
                fields.push(v.to_string());
            }
        }
    }
    if entry.cid != 0 && !fields.iter().any(|k| k == "#cid") {
        fields.push("#cid".to_string());
        fields.push(entry.cid.to_string());
    }
    (
        level_name(entry.level).to_string(),
        entry.tnx.to_string(),
        source.to_string(),
        fields,
        entry.template.to_string(),
        entry.args,
        op,
    )
        .into()
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

#[napi]
pub struct NativeTransport {
    pub(super) core: Arc<Core>,
    hub: Arc<Hub>,
    fns: Mutex<JsFns>,
    /// The transport's share of its callbacks while it is open (see `callbacks.rs`): taken by
    /// `close()`. After `close()`, a send or verify (allowed, as in nodemailer) opens callbacks
    /// that only it and the others in flight hold: `closed` keeps them out of `open`.
    open: Mutex<Option<Arc<Completions>>>,
    closed: std::sync::atomic::AtomicBool,
    after_close: Mutex<std::sync::Weak<Completions>>,
}

/// One finished send.
pub struct Completion {
    pub(super) id: u32,
    pub(super) outcome: std::result::Result<Outcome, BindError>,
}

impl Completion {
    /// The engine's result for a send, with the envelope it went with.
    fn of(
        id: u32,
        res: mailer_smtp::pool::SendResult,
        env: Envelope,
        message_id: String,
    ) -> Completion {
        Completion {
            id,
            outcome: res
                .map(|(info, ehlo)| Outcome {
                    info,
                    ehlo,
                    envelope_from: env.from,
                    envelope_to: env.to,
                    message_id,
                })
                .map_err(BindError::from),
        }
    }
}

/// Delivers outcomes to JS in batches through one threadsafe function for the transport
/// (napi's one per promise made libuv scan thousands of live async handles on every wakeup).
/// Outcomes collect in a shared list; the first one schedules a JS call, which takes everything
/// listed by the time it runs. While the pool has more work queued than connections (bulk
/// sending), that call waits up to `BATCH_DELAY` or `BATCH_MAX` outcomes: the connections are
/// busy either way, and waking Node's thread for every two or three outcomes cost more CPU than
/// the rest of the JS side of a send.
pub struct Completions {
    pending: Arc<Mutex<Pending>>,
    /// Held by every send in flight: the transport's threadsafe functions live until the last
    /// one that may need them has settled.
    callbacks: Arc<Callbacks>,
    /// Whether the transport has more queued work than it can start now.
    saturated: Option<Box<dyn Fn() -> bool + Send + Sync>>,
}

#[derive(Default)]
pub struct Pending {
    items: Vec<Completion>,
    /// Bumped by every drain: a timer armed for an earlier batch finds it changed.
    generation: u64,
    state: Delivery,
}

#[derive(Default, PartialEq)]
enum Delivery {
    /// Nothing listed.
    #[default]
    Idle,
    /// Listed; a timer will call JS unless the batch fills first.
    Waiting,
    /// A JS call is scheduled and will take the list.
    Called,
}

const BATCH_DELAY: std::time::Duration = std::time::Duration::from_millis(1);
const BATCH_MAX: usize = 64;

impl Completions {
    fn new(core: &Core, callbacks: Arc<Callbacks>) -> Completions {
        // Weak: the pool's queued jobs hold the completions; a strong reference back would keep
        // a dropped transport's pool open.
        let saturated: Option<Box<dyn Fn() -> bool + Send + Sync>> = core.pool.as_ref().map(|p| {
            let weak = Arc::downgrade(p);
            let f: Box<dyn Fn() -> bool + Send + Sync> =
                Box::new(move || weak.upgrade().is_some_and(|p| !p.is_idle()));
            f
        });
        Completions {
            pending: Arc::new(Mutex::new(Pending::default())),
            callbacks,
            saturated,
        }
    }

    pub(super) fn push(&self, c: Completion) {
        let saturated = self.saturated.as_ref().is_some_and(|f| f());
        let mut timer = None;
        let call = {
            let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            p.items.push(c);
            match p.state {
                Delivery::Idle => {
                    let rt = tokio::runtime::Handle::try_current().ok();
                    match rt {
                        Some(rt) if saturated => {
                            p.state = Delivery::Waiting;
                            timer = Some((rt, p.generation));
                            false
                        }
                        _ => {
                            p.state = Delivery::Called;
                            true
                        }
                    }
                }
                Delivery::Waiting if p.items.len() >= BATCH_MAX => {
                    p.state = Delivery::Called;
                    true
                }
                _ => false,
            }
        };
        if call {
            call_js(&self.callbacks, &self.pending);
        }
        if let Some((rt, generation)) = timer {
            let pending = self.pending.clone();
            let callbacks = self.callbacks.clone();
            rt.spawn(async move {
                tokio::time::sleep(BATCH_DELAY).await;
                let due = {
                    let mut p = pending.lock().unwrap_or_else(PoisonError::into_inner);
                    let due = p.generation == generation && p.state == Delivery::Waiting;
                    if due {
                        p.state = Delivery::Called;
                    }
                    due
                };
                if due {
                    call_js(&callbacks, &pending);
                }
            });
        }
    }
}

fn call_js(callbacks: &Callbacks, pending: &Arc<Mutex<Pending>>) {
    callbacks.completion.call(
        Batch(pending.clone()),
        ThreadsafeFunctionCallMode::NonBlocking,
    );
}

/// Drains the list when converted, on the JS thread, into one flat array (`STRIDE` per send).
pub struct Batch(Arc<Mutex<Pending>>);

impl ToNapiValue for Batch {
    unsafe fn to_napi_value(raw: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let env = Env::from_raw(raw);
        let items = {
            let mut p = val.0.lock().unwrap_or_else(PoisonError::into_inner);
            p.state = Delivery::Idle;
            p.generation = p.generation.wrapping_add(1);
            std::mem::take(&mut p.items)
        };
        let mut out = env.create_array(items.len() as u32 * STRIDE)?;
        for (i, c) in items.into_iter().enumerate() {
            let (base, id) = (i as u32 * STRIDE, c.id);
            if write_completion(&env, &mut out, base, c).is_err() {
                // Every send must settle: one that cannot be converted gets a plain error
                // (a napi failure here means the environment is in trouble anyway).
                for k in base..base + STRIDE {
                    let _ = out.set(k, ());
                }
                let e = BindError::new("EMESSAGE", "The send's outcome could not be converted");
                let _ = out.set(base + slot::ID, id);
                if let Ok(js) = super::errors::to_js_error(&env, &e) {
                    let _ = out.set(base + slot::ERROR, js);
                }
            }
        }
        Array::to_napi_value(raw, out)
    }
}

pub type CompletionFn = super::callbacks::WeakFn<Batch>;

#[napi]
impl NativeTransport {
    /// `settings`: the typed configuration `resolveTransport` made; `token_listener` receives `token`
    /// events; `logger(level, tnx, id, message)` is set only when logging is on.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        settings: &TransportSettings,
        #[napi(
            ts_arg_type = "(ev: { user: string, accessToken: string, expires: number }) => void"
        )]
        token_listener: Option<Function<TokenEventJs, ()>>,
        #[napi(
            ts_arg_type = "((level: string, tnx: string, source: string, fields: string[], template: string, args: string[], op: number) => void) | null"
        )]
        logger: Option<Function<LogArgs, ()>>,
        #[napi(ts_arg_type = "(() => void) | null")] idle_listener: Option<Function<(), ()>>,
        #[napi(ts_arg_type = "(batch: any[]) => void")] on_complete: Function<Batch, ()>,
        #[napi(ts_arg_type = "((servername: string, chain: Buffer[]) => string | null) | null")]
        check_server_identity: Option<Function<IdentityArgs, Option<String>>>,
    ) -> Result<Self> {
        let config = settings.config.clone();
        let hub = Arc::new(Hub::default());
        let fns = JsFns {
            token: token_listener.map(|f| f.create_ref()).transpose()?,
            log: logger.map(|f| f.create_ref()).transpose()?,
            idle: idle_listener.map(|f| f.create_ref()).transpose()?,
            complete: on_complete.create_ref()?,
            provision: None,
            custom_auth: None,
            sockets: None,
        };
        let events: Option<EventSink> = fns.token.as_ref().map(|_| event_sink(hub.clone()));
        // an invalid port, local address or proxy URL fails every send (nodemailer's net.connect
        // refuses it when the connection is made)
        let config_error = config.connect_error.clone().map(BindError);
        let mut connect = config.connect.clone();
        connect.logger = fns.log.as_ref().map(|_| smtp_log_fn(hub.clone(), 0));
        let sockets = Arc::new(JsSocketProvider::new(hub.clone()));
        connect.socket_provider = Some(mailer_smtp::SocketProviderHandle(sockets.clone()));
        if let Some(f) = check_server_identity {
            let tsfn: IdentityFn = f
                .build_threadsafe_function::<IdentityArgs>()
                .weak::<true>()
                .build()?;
            connect.tls.check_server_identity = Some(identity_check(Arc::new(tsfn)));
        }
        let oauth_log: Option<mailer_oauth2::LogFn> = if config.connect.debug && fns.log.is_some() {
            let hub = hub.clone();
            let f: mailer_oauth2::LogFn = Arc::new(move |line: String| {
                if let Some(c) = hub.get() {
                    c.log(
                        (
                            "debug".to_string(),
                            "oauth2".to_string(),
                            "transport".to_string(),
                            Vec::new(),
                            "%s".to_string(),
                            vec![line],
                            0,
                        )
                            .into(),
                    );
                }
            });
            Some(f)
        } else {
            None
        };
        let compose = ComposeOptions {
            hostname: config.hostname.clone(),
            ..Default::default()
        };
        let logging = connect.logger.is_some();
        let connect = Arc::new(connect);
        // A pool says it is idle right after it is made (nodemailer's first 'idle'): its
        // callbacks are opened now rather than on the first send.
        let mut opened = None;
        let pool = if let Some(pool_config) = &config.pool {
            let on_idle: Option<Arc<dyn Fn() + Send + Sync>> = if fns.idle.is_some() {
                let callbacks = Arc::new(fns.open(&env)?);
                hub.set(&callbacks);
                opened = Some(callbacks);
                let hub = hub.clone();
                Some(Arc::new(move || {
                    if let Some(c) = hub.get() {
                        c.idle();
                    }
                }))
            } else {
                None
            };
            Some(Pool::new(connect.clone(), pool_config.clone(), on_idle))
        } else {
            None
        };
        let core = Arc::new(Core {
            connect,
            pool,
            config_error,
            insecure_env: settings.insecure_env,
            config,
            compose,
            registry: TokenRegistry::new(),
            transport_auth: RwLock::new(None),
            provisioner: RwLock::new(None),
            provisioner_seq: AtomicU64::new(0),
            events,
            oauth_log,
            hub: hub.clone(),
            logging,
            custom_auth: RwLock::new(None),
            sockets,
        });
        // A supplied access token's `timeout` runs from createTransport, as in nodemailer
        // (lib/xoauth2 sets `expires` in its constructor): the manager is made now, not at
        // the first send. An error here is reported by that send.
        if let Some(auth) = &core.config.auth {
            if auth.login() == Login::OAuth2 && auth.oauth2.access_token.is_some() {
                let _ = core.manager_for(oauth2_config(auth, false));
            }
        }
        let open = opened.map(|callbacks| Arc::new(Completions::new(&core, callbacks)));
        Ok(NativeTransport {
            core,
            hub,
            fns: Mutex::new(fns),
            open: Mutex::new(open),
            closed: Default::default(),
            after_close: Mutex::new(std::sync::Weak::new()),
        })
    }

    /// The callbacks open now, if any: a setter installs its new function in them at once, so
    /// that they call it from now on.
    fn open_callbacks(&self) -> Option<Arc<Completions>> {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn fns(&self) -> std::sync::MutexGuard<'_, JsFns> {
        self.fns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The transport's callbacks, opened if `close()` released them (or they were never
    /// needed yet); every send and verify holds them until it settles.
    pub(super) fn lease(&self, env: &Env) -> Result<Arc<Completions>> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = open.as_ref() {
            return Ok(c.clone());
        }
        let closed = self.closed.load(std::sync::atomic::Ordering::Relaxed);
        let mut after_close = self
            .after_close
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if closed {
            if let Some(c) = after_close.upgrade() {
                return Ok(c);
            }
        }
        let callbacks = Arc::new(self.fns().open(env)?);
        self.hub.set(&callbacks);
        let c = Arc::new(Completions::new(&self.core, callbacks));
        if closed {
            *after_close = Arc::downgrade(&c);
        } else {
            *open = Some(c.clone());
        }
        Ok(c)
    }

    /// Sets (or clears) the provisioning callback: `(user, renew) => Promise<{accessToken, expires} | {error}>`.
    #[napi(
        ts_args_type = "cb: ((user: string, renew: boolean) => Promise<{ accessToken?: string, expires?: number, error?: string }>) | null"
    )]
    pub fn set_provisioner(&self, cb: Option<ProvisionArg>) -> Result<()> {
        let reference = cb.as_ref().map(|f| f.create_ref()).transpose()?;
        if let Some(open) = self.open_callbacks() {
            let tsfn = cb.map(provision_tsfn).transpose()?.map(Arc::new);
            open.callbacks.provision.set(tsfn);
        }
        let provisioner = reference.as_ref().map(|_| {
            let id = self.core.provisioner_seq.fetch_add(1, Ordering::Relaxed) + 1;
            (id, provisioner(self.hub.clone()))
        });
        self.fns().provision = reference;
        if let Ok(mut guard) = self.core.provisioner.write() {
            *guard = provisioner;
        }
        // the auth settings depend on the provisioner (its id is part of the token cache key)
        self.core.forget_transport_auth();
        Ok(())
    }

    /// Sets (or clears) the `customAuth` handlers: `methods` are the mechanism names, `runner`
    /// starts the handler of a login (lib/custom-auth.js).
    #[napi(
        ts_args_type = "methods: string[], runner: ((session: number, method: string, user: string, pass: string, extensions: string[], authMethods: string[], maxAllowedSize: number | null) => void) | null"
    )]
    pub fn set_custom_auth(
        &self,
        methods: Vec<String>,
        runner: Option<Function<'static, RunnerArgs, ()>>,
    ) -> Result<()> {
        let reference = runner.as_ref().map(|f| f.create_ref()).transpose()?;
        if let Some(open) = self.open_callbacks() {
            let tsfn = runner.map(runner_tsfn).transpose()?.map(Arc::new);
            open.callbacks.custom_auth.set(tsfn);
        }
        let handle = reference
            .as_ref()
            .map(|_| super::custom_auth::handle(methods, self.hub.clone()));
        self.fns().custom_auth = reference;
        if let Ok(mut guard) = self.core.custom_auth.write() {
            *guard = handle;
        }
        self.core.forget_transport_auth();
        Ok(())
    }

    /// Sets (or clears) the JS socket maker: `open(id, host, port)` answers with
    /// `socketOpened` / `socketOpenFailed`; `ops(id, op, data)` writes (0), ends (1), destroys
    /// (2) or resumes (3) socket `id` (lib/socket-bridge.js).
    #[napi(
        ts_args_type = "open: ((id: number, host: string, port: number) => void) | null, ops: ((id: number, op: number, data: Buffer | undefined) => void) | null"
    )]
    pub fn set_socket_handlers(
        &self,
        open: Option<Function<'static, OpenArgs, ()>>,
        ops: Option<Function<'static, OpsArgs, ()>>,
    ) -> Result<()> {
        let fns = match (open, ops) {
            (Some(open), Some(ops)) => Some((open, ops)),
            _ => None,
        };
        let reference = match &fns {
            Some((open, ops)) => Some((open.create_ref()?, ops.create_ref()?)),
            None => None,
        };
        if let Some(current) = self.open_callbacks() {
            let tsfns = fns.map(|(open, ops)| socket_tsfns(open, ops)).transpose()?;
            current.callbacks.sockets.set(tsfns);
        }
        self.core.sockets.enable(reference.is_some());
        self.fns().sockets = reference;
        Ok(())
    }

    /// Composes and sends one message; its outcome arrives through `on_complete` with this `id`.
    /// `buffers` holds the Buffers that `mail` refers to as `{ $bufferIndex }`; `auth` is
    /// per-message auth already merged over the transport's; `extras` carries `dsn` /
    /// `requireTLSExtensionEnabled` when the message has them (kept apart so the common message
    /// is walked once). A message that cannot even be read returns its error at once.
    #[napi(
        ts_args_type = "mail: object, buffers: Buffer[], auth: object | null, extras: object | null, id: number",
        ts_return_type = "Error | undefined"
    )]
    pub fn send<'env>(
        &self,
        env: &'env Env,
        mail: Object,
        buffers: Vec<Buffer>,
        auth: Option<Object>,
        extras: Option<Object>,
        id: u32,
    ) -> Result<Option<Object<'env>>> {
        let parsed: std::result::Result<ParsedSend, BindError> = (|| {
            let data: MailData =
                super::de::from_js_value(env, mail).map_err(BindError::invalid_message)?;
            let (extras, auth) = self.core.send_options(env, extras, auth)?;
            Ok((data, extras, auth))
        })();
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => return Ok(Some(super::errors::to_js_error(env, &e)?)),
        };
        let (data, mut extras, auth) = parsed;
        let buffers = super::compose::shared(buffers);
        let done = self.lease(env)?;
        let large = super::compose::is_large(&data);
        let dkim = extras.dkim.take();
        if !large && dkim.is_none() {
            // the common case: composed here, queued here, no task
            let prepared = self
                .core
                .compose(data, buffers)
                .and_then(|c| self.core.prepare(c, extras, auth));
            return self.core.dispatch_now(env, prepared, done, id);
        }
        // A large message is composed on the blocking pool (encoding megabytes of text here
        // would stall Node's event loop: 60-90 ms for 20 MB; so would 100,000 recipients);
        // signing reads the whole body.
        let core = self.core.clone();
        let prepare = async move {
            let compiled = if large {
                let c = core.clone();
                super::compose::off_thread(move || c.compose(data, buffers)).await?
            } else {
                core.compose(data, buffers)?
            };
            let compiled = match dkim {
                Some(d) => Box::pin(super::compose::dkim_sign(compiled, Some(&d))).await?,
                None => compiled,
            };
            core.prepare(compiled, extras, auth)
        };
        self.core.dispatch_later(prepare, done, id);
        Ok(None)
    }

    /// `op`: an id for this verify's log lines (see `smtp_log_fn`).
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn verify<'env>(&self, env: &'env Env, op: Option<u32>) -> Result<Object<'env>> {
        let core = self.core.clone();
        let op = op.unwrap_or(0);
        // logs and token requests reach JS while it runs
        let lease = self.lease(env)?;
        let fut = async move {
            let outcome = core.verify(op).await;
            drop(lease);
            outcome
        };
        runtime::promise(env, fut, |env, outcome| match outcome {
            Ok(()) => unsafe { ToNapiValue::to_napi_value(env.raw(), true) },
            Err(e) => Err(reject(env, &e)),
        })
    }

    /// nodemailer's `isIdle()` (pool: fewer queued messages than `maxConnections`).
    #[napi]
    pub fn is_idle(&self) -> bool {
        self.core
            .pool
            .as_ref()
            .map(|p| p.is_idle())
            .unwrap_or(false)
    }

    /// Messages queued and not yet started (pool only).
    #[napi]
    pub fn pending_count(&self) -> u32 {
        self.core
            .pool
            .as_ref()
            .map(|p| p.pending_count() as u32)
            .unwrap_or(0)
    }

    /// Pool: QUIT idle connections, close busy ones after their message, fail queued messages.
    /// Any transport: gives up its share of the threadsafe functions, which are released once
    /// the sends still in flight have settled (no handle stays open after `close()`).
    #[napi]
    pub fn close(&self) {
        if let Some(pool) = &self.core.pool {
            pool.close();
        }
        self.closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let lease = self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // A pool's connections say QUIT after this: their log lines still reach the logger,
        // and the callbacks are released when the last one has ended.
        if let (Some(pool), Some(lease)) = (self.core.pool.clone(), lease) {
            runtime::spawn(async move {
                pool.closed().await;
                drop(lease);
            });
        }
    }
}
