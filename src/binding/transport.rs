//! `NativeTransport`: what `lib/mailer.js` drives. Converts JS values into the crates' types, runs
//! the send on napi's tokio runtime and turns the outcome into nodemailer's `info` or error.

use std::sync::{Arc, RwLock};

use mailer_message::{ComposeOptions, MailData};
use mailer_oauth2::{EventSink, Provisioner, TokenManager, TokenRegistry};
use mailer_smtp::auth::{AuthOptions, Credentials};
use mailer_smtp::connection::SendInfo;
use mailer_smtp::envelope::{Dsn, Envelope};
use mailer_smtp::log::{Level, LogEntry, LogFn};
use mailer_smtp::options::ConnectOptions;
use mailer_smtp::pool::{Pool, PoolOptions};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Env;
use napi_derive::napi;
use serde::Deserialize;

use super::errors::{reject, to_js_error_array, BindError};
use super::options::{auth_spec, connect_options, AuthSpec, JsAuth, JsTransportOptions};
use super::tokens::{
    event_sink_from_tsfn, provisioner_from_tsfn, ManagedToken, ProvisionFn, ProvisionResult,
    TokenEventJs, TokenListenerFn, PROVISION_TIMEOUT,
};

type LogArgs = FnArgs<(String, String, String, String)>;
type ProvisionArg = Function<'static, FnArgs<(String, bool)>, Promise<ProvisionResult>>;
type ParsedSend = (MailData, EnvelopeExtras, Option<JsAuth>);

type IdleFn = ThreadsafeFunction<(), (), (), Status, false, true>;

/// nodemailer's pool options: `maxConnections` 5, `maxMessages` 100 (`Infinity` allowed),
/// `rateDelta` 1000 ms, `rateLimit` off.
fn pool_options(o: &JsTransportOptions) -> PoolOptions {
    let d = PoolOptions::default();
    let positive = |v: Option<f64>| v.filter(|x| !x.is_nan() && *x > 0.0);
    PoolOptions {
        max_connections: positive(o.max_connections)
            .map(|v| v.min(10_000.0) as usize)
            .unwrap_or(d.max_connections),
        max_messages: match positive(o.max_messages) {
            Some(v) if v.is_infinite() => None,
            Some(v) => Some(v as u64),
            None => d.max_messages,
        },
        rate_delta: positive(o.rate_delta)
            .filter(|v| v.is_finite())
            .map(|ms| std::time::Duration::from_millis(ms as u64))
            .unwrap_or(d.rate_delta),
        rate_limit: positive(o.rate_limit)
            .filter(|v| v.is_finite())
            .map(|v| v as u64)
            .unwrap_or(0),
        max_requeues: o
            .max_requeues
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| v as u32),
    }
}

type LoggerFn = ThreadsafeFunction<
    FnArgs<(String, String, String, String)>,
    (),
    FnArgs<(String, String, String, String)>,
    Status,
    false,
    true,
>;

/// Message options that reach the SMTP envelope rather than the MIME message.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct EnvelopeExtras {
    dsn: Option<JsDsn>,
    /// The message's `dkim`, or the transport's (nodemailer: the message's replaces it).
    dkim: Option<serde_json::Value>,
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

struct Core {
    connect: Arc<ConnectOptions>,
    /// Set with `pool: true`: messages queue for shared connections.
    pool: Option<Arc<Pool>>,
    config_error: Option<BindError>,
    options: JsTransportOptions,
    compose: ComposeOptions,
    registry: TokenRegistry,
    /// The transport-level OAuth2 manager, made on first use and kept (its cache outlives sends).
    transport_manager: RwLock<Option<Arc<TokenManager>>>,
    provisioner: Arc<RwLock<Option<Provisioner>>>,
    events: Option<EventSink>,
    oauth_log: Option<mailer_oauth2::LogFn>,
}

pub struct Outcome {
    info: SendInfo,
    ehlo: Vec<String>,
    envelope_from: String,
    envelope_to: Vec<String>,
    message_id: String,
}

