//! Host name resolution: the system resolver bounded by `dnsTimeout`, with nodemailer's
//! 5-minute cache for SMTP hosts (a stale entry is used when a new lookup fails) and its
//! random pick of the first address to try (lib/shared's `resolveHostname`).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::time::timeout;

use crate::error::{ErrorCode, SmtpError};

const DNS_TTL: Duration = Duration::from_secs(5 * 60);
const DNS_CACHE_MAX: usize = 1000;

type DnsCache = Mutex<HashMap<String, (Vec<IpAddr>, Instant)>>;

fn dns_cache() -> &'static DnsCache {
    static CACHE: OnceLock<DnsCache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// nodemailer's EDNS error (`queryA ETIMEOUT host`, `getaddrinfo ENOTFOUND host`).
pub(crate) fn dns_error(host: &str, errno: &str, syscall: &str) -> SmtpError {
    let mut e = SmtpError::format(
        ErrorCode::EDns,
        format!("{syscall} {errno} {host}"),
        None,
        Some("CONN"),
    );
    e.errno = Some(errno.to_string());
    e.syscall = Some(syscall.to_string());
    e
}

fn cache_put(host: &str, addrs: &[IpAddr]) {
    if let Ok(mut map) = dns_cache().lock() {
        if map.len() >= DNS_CACHE_MAX {
            let now = Instant::now();
            map.retain(|_, (_, exp)| *exp > now);
            if map.len() >= DNS_CACHE_MAX {
                map.clear();
            }
        }
        map.insert(host.to_string(), (addrs.to_vec(), Instant::now() + DNS_TTL));
    }
}

/// Why a lookup found nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LookupFailure {
    /// `dns_timeout` ran out.
    Timeout,
    /// The resolver failed.
    Failed,
}

/// One uncached lookup of `host:port`, bounded by `dns_timeout`.
pub(crate) async fn lookup(
    host: &str,
    port: u16,
    dns_timeout: Duration,
) -> Result<Vec<SocketAddr>, LookupFailure> {
    match timeout(dns_timeout, tokio::net::lookup_host((host, port))).await {
        Err(_) => Err(LookupFailure::Timeout),
        Ok(Err(_)) => Err(LookupFailure::Failed),
        Ok(Ok(it)) => Ok(it.collect()),
    }
}

/// Resolves `host` (IPv4 first), with nodemailer's 5-minute cache and stale fallback; the flag
/// says whether the addresses came from the cache (nodemailer's `cached` log field).
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    dns_timeout: Duration,
) -> Result<(Vec<IpAddr>, bool), SmtpError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok((vec![ip], false));
    }
    let cached = dns_cache().lock().ok().and_then(|m| m.get(host).cloned());
    if let Some((addrs, exp)) = &cached {
        if *exp >= Instant::now() {
            return Ok((addrs.clone(), true));
        }
    }
    let looked_up = match lookup(host, port, dns_timeout).await {
        Err(LookupFailure::Timeout) => Err(dns_error(host, "ETIMEOUT", "queryA")),
        Err(LookupFailure::Failed) => Err(dns_error(host, "ENOTFOUND", "getaddrinfo")),
        Ok(found) => {
            let mut v4: Vec<IpAddr> = Vec::new();
            let mut v6: Vec<IpAddr> = Vec::new();
            for sa in found {
                let ip = sa.ip();
                let list = if ip.is_ipv4() { &mut v4 } else { &mut v6 };
                if !list.contains(&ip) {
                    list.push(ip);
                }
            }
            v4.extend(v6);
            if v4.is_empty() {
                Err(dns_error(host, "ENOTFOUND", "getaddrinfo"))
            } else {
                Ok(v4)
            }
        }
    };
    match looked_up {
        Ok(addrs) => {
            cache_put(host, &addrs);
            Ok((addrs, false))
        }
        // a stale entry beats a failed lookup
        Err(e) => match cached {
            Some((addrs, _)) => {
                cache_put(host, &addrs);
                Ok((addrs, true))
            }
            None => Err(e),
        },
    }
}

/// A random first address, then the others in order (nodemailer picks one at random and
/// falls back to the rest). std's RandomState is random enough and needs no extra crate.
pub(crate) fn connect_order(addrs: Vec<IpAddr>) -> Vec<IpAddr> {
    if addrs.len() < 2 {
        return addrs;
    }
    let first = (RandomState::new().hash_one(Instant::now()) as usize) % addrs.len();
    let mut out = Vec::with_capacity(addrs.len());
    out.push(addrs[first]);
    out.extend(
        addrs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != first)
            .map(|(_, a)| *a),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keeps_all_addresses() {
        let a: Vec<IpAddr> = vec![
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "::1".parse().unwrap(),
        ];
        let mut o = connect_order(a.clone());
        assert_eq!(o.len(), 3);
        o.sort();
        let mut s = a.clone();
        s.sort();
        assert_eq!(o, s);
    }

    #[tokio::test]
    async fn resolve_ip_literals() {
        assert_eq!(
            resolve("127.0.0.1", 25, Duration::from_secs(1))
                .await
                .unwrap(),
            (vec!["127.0.0.1".parse::<IpAddr>().unwrap()], false)
        );
        assert_eq!(
            resolve("[::1]", 25, Duration::from_secs(1)).await.unwrap(),
            (vec!["::1".parse::<IpAddr>().unwrap()], false)
        );
    }

    #[tokio::test]
    async fn resolve_failure_is_edns() {
        let e = resolve("no-such-host.invalid", 25, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::EDns);
        assert_eq!(e.command.as_deref(), Some("CONN"));
    }
}
