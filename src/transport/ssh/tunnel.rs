//! A host's connection tunnelled through a bastion's, with replies that do not wait out
//! delayed acknowledgements.
//!
//! An SSH server leaves Nagle's algorithm on for a connection without a terminal, so a bastion
//! holds a small packet for the controller as long as its previous one is not acknowledged, and
//! the controller's end (or a proxy on the way) delays an acknowledgement up to 40 ms when it has
//! nothing to send back. Every host behind the bastion rides on its one connection, and in a
//! lockstep task they all answer at once: the second answer would wait for the first's delayed
//! acknowledgement, in every task. So whatever arrives through a tunnel is answered at once with
//! a keepalive on the bastion's connection, which carries the acknowledgement.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use russh::ChannelStream;
use russh::client::Msg;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::session::Session;

/// The stream of a direct-tcpip channel on a bastion's connection.
pub(crate) struct Tunnel {
    stream: ChannelStream<Msg>,
    bastion: Arc<Session>,
}

impl Tunnel {
    /// The tunnel `stream` through `bastion`.
    pub(crate) fn new(stream: ChannelStream<Msg>, bastion: Arc<Session>) -> Tunnel {
        Tunnel { stream, bastion }
    }
}

impl AsyncRead for Tunnel {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.bastion.acknowledge();
        }
        polled
    }
}

impl AsyncWrite for Tunnel {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Whether a keepalive is on its way to a bastion: one at a time is enough to carry the
/// acknowledgement of everything read before it is sent.
#[derive(Default)]
pub(crate) struct Acknowledging(AtomicBool);

impl Session {
    /// Sends the bastion a keepalive that asks for no reply, unless one is on its way already.
    pub(crate) fn acknowledge(self: &Arc<Self>) {
        if self.acknowledging.0.swap(true, Ordering::AcqRel) {
            return;
        }
        let session = Arc::clone(self);
        tokio::spawn(async move {
            let _ = session.handle().send_keepalive(false).await;
            session.acknowledging.0.store(false, Ordering::Release);
        });
    }
}