impl Core {
    fn manager_for(
        &self,
        config: mailer_oauth2::OAuth2Config,
        transport_level: bool,
    ) -> std::result::Result<Arc<TokenManager>, BindError> {
        if transport_level {
            if let Ok(guard) = self.transport_manager.read() {
                if let Some(m) = guard.as_ref() {
                    return Ok(m.clone());
                }
            }
        }
        let manager = self
            .registry
            .get_or_create(config, self.events.clone(), self.oauth_log.clone())
            .map_err(|e| BindError::new("EAUTH", e.message).with_command("AUTH XOAUTH2"))?;
        if transport_level {
            if let Ok(mut guard) = self.transport_manager.write() {
                *guard = Some(manager.clone());
            }
        }
        Ok(manager)
    }

    /// Builds the AUTH settings for one send: the transport's auth, or per-message auth merged over it.
    fn auth_options(
        &self,
        per_message: Option<JsAuth>,
    ) -> std::result::Result<AuthOptions, BindError> {
        let transport_level = per_message.is_none();
        let js = per_message.or_else(|| self.options.auth.clone());
        let has_provisioner = self
            .provisioner
            .read()
            .map(|p| p.is_some())
            .unwrap_or(false);
        let method = self.options.auth_method.clone();
        let (credentials, method) = match auth_spec(js.as_ref(), has_provisioner) {
            AuthSpec::None => (None, method),
            AuthSpec::Login {
                user,
                pass,
                method: m,
            } => (Some(Credentials::Login { user, pass }), m.or(method)),
            AuthSpec::OAuth2 { config, method: m } => {
                let provision_timeout = config.request_timeout.unwrap_or(PROVISION_TIMEOUT);
                let manager = self.manager_for(*config, transport_level)?;
                let provider = ManagedToken {
                    manager,
                    provisioner: self.provisioner.clone(),
                    provision_timeout,
                };
                (Some(Credentials::XOAuth2(Arc::new(provider))), m.or(method))
            }
        };
        Ok(AuthOptions {
            credentials,
            method,
            force_auth: self.options.force_auth,
        })
    }

    /// The message data arrives boxed: a queued send's task keeps the future's full size while it
    /// waits for a pooled connection, so nothing large may live in the future itself.
    async fn send(
        self: Arc<Self>,
        input: Box<(ParsedSend, Vec<bytes::Bytes>)>,
    ) -> std::result::Result<Outcome, BindError> {
        if let Some(e) = &self.config_error {
            return Err(e.clone());
        }
        let ((data, extras, auth), buffers) = *input;
        let compiled = mailer_message::compile(data, buffers, &self.compose)?;
        // Boxed, and only when signing: the signer's state (3 KB) would otherwise sit in every
        // queued send's task.
        let compiled = match extras.dkim.as_ref() {
            Some(d) => Box::pin(super::compose::dkim_sign(compiled, Some(d))).await?,
            None => compiled,
        };
        let extra = &compiled.envelope.extra;
        let envelope = Envelope {
            from: compiled.envelope.from.clone(),
            to: compiled.envelope.to.clone(),
            size: extra
                .get("size")
                .and_then(|v| v.as_f64())
                .filter(|v| *v > 0.0)
                .map(|v| v as u64),
            use_8bit_mime: extra
                .get("use8BitMime")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            dsn: extras.dsn.map(JsDsn::into_dsn),
            require_tls_extension: extras.require_tls_extension_enabled,
        };
        if envelope.to.is_empty() {
            // Checked before connecting: no server round trip for a message that cannot be sent.
            return Err(BindError::new("EENVELOPE", "No recipients defined").with_command("API"));
        }
        let auth = self.auth_options(auth)?;
        let (info, ehlo) = match &self.pool {
            Some(pool) => {
                pool.send(auth, envelope, super::body::factory(compiled.body))
                    .await?
            }
            // Boxed: the connection state machine is kilobytes; inline, it would sit in every
            // queued pool message's task too.
            None => {
                Box::pin(mailer_smtp::transport::send_once(
                    &self.connect,
                    &auth,
                    &envelope,
                    compiled.body,
                ))
                .await?
            }
        };
        Ok(Outcome {
            info,
            ehlo,
            envelope_from: compiled.envelope.from,
            envelope_to: compiled.envelope.to,
            message_id: compiled.message_id,
        })
    }

    async fn verify(self: Arc<Self>) -> std::result::Result<(), BindError> {
        if let Some(e) = &self.config_error {
            return Err(e.clone());
        }
        let auth = self.auth_options(None)?;
        match &self.pool {
            Some(pool) => pool.verify(&auth).await?,
            None => mailer_smtp::transport::verify(&self.connect, &auth).await?,
        }
        Ok(())
    }
}

