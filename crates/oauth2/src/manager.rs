//! Token cache, refresh (provisioner, 3LO, 2LO), one refresh at a time, and the registry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::future::{BoxFuture, FutureExt, Shared};
use jsonwebtoken::EncodingKey;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::config::non_empty;
use crate::form::{form_body, set_param};
use crate::http;
use crate::jwt;
use crate::redact::{shorten, Redactor};
use crate::{
    now_ms, CredentialKey, EventSink, LogFn, OAuth2Config, OAuth2Error, Provisioner, TokenEvent,
};

const NO_MECHANISM: &str = "Can't create new access token for user";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Form fields as logged (secrets shortened; 2LO shows the claims object).
type LoggedPairs = Vec<(String, Value)>;

type Refresh = Shared<BoxFuture<'static, Result<String, OAuth2Error>>>;

/// A poisoned lock only means another thread panicked mid-update of plain data; keep going.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct State {
    access_token: Option<String>,
    /// Absolute ms epoch; 0 = never expires.
    expires: u64,
    /// The configured one, or the last one the server rotated it to.
    refresh_token: Option<String>,
    /// The refresh in flight, tagged with its generation.
    inflight: Option<(u64, Refresh)>,
    generation: u64,
}

struct Inner {
    cfg: OAuth2Config,
    credentials: CredentialKey,
    headers: HeaderMap,
    state: Mutex<State>,
    /// Built on first HTTP use: managers fed by a provisioner or a supplied token never need one.
    client: Mutex<Option<reqwest::Client>>,
    /// Parsed (possibly decrypted) service-account key, kept after the first success.
    key: Mutex<Option<Arc<EncodingKey>>>,
    events: Option<EventSink>,
    log: Option<LogFn>,
}

/// One per [`CredentialKey`]: its configuration never changes after construction, so whoever
/// shares it presented exactly its credentials. Cheap to share (`Arc`).
pub struct TokenManager {
    inner: Arc<Inner>,
}

enum Next {
    Done(Result<String, OAuth2Error>, String),
    Wait(Refresh),
}

impl TokenManager {
    pub fn new(
        cfg: OAuth2Config,
        events: Option<EventSink>,
        log: Option<LogFn>,
    ) -> Result<Arc<Self>, OAuth2Error> {
        if non_empty(&cfg.service_client).is_some()
            && (non_empty(&cfg.private_key).is_none() || cfg.user.is_empty())
        {
            return Err(OAuth2Error::config(
                "Options \"privateKey\" and \"user\" are required for service account!",
            ));
        }
        let headers = http::build_headers(&cfg.custom_headers)?;
        if cfg.tls_reject_unauthorized && !cfg.tls_ca.is_empty() {
            // Fail at construction on an unusable CA rather than at the first refresh.
            http::root_store(&cfg.tls_ca)?;
        }
        let access_token = non_empty(&cfg.access_token).map(str::to_string);
        let refresh_token = non_empty(&cfg.refresh_token).map(str::to_string);
        let state = State {
            expires: cfg.initial_expires(now_ms()),
            access_token,
            refresh_token,
            inflight: None,
            generation: 0,
        };
        Ok(Arc::new(Self {
            inner: Arc::new(Inner {
                credentials: cfg.credential_key(),
                cfg,
                headers,
                state: Mutex::new(state),
                client: Mutex::new(None),
                key: Mutex::new(None),
                events,
                log,
            }),
        }))
    }

    pub fn user(&self) -> &str {
        &self.inner.cfg.user
    }

    /// The key this manager's tokens belong to.
    pub fn key(&self) -> &CredentialKey {
        &self.inner.credentials
    }

    /// nodemailer's `getToken(renew)`: cached token if valid (no safety margin) unless `renew`;
    /// otherwise a refresh through `provisioner` (priority), 3LO or 2LO. Concurrent callers share
    /// the single refresh in flight, whatever their `renew` flag.
    pub async fn get_token(
        &self,
        renew: bool,
        provisioner: Option<Provisioner>,
    ) -> Result<String, OAuth2Error> {
        let inner = &self.inner;
        let user = &inner.cfg.user;
        let next = {
            let mut st = lock(&inner.state);
            let now = now_ms();
            let valid = st
                .access_token
                .clone()
                .filter(|_| st.expires == 0 || st.expires > now);
            let can_renew = provisioner.is_some()
                || inner.cfg.has_provisioner
                || st.refresh_token.is_some()
                || non_empty(&inner.cfg.service_client).is_some();
            match (renew, valid) {
                (false, Some(token)) => Next::Done(
                    Ok(token),
                    format!("Reusing existing access token for {user}"),
                ),
                _ if !can_renew => match st.access_token.clone() {
                    Some(token) => Next::Done(
                        Ok(token),
                        format!("Reusing existing access token (no refresh capability) for {user}"),
                    ),
                    None => Next::Done(
                        Err(OAuth2Error::oauth(NO_MECHANISM)),
                        format!(
                            "Cannot renew access token for {user}: No refresh mechanism available"
                        ),
                    ),
                },
                _ => match &st.inflight {
                    Some((_, fut)) => Next::Wait(fut.clone()),
                    None => {
                        st.generation += 1;
                        let generation = st.generation;
                        let fut = Inner::refresh(inner.clone(), renew, provisioner, generation)
                            .boxed()
                            .shared();
                        st.inflight = Some((generation, fut.clone()));
                        Next::Wait(fut)
                    }
                },
            }
        };
        match next {
            Next::Done(result, line) => {
                inner.debug(|| line);
                result
            }
            Next::Wait(fut) => fut.await,
        }
    }

