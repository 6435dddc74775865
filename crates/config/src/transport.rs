//! The typed transport configuration: the merged options read once, with nodemailer's
//! coercions (lib/smtp-transport, lib/smtp-pool, lib/smtp-connection), into the engine's own
//! option types: [`ConnectOptions`] (with its [`TlsOptions`] and [`ProxyConfig`]),
//! [`PoolOptions`] and, for an OAuth2 login, [`OAuth2Config`]. The defaults are those types'
//! `Default` (nodemailer's values, written once, in the engine); this module only says how an
//! option is read. What exists only at run time (the logger, the socket provider, the
//! `checkServerIdentity` callback, the provisioning callback) is added by the binding.
//!
//! [`TransportConfig`] holds those values plus what no engine type takes: the transport
//! [`Mode`], the JS-side facts (`maxConnections` without `pool`, a custom proxy scheme, the
//! ignored `tls` keys) and a configuration error the sends report.
//!
//! To add a transport option: give the engine's type the field and its default, then read it
//! in [`TransportConfig::read`] (or [`read_tls`], [`AuthConfig::read`]) with the coercion
//! nodemailer applies.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use mailer_oauth2::OAuth2Config;
use mailer_smtp::options::SECURE_PORT;
use mailer_smtp::{ConnectOptions, ErrorCode, PoolOptions, ProxyConfig, SmtpError, TlsOptions};

use crate::source::{Source, Val};

/// `Infinity` as a timeout: effectively no limit, but still a finite timer so arithmetic
/// never overflows.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `maxConnections` is capped here: more would only exhaust file descriptors.
const MAX_CONNECTIONS_CAP: f64 = 10_000.0;

/// `tls` keys mailer-rs honours; the rest (ciphers, ecdhCurve, secureContext, ...) have no
/// effect: rustls chooses its own suites and curves.
const HONOURED_TLS_KEYS: [&str; 8] = [
    "rejectUnauthorized",
    "ca",
    "servername",
    "minVersion",
    "cert",
    "key",
    "passphrase",
    "checkServerIdentity",
];

/// Proxy schemes the engine has a client for; another scheme is for a proxy handler set in JS
/// (`transporter.set('proxy_handler_<scheme>', fn)`).
const BUILTIN_PROXY_SCHEMES: [&str; 6] = ["http", "https", "socks", "socks4", "socks4a", "socks5"];

/// The transport a configuration selects besides SMTP (nodemailer's lib/nodemailer.js order:
/// pool, sendmail, streamTransport, jsonTransport, SES, SMTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sendmail,
    Ses,
    Stream,
    Json,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sendmail => "sendmail",
            Mode::Ses => "ses",
            Mode::Stream => "stream",
            Mode::Json => "json",
        }
    }
}

/// Reads a `tls` value (the SMTP `tls` option, or `auth.tls` for token requests; anything
/// that is not an object reads as `{}`) into the engine's TLS options. `servername`: the
/// top-level `servername` option, used when `tls.servername` is not set. `insecure_env`:
/// `NODE_TLS_REJECT_UNAUTHORIZED=0`, which applies, as in Node, when `rejectUnauthorized` is
/// not set; `applied_env` is set when it did.
fn read_tls<'a>(
    tls: Option<&Val<'a>>,
    servername: Option<&Val<'a>>,
    insecure_env: bool,
    applied_env: &mut bool,
) -> TlsOptions {
    let obj = tls.and_then(Val::as_object);
    let get = |k: &str| obj.and_then(|o| o.get(k));
    // as Node's `tls.connect`: only `false` turns verification off (`0` or `'false'` do not)
    let reject = match get("rejectUnauthorized") {
        None | Some(Val::Undefined) if insecure_env => {
            *applied_env = true;
            false
        }
        Some(Val::Bool(false)) => false,
        _ => true,
    };
    // Node also takes `key: [{ pem, passphrase }]`; one client key is used (the first)
    let key = match get("key") {
        Some(Val::List(items)) => items.first().cloned(),
        other => other,
    };
    let key_obj = key.as_ref().and_then(Val::as_object);
    let key_pem = key_obj.and_then(|k| k.get("pem")).filter(Val::truthy);
    // Node: a `{ pem, passphrase }` key's own passphrase wins over `tls.passphrase`
    let passphrase = match (&key_pem, key_obj.and_then(|k| k.get("passphrase"))) {
        (Some(_), Some(p)) if p.truthy() => Some(p),
        _ => get("passphrase"),
    };
    let servername = get("servername")
        .filter(Val::truthy)
        .or_else(|| servername.cloned());
    TlsOptions {
        reject_unauthorized: reject,
        // PEM text, one entry per string or Buffer given (each may hold several certificates)
        ca: text_list(get("ca").as_ref()),
        servername: text(servername.as_ref()),
        min_version: text(get("minVersion").as_ref()),
        cert: text(get("cert").as_ref()),
        key: text(key_pem.as_ref().or(key.as_ref())),
        passphrase: text(passphrase.as_ref()),
        ..TlsOptions::default()
    }
}