fn info_to_js<'env>(env: &'env Env, o: Outcome) -> Result<Object<'env>> {
    let mut info = Object::new(env)?;
    info.set("accepted", o.info.accepted)?;
    info.set("rejected", o.info.rejected)?;
    if !o.ehlo.is_empty() {
        info.set("ehlo", o.ehlo)?;
    }
    if !o.info.rejected_errors.is_empty() {
        let errors: Vec<BindError> = o
            .info
            .rejected_errors
            .into_iter()
            .map(BindError::from)
            .collect();
        info.set("rejectedErrors", to_js_error_array(env, &errors)?)?;
    }
    info.set("envelopeTime", o.info.envelope_time as f64)?;
    info.set("messageTime", o.info.message_time as f64)?;
    info.set("messageSize", o.info.message_size as f64)?;
    info.set("response", o.info.response)?;
    info.set(
        "envelope",
        super::compose::envelope_to_js(env, o.envelope_from, o.envelope_to)?,
    )?;
    info.set("messageId", o.message_id)?;
    Ok(info)
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
    core: Arc<Core>,
    /// Delivers every send's outcome to JS. One threadsafe function for the transport instead
    /// of napi's one per promise: libuv scans every live async handle on each wakeup, so
    /// thousands of pending promises made each completion cost O(pending).
    completions: Arc<CompletionFn>,
}

/// One finished send, turned into `{ id, info }` or `{ id, error }` on the JS thread.
pub struct Completion {
    id: u32,
    outcome: std::result::Result<Outcome, BindError>,
}

impl ToNapiValue for Completion {
    unsafe fn to_napi_value(raw: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let env = Env::from_raw(raw);
        let mut obj = Object::new(&env)?;
        obj.set("id", val.id)?;
        match val.outcome {
            Ok(o) => obj.set("info", info_to_js(&env, o)?)?,
            Err(e) => obj.set("error", super::errors::to_js_error(&env, &e)?)?,
        }
        Ok(obj.raw())
    }
}

type CompletionFn = ThreadsafeFunction<Completion, (), Completion, Status, false, true>;

