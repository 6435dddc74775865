//! Line endings of a whole composed message, as nodemailer's transports rewrite them while it
//! streams: lib/mime-node/le-unix.js drops every CR, lib/mime-node/le-windows.js turns a LF that
//! no CR precedes into CRLF (the sendmail transport's `newline` option; SES always uses the
//! second). Chunk by chunk, so a message of any size goes through in constant memory.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

/// Which rewrite applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Newline {
    /// the composer's own CRLF, untouched
    #[default]
    Keep,
    /// every CR removed
    Unix,
    /// every bare LF made CRLF
    Windows,
}

impl Newline {
    /// The sendmail transport's reading of its `newline` option (lib/sendmail-transport/index.js):
    /// unset or empty keeps the message as composed; `win`, `windows`, `dos` or `"\r\n"` (any
    /// case) is Windows; any other value is Unix.
    pub fn from_sendmail_option(value: Option<&str>) -> Newline {
        match value {
            None | Some("") => Newline::Keep,
            Some(v) if ["win", "windows", "dos", "\r\n"].contains(&v.to_lowercase().as_str()) => {
                Newline::Windows
            }
            Some(_) => Newline::Unix,
        }
    }
}

/// Applies a [`Newline`] rewrite to a stream of message chunks.
pub struct LineEndings<S> {
    inner: S,
    mode: Newline,
    /// last byte of the previous non-empty input chunk (a CRLF may be split between chunks)
    last: Option<u8>,
}

impl<S> LineEndings<S> {
    pub fn new(inner: S, mode: Newline) -> Self {
        LineEndings {
            inner,
            mode,
            last: None,
        }
    }

    fn rewrite(&mut self, chunk: Bytes) -> Bytes {
        if chunk.is_empty() {
            return chunk;
        }
        let out = match self.mode {
            Newline::Keep => chunk.clone(),
            Newline::Unix => to_unix(&chunk),
            Newline::Windows => to_windows(&chunk, self.last),
        };
        self.last = chunk.last().copied();
        out
    }
}

fn to_unix(chunk: &Bytes) -> Bytes {
    if !chunk.contains(&b'\r') {
        return chunk.clone();
    }
    Bytes::from(
        chunk
            .iter()
            .copied()
            .filter(|&b| b != b'\r')
            .collect::<Vec<u8>>(),
    )
}

fn to_windows(chunk: &Bytes, last: Option<u8>) -> Bytes {
    let bare = |i: usize| {
        chunk[i] == b'\n'
            && if i == 0 {
                last != Some(b'\r')
            } else {
                chunk[i - 1] != b'\r'
            }
    };
    if !(0..chunk.len()).any(bare) {
        return chunk.clone();
    }
    let mut out = Vec::with_capacity(chunk.len() + chunk.len() / 16 + 1);
    for i in 0..chunk.len() {
        if bare(i) {
            out.push(b'\r');
        }
        out.push(chunk[i]);
    }
    Bytes::from(out)
}

impl<S> Stream for LineEndings<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(this.rewrite(chunk)))),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    async fn run(chunks: &[&[u8]], mode: Newline) -> Vec<u8> {
        let items: Vec<io::Result<Bytes>> = chunks
            .iter()
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let mut s = LineEndings::new(futures_util::stream::iter(items), mode);
        let mut out = Vec::new();
        while let Some(c) = s.next().await {
            out.extend_from_slice(&c.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn unix_drops_every_cr() {
        assert_eq!(
            run(&[b"a\r\nb\r", b"\nc\rd"], Newline::Unix).await,
            b"a\nb\ncd"
        );
    }

    #[tokio::test]
    async fn windows_adds_cr_to_bare_lf_across_chunks() {
        assert_eq!(
            run(&[b"a\nb\r", b"\nc", b"", b"\n\n"], Newline::Windows).await,
            b"a\r\nb\r\nc\r\n\r\n"
        );
        // a lone CR stays as it is, as in le-windows.js
        assert_eq!(run(&[b"a\rb"], Newline::Windows).await, b"a\rb");
    }

    #[tokio::test]
    async fn keep_is_untouched() {
        assert_eq!(run(&[b"a\nb\r\n"], Newline::Keep).await, b"a\nb\r\n");
    }

    #[test]
    fn sendmail_option() {
        assert_eq!(Newline::from_sendmail_option(None), Newline::Keep);
        assert_eq!(Newline::from_sendmail_option(Some("")), Newline::Keep);
        assert_eq!(Newline::from_sendmail_option(Some("DOS")), Newline::Windows);
        assert_eq!(
            Newline::from_sendmail_option(Some("\r\n")),
            Newline::Windows
        );
        assert_eq!(Newline::from_sendmail_option(Some("unix")), Newline::Unix);
        assert_eq!(Newline::from_sendmail_option(Some("mac")), Newline::Unix);
    }
}
