//! Transport and auth options as the JS layer hands them over (`lib/options.js` sanitises them:
//! PEM text only, no functions), and their conversion into the crates' types with nodemailer's
//! defaults.

use std::net::IpAddr;
use std::time::Duration;

use mailer_oauth2::OAuth2Config;
use mailer_smtp::options::{ConnectOptions, TlsOptions};
use mailer_smtp::ProxyConfig;
use serde::Deserialize;

use super::errors::BindError;

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(rename_all = "camelCase", default)]
pub struct JsTls {
    pub reject_unauthorized: Option<bool>,
    pub ca: Option<Vec<String>>,
    pub servername: Option<String>,
    pub min_version: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub passphrase: Option<String>,
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(rename_all = "camelCase", default)]
pub struct JsAuth {
    #[serde(rename = "type")]
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
    pub expires: Option<f64>,
    pub timeout: Option<f64>,
    pub service_request_timeout: Option<f64>,
    pub request_timeout: Option<f64>,
    pub private_key: Option<String>,
    pub private_key_passphrase: Option<String>,
    pub custom_headers: Option<Vec<(String, String)>>,
    pub custom_params: Option<Vec<(String, String)>>,
    pub has_provision_callback: Option<bool>,
    pub tls: Option<JsTls>,
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(rename_all = "camelCase", default)]
pub struct JsTransportOptions {
    pub host: Option<String>,
    pub port: Option<f64>,
    pub secure: Option<bool>,
    pub name: Option<String>,
    pub local_address: Option<String>,
    #[serde(rename = "ignoreTLS")]
    pub ignore_tls: bool,
    #[serde(rename = "requireTLS")]
    pub require_tls: bool,
    #[serde(rename = "opportunisticTLS")]
    pub opportunistic_tls: bool,
    pub lmtp: bool,
    pub force_auth: bool,
    pub auth_method: Option<String>,
    pub debug: bool,
    pub log_body: bool,
    pub logger: bool,
    pub pool: bool,
    pub max_connections: Option<f64>,
    pub max_messages: Option<f64>,
    pub rate_delta: Option<f64>,
    pub rate_limit: Option<f64>,
    pub max_requeues: Option<f64>,
    pub hostname: Option<String>,
    pub tls: Option<JsTls>,
    pub connection_timeout: Option<f64>,
    pub greeting_timeout: Option<f64>,
    pub socket_timeout: Option<f64>,
    pub dns_timeout: Option<f64>,
    pub auth: Option<JsAuth>,
    pub proxy: Option<String>,
}

/// A positive, finite number of milliseconds, else the default (nodemailer: `value || DEFAULT`).
fn millis(v: Option<f64>, default_ms: u64) -> Duration {
    match v {
        Some(ms) if ms.is_finite() && ms > 0.0 => Duration::from_millis(ms as u64),
        // Infinity: effectively no limit, but still a finite timer so arithmetic never overflows.
        Some(ms) if ms.is_infinite() && ms > 0.0 => Duration::from_secs(100 * 365 * 24 * 3600),
        _ => Duration::from_millis(default_ms),
    }
}

pub fn tls_options(js: Option<&JsTls>, host: &str) -> TlsOptions {
    let js = js.cloned().unwrap_or_default();
    let _ = host;
    TlsOptions {
        reject_unauthorized: js.reject_unauthorized.unwrap_or(true),
        ca: js.ca.unwrap_or_default(),
        servername: js.servername,
        min_version: js.min_version,
        cert: js.cert,
        key: js.key,
        passphrase: js.passphrase,
        // set by the transport from the JS function, when there is one
        check_server_identity: None,
    }
}

/// nodemailer's connection defaults: port 587, or 465 when `secure`; port 465 implies `secure`.
pub fn connect_options(o: &JsTransportOptions) -> Result<ConnectOptions, BindError> {
    let host = o
        .host
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    // nodemailer: `Number(port) || default`; any other number reaches net.connect, which
    // refuses it, so the send fails with ECONNECTION (never createTransport)
    let port_given = o.port.filter(|p| !p.is_nan() && *p != 0.0);
    if let Some(p) = port_given {
        if !(0.0..65536.0).contains(&p) || p.fract() != 0.0 {
            return Err(BindError::new(
                "ECONNECTION",
                format!("Port should be >= 0 and < 65536. Received type number ({p})."),
            ));
        }
    }
    let secure = match (o.secure, port_given) {
        (Some(s), _) => s,
        (None, Some(p)) => p as u16 == 465,
        (None, None) => false,
    };
    let port = port_given
        .map(|p| p as u16)
        .unwrap_or(if secure { 465 } else { 587 });
    let local_address = match &o.local_address {
        Some(a) if !a.is_empty() => Some(
            a.parse::<IpAddr>()
                // as net.connect's ERR_INVALID_IP_ADDRESS in nodemailer: the send fails
                .map_err(|_| {
                    BindError::new("ECONNECTION", format!("Invalid localAddress {a:?}"))
                })?,
        ),
        _ => None,
    };
    let defaults = ConnectOptions::default();
    Ok(ConnectOptions {
        tls: tls_options(o.tls.as_ref(), &host),
        host,
        port,
        secure,
        ignore_tls: o.ignore_tls,
        require_tls: o.require_tls,
        opportunistic_tls: o.opportunistic_tls,
        name: o.name.clone(),
        local_address,
        connection_timeout: millis(
            o.connection_timeout,
            defaults.connection_timeout.as_millis() as u64,
        ),
        greeting_timeout: millis(
            o.greeting_timeout,
            defaults.greeting_timeout.as_millis() as u64,
        ),
        socket_timeout: millis(o.socket_timeout, defaults.socket_timeout.as_millis() as u64),
        dns_timeout: millis(o.dns_timeout, defaults.dns_timeout.as_millis() as u64),
        lmtp: o.lmtp,
        debug: o.debug && o.logger,
        logger: None,
        socket_provider: None,
        proxy: match o.proxy.as_deref().filter(|p| !p.is_empty()) {
            Some(url) => Some(ProxyConfig::parse(url)?),
            None => None,
        },
    })
}

