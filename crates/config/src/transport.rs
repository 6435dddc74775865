//! The typed transport configuration: the merged options read once, with nodemailer's
//! coercions and defaults (lib/smtp-transport, lib/smtp-pool, lib/smtp-connection), into the
//! values the engine takes. The binding copies these fields into the engine's types
//! (`mailer_smtp::options::ConnectOptions`, `PoolOptions`, `mailer_oauth2::OAuth2Config`)
//! without reading an option again.
//!
//! To add a transport option: read it in [`TransportConfig::read`] (or [`TlsConfig::read`],
//! [`AuthConfig::read`]) with the coercion nodemailer applies, add the field, and copy it in
//! the binding (`src/binding/options.rs`).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use crate::source::{Source, Val};

/// nodemailer's connection defaults (lib/smtp-connection).
const CONNECTION_TIMEOUT_MS: u64 = 2 * 60 * 1000;
const GREETING_TIMEOUT_MS: u64 = 30 * 1000;
const SOCKET_TIMEOUT_MS: u64 = 10 * 60 * 1000;
const DNS_TIMEOUT_MS: u64 = 30 * 1000;
/// `Infinity` as a timeout: effectively no limit, but still a finite timer so arithmetic
/// never overflows.
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

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

/// TLS settings (the SMTP `tls` option, or `auth.tls` for token requests). Its `Debug` never
/// prints the key or its passphrase.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// As Node's `tls.connect`: only `false` turns verification off (`0` or `'false'` do not).
    pub reject_unauthorized: bool,
    /// PEM text, one entry per string or Buffer given (each may hold several certificates).
    pub ca: Vec<String>,
    pub servername: Option<String>,
    pub min_version: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub passphrase: Option<String>,
}

impl TlsConfig {
    /// Reads a `tls` value (anything that is not an object reads as `{}`). `insecure_env`:
    /// `NODE_TLS_REJECT_UNAUTHORIZED=0`, which applies, as in Node, when `rejectUnauthorized`
    /// is not set; `applied_env` is set when it did.
    pub fn read<'a>(
        tls: Option<&Val<'a>>,
        servername: Option<&Val<'a>>,
        insecure_env: bool,
        applied_env: &mut bool,
    ) -> TlsConfig {
        let obj = tls.and_then(Val::as_object);
        let get = |k: &str| obj.and_then(|o| o.get(k));
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
        TlsConfig {
            reject_unauthorized: reject,
            ca: text_list(get("ca").as_ref()),
            servername: text(servername.as_ref()),
            min_version: text(get("minVersion").as_ref()),
            cert: text(get("cert").as_ref()),
            key: text(key_pem.as_ref().or(key.as_ref())),
            passphrase: text(passphrase.as_ref()),
        }
    }
}

/// `Some("<redacted>")` for a secret that is set.
fn redacted(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| "<redacted>")
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("reject_unauthorized", &self.reject_unauthorized)
            .field("ca", &format_args!("[{} PEM]", self.ca.len()))
            .field("servername", &self.servername)
            .field("min_version", &self.min_version)
            .field("cert", &self.cert.as_ref().map(|_| "<PEM>"))
            .field("key", &redacted(&self.key))
            .field("passphrase", &redacted(&self.passphrase))
            .finish()
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("kind", &self.kind)
            .field("user", &self.user)
            .field("pass", &redacted(&self.pass))
            .field("method", &self.method)
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("access_token", &redacted(&self.access_token))
            .field("access_url", &self.access_url)
            .field("service_client", &self.service_client)
            .field("private_key", &redacted(&self.private_key))
            .field(
                "private_key_passphrase",
                &redacted(&self.private_key_passphrase),
            )
            .field("has_provision_callback", &self.has_provision_callback)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
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

