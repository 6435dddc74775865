//! The body handed to the pool: the composed message is taken on first poll, so a message that
//! is re-queued before its body started (the pool retries only then) is sent again intact,
//! without composing it twice or holding a second copy.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use mailer_message::MessageBody;
use mailer_smtp::pool::{BodyFactory, BodyStream};

struct LazyBody {
    slot: Arc<Mutex<Option<MessageBody>>>,
    body: Option<MessageBody>,
}

impl Stream for LazyBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.body.is_none() {
            this.body = this.slot.lock().ok().and_then(|mut s| s.take());
        }
        match this.body.as_mut() {
            Some(body) => Pin::new(body).poll_next(cx),
            // Only reachable if the pool retried after the body started, which it never does.
            None => Poll::Ready(Some(Err(io::Error::other(
                "message body was already sent on another connection",
            )))),
        }
    }
}

pub fn factory(body: MessageBody) -> BodyFactory {
    let slot = Arc::new(Mutex::new(Some(body)));
    Box::new(move || -> BodyStream {
        Box::pin(LazyBody {
            slot: slot.clone(),
            body: None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn unpolled_stream_leaves_the_body_for_the_next_attempt() {
        let data = mailer_message::MailData::default();
        let compiled = mailer_message::compile(data, Vec::new(), &Default::default()).unwrap();
        let f = factory(compiled.body);
        drop(f()); // an attempt that died before DATA
        let mut second = f();
        let mut out = Vec::new();
        while let Some(chunk) = second.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        assert!(!out.is_empty());
        let mut third = f();
        assert!(third.next().await.unwrap().is_err());
    }
}
