//! The network under an SMTP session: everything between the connection options and a byte
//! stream with the server's greeting on it.
//!
//! - [`dns`]: host resolution, its 5-minute cache and the order addresses are tried in;
//! - [`tcp`]: one TCP connection (`localAddress`, keep-alive, no Nagle);
//! - [`tunnel`]: HTTP CONNECT and SOCKS4/4a/5 tunnels through the `proxy` URL;
//! - [`tls`]: rustls configuration, the handshake (implicit TLS, STARTTLS, `https:` proxies),
//!   `checkServerIdentity` and the error codes of a failed handshake;
//! - [`Stream`]: the one stream type all of these yield, which the connection reads and writes.
//!
//! [`connect`] is the entry: a socket provider's stream when it has one, else a tunnel through
//! the proxy, else each resolved address in turn; implicit TLS on top when `secure`; and
//! nodemailer's "Connection established" log record. A feature about how bytes reach the server
//! (a new proxy kind, a socket option) goes here; what is said over them goes in `connection`.

pub(crate) mod dns;
pub(crate) mod stream;
pub(crate) mod tcp;
pub(crate) mod tls;
pub(crate) mod tunnel;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::time::timeout;

pub(crate) use self::stream::Stream;
use crate::error::{ErrorCode, SmtpError};
use crate::external::ExternalSocket;
use crate::log::{Details, Field, Level, Logger};
use crate::options::ConnectOptions;

/// A connected stream, ready for the server's greeting.
pub(crate) struct Established {
    pub stream: Stream,
    /// The socket's remote end: the server's, or the proxy's through a proxy.
    pub remote: SocketAddr,
    /// The options the session runs with: a provided socket may override `secure` and `host`.
    pub opts: ConnectOptions,
    pub logger: Logger,
}

/// ETIMEDOUT "Connection timeout": `connection_timeout` ran out before the stream was ready.
pub(crate) fn connection_timeout_error() -> SmtpError {
    SmtpError::format(
        ErrorCode::ETimedOut,
        "Connection timeout",
        None,
        Some("CONN"),
    )
}

/// DNS, TCP or a proxy tunnel (or a socket provider's stream), then implicit TLS when `secure`.
pub(crate) async fn connect(opts: &ConnectOptions) -> Result<Established, SmtpError> {
    let provided = opts
        .socket_provider
        .as_ref()
        .and_then(|p| p.0.open(&opts.host, opts.port));
    if let Some(open) = provided {
        let started = Instant::now();
        let ext = match timeout(opts.connection_timeout, open).await {
            Err(_) => return Err(connection_timeout_error()),
            Ok(r) => r?,
        };
        if let Some(ext) = ext {
            let remaining = opts.connection_timeout.saturating_sub(started.elapsed());
            return connect_external(opts, ext, remaining).await;
        }
    }
    let logger = Logger::connection(opts.logger.clone(), opts.debug);
    // through a proxy, the SMTP host is the proxy's to reach (or resolve)
    let addrs = match opts.proxy {
        Some(_) => Vec::new(),
        None => {
            let (addrs, cached) = dns::resolve(&opts.host, opts.port, opts.dns_timeout).await?;
            let addrs = dns::connect_order(addrs);
            logger.log(Level::Debug, "dns", "Resolved %s as %s [cache %s]", || {
                let resolved = addrs.first().map(|ip| ip.to_string()).unwrap_or_default();
                Details::args([
                    opts.host.clone(),
                    resolved.clone(),
                    if cached { "hit" } else { "miss" }.to_string(),
                ])
                .field(Field::Str("source", opts.host.clone()))
                .field(Field::Str("resolved", resolved))
                .field(Field::Bool("cached", cached))
            });
            addrs
        }
    };
    // TLS settings Node would refuse (a client key it cannot read) make nodemailer's
    // `tls.connect` throw: ECONNECTION (lib/smtp-connection's connect).
    let tls_config = if opts.secure {
        Some(tls::client_config(&opts.tls, "CONN").map_err(|e| {
            let reason = e.message.trim_start_matches("Error initiating TLS - ");
            SmtpError::new(ErrorCode::EConnection, reason.to_string()).with_command("CONN")
        })?)
    } else {
        None
    };
    // Implicit TLS runs the same on a direct stream and on a proxy tunnel. A failed handshake
    // is reported as nodemailer reports it: on a direct connection as the TLS socket's error
    // (see `tls::handshake_error`); over a proxy the tunnel is upgraded, so always ETLS.
    let tls_config = &tls_config;
    let wrap = |base: Stream, direct: bool| async move {
        match tls_config {
            None => Ok(base),
            Some(cfg) => {
                let name = tls::server_name(&opts.tls, &opts.host, "CONN")?;
                let stream = tls::connect(cfg.clone(), name.clone(), base)
                    .await
                    .map_err(|e| {
                        if direct {
                            tls::handshake_error(e, "CONN")
                        } else {
                            tls::tls_error(e, "CONN")
                        }
                    })?;
                tls::check_identity(&opts.tls, &name, &stream).await?;
                Ok(stream)
            }
        }
    };

    let mut last_err = None;
    let mut connected = None;
    if let Some(p) = &opts.proxy {
        let attempt = async {
            let (base, proxy_addr) = tunnel::open(p, opts).await?;
            Ok::<_, SmtpError>((wrap(base, false).await?, proxy_addr))
        };
        match timeout(opts.connection_timeout, attempt).await {
            Ok(r) => connected = Some(r?),
            Err(_) => last_err = Some(connection_timeout_error()),
        }
    }
    for ip in addrs {
        let addr = SocketAddr::new(ip, opts.port);
        let attempt = async {
            let tcp = tcp::connect(addr, opts.local_address).await?;
            wrap(Stream::Tcp(tcp), true).await
        };
        match timeout(opts.connection_timeout, attempt).await {
            Ok(Ok(s)) => {
                connected = Some((s, addr));
                break;
            }
            // a certificate problem is the same on every address: stop here
            Ok(Err(e)) if e.code == ErrorCode::ETls => return Err(e),
            Ok(Err(e)) => last_err = Some(e),
            Err(_) => last_err = Some(connection_timeout_error()),
        }
    }
    let (stream, remote) = match connected {
        Some(x) => x,
        None => {
            return Err(
                last_err.unwrap_or_else(|| dns::dns_error(&opts.host, "ENOTFOUND", "getaddrinfo"))
            );
        }
    };
    let kind = if opts.secure {
        "Secure connection"
    } else {
        "Connection"
    };
    // nodemailer's fields are the socket's own ends (the proxy's, through a proxy)
    let socket_fields = |d: Details| {
        let local = stream.local_addr();
        d.field(Field::Str(
            "localAddress",
            local.map(|a| a.ip().to_string()).unwrap_or_default(),
        ))
        .field(Field::Num(
            "localPort",
            local.map_or(0, |a| a.port().into()),
        ))
        .field(Field::Str("remoteAddress", remote.ip().to_string()))
        .field(Field::Num("remotePort", remote.port().into()))
    };
    match &opts.proxy {
        None => logger.log(Level::Info, "network", "%s established to %s:%s", || {
            socket_fields(Details::args([
                kind.to_string(),
                remote.ip().to_string(),
                remote.port().to_string(),
            ]))
        }),
        Some(_) => logger.log(
            Level::Info,
            "network",
            "%s established to %s:%s through proxy %s:%s",
            || {
                socket_fields(Details::args([
                    kind.to_string(),
                    opts.host.clone(),
                    opts.port.to_string(),
                    remote.ip().to_string(),
                    remote.port().to_string(),
                ]))
            },
        ),
    }
    Ok(Established {
        stream,
        remote,
        opts: opts.clone(),
        logger,
    })
}