/// Text of a PEM or name value: a string as is, a Buffer as UTF-8; `undefined`/`null`: none.
fn text(v: Option<&Val>) -> Option<String> {
    v.filter(|v| !v.is_nullish()).map(Val::js_string)
}

/// One value or a list of them as texts, empty ones dropped; `false` is none.
fn text_list(v: Option<&Val>) -> Vec<String> {
    match v {
        None | Some(Val::Undefined | Val::Null | Val::Bool(false)) => Vec::new(),
        Some(Val::List(items)) => items
            .iter()
            .filter_map(|v| text(Some(v)))
            .filter(|s| !s.is_empty())
            .collect(),
        Some(one) => text(Some(one))
            .filter(|s| !s.is_empty())
            .into_iter()
            .collect(),
    }
}

/// `Number(v)` where an option takes a number: `undefined`, `null` and `''` are unset, as is
/// anything that is not a number or `Infinity`.
fn number(v: Option<&Val>) -> Option<f64> {
    match v {
        None | Some(Val::Undefined | Val::Null) => None,
        Some(Val::Str(s)) if s.is_empty() => None,
        Some(v) => {
            let n = v.js_number();
            (n.is_finite() || n == f64::INFINITY).then_some(n)
        }
    }
}

/// A non-empty string option (`String(v)`), as nodemailer's auth reads credentials.
fn non_empty_text(v: Option<Val>) -> Option<String> {
    v.filter(|v| !v.is_nullish())
        .map(|v| v.js_string())
        .filter(|s| !s.is_empty())
}

/// A positive number of milliseconds, else the default (nodemailer: `value || DEFAULT`).
fn millis(v: Option<f64>, default: Duration) -> Duration {
    match v {
        Some(ms) if ms.is_finite() && ms > 0.0 => Duration::from_millis(ms as u64),
        Some(ms) if ms.is_infinite() && ms > 0.0 => FOREVER,
        _ => default,
    }
}

/// The login an auth object asks for (nodemailer's `getAuth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// OAuth2 without a user, or no user, password or method: no AUTH.
    None,
    Password {
        user: String,
        pass: String,
    },
    OAuth2,
}

/// The `auth` option (or a message's `auth`) as read: one object that is either a password
/// login or an OAuth2 one ([`AuthConfig::login`]). Functions stay in JS (`provisionCallback`
/// is only noted, as `oauth2.has_provisioner`). Its `Debug` never prints a secret.
#[derive(Clone, Default)]
pub struct AuthConfig {
    /// `type` (`'login'`, `'OAuth2'`, a custom method's name ...).
    pub kind: Option<String>,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub method: Option<String>,
    /// The token manager's settings from the same object: used when the login is OAuth2.
    /// Token requests verify certificates unless `auth.tls` says otherwise (the SMTP `tls`
    /// does not apply to them).
    pub oauth2: OAuth2Config,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("kind", &self.kind)
            .field("user", &self.user)
            .field("pass", &self.pass.as_ref().map(|_| "<redacted>"))
            .field("method", &self.method)
            // OAuth2Config's own Debug hides its secrets
            .field("oauth2", &self.oauth2)
            .finish()
    }
}