    fn has_valid_token(&self, now: u64) -> bool {
        let st = lock(&self.inner.state);
        st.access_token.is_some() && (st.expires == 0 || st.expires > now)
    }

    /// Whether a cached token is valid now (no expiry counts as valid).
    pub fn token_is_fresh(&self) -> bool {
        self.has_valid_token(now_ms())
    }

    /// The cached token and its expiry (ms epoch, 0 = none), valid or not.
    pub fn cached(&self) -> Option<(String, u64)> {
        let st = lock(&self.inner.state);
        st.access_token.clone().map(|t| (t, st.expires))
    }
}

impl Inner {
    fn debug(&self, line: impl FnOnce() -> String) {
        if let Some(log) = &self.log {
            log(line());
        }
    }

    /// Every secret we know of, for scrubbing server text and log lines.
    fn redactor(&self, extra: Option<&str>) -> Redactor {
        let mut r = Redactor::default();
        {
            let st = lock(&self.state);
            r.add(st.refresh_token.as_deref());
            r.add(st.access_token.as_deref());
        }
        r.add(self.cfg.refresh_token.as_deref());
        r.add(self.cfg.access_token.as_deref());
        r.add(self.cfg.client_secret.as_deref());
        r.add(self.cfg.private_key_passphrase.as_deref());
        for (_, v) in &self.cfg.custom_headers {
            r.add(Some(v));
        }
        for (_, v) in &self.cfg.custom_params {
            r.add(Some(v));
        }
        r.add(extra);
        r
    }

    /// The single refresh: runs once per generation; every waiter gets its result.
    async fn refresh(
        self: Arc<Self>,
        renew: bool,
        provisioner: Option<Provisioner>,
        generation: u64,
    ) -> Result<String, OAuth2Error> {
        let result = match provisioner {
            Some(p) => self.provision(p, renew).await,
            None => self.generate().await,
        };
        {
            let mut st = lock(&self.state);
            if matches!(&st.inflight, Some((g, _)) if *g == generation) {
                st.inflight = None;
            }
        }
        let user = &self.cfg.user;
        match &result {
            Ok(_) => self.debug(|| format!("Generated new Access Token for {user}")),
            Err(e) => self.debug(|| {
                format!(
                    "Failed generating new Access Token for {user}: {}",
                    e.message
                )
            }),
        }
        result
    }

    async fn provision(&self, p: Provisioner, renew: bool) -> Result<String, OAuth2Error> {
        let (token, expires) = p(self.cfg.user.clone(), renew).await?;
        if token.is_empty() {
            return Err(OAuth2Error::oauth(
                "Provisioning callback returned no access token",
            ));
        }
        let mut st = lock(&self.state);
        st.access_token = Some(token.clone());
        st.expires = expires;
        Ok(token)
    }

    fn signing_key(&self) -> Result<Arc<EncodingKey>, OAuth2Error> {
        if let Some(k) = lock(&self.key).as_ref() {
            return Ok(k.clone());
        }
        // Parsed outside the lock: decrypting a PKCS#8 key runs a KDF.
        let key = Arc::new(jwt::load_key(&self.cfg)?);
        *lock(&self.key) = Some(key.clone());
        Ok(key)
    }

