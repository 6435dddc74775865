//! The napi binding: the only code that knows Node. It converts JS values into the crates' types
//! and results back into nodemailer's shapes.

mod body;
mod callbacks;
pub mod compose;
pub mod custom_auth;
mod de;
mod errors;
pub mod options;
pub mod pipe;
pub mod runtime;
pub mod socket;
mod tokens;
pub mod transport;
pub mod transports;

use napi::bindgen_prelude::*;
use napi_derive::napi;

#[napi_derive::module_init]
fn init() {
    // reqwest (token requests) reads the process-wide rustls provider; install ring once, when
    // the image is loaded (not per Node environment: workers share it).
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Runs in every Node environment (main thread or worker) that loads the addon. Node unloads
/// an addon with the last environment that used it, and a later worker would load it afresh
/// while threads of the first load (the I/O runtime, the allocator's thread hooks) still point
/// into the old mapping: keep the image mapped for the life of the process.
#[napi(module_exports)]
pub fn on_load(_exports: Object) -> Result<()> {
    napi::bindgen_prelude::retain_current_module_for_unload_safety();
    Ok(())
}

/// The well-known service entry for a name, alias or domain (`'Gmail'`, `'gmail.com'`), or null.
#[napi(ts_return_type = "Record<string, any> | null")]
pub fn well_known(service: String) -> Option<serde_json::Value> {
    mailer_config::well_known(&service).map(serde_json::Value::Object)
}

/// The header name nodemailer writes for `key` (`message-id` → `Message-ID`).
#[napi]
pub fn normalize_header_key(key: String) -> String {
    mailer_message::normalize_header_key(&key)
}
