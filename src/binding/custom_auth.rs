//! nodemailer's `customAuth`: SASL mechanisms written in JS. The connection (Rust) asks the JS
//! handler to start; the handler's `sendCommand`, `resolve` and `reject` come back here through
//! `customAuthCommand` / `customAuthDone`, keyed by a session id, and reach the connection's
//! login loop as [`CustomAuthStep`]s. The runner is one of the transport's callbacks (see
//! `callbacks.rs`), reached through its [`Hub`]: a login only runs while a send or verify holds
//! them open.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use mailer_smtp::auth::{CustomAuth, CustomAuthContext, CustomAuthStep};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::Env;
use napi_derive::napi;
use tokio::sync::{mpsc, oneshot};

use super::callbacks::{Hub, WeakFn};
use super::errors::{reject, BindError};
use super::runtime;

/// `(session, method, user, pass, extensions, authMethods, maxAllowedSize)`.
pub type RunnerArgs = FnArgs<(
    u32,
    String,
    String,
    String,
    Vec<String>,
    Vec<String>,
    Option<f64>,
)>;
pub type RunnerFn = WeakFn<RunnerArgs>;

/// Running handlers by session id. An entry goes when its handler resolves or rejects, or,
/// for a handler that never answers, when a later session starts after its login ended.
static SESSIONS: LazyLock<Mutex<HashMap<u32, mpsc::UnboundedSender<CustomAuthStep>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT_SESSION: AtomicU32 = AtomicU32::new(1);

fn sessions() -> std::sync::MutexGuard<'static, HashMap<u32, mpsc::UnboundedSender<CustomAuthStep>>>
{
    SESSIONS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The JS handlers of one transport: which mechanisms it has, and where to find the runner
/// that calls them.
pub struct JsCustomAuth {
    methods: HashSet<String>,
    hub: Arc<Hub>,
}

impl JsCustomAuth {
    pub fn new(methods: Vec<String>, hub: Arc<Hub>) -> Self {
        JsCustomAuth {
            methods: methods
                .into_iter()
                .map(|m| m.trim().to_uppercase())
                .filter(|m| !m.is_empty())
                .collect(),
            hub,
        }
    }
}

impl CustomAuth for JsCustomAuth {
    fn handles(&self, method: &str) -> bool {
        self.methods.contains(method)
    }

    fn start(&self, ctx: CustomAuthContext) -> mpsc::UnboundedReceiver<CustomAuthStep> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
        if id == 0 {
            id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
        }
        {
            let mut map = sessions();
            // logins that ended without their handler answering
            map.retain(|_, s| !s.is_closed());
            map.insert(id, tx);
        }
        let Some(runner) = self.hub.get().and_then(|c| c.custom_auth.get()) else {
            // no call in flight holds the callbacks (cannot happen while a login runs): the
            // login fails at once
            sessions().remove(&id);
            return rx;
        };
        let status = runner.call(
            (
                id,
                ctx.method,
                ctx.user,
                ctx.pass,
                ctx.extensions,
                ctx.auth_methods,
                ctx.max_allowed_size.map(|n| n as f64),
            )
                .into(),
            ThreadsafeFunctionCallMode::NonBlocking,
        );
        if status != Status::Ok {
            // the handler will never run: the login fails at once instead of timing out
            sessions().remove(&id);
        }
        rx
    }
}

/// `sendCommand(line)` of custom session `session`: resolves with the server's reply (lines
/// joined by `\n`); rejects when the login is over or the connection failed.
#[napi(ts_return_type = "Promise<string>")]
pub fn custom_auth_command<'env>(
    env: &'env Env,
    session: u32,
    line: String,
) -> Result<Object<'env>> {
    let (reply, rx) = oneshot::channel();
    let sent = sessions()
        .get(&session)
        .map(|s| s.send(CustomAuthStep::Command { line, reply }).is_ok())
        .unwrap_or(false);
    let fut = async move {
        if !sent {
            return Err(BindError::new(
                "EAUTH",
                "The authentication session is over",
            ));
        }
        match rx.await {
            Ok(Ok(text)) => Ok(text),
            // the connection's error is the handler's `sendCommand` rejection
            Ok(Err(e)) => Err(BindError::from(e)),
            Err(_) => Err(BindError::new(
                "EAUTH",
                "The authentication session is over",
            )),
        }
    };
    runtime::promise(env, fut, |env, outcome| match outcome {
        Ok(text) => unsafe { ToNapiValue::to_napi_value(env.raw(), text) },
        Err(e) => Err(reject(env, &e)),
    })
}

/// The handler's `resolve()` (`error` null) or `reject(error)` for custom session `session`;
/// only the first answer counts.
#[napi]
pub fn custom_auth_done(session: u32, error: Option<String>) {
    if let Some(tx) = sessions().remove(&session) {
        let _ = tx.send(match error {
            None => CustomAuthStep::Resolve,
            Some(message) => CustomAuthStep::Reject { message },
        });
    }
}

/// A handle for [`mailer_smtp::AuthOptions::custom`].
pub fn handle(methods: Vec<String>, hub: Arc<Hub>) -> mailer_smtp::auth::CustomAuthHandle {
    mailer_smtp::auth::CustomAuthHandle(Arc::new(JsCustomAuth::new(methods, hub)))
}
