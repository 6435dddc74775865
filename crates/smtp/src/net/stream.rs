//! The one stream type an SMTP session runs on, whatever carries it: a direct TCP connection,
//! a tunnel through a proxy (the same TCP stream after the proxy's handshake), a stream made
//! outside the engine, or TLS on top of any of these (implicit TLS, STARTTLS, an `https:`
//! proxy, or SMTP's TLS inside the proxy's).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::external::ExternalIo;

pub(crate) enum Stream {
    Tcp(TcpStream),
    /// A stream made outside the engine (`getSocket`, `connection`, ...), with its local end.
    External(Box<dyn ExternalIo>, Option<SocketAddr>),
    /// TLS on one of the others (boxed: the handshake state is large).
    Tls(Box<tokio_rustls::client::TlsStream<Stream>>),
    /// Transient state while upgrading, and after a failed upgrade.
    Closed,
}

impl Stream {
    /// The local end of the TCP socket underneath (to the proxy, through a proxy).
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Stream::Tcp(t) => t.local_addr().ok(),
            Stream::External(_, local) => *local,
            Stream::Tls(t) => t.get_ref().0.local_addr(),
            Stream::Closed => None,
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "socket closed")
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::External(s, _) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::External(s, _) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::External(s, _) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::External(s, _) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }
}
