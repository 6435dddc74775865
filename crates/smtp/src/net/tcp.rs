//! One TCP connection as nodemailer's socket is set up: from `localAddress` when given,
//! keep-alive on, Nagle off; failures are Node's socket errors (ESOCKET `connect ECONNREFUSED
//! 127.0.0.1:25`).

use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpSocket, TcpStream};

use crate::error::{socket_error, SmtpError};

pub(crate) async fn connect(
    addr: SocketAddr,
    local: Option<IpAddr>,
) -> Result<TcpStream, SmtpError> {
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| socket_error(&e, "socket", Some(addr)))?;
    if let Some(local) = local {
        sock.bind(SocketAddr::new(local, 0))
            .map_err(|e| socket_error(&e, "bind", Some(SocketAddr::new(local, 0))))?;
    }
    // keep-alive as nodemailer's socket.setKeepAlive(true); not fatal if refused
    let _ = sock.set_keepalive(true);
    let stream = sock
        .connect(addr)
        .await
        .map_err(|e| socket_error(&e, "connect", Some(addr)))?;
    // SMTP is small request/response lines: never let Nagle delay them
    stream
        .set_nodelay(true)
        .map_err(|e| socket_error(&e, "setsockopt", Some(addr)))?;
    Ok(stream)
}