/// A stream made outside the engine: implicit TLS on top when `secure` and the stream is not
/// already `secured`, all within what is left of `connection_timeout`.
async fn connect_external(
    opts: &ConnectOptions,
    ext: ExternalSocket,
    remaining: Duration,
) -> Result<Established, SmtpError> {
    let mut opts = opts.clone();
    if let Some(secure) = ext.secure {
        opts.secure = secure;
    }
    if let Some(host) = ext.host.filter(|h| !h.is_empty()) {
        opts.host = host;
    }
    let logger = Logger::connection(opts.logger.clone(), opts.debug);
    let base = Stream::External(ext.stream, ext.local);
    let stream = if opts.secure && !ext.secured {
        let cfg = tls::client_config(&opts.tls, "CONN")?;
        let name = tls::server_name(&opts.tls, &opts.host, "CONN")?;
        let s = match timeout(remaining, tls::connect(cfg, name.clone(), base)).await {
            Err(_) => return Err(connection_timeout_error()),
            // as nodemailer's upgrade of a given socket (lib/smtp-connection
            // `_upgradeConnection`): the TLS socket's own error is ESOCKET, the plain socket
            // closing during the upgrade ETLS
            Ok(Err(e)) => return Err(tls::handshake_error(e, "CONN")),
            Ok(Ok(s)) => s,
        };
        // as on a direct connection: Node's tls.connect on the given socket calls it too
        tls::check_identity(&opts.tls, &name, &s).await?;
        s
    } else {
        base
    };
    // nodemailer logs the socket's own ends, `undefined` where a stream has none
    let shown = |a: Option<SocketAddr>| match a {
        Some(a) => (a.ip().to_string(), a.port().to_string()),
        None => ("undefined".to_string(), "undefined".to_string()),
    };
    let (remote_ip, remote_port) = shown(ext.remote);
    let remote = ext
        .remote
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let kind = if opts.secure {
        "Secure connection"
    } else {
        "Connection"
    };
    logger.log(Level::Info, "network", "%s established to %s:%s", || {
        let local = stream.local_addr();
        let (local_ip, _) = shown(local);
        Details::args([kind.to_string(), remote_ip.clone(), remote_port.clone()])
            .field(Field::Str("localAddress", local_ip))
            .field(Field::Num(
                "localPort",
                local.map_or(0, |a| a.port().into()),
            ))
            .field(Field::Str("remoteAddress", remote_ip.clone()))
            .field(Field::Num("remotePort", remote.port().into()))
    });
    Ok(Established {
        stream,
        remote,
        opts,
        logger,
    })
}
