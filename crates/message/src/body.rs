//! The streamed message body: in-memory parts are pre-encoded, file parts are read and encoded
//! in 64 KiB chunks while the stream is polled (a 500 MB attachment never sits in memory).

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use tokio::io::{AsyncRead, ReadBuf};

use crate::encoding::{Base64Encoder, QpEncoder};

/// Transfer encoding applied to a part's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enc {
    Raw,
    Base64,
    Qp { binary: bool },
}

#[derive(Debug)]
pub(crate) enum Segment {
    Bytes(Bytes),
    File { path: PathBuf, enc: Enc },
}

/// node's fs.createReadStream chunk size; QP output depends on slice boundaries.
const CHUNK: usize = 64 * 1024;

type OpenFuture = Pin<Box<dyn Future<Output = io::Result<tokio::fs::File>> + Send>>;

struct FileState {
    path: PathBuf,
    opening: Option<OpenFuture>,
    file: Option<tokio::fs::File>,
    enc: Enc,
    b64: Base64Encoder,
    qp: QpEncoder,
    buf: Vec<u8>,
}

/// The composed message as a stream of byte chunks (CRLF line endings for everything the
/// composer writes; ends with a line break like nodemailer's `LastNewline`).
pub struct MessageBody {
    segments: VecDeque<Segment>,
    current: Option<FileState>,
    last_byte: Option<u8>,
    finished: bool,
    size: Option<u64>,
}

impl std::fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageBody")
            .field("segments", &self.segments.len())
            .field("size", &self.size)
            .finish()
    }
}

/// The error node's fs.createReadStream gives for a failed open, e.g.
/// `ENOENT: no such file or directory, open '/x'` (the binding can read the code off the prefix).
fn node_open_error(e: io::Error, path: &std::path::Path) -> io::Error {
    let (code, text) = match e.kind() {
        io::ErrorKind::NotFound => ("ENOENT", "no such file or directory"),
        io::ErrorKind::PermissionDenied => ("EACCES", "permission denied"),
        io::ErrorKind::IsADirectory => ("EISDIR", "illegal operation on a directory"),
        _ => return e,
    };
    io::Error::new(
        e.kind(),
        format!("{code}: {text}, open '{}'", path.display()),
    )
}

fn newline_suffix(last: Option<u8>) -> &'static [u8] {
    match last {
        Some(b'\n') => b"",
        Some(b'\r') => b"\n",
        _ => b"\r\n",
    }
}

impl MessageBody {
    pub(crate) fn new(segments: Vec<Segment>) -> Self {
        let mut size = Some(0u64);
        let mut last = None;
        for s in &segments {
            match s {
                Segment::Bytes(b) => {
                    size = size.map(|n| n + b.len() as u64);
                    if let Some(&l) = b.last() {
                        last = Some(l);
                    }
                }
                Segment::File { .. } => size = None,
            }
        }
        let size = size.map(|n| n + newline_suffix(last).len() as u64);
        MessageBody {
            segments: segments.into(),
            current: None,
            last_byte: None,
            finished: false,
            size,
        }
    }

    /// Exact byte length when the whole message is in memory (no file parts).
    pub fn size_hint(&self) -> Option<u64> {
        self.size
    }

    /// Reads the whole message.
    pub async fn to_vec(mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut self).poll_next(cx)).await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    fn emit(&mut self, b: Vec<u8>) -> Option<Poll<Option<io::Result<Bytes>>>> {
        if b.is_empty() {
            return None;
        }
        self.last_byte = b.last().copied();
        Some(Poll::Ready(Some(Ok(Bytes::from(b)))))
    }
}

impl Stream for MessageBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(st) = this.current.as_mut() {
                if let Some(fut) = st.opening.as_mut() {
                    match fut.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => {
                            let e = node_open_error(e, &st.path);
                            this.current = None;
                            this.finished = true;
                            this.segments.clear();
                            return Poll::Ready(Some(Err(e)));
                        }
                        Poll::Ready(Ok(f)) => {
                            st.opening = None;
                            st.file = Some(f);
                        }
                    }
                }
                let Some(file) = st.file.as_mut() else {
                    this.current = None;
                    continue;
                };
                let mut rb = ReadBuf::new(&mut st.buf);
                match Pin::new(file).poll_read(cx, &mut rb) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        this.current = None;
                        this.finished = true;
                        this.segments.clear();
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(Ok(())) => {
                        let n = rb.filled().len();
                        let out = if n == 0 {
                            let out = match st.enc {
                                Enc::Raw => Vec::new(),
                                Enc::Base64 => st.b64.flush(),
                                Enc::Qp { .. } => st.qp.flush().into_bytes(),
                            };
                            this.current = None;
                            out
                        } else {
                            let data = &st.buf[..n];
                            match st.enc {
                                Enc::Raw => data.to_vec(),
                                Enc::Base64 => st.b64.transform(data),
                                Enc::Qp { .. } => st.qp.transform(data).into_bytes(),
                            }
                        };
                        if let Some(r) = this.emit(out) {
                            return r;
                        }
                        continue;
                    }
                }
            }
            match this.segments.pop_front() {
                Some(Segment::Bytes(b)) => {
                    if b.is_empty() {
                        continue;
                    }
                    this.last_byte = b.last().copied();
                    return Poll::Ready(Some(Ok(b)));
                }
                Some(Segment::File { path, enc }) => {
                    let binary = matches!(enc, Enc::Qp { binary: true });
                    this.current = Some(FileState {
                        opening: Some(Box::pin(tokio::fs::File::open(path.clone()))),
                        path,
                        file: None,
                        enc,
                        b64: Base64Encoder::new(),
                        qp: QpEncoder::new(binary),
                        buf: vec![0u8; CHUNK],
                    });
                }
                None => {
                    if this.finished {
                        return Poll::Ready(None);
                    }
                    this.finished = true;
                    let suffix = newline_suffix(this.last_byte);
                    if suffix.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Bytes::from_static(suffix))));
                }
            }
        }
    }
}