impl AuthConfig {
    /// Reads an `auth` value; `None` unless it is an object.
    pub fn read(
        auth: Option<&Val>,
        insecure_env: bool,
        applied_env: &mut bool,
    ) -> Option<AuthConfig> {
        let a = auth.and_then(Val::as_object)?;
        let s = |k: &str| non_empty_text(a.get(k));
        let secs = |k: &str| {
            number(a.get(k).as_ref())
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(|x| x as u64)
        };
        let (private_key, private_key_passphrase) = match a.get("privateKey") {
            Some(Val::Object(pk)) => (
                text(pk.get("key").as_ref()),
                text(pk.get("passphrase").as_ref()),
            ),
            Some(pk) if pk.truthy() => (text(Some(&pk)), None),
            _ => (None, None),
        };
        let user = s("user");
        let tls = read_tls(a.get("tls").as_ref(), None, insecure_env, applied_env);
        Some(AuthConfig {
            kind: s("type"),
            pass: s("pass"),
            method: s("method"),
            oauth2: OAuth2Config {
                user: user.clone().unwrap_or_default(),
                client_id: s("clientId"),
                client_secret: s("clientSecret"),
                refresh_token: s("refreshToken"),
                access_token: s("accessToken"),
                // seconds (or ms since the epoch for `expires`), as nodemailer's XOAuth2 reads them
                expires: secs("expires"),
                timeout: secs("timeout"),
                access_url: s("accessUrl"),
                service_client: s("serviceClient"),
                private_key,
                private_key_passphrase,
                scope: s("scope"),
                service_request_timeout: secs("serviceRequestTimeout"),
                custom_headers: pairs(a.get("customHeaders")),
                custom_params: pairs(a.get("customParams")),
                request_timeout: number(a.get("requestTimeout").as_ref())
                    .filter(|x| x.is_finite() && *x > 0.0)
                    .map(|ms| Duration::from_millis(ms as u64)),
                tls_reject_unauthorized: tls.reject_unauthorized,
                tls_ca: tls.ca,
                has_provisioner: matches!(a.get("provisionCallback"), Some(Val::Function)),
                ..OAuth2Config::default()
            },
            user,
        })
    }

    pub fn is_oauth2(&self) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("oauth2"))
    }

    /// nodemailer's `getAuth`: OAuth2 without a user is no auth; an empty login (no user,
    /// password or method) is no auth.
    pub fn login(&self) -> Login {
        if self.is_oauth2() {
            return if self.user.is_some() {
                Login::OAuth2
            } else {
                Login::None
            };
        }
        let user = self.user.clone().unwrap_or_default();
        let pass = self.pass.clone().unwrap_or_default();
        if user.is_empty() && pass.is_empty() && self.method.is_none() {
            return Login::None;
        }
        Login::Password { user, pass }
    }
}

/// An object's own keys and values as text pairs (`customHeaders`, `customParams`).
fn pairs(v: Option<Val>) -> Vec<(String, String)> {
    let Some(Val::Object(o)) = v else {
        return Vec::new();
    };
    o.keys()
        .into_iter()
        .filter(|k| k != "__proto__")
        .map(|k| {
            let value = o
                .get(&k)
                .map_or_else(|| "undefined".into(), |v| v.js_string());
            (k, value)
        })
        .collect()
}

/// The transport configuration, resolved.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// The engine's connection options (`debug` is the transcript: `debug` or `transactionLog`
    /// with a logger; `log_body`: `debug` with a logger). The logger, the socket provider and
    /// the identity check are unset: the binding adds them.
    pub connect: ConnectOptions,
    pub auth: Option<AuthConfig>,
    /// `authMethod`: the SASL mechanism when the auth object names none.
    pub auth_method: Option<String>,
    pub force_auth: bool,
    /// `pool: true`: messages share pooled connections.
    pub pool: Option<PoolOptions>,
    /// `maxConnections` as the pool reads it (also without `pool`, for JS's send window).
    pub max_connections: usize,
    /// A proxy URL of a scheme the engine has no client for: a proxy handler set in JS
    /// connects it (`connect.proxy` is then unset).
    pub custom_proxy: bool,
    /// The name composed messages use in Message-IDs.
    pub hostname: Option<String>,
    pub mode: Option<Mode>,
    /// `tls` keys given that have no effect (for one debug line).
    pub ignored_tls: Vec<String>,
    /// `NODE_TLS_REJECT_UNAUTHORIZED=0` turned verification off somewhere (Node warns once).
    pub insecure_env_applied: bool,
    /// Set when every send must fail with this error (an invalid port, local address or proxy
    /// URL): nodemailer passes such a value on to `net.connect`, which refuses it when the
    /// connection is made, never in `createTransport`.
    pub connect_error: Option<SmtpError>,
}