/// A positive, finite number of milliseconds, else the default (nodemailer: `value || DEFAULT`).
fn millis(v: Option<f64>, default_ms: u64) -> Duration {
    match v {
        Some(ms) if ms.is_finite() && ms > 0.0 => Duration::from_millis(ms as u64),
        Some(ms) if ms.is_infinite() && ms > 0.0 => FOREVER,
        _ => Duration::from_millis(default_ms),
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

/// The `auth` option (or a message's `auth`) with the values the engine uses; functions stay
/// in JS (`provisionCallback` is only noted). Its `Debug` never prints a secret.
#[derive(Clone, Default, PartialEq)]
pub struct AuthConfig {
    pub kind: Option<String>,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub method: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub access_token: Option<String>,
    pub access_url: Option<String>,
    pub service_client: Option<String>,
    pub scope: Option<String>,
    /// Seconds (or ms since the epoch for `expires`), as nodemailer's XOAuth2 reads them.
    pub expires: Option<u64>,
    pub timeout: Option<u64>,
    pub service_request_timeout: Option<u64>,
    pub request_timeout: Option<Duration>,
    pub private_key: Option<String>,
    pub private_key_passphrase: Option<String>,
    pub custom_headers: Vec<(String, String)>,
    pub custom_params: Vec<(String, String)>,
    pub has_provision_callback: bool,
    /// Token requests verify certificates unless `auth.tls` says otherwise (the SMTP `tls`
    /// does not apply to them).
    pub tls: TlsConfig,
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
        Some(AuthConfig {
            kind: s("type"),
            user: s("user"),
            pass: s("pass"),
            method: s("method"),
            client_id: s("clientId"),
            client_secret: s("clientSecret"),
            refresh_token: s("refreshToken"),
            access_token: s("accessToken"),
            access_url: s("accessUrl"),
            service_client: s("serviceClient"),
            scope: s("scope"),
            expires: secs("expires"),
            timeout: secs("timeout"),
            service_request_timeout: secs("serviceRequestTimeout"),
            request_timeout: number(a.get("requestTimeout").as_ref())
                .filter(|x| x.is_finite() && *x > 0.0)
                .map(|ms| Duration::from_millis(ms as u64)),
            private_key,
            private_key_passphrase,
            custom_headers: pairs(a.get("customHeaders")),
            custom_params: pairs(a.get("customParams")),
            has_provision_callback: matches!(a.get("provisionCallback"), Some(Val::Function)),
            tls: TlsConfig::read(a.get("tls").as_ref(), None, insecure_env, applied_env),
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

/// nodemailer's pool options (lib/smtp-pool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// `maxConnections`, default 5 (capped at 10,000).
    pub max_connections: usize,
    /// `maxMessages` per connection, default 100; `Infinity`: no limit.
    pub max_messages: Option<u64>,
    pub rate_delta: Duration,
    /// `rateLimit` messages per `rateDelta`; 0: no limit.
    pub rate_limit: u64,
    pub max_requeues: Option<u32>,
}

/// A configuration error a send reports rather than `createTransport` (nodemailer passes the
/// value on to `net.connect`, which refuses it when the connection is made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    pub code: &'static str,
    pub message: String,
}

/// The transport configuration, resolved.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    pub host: String,
    pub port: u16,
    /// Implicit TLS: `secure`, or port 465 when `secure` is not set.
    pub secure: bool,
    pub tls: TlsConfig,
    pub ignore_tls: bool,
    pub require_tls: bool,
    pub opportunistic_tls: bool,
    pub name: Option<String>,
    pub local_address: Option<IpAddr>,
    pub connection_timeout: Duration,
    pub greeting_timeout: Duration,
    pub socket_timeout: Duration,
    pub dns_timeout: Duration,
    pub lmtp: bool,
    /// The SMTP transcript is logged (`debug` or `transactionLog`, with a logger).
    pub transcript: bool,
    /// The message body is logged too (`debug` only, as nodemailer's lib/smtp-connection).
    pub log_body: bool,
    /// A proxy URL of a scheme the engine speaks.
    pub proxy: Option<String>,
    /// A proxy URL of another scheme: a proxy handler set in JS connects it.
    pub custom_proxy: bool,
    pub auth: Option<AuthConfig>,
    pub auth_method: Option<String>,
    pub force_auth: bool,
    /// `pool: true`: messages share pooled connections.
    pub pool: Option<PoolConfig>,
    /// `maxConnections` as the pool reads it (also without `pool`, for JS's send window).
    pub max_connections: usize,
    /// The name composed messages use in Message-IDs.
    pub hostname: Option<String>,
    pub mode: Option<Mode>,
    /// `tls` keys given that have no effect (for one debug line).
    pub ignored_tls: Vec<String>,
    /// `NODE_TLS_REJECT_UNAUTHORIZED=0` turned verification off somewhere (Node warns once).
    pub insecure_env_applied: bool,
    /// Set when a send must fail with this error (an invalid port or local address).
    pub connect_error: Option<ConnectError>,
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
        let mut applied_env = false;
        let mut connect_error = None;

        let host = string("host")
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        // nodemailer: `Number(port) || default`; any other number reaches net.connect, which
        // refuses it, so the send fails with ECONNECTION (never createTransport)
        let port_given = get("port")
            .map(|v| v.js_number())
            .filter(|p| !p.is_nan() && *p != 0.0);
        if let Some(p) = port_given {
            if !(0.0..65536.0).contains(&p) || p.fract() != 0.0 {
                connect_error = Some(ConnectError {
                    code: "ECONNECTION",
                    message: format!(
                        "Port should be >= 0 and < 65536. Received type number ({}).",
                        Val::Number(p).js_string()
                    ),
                });
            }
        }
        let secure = match (
            get("secure").filter(|v| !matches!(v, Val::Undefined)),
            port_given,
        ) {
            (Some(s), _) => s.truthy(),
            (None, Some(p)) => p == 465.0,
            (None, None) => false,
        };
        let port = match port_given {
            Some(p) if connect_error.is_none() => p as u16,
            _ => {
                if secure {
                    465
                } else {
                    587
                }
            }
        };
        let local_address = match string("localAddress") {
            Some(a) if !a.is_empty() => match a.parse::<IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    // as net.connect's ERR_INVALID_IP_ADDRESS in nodemailer: the send fails
                    connect_error.get_or_insert(ConnectError {
                        code: "ECONNECTION",
                        message: format!("Invalid localAddress {a:?}"),
                    });
                    None
                }
            },
            _ => None,
        };

        let tls_val = get("tls").filter(Val::truthy);
        let tls = TlsConfig::read(
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

        // nodemailer only honours a string proxy URL
        let (proxy, custom_proxy) = match get("proxy") {
            Some(Val::Str(url)) if !url.is_empty() => match proxy_scheme(&url) {
                Some(scheme) if !BUILTIN_PROXY_SCHEMES.contains(&scheme.as_str()) => (None, true),
                _ => (Some(url), false),
            },
            _ => (None, false),
        };

        let logger = flag("logger");
        let positive = |k: &str| number(get(k).as_ref()).filter(|x| *x > 0.0);
        let max_connections = positive("maxConnections").map_or(5, |v| v.min(10_000.0) as usize);
        let pool = flag("pool").then(|| PoolConfig {
            max_connections,
            max_messages: match positive("maxMessages") {
                Some(v) if v.is_infinite() => None,
                Some(v) => Some(v as u64),
                None => Some(100),
            },
            rate_delta: positive("rateDelta")
                .filter(|v| v.is_finite())
                .map_or(Duration::from_millis(1000), |ms| {
                    Duration::from_millis(ms as u64)
                }),
            rate_limit: positive("rateLimit")
                .filter(|v| v.is_finite())
                .map_or(0, |v| v as u64),
            max_requeues: number(get("maxRequeues").as_ref())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(|v| v as u32),
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
        let timeout = |k: &str, default_ms| millis(number(get(k).as_ref()), default_ms);

        TransportConfig {
            host,
            port,
            secure,
            tls,
            ignore_tls: flag("ignoreTLS"),
            require_tls: flag("requireTLS"),
            opportunistic_tls: flag("opportunisticTLS"),
            name: string("name"),
            local_address,
            connection_timeout: timeout("connectionTimeout", CONNECTION_TIMEOUT_MS),
            greeting_timeout: timeout("greetingTimeout", GREETING_TIMEOUT_MS),
            socket_timeout: timeout("socketTimeout", SOCKET_TIMEOUT_MS),
            dns_timeout: timeout("dnsTimeout", DNS_TIMEOUT_MS),
            lmtp: flag("lmtp"),
            transcript: logger && (flag("debug") || flag("transactionLog")),
            log_body: logger && flag("debug"),
            proxy,
            custom_proxy,
            auth,
            auth_method: string("authMethod"),
            force_auth: flag("forceAuth"),
            pool,
            max_connections,
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
    use serde_json::{json, Value};

    fn read(v: Value) -> TransportConfig {
        let map = v.as_object().cloned().unwrap_or_default();
        TransportConfig::read(&JsonSource(std::rc::Rc::new(map)), false)
    }

    #[test]
    fn port_and_secure_defaults_follow_nodemailer() {
        let c = read(json!({}));
        assert_eq!(
            (c.port, c.secure, c.host.as_str()),
            (587, false, "localhost")
        );
        let c = read(json!({"secure": true}));
        assert_eq!((c.port, c.secure), (465, true));
        let c = read(json!({"port": 465}));
        assert_eq!((c.port, c.secure), (465, true));
        let c = read(json!({"port": "465", "secure": false}));
        assert_eq!((c.port, c.secure), (465, false));
        let c = read(json!({"port": 25}));
        assert_eq!((c.port, c.secure), (25, false));
        for bad in [json!(70000), json!(65536), json!(-1), json!(25.5)] {
            let e = read(json!({ "port": bad })).connect_error.unwrap();
            assert_eq!(e.code, "ECONNECTION", "{bad}");
        }
        // NaN and 0 mean the default, as `Number(port) || 587`
        assert_eq!(read(json!({"port": "x"})).port, 587);
        assert_eq!(read(json!({"port": 0})).port, 587);
        let c = read(json!({"localAddress": "nope"}));
        assert_eq!(c.connect_error.unwrap().code, "ECONNECTION");
    }

    #[test]
    fn oauth2_without_user_is_no_auth() {
        let c = read(json!({"auth": {"type": "OAuth2", "clientId": "id"}}));
        assert_eq!(c.auth.unwrap().login(), Login::None);
        let c = read(json!({"auth": {"type": "oauth2", "user": "u@example.com"}}));
        let auth = c.auth.unwrap();
        assert_eq!(auth.login(), Login::OAuth2);
        assert!(auth.tls.reject_unauthorized);
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
        assert!(c.tls.reject_unauthorized);
        assert_eq!(c.tls.ca, ["A"]);
        assert_eq!(
            (c.tls.key.as_deref(), c.tls.passphrase.as_deref()),
            (Some("K"), Some("kp"))
        );
        assert_eq!(c.tls.servername.as_deref(), Some("s"));
        assert_eq!(c.ignored_tls, ["ciphers"]);
        let map = json!({"tls": {}}).as_object().cloned().unwrap_or_default();
        let c = TransportConfig::read(&JsonSource(std::rc::Rc::new(map)), true);
        assert!(!c.tls.reject_unauthorized && c.insecure_env_applied);
        let map = json!({"tls": {"rejectUnauthorized": true}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let c = TransportConfig::read(&JsonSource(std::rc::Rc::new(map)), true);
        assert!(c.tls.reject_unauthorized && !c.insecure_env_applied);
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
        assert!(c.transcript && c.log_body);
        let c = read(json!({"transactionLog": true, "logger": true}));
        assert!(c.transcript && !c.log_body);
        let c = read(json!({"debug": true}));
        assert!(!c.transcript && !c.log_body);
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
        assert_eq!(
            (c.proxy.as_deref(), c.custom_proxy),
            (Some("SOCKS5://h:1"), false)
        );
        let c = read(json!({"proxy": "custom://h:1"}));
        assert_eq!((c.proxy, c.custom_proxy), (None, true));
    }
}
