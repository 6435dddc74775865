//! The options path at the napi boundary: `createTransport`'s input read once.
//!
//! - [`resolve_transport`] (`native.resolveTransport`): reads the user's input (a URL or an
//!   options object, as JS values) through [`JsSource`], lets `mailer_config::resolve` parse,
//!   merge and read it, and answers with what JS needs: the Mail's and the transport's option
//!   objects (built here from the merge plan, so they hold the user's own functions and
//!   Buffers), a few resolved values for JS's own set-up, and the typed configuration
//!   ([`TransportSettings`]) that `NativeTransport` takes. That configuration is already the
//!   engine's types (`ConnectOptions`, `PoolOptions`, `OAuth2Config`): `NativeTransport` only
//!   adds the run-time parts (logger, socket provider, callbacks).
//! - [`read_auth`]: a message's `auth` (merged over the transport's in lib/mailer.js), read the
//!   same way as the transport's; [`oauth2_config`] adds the provisioning callback to its
//!   OAuth2 settings.

use std::cell::OnceCell;
use std::rc::Rc;

use mailer_config::{AuthConfig, Input, Layer, Pick, Plan, Resolved, Source, TransportConfig, Val};
use mailer_oauth2::OAuth2Config;
use napi::bindgen_prelude::*;
use napi::{Env, JsValue, ValueType};
use napi_derive::napi;

/// A JS object read key by key (own enumerable string keys, as `Object.keys`). The key list is
/// read once: an option is looked up in it before its value is read.
pub(super) struct JsSource<'env> {
    obj: Object<'env>,
    keys: OnceCell<Vec<String>>,
}

impl<'env> JsSource<'env> {
    pub(super) fn new(obj: Object<'env>) -> Self {
        JsSource {
            obj,
            keys: OnceCell::new(),
        }
    }

    fn own_keys(&self) -> &[String] {
        self.keys.get_or_init(|| {
            let names = match self.obj.get_all_property_names(
                KeyCollectionMode::OwnOnly,
                // symbol keys come back as symbols and are dropped below
                KeyFilter::Enumerable,
                KeyConversion::NumbersToStrings,
            ) {
                Ok(n) => n,
                Err(_) => return Vec::new(),
            };
            let len = names.get_array_length().unwrap_or(0);
            (0..len)
                .filter_map(|i| names.get_element::<String>(i).ok())
                .collect()
        })
    }
}

impl<'env> Source<'env> for JsSource<'env> {
    fn keys(&self) -> Vec<String> {
        self.own_keys().to_vec()
    }

    fn get(&self, key: &str) -> Option<Val<'env>> {
        if !self.own_keys().iter().any(|k| k == key) {
            return None;
        }
        let v = self.obj.get_named_property_unchecked::<Unknown>(key).ok()?;
        Some(classify(v))
    }
}

/// A JS value by its type; objects stay JS objects, read when a key is asked for.
fn classify(v: Unknown<'_>) -> Val<'_> {
    let raw = v.value();
    let read = || -> Result<Val<'_>> {
        // SAFETY (each `cast`): the value's type was checked just before
        Ok(match v.get_type()? {
            ValueType::Undefined => Val::Undefined,
            ValueType::Null => Val::Null,
            ValueType::Boolean => Val::Bool(unsafe { v.cast::<bool>() }?),
            ValueType::Number => Val::Number(unsafe { v.cast::<f64>() }?),
            ValueType::String => Val::Str(unsafe { v.cast::<String>() }?),
            ValueType::Function => Val::Function,
            ValueType::Object => {
                let obj = Object::from_raw(raw.env, raw.value);
                if obj.is_array()? {
                    let len = obj.get_array_length()?;
                    let items = (0..len)
                        .map(|i| obj.get_element::<Unknown>(i).map(classify))
                        .collect::<Result<Vec<_>>>()?;
                    Val::List(items)
                } else if obj.is_buffer()? {
                    Val::Bytes(unsafe { v.cast::<BufferSlice>() }?.to_vec())
                } else if obj.is_typedarray()? {
                    match unsafe { v.cast::<Uint8ArraySlice>() } {
                        Ok(bytes) => Val::Bytes(bytes.to_vec()),
                        Err(_) => Val::Other,
                    }
                } else {
                    Val::Object(Rc::new(JsSource::new(obj)))
                }
            }
            _ => Val::Other,
        })
    };
    read().unwrap_or(Val::Other)
}

/// The typed transport configuration, resolved by `resolveTransport` for `NativeTransport`.
#[napi]
pub struct TransportSettings {
    pub(super) config: TransportConfig,
    /// `NODE_TLS_REJECT_UNAUTHORIZED=0` when it was resolved.
    pub(super) insecure_env: bool,
}