impl TransportConfig {
    /// Reads the merged transport options (see [`crate::resolve`]).
    pub fn read(o: &dyn Source<'_>, insecure_env: bool) -> TransportConfig {
        let get = |k: &str| o.get(k);
        let flag = |k: &str| get(k).is_some_and(|v| v.truthy());
        let string = |k: &str| {
            get(k)
                .filter(|v| !matches!(v, Val::Undefined))
                .map(|v| v.js_string())
        };
        let defaults = ConnectOptions::default();
        let mut applied_env = false;
        let mut connect_error = None;
        let refused = |message: String| SmtpError::new(ErrorCode::EConnection, message);

        let host = string("host")
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| defaults.host.clone());
        // nodemailer: `Number(port) || default`; any other number reaches net.connect, which
        // refuses it, so the send fails with ECONNECTION (never createTransport)
        let port_given = get("port")
            .map(|v| v.js_number())
            .filter(|p| !p.is_nan() && *p != 0.0);
        if let Some(p) = port_given {
            if !(0.0..65536.0).contains(&p) || p.fract() != 0.0 {
                connect_error = Some(refused(format!(
                    "Port should be >= 0 and < 65536. Received type number ({}).",
                    Val::Number(p).js_string()
                )));
            }
        }
        let secure = match (
            get("secure").filter(|v| !matches!(v, Val::Undefined)),
            port_given,
        ) {
            (Some(s), _) => s.truthy(),
            (None, Some(p)) => p == f64::from(SECURE_PORT),
            (None, None) => defaults.secure,
        };
        let port = match port_given {
            Some(p) if connect_error.is_none() => p as u16,
            _ if secure => SECURE_PORT,
            _ => defaults.port,
        };
        let local_address = match string("localAddress") {
            Some(a) if !a.is_empty() => match a.parse::<IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    // as net.connect's ERR_INVALID_IP_ADDRESS in nodemailer: the send fails
                    connect_error.get_or_insert(refused(format!("Invalid localAddress {a:?}")));
                    None
                }
            },
            _ => None,
        };

        let tls_val = get("tls").filter(Val::truthy);
        let tls = read_tls(
            tls_val.as_ref(),
            get("servername").as_ref(),
            insecure_env,
            &mut applied_env,
        );
        let ignored_tls = match tls_val.as_ref().and_then(Val::as_object) {
            Some(t) => t
                .keys()
                .into_iter()
                .filter(|k| !HONOURED_TLS_KEYS.contains(&k.as_str()))
                .filter(|k| t.get(k).is_some_and(|v| !matches!(v, Val::Undefined)))
                .collect(),
            None => Vec::new(),
        };
        let auth = AuthConfig::read(get("auth").as_ref(), insecure_env, &mut applied_env);

        // nodemailer only honours a string proxy URL; one the engine cannot read fails the
        // sends (EPROXY), after an invalid port or local address
        let (proxy, custom_proxy) = match get("proxy") {
            Some(Val::Str(url)) if !url.is_empty() => match proxy_scheme(&url) {
                Some(scheme) if !BUILTIN_PROXY_SCHEMES.contains(&scheme.as_str()) => (None, true),
                _ => match ProxyConfig::parse(&url) {
                    Ok(p) => (Some(p), false),
                    Err(e) => {
                        connect_error.get_or_insert(e);
                        (None, false)
                    }
                },
            },
            _ => (None, false),
        };

        let logger = flag("logger");
        let positive = |k: &str| number(get(k).as_ref()).filter(|x| *x > 0.0);
        let pool_defaults = PoolOptions::default();
        let max_connections = positive("maxConnections")
            .map_or(pool_defaults.max_connections, |v| {
                v.min(MAX_CONNECTIONS_CAP) as usize
            });
        let pool = flag("pool").then(|| PoolOptions {
            max_connections,
            max_messages: match positive("maxMessages") {
                Some(v) if v.is_infinite() => None,
                Some(v) => Some(v as u64),
                None => pool_defaults.max_messages,
            },
            rate_delta: positive("rateDelta")
                .filter(|v| v.is_finite())
                .map_or(pool_defaults.rate_delta, |ms| {
                    Duration::from_millis(ms as u64)
                }),
            // `rateLimit` messages per `rateDelta`
            rate_limit: positive("rateLimit")
                .filter(|v| v.is_finite())
                .map_or(pool_defaults.rate_limit, |v| v as u64),
            max_requeues: number(get("maxRequeues").as_ref())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(|v| v as u32)
                .or(pool_defaults.max_requeues),
        });
        // lib/nodemailer.js picks pool, sendmail, streamTransport, jsonTransport, SES in this
        // order; a stream or JSON transport with `pool` is kept a stream or JSON transport
        let mode = if flag("sendmail") && !flag("pool") {
            Some(Mode::Sendmail)
        } else if flag("streamTransport") {
            Some(Mode::Stream)
        } else if flag("jsonTransport") {
            Some(Mode::Json)
        } else if flag("SES") && !flag("pool") {
            Some(Mode::Ses)
        } else {
            None
        };
        let timeout = |k: &str, default| millis(number(get(k).as_ref()), default);

        let connect = ConnectOptions {
            host,
            port,
            secure,
            tls,
            ignore_tls: flag("ignoreTLS"),
            require_tls: flag("requireTLS"),
            opportunistic_tls: flag("opportunisticTLS"),
            name: string("name"),
            local_address,
            connection_timeout: timeout("connectionTimeout", defaults.connection_timeout),
            greeting_timeout: timeout("greetingTimeout", defaults.greeting_timeout),
            socket_timeout: timeout("socketTimeout", defaults.socket_timeout),
            dns_timeout: timeout("dnsTimeout", defaults.dns_timeout),
            lmtp: flag("lmtp"),
            debug: logger && (flag("debug") || flag("transactionLog")),
            log_body: logger && flag("debug"),
            proxy,
            // the logger and socket provider exist only at run time: the binding sets them
            ..defaults
        };
        TransportConfig {
            connect,
            auth,
            auth_method: string("authMethod"),
            force_auth: flag("forceAuth"),
            pool,
            max_connections,
            custom_proxy,
            hostname: string("hostname"),
            mode,
            ignored_tls,
            insecure_env_applied: applied_env,
            connect_error,
        }
    }
}