    fn client(&self) -> Result<reqwest::Client, OAuth2Error> {
        let mut slot = lock(&self.client);
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = http::build_client(&self.cfg)?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// HTTP refresh (nodemailer's `generateToken`).
    async fn generate(&self) -> Result<String, OAuth2Error> {
        let cfg = &self.cfg;
        let mut assertion = None;
        // `logged` mirrors `pairs` with secrets shortened (nodemailer logs the 2LO claims instead
        // of the signed assertion).
        let (mut pairs, mut logged): (Vec<(String, String)>, LoggedPairs) =
            if non_empty(&cfg.service_client).is_some() {
                let key = self.signing_key()?;
                let now_secs = now_ms() / 1000;
                let jwt = jwt::sign_with_key(cfg, &key, now_secs)?;
                let claims =
                    serde_json::to_value(jwt::claims(cfg, now_secs)).unwrap_or(Value::Null);
                assertion = Some(jwt.clone());
                (
                    vec![
                        ("grant_type".into(), JWT_BEARER.into()),
                        ("assertion".into(), jwt),
                    ],
                    vec![
                        ("grant_type".into(), JWT_BEARER.into()),
                        ("assertion".into(), claims),
                    ],
                )
            } else {
                let refresh_token = lock(&self.state)
                    .refresh_token
                    .clone()
                    .ok_or_else(|| OAuth2Error::oauth(NO_MECHANISM))?;
                let client_id = cfg.client_id.clone().unwrap_or_default();
                let client_secret = cfg.client_secret.clone().unwrap_or_default();
                (
                    vec![
                        ("client_id".into(), client_id.clone()),
                        ("client_secret".into(), client_secret.clone()),
                        ("refresh_token".into(), refresh_token.clone()),
                        ("grant_type".into(), "refresh_token".into()),
                    ],
                    vec![
                        ("client_id".into(), client_id.into()),
                        ("client_secret".into(), shorten(&client_secret).into()),
                        ("refresh_token".into(), shorten(&refresh_token).into()),
                        ("grant_type".into(), "refresh_token".into()),
                    ],
                )
            };
        for (k, v) in &cfg.custom_params {
            set_param(&mut pairs, k, v);
            // Custom params may carry credentials (client_assertion, ...): log them shortened.
            let v = Value::String(shorten(v));
            match logged.iter_mut().find(|(lk, _)| lk == k) {
                Some(p) => p.1 = v,
                None => logged.push((k.clone(), v)),
            }
        }
        let redactor = self.redactor(assertion.as_deref());
        self.debug(|| {
            let fields: Vec<String> = logged
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), v))
                .collect();
            redactor.redact(&format!("Requesting token using: {{{}}}", fields.join(",")))
        });

        let client = self.client()?;
        let timeout = cfg.request_timeout_or_default();
        let (status, body) = http::post(
            &client,
            cfg.access_url_or_default(),
            self.headers.clone(),
            form_body(&pairs),
            timeout,
        )
        .await?;
        self.debug(|| http::response_log(status, &body, &redactor));
        let granted = http::parse_response(status, &body, &redactor)?;

        let expires = match granted.expires_in {
            0 => 0,
            s => now_ms().saturating_add(s.saturating_mul(1000)),
        };
        {
            let mut st = lock(&self.state);
            st.access_token = Some(granted.access_token.clone());
            st.expires = expires;
            if let Some(rt) = granted.refresh_token {
                // Microsoft rotates refresh tokens: the old one may stop working.
                st.refresh_token = Some(rt);
            }
        }
        if let Some(sink) = &self.events {
            sink(TokenEvent {
                user: cfg.user.clone(),
                access_token: granted.access_token.clone(),
                expires,
            })
            .await;
        }
        Ok(granted.access_token)
    }
}

/// Above this many managers, a new one first drops those nobody holds that have no usable token.
const PRUNE_ABOVE: usize = 256;

/// Shares one [`TokenManager`] per [`CredentialKey`] across sends and pooled connections.
///
/// A request reuses a cached token only when it presents the same credentials as the request
/// that got it: a per-message `auth` naming a cached user with another (or no) refresh token,
/// access token or client secret gets a manager of its own, which refreshes with what it
/// presented or fails, and never changes the manager of the transport-level auth.
#[derive(Default)]
pub struct TokenRegistry {
    managers: Mutex<HashMap<CredentialKey, Arc<TokenManager>>>,
}

impl TokenRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// The manager for `cfg`'s credentials, created on first use (its events/log sinks are the
    /// first caller's).
    pub fn get_or_create(
        &self,
        cfg: OAuth2Config,
        events: Option<EventSink>,
        log: Option<LogFn>,
    ) -> Result<Arc<TokenManager>, OAuth2Error> {
        let key = cfg.credential_key();
        let mut map = lock(&self.managers);
        if let Some(m) = map.get(&key) {
            return Ok(m.clone());
        }
        let m = TokenManager::new(cfg, events, log)?;
        if map.len() >= PRUNE_ABOVE {
            // Per-message auth with ever new access tokens would otherwise grow the map forever.
            let now = now_ms();
            map.retain(|_, m| Arc::strong_count(m) > 1 || m.has_valid_token(now));
            if map.len() >= PRUNE_ABOVE {
                map.retain(|_, m| Arc::strong_count(m) > 1);
            }
        }
        map.insert(key, m.clone());
        Ok(m)
    }

    /// How many managers are kept (tests).
    pub fn len(&self) -> usize {
        lock(&self.managers).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
