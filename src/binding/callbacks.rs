//! A transport's JS callbacks and the threadsafe functions that reach them from Rust threads.
//!
//! Ownership: a threadsafe function holds its JS function through a strong reference, a GC
//! root. The functions handed over by `lib/mailer.js` reach their transporter only through a
//! `WeakRef`, so these roots never keep a transporter alive. The threadsafe functions
//! themselves ([`Callbacks`]) are made when the transport first needs them and are owned by
//! the transport while it is open and by each send, verify or token request in flight;
//! `close()` (or the transporter being collected) gives up the transport's share, so they are
//! released as soon as nothing in flight needs them. The Rust-side closures (logger, token
//! events, provisioning, pool idle, `customAuth` handlers, sockets made in JS) look them up
//! through a [`Hub`], which holds them weakly.

use std::sync::{Arc, PoisonError, RwLock, Weak};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Env;

use super::custom_auth::{RunnerArgs, RunnerFn};
use super::socket::{OpenArgs, OpenFn, OpsArgs, OpsFn};
use super::tokens::{ProvisionFn, ProvisionResult, TokenEventJs, TokenListenerFn};
use super::transport::{Batch, CompletionFn};

/// `(level, tnx, source, fields, template, args, op)`; `fields` is flat `[key, value, …]`, a key
/// starting with `#` has a numeric value, `?` a boolean one. `op` is the id of the send or verify
/// whose own connection wrote the line (0: the pool's shared connections), so lib/mailer.js can
/// run the user's logger in that call's async context.
pub type LogArgs = FnArgs<(
    String,
    String,
    String,
    Vec<String>,
    String,
    Vec<String>,
    u32,
)>;
pub type LoggerFn = WeakFn<LogArgs>;
pub type IdleFn = WeakFn<()>;

/// A weak (unref'd) threadsafe function taking `Args` and returning `R` to Rust: every callback
/// of a transport is one (see [`Callbacks`]).
pub type WeakFn<Args, R = ()> = ThreadsafeFunction<Args, R, Args, Status, false, true>;

/// The [`WeakFn`] of a JS function (on the JS thread).
pub fn weak_fn<Args, R>(f: &Function<'_, Args, R>) -> Result<WeakFn<Args, R>>
where
    Args: 'static + JsValuesTupleIntoVec,
    R: 'static + FromNapiValue,
{
    f.build_threadsafe_function::<Args>().weak::<true>().build()
}

pub type ProvisionArgs = FnArgs<(String, bool)>;

/// The live threadsafe functions of one transport. All weak (unref'd): they never keep the
/// process running; a send in flight does that (lib/mailer.js), and a promise does.
pub struct Callbacks {
    pub completion: CompletionFn,
    log: Option<LoggerFn>,
    token: Option<TokenListenerFn>,
    idle: Option<IdleFn>,
    pub provision: Replaceable<Arc<ProvisionFn>>,
    pub custom_auth: Replaceable<Arc<RunnerFn>>,
    pub sockets: Replaceable<SocketFns>,
}

/// The JS socket maker's functions: `open` asks for a socket, `ops` drives the sockets it made
/// (an open socket keeps its own share of `ops` until it is gone).
pub type SocketFns = (Arc<OpenFn>, Arc<OpsFn>);

impl Callbacks {
    pub fn log(&self, args: LogArgs) {
        if let Some(f) = &self.log {
            f.call(args, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    pub fn token(&self) -> Option<&TokenListenerFn> {
        self.token.as_ref()
    }

    pub fn idle(&self) {
        if let Some(f) = &self.idle {
            f.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// A callback the user can set, replace or clear while the transport is open
/// (`setProvisioner`, `customAuth`, the socket hooks): each use takes the current one.
pub struct Replaceable<T>(RwLock<Option<T>>);

impl<T: Clone> Replaceable<T> {
    fn new(f: Option<T>) -> Self {
        Replaceable(RwLock::new(f))
    }

    pub fn get(&self) -> Option<T> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set(&self, f: Option<T>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = f;
    }
}

/// Where Rust-side closures find the transport's current [`Callbacks`], if any are live.
#[derive(Default)]
pub struct Hub {
    current: RwLock<Weak<Callbacks>>,
}

impl Hub {
    pub fn get(&self) -> Option<Arc<Callbacks>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .upgrade()
    }

    pub fn set(&self, c: &Arc<Callbacks>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::downgrade(c);
    }
}

/// The JS functions a transport was given, kept so that its threadsafe functions can be made
/// again after `close()` (a transport stays usable after it, as in nodemailer). These
/// references are roots too, and as harmless: the functions hold their transporter weakly.
pub struct JsFns {
    pub token: Option<FunctionRef<TokenEventJs, ()>>,
    pub log: Option<FunctionRef<LogArgs, ()>>,
    pub idle: Option<FunctionRef<(), ()>>,
    pub complete: FunctionRef<Batch, ()>,
    pub provision: Option<FunctionRef<ProvisionArgs, Promise<ProvisionResult>>>,
    /// The `customAuth` runner (lib/custom-auth.js), when the transport has handlers.
    pub custom_auth: Option<FunctionRef<RunnerArgs, ()>>,
    /// The socket bridge's `open` and `ops` (lib/socket-bridge.js), once installed.
    pub sockets: Option<(FunctionRef<OpenArgs, ()>, FunctionRef<OpsArgs, ()>)>,
}

impl JsFns {
    /// Makes the threadsafe functions (on the JS thread).
    pub fn open(&self, env: &Env) -> Result<Callbacks> {
        let completion: CompletionFn = weak_fn(&self.complete.borrow_back(env)?)?;
        let log = match &self.log {
            Some(f) => Some(weak_fn(&f.borrow_back(env)?)?),
            None => None,
        };
        let token = match &self.token {
            Some(f) => Some(weak_fn(&f.borrow_back(env)?)?),
            None => None,
        };
        let idle = match &self.idle {
            Some(f) => Some(weak_fn(&f.borrow_back(env)?)?),
            None => None,
        };
        let provision = match &self.provision {
            Some(f) => Some(Arc::new(provision_tsfn(f.borrow_back(env)?)?)),
            None => None,
        };
        let custom_auth = match &self.custom_auth {
            Some(f) => Some(Arc::new(runner_tsfn(f.borrow_back(env)?)?)),
            None => None,
        };
        let sockets = match &self.sockets {
            Some((open, ops)) => Some(socket_tsfns(open.borrow_back(env)?, ops.borrow_back(env)?)?),
            None => None,
        };
        Ok(Callbacks {
            completion,
            log,
            token,
            idle,
            provision: Replaceable::new(provision),
            custom_auth: Replaceable::new(custom_auth),
            sockets: Replaceable::new(sockets),
        })
    }
}

pub fn runner_tsfn(f: Function<RunnerArgs, ()>) -> Result<RunnerFn> {
    weak_fn(&f)
}

pub fn socket_tsfns(open: Function<OpenArgs, ()>, ops: Function<OpsArgs, ()>) -> Result<SocketFns> {
    Ok((Arc::new(weak_fn(&open)?), Arc::new(weak_fn(&ops)?)))
}

pub fn provision_tsfn(f: Function<ProvisionArgs, Promise<ProvisionResult>>) -> Result<ProvisionFn> {
    weak_fn(&f)
}