/// The scheme of a URL (lower case), as `/^\s*([a-z][a-z0-9+.-]*):/i` finds it.
fn proxy_scheme(url: &str) -> Option<String> {
    let s = url.trim_start();
    let end = s.find(':')?;
    let scheme = &s[..end];
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
        .then(|| scheme.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::JsonSource;
    use mailer_smtp::ProxyKind;
    use serde_json::{json, Value};

    fn read(v: Value) -> TransportConfig {
        let map = v.as_object().cloned().unwrap_or_default();
        TransportConfig::read(&JsonSource(std::rc::Rc::new(map)), false)
    }

    #[test]
    fn port_and_secure_defaults_follow_nodemailer() {
        let c = read(json!({}));
        assert_eq!(
            (c.connect.port, c.connect.secure, c.connect.host.as_str()),
            (587, false, "localhost")
        );
        let c = read(json!({"secure": true}));
        assert_eq!((c.connect.port, c.connect.secure), (465, true));
        let c = read(json!({"port": 465}));
        assert_eq!((c.connect.port, c.connect.secure), (465, true));
        let c = read(json!({"port": "465", "secure": false}));
        assert_eq!((c.connect.port, c.connect.secure), (465, false));
        let c = read(json!({"port": 25}));
        assert_eq!((c.connect.port, c.connect.secure), (25, false));
        for bad in [json!(70000), json!(65536), json!(-1), json!(25.5)] {
            let e = read(json!({ "port": bad })).connect_error.unwrap();
            assert_eq!(e.code.as_str(), "ECONNECTION", "{bad}");
        }
        // NaN and 0 mean the default, as `Number(port) || 587`
        assert_eq!(read(json!({"port": "x"})).connect.port, 587);
        assert_eq!(read(json!({"port": 0})).connect.port, 587);
        let c = read(json!({"localAddress": "nope"}));
        assert_eq!(c.connect_error.unwrap().code.as_str(), "ECONNECTION");
    }

    #[test]
    fn oauth2_without_user_is_no_auth() {
        let c = read(json!({"auth": {"type": "OAuth2", "clientId": "id"}}));
        assert_eq!(c.auth.unwrap().login(), Login::None);
        let c = read(json!({"auth": {"type": "oauth2", "user": "u@example.com"}}));
        let auth = c.auth.unwrap();
        assert_eq!(auth.login(), Login::OAuth2);
        assert!(auth.oauth2.tls_reject_unauthorized);
        let c = read(json!({"auth": {"user": "", "pass": ""}}));
        assert_eq!(c.auth.unwrap().login(), Login::None);
        assert!(read(json!({"auth": "u"})).auth.is_none());
    }

    #[test]
    fn tls_reads_as_node_does() {
        let c = read(
            json!({"tls": {"rejectUnauthorized": 0, "ca": ["A", "", null], "ciphers": "x",
                                    "key": [{"pem": "K", "passphrase": "kp"}], "passphrase": "p"},
                            "servername": "s"}),
        );
        assert!(c.connect.tls.reject_unauthorized);
        assert_eq!(c.connect.tls.ca, ["A"]);
        assert_eq!(
            (
                c.connect.tls.key.as_deref(),
                c.connect.tls.passphrase.as_deref()
            ),
            (Some("K"), Some("kp"))
        );
        assert_eq!(c.connect.tls.servername.as_deref(), Some("s"));
        assert_eq!(c.ignored_tls, ["ciphers"]);
        let map = json!({"tls": {}}).as_object().cloned().unwrap_or_default();
        let c = TransportConfig::read(&JsonSource(std::rc::Rc::new(map)), true);
        assert!(!c.connect.tls.reject_unauthorized && c.insecure_env_applied);
        let map = json!({"tls": {"rejectUnauthorized": true}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let c = TransportConfig::read(&JsonSource(std::rc::Rc::new(map)), true);
        assert!(c.connect.tls.reject_unauthorized && !c.insecure_env_applied);
    }

    #[test]
    fn debug_output_has_no_secret() {
        let c = read(
            json!({"auth": {"user": "u", "pass": "PASS1", "clientSecret": "SECRET2",
                                     "refreshToken": "REFRESH3", "accessToken": "ACCESS4",
                                     "privateKey": {"key": "KEY5", "passphrase": "PHRASE6"}},
                            "tls": {"key": "KEY7", "passphrase": "PHRASE8"}}),
        );
        let text = format!("{c:?}");
        for secret in [
            "PASS1", "SECRET2", "REFRESH3", "ACCESS4", "KEY5", "PHRASE6", "KEY7", "PHRASE8",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn debug_logs_the_body_transaction_log_only_the_transcript() {
        let c = read(json!({"debug": true, "logger": true}));
        assert!(c.connect.debug && c.connect.log_body);
        let c = read(json!({"transactionLog": true, "logger": true}));
        assert!(c.connect.debug && !c.connect.log_body);
        let c = read(json!({"debug": true}));
        assert!(!c.connect.debug && !c.connect.log_body);
    }

    #[test]
    fn pool_mode_and_proxy() {
        let c = read(
            json!({"pool": true, "maxConnections": "3", "maxMessages": null, "sendmail": true}),
        );
        let pool = c.pool.unwrap();
        assert_eq!(
            (pool.max_connections, pool.max_messages, c.mode),
            (3, Some(100), None)
        );
        assert_eq!(
            read(json!({"sendmail": true, "SES": {}})).mode,
            Some(Mode::Sendmail)
        );
        assert_eq!(read(json!({"jsonTransport": 1})).mode, Some(Mode::Json));
        let c = read(json!({"proxy": "SOCKS5://h:1"}));
        let proxy = c.connect.proxy.unwrap();
        assert_eq!(
            (proxy.kind, proxy.host.as_str(), proxy.port, c.custom_proxy),
            (ProxyKind::Socks5, "h", 1, false)
        );
        let c = read(json!({"proxy": "custom://h:1"}));
        assert_eq!((c.connect.proxy.is_none(), c.custom_proxy), (true, true));
        // a built-in scheme the engine cannot read fails the sends, after a bad port
        let e = read(json!({"proxy": "http://"})).connect_error.unwrap();
        assert_eq!(
            (e.code.as_str(), e.command.as_deref()),
            ("EPROXY", Some("CONN"))
        );
        let e = read(json!({"proxy": "http://", "port": -1}))
            .connect_error
            .unwrap();
        assert_eq!(e.code.as_str(), "ECONNECTION");
    }
}