#[napi]
impl NativeTransport {
    /// `options`: sanitised transport options (lib/options.js); `token_listener` receives `token`
    /// events; `logger(level, tnx, id, message)` is set only when logging is on.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        options: Object,
        #[napi(
            ts_arg_type = "(ev: { user: string, accessToken: string, expires: number }) => void"
        )]
        token_listener: Option<Function<TokenEventJs, ()>>,
        #[napi(
            ts_arg_type = "((level: string, tnx: string, id: string, message: string) => void) | null"
        )]
        logger: Option<Function<LogArgs, ()>>,
        #[napi(ts_arg_type = "(() => void) | null")] idle_listener: Option<Function<(), ()>>,
        #[napi(ts_arg_type = "(done: { id: number, info?: any, error?: Error }) => void")]
        on_complete: Function<Completion, ()>,
    ) -> Result<Self> {
        let completions: CompletionFn = on_complete
            .build_threadsafe_function::<Completion>()
            .weak::<true>()
            .build()?;
        let options: JsTransportOptions = env.from_js_value(options)?;
        let log_fn: Option<Arc<LoggerFn>> = match logger {
            Some(f) => Some(Arc::new(
                f.build_threadsafe_function::<LogArgs>()
                    .weak::<true>()
                    .build()?,
            )),
            None => None,
        };
        let events: Option<EventSink> = match token_listener {
            Some(f) => {
                let tsfn: TokenListenerFn = f
                    .build_threadsafe_function::<TokenEventJs>()
                    .weak::<true>()
                    .build()?;
                Some(event_sink_from_tsfn(Arc::new(tsfn)))
            }
            None => None,
        };
        let (mut connect, config_error) = match connect_options(&options) {
            Ok(c) => (c, None),
            Err(e) => (ConnectOptions::default(), Some(e)),
        };
        let smtp_log: Option<LogFn> = log_fn.clone().map(|tsfn| {
            let f: LogFn = Arc::new(move |entry: LogEntry| {
                tsfn.call(
                    (
                        level_name(entry.level).to_string(),
                        entry.tnx.to_string(),
                        if entry.cid == 0 {
                            String::new()
                        } else {
                            entry.cid.to_string()
                        },
                        entry.message,
                    )
                        .into(),
                    ThreadsafeFunctionCallMode::NonBlocking,
                );
            });
            f
        });
        connect.logger = smtp_log;
        let oauth_log: Option<mailer_oauth2::LogFn> = if options.debug {
            log_fn.map(|tsfn| {
                let f: mailer_oauth2::LogFn = Arc::new(move |line: String| {
                    tsfn.call(
                        (
                            "debug".to_string(),
                            "oauth2".to_string(),
                            String::new(),
                            line,
                        )
                            .into(),
                        ThreadsafeFunctionCallMode::NonBlocking,
                    );
                });
                f
            })
        } else {
            None
        };
        let compose = ComposeOptions {
            hostname: options.hostname.clone(),
            ..Default::default()
        };
        let connect = Arc::new(connect);
        let pool = if options.pool {
            let on_idle: Option<Arc<dyn Fn() + Send + Sync>> = match idle_listener {
                Some(f) => {
                    let tsfn: IdleFn =
                        f.build_threadsafe_function::<()>().weak::<true>().build()?;
                    Some(Arc::new(move || {
                        tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
                    }))
                }
                None => None,
            };
            Some(Pool::new(connect.clone(), pool_options(&options), on_idle))
        } else {
            None
        };
        Ok(NativeTransport {
            completions: Arc::new(completions),
            core: Arc::new(Core {
                connect,
                pool,
                config_error,
                options,
                compose,
                registry: TokenRegistry::new(),
                transport_manager: RwLock::new(None),
                provisioner: Arc::new(RwLock::new(None)),
                events,
                oauth_log,
            }),
        })
    }

    /// Sets (or clears) the provisioning callback: `(user, renew) => Promise<{accessToken, expires} | {error}>`.
    #[napi(
        ts_args_type = "cb: ((user: string, renew: boolean) => Promise<{ accessToken?: string, expires?: number, error?: string }>) | null"
    )]
    pub fn set_provisioner(&self, cb: Option<ProvisionArg>) -> Result<()> {
        let provisioner = match cb {
            Some(f) => {
                let tsfn: ProvisionFn = f
                    .build_threadsafe_function::<FnArgs<(String, bool)>>()
                    .weak::<true>()
                    .build()?;
                Some(provisioner_from_tsfn(Arc::new(tsfn)))
            }
            None => None,
        };
        if let Ok(mut guard) = self.core.provisioner.write() {
            *guard = provisioner;
        }
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
            let data: MailData = env.from_js_value(mail).map_err(|e| {
                BindError::new("EMESSAGE", format!("Invalid message: {}", e.reason))
                    .with_command("API")
            })?;
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
            let auth: Option<JsAuth> = match auth {
                Some(a) => Some(env.from_js_value(a).map_err(|e| {
                    BindError::new("EAUTH", format!("Invalid auth options: {}", e.reason))
                        .with_command("API")
                })?),
                None => None,
            };
            Ok((data, extras, auth))
        })();
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => return Ok(Some(super::errors::to_js_error(env, &e)?)),
        };
        // Only a box crosses into the task: a send queued for a pooled connection keeps its task
        // (the future's full size) alive until its turn, so the future must stay small. The
        // Buffers are shared, not copied (napi's Buffer is Send + Sync and released on the JS
        // thread wherever it is dropped): 200 queued messages with one 1 MB attachment hold it
        // once, as nodemailer does.
        let input = Box::new((
            parsed,
            buffers
                .into_iter()
                .map(bytes::Bytes::from_owner)
                .collect::<Vec<_>>(),
        ));
        let core = self.core.clone();
        let completions = self.completions.clone();
        napi::bindgen_prelude::spawn(async move {
            let outcome = core.send(input).await;
            completions.call(
                Completion { id, outcome },
                ThreadsafeFunctionCallMode::NonBlocking,
            );
        });
        Ok(None)
    }

    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn verify<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, bool>> {
        let core = self.core.clone();
        let fut = async move { Ok(core.verify().await) };
        env.spawn_future_with_callback(fut, |env, outcome| match outcome {
            Ok(()) => Ok(true),
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
    #[napi]
    pub fn close(&self) {
        if let Some(pool) = &self.core.pool {
            pool.close();
        }
    }
}