/// nodemailer's `createTransport(input)` options, resolved once (see the module doc). Throws
/// an Error whose message is `ECONFIG: <reason>` for a URL or service nodemailer refuses.
#[napi(
    ts_args_type = "input: string | Record<string, any> | null | undefined, insecureEnv: boolean",
    ts_return_type = "{ options?: Record<string, any>, transportOptions: Record<string, any>, mode: 'sendmail' | 'ses' | 'stream' | 'json' | null, pool: boolean, maxConnections: number, ignoredTls: string[], tlsCa: string[], insecureEnv: boolean, customProxy: boolean, settings: TransportSettings }"
)]
pub fn resolve_transport<'env>(
    env: &'env Env,
    input: Unknown<'env>,
    insecure_env: bool,
) -> Result<Object<'env>> {
    let object = match input.get_type()? {
        ValueType::String => None,
        ValueType::Object => Some(Object::from_raw(input.value().env, input.value().value)),
        _ => None,
    };
    let source = match (&object, input.get_type()?) {
        (Some(o), _) => Input::Object(Rc::new(JsSource::new(*o))),
        (None, ValueType::String) => Input::Url(unsafe { input.cast::<String>() }?),
        _ => Input::None,
    };
    let resolved = mailer_config::resolve(source, insecure_env)
        .map_err(|e| Error::new(Status::InvalidArg, format!("{}: {}", e.code, e.message)))?;
    let c = &resolved.config;
    let mut out = Object::new(env)?;
    if let Some(plan) = &resolved.mail_options {
        out.set("options", build(env, object.as_ref(), &resolved, plan)?)?;
    }
    out.set(
        "transportOptions",
        build(env, object.as_ref(), &resolved, &resolved.transport_options)?,
    )?;
    match c.mode {
        Some(m) => out.set("mode", m.as_str())?,
        None => out.set("mode", Null)?,
    }
    out.set("pool", c.pool.is_some())?;
    out.set("maxConnections", c.max_connections as u32)?;
    out.set("ignoredTls", c.ignored_tls.clone())?;
    out.set("tlsCa", c.connect.tls.ca.clone())?;
    out.set("insecureEnv", c.insecure_env_applied)?;
    out.set("customProxy", c.custom_proxy)?;
    let settings = TransportSettings {
        config: resolved.config.clone(),
        insecure_env,
    };
    out.set("settings", settings)?;
    Ok(out)
}

/// A merged options object, built in JS from the layers as `plan` says (`assign`'s result).
fn build<'env>(
    env: &'env Env,
    input: Option<&Object<'env>>,
    resolved: &Resolved,
    Plan {
        layers: ids,
        picks: plan,
    }: &Plan,
) -> Result<Object<'env>> {
    // one layer's value of `key` (`sub`: of its `key` object's `sub`)
    let value = |layer: Layer, key: &str, sub: Option<&str>| -> Result<Unknown<'env>> {
        let json = match layer {
            Layer::Input | Layer::InputWithoutUrl => {
                let Some(obj) = input else {
                    return ().into_unknown(env);
                };
                let v: Unknown = obj.get_named_property_unchecked(key)?;
                return match sub {
                    None => Ok(v),
                    Some(sub) => {
                        let o = Object::from_raw(v.value().env, v.value().value);
                        o.get_named_property_unchecked(sub)
                    }
                };
            }
            Layer::Url => resolved.url.as_deref(),
            Layer::Service => resolved.service.as_deref(),
        };
        let v = json.and_then(|m| m.get(key));
        let v = match sub {
            None => v,
            Some(sub) => v.and_then(|v| v.get(sub)),
        };
        match v {
            Some(v) => env.to_js_value(v),
            None => ().into_unknown(env),
        }
    };
    let mut out = Object::new(env)?;
    for (key, pick) in plan {
        let v = match pick {
            Pick::Layer(i) => value(ids[*i], key, None)?,
            Pick::Merged(fields) => {
                let mut nested = Object::new(env)?;
                for (sub, i) in fields {
                    nested
                        .set_property(env.create_string(sub)?, value(ids[*i], key, Some(sub))?)?;
                }
                nested.to_unknown()
            }
        };
        out.set_property(env.create_string(key)?, v)?;
    }
    Ok(out)
}

/// A message's `auth` object, read as the transport's is.
pub(super) fn read_auth(auth: Object<'_>, insecure_env: bool) -> Option<AuthConfig> {
    let val = Val::Object(Rc::new(JsSource::new(auth)));
    AuthConfig::read(Some(&val), insecure_env, &mut false)
}

/// The token manager's settings for an OAuth2 login (`a.login()` is `Login::OAuth2`);
/// `has_provisioner`: the transport has a provisioning callback (`oauth2_provision_cb`).
pub(super) fn oauth2_config(a: &AuthConfig, has_provisioner: bool) -> OAuth2Config {
    OAuth2Config {
        has_provisioner: has_provisioner || a.oauth2.has_provisioner,
        ..a.oauth2.clone()
    }
}