/// What an auth object asks for.
#[derive(Clone, Debug)]
pub enum AuthSpec {
    None,
    Login {
        user: String,
        pass: String,
        method: Option<String>,
    },
    OAuth2 {
        config: Box<OAuth2Config>,
        method: Option<String>,
    },
}

pub fn is_oauth2(auth: &JsAuth) -> bool {
    auth.kind
        .as_deref()
        .map(|t| t.eq_ignore_ascii_case("oauth2"))
        .unwrap_or(false)
}

/// nodemailer's `getAuth`: OAuth2 without a user is no auth; an empty login is no auth.
pub fn auth_spec(auth: Option<&JsAuth>, has_provisioner: bool) -> AuthSpec {
    let Some(a) = auth else { return AuthSpec::None };
    if is_oauth2(a) {
        let Some(user) = a.user.clone().filter(|u| !u.is_empty()) else {
            return AuthSpec::None;
        };
        let tls = a.tls.clone().unwrap_or_default();
        let secs = |v: Option<f64>| v.filter(|x| x.is_finite() && *x >= 0.0).map(|x| x as u64);
        let config = OAuth2Config {
            user,
            client_id: a.client_id.clone(),
            client_secret: a.client_secret.clone(),
            refresh_token: a.refresh_token.clone(),
            access_token: a.access_token.clone(),
            expires: secs(a.expires),
            timeout: secs(a.timeout),
            access_url: a.access_url.clone(),
            service_client: a.service_client.clone(),
            private_key: a.private_key.clone(),
            private_key_passphrase: a.private_key_passphrase.clone(),
            scope: a.scope.clone(),
            service_request_timeout: secs(a.service_request_timeout),
            custom_headers: a.custom_headers.clone().unwrap_or_default(),
            custom_params: a.custom_params.clone().unwrap_or_default(),
            request_timeout: a
                .request_timeout
                .filter(|x| x.is_finite() && *x > 0.0)
                .map(|ms| Duration::from_millis(ms as u64)),
            tls_reject_unauthorized: tls.reject_unauthorized.unwrap_or(true),
            tls_ca: tls.ca.unwrap_or_default(),
            has_provisioner: has_provisioner || a.has_provision_callback.unwrap_or(false),
            // the transport fills in the callback it will use
            provisioner_id: 0,
        };
        return AuthSpec::OAuth2 {
            config: Box::new(config),
            method: a.method.clone(),
        };
    }
    let user = a.user.clone().unwrap_or_default();
    let pass = a.pass.clone().unwrap_or_default();
    if user.is_empty() && pass.is_empty() && a.method.is_none() {
        return AuthSpec::None;
    }
    AuthSpec::Login {
        user,
        pass,
        method: a.method.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(port: Option<f64>, secure: Option<bool>) -> JsTransportOptions {
        JsTransportOptions {
            port,
            secure,
            ..Default::default()
        }
    }

    #[test]
    fn port_and_secure_defaults_follow_nodemailer() {
        let c = connect_options(&opts(None, None)).unwrap();
        assert_eq!(
            (c.port, c.secure, c.host.as_str()),
            (587, false, "localhost")
        );
        let c = connect_options(&opts(None, Some(true))).unwrap();
        assert_eq!((c.port, c.secure), (465, true));
        let c = connect_options(&opts(Some(465.0), None)).unwrap();
        assert_eq!((c.port, c.secure), (465, true));
        let c = connect_options(&opts(Some(465.0), Some(false))).unwrap();
        assert_eq!((c.port, c.secure), (465, false));
        let c = connect_options(&opts(Some(25.0), None)).unwrap();
        assert_eq!((c.port, c.secure), (25, false));
        for bad in [
            70000.0,
            65536.0,
            -1.0,
            25.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let e = connect_options(&opts(Some(bad), None)).unwrap_err();
            assert_eq!(e.code, "ECONNECTION", "{bad}");
        }
        // NaN and 0 mean the default, as `Number(port) || 587`
        assert_eq!(
            connect_options(&opts(Some(f64::NAN), None)).unwrap().port,
            587
        );
        assert_eq!(connect_options(&opts(Some(0.0), None)).unwrap().port, 587);
    }

    #[test]
    fn oauth2_without_user_is_no_auth() {
        let a = JsAuth {
            kind: Some("OAuth2".into()),
            client_id: Some("id".into()),
            ..Default::default()
        };
        assert!(matches!(auth_spec(Some(&a), false), AuthSpec::None));
        let a = JsAuth {
            kind: Some("oauth2".into()),
            user: Some("u@example.com".into()),
            ..Default::default()
        };
        match auth_spec(Some(&a), false) {
            AuthSpec::OAuth2 { config, .. } => {
                assert_eq!(config.user, "u@example.com");
                assert!(config.tls_reject_unauthorized);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
