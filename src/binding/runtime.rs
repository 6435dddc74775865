//! The addon's tokio runtime: one per process, made on first use and never shut down.
//!
//! napi-rs's own runtime is tied to the Node environments that load the addon: it is shut down
//! when the last one exits and made again (with napi's default settings) by the next one. In a
//! process whose main thread never loads the addon (worker pools such as piscina, or vitest's
//! `pool: 'threads'`), every worker that exits would take the runtime down under the sockets and
//! tasks of the others. Sockets, pools and timers are process-wide Rust state, so the runtime
//! that drives them is too; what belongs to one environment (threadsafe functions, references)
//! is released with that environment.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use futures_util::FutureExt;
use napi::bindgen_prelude::*;
use napi::Env;
use tokio::runtime::{Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// One tokio worker for all sockets (napi's default is one per core). A connection's work on
/// it is a few syscalls per message; messages are composed on the JS thread and DKIM signatures
/// made on the blocking pool. With two workers, every wake-up also woke the other one to look
/// for work: one worker took 8-13 % less CPU per pooled message and sent sequential messages
/// 10 % faster (docs/performance.md).
fn build() -> Runtime {
    // The runtime's threads outlive any one environment: keep this image mapped even when the
    // environment that loaded it exits (Node unloads an addon with the last environment that
    // used it).
    napi::bindgen_prelude::retain_current_module_for_unload_safety();
    let tuned = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("mailer-rs-io")
        .enable_all()
        .build();
    match tuned {
        Ok(rt) => rt,
        // Building a runtime fails only when threads cannot be made; a second attempt with the
        // defaults is all that is left to try before giving up on sending anything.
        Err(_) => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("mailer-rs: cannot start its I/O runtime: {e}"),
        },
    }
}

/// The process-wide runtime's handle.
pub fn handle() -> &'static Handle {
    RUNTIME.get_or_init(build).handle()
}

/// Runs `fut` on the runtime.
pub fn spawn<F>(fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    handle().spawn(fut);
}

/// A JS promise settled from `fut`: `settle` runs on the JS thread with the future's output and
/// returns the value to resolve with, or the error to reject with. A panic in `fut` rejects
/// (with napi's `GenericFailure`) instead of leaving the promise pending.
pub fn promise<'env, T, F, S>(env: &'env Env, fut: F, settle: S) -> Result<Object<'env>>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
    S: FnOnce(&Env, T) -> Result<sys::napi_value> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred::<RawValue, Resolver>()?;
    spawn(async move {
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(out) => deferred.resolve(Box::new(move |env| settle(&env, out).map(RawValue))),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "The operation panicked".to_string());
                deferred.reject(Error::new(Status::GenericFailure, message));
            }
        }
    });
    Ok(promise)
}

type Resolver = Box<dyn FnOnce(Env) -> Result<RawValue> + Send>;

/// A value already made on the JS thread (it cannot name the scope it was made in).
pub struct RawValue(sys::napi_value);

impl ToNapiValue for RawValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Ok(val.0)
    }
}
