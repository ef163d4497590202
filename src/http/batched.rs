//! Answers written together at the end of the event loop's turn.
//!
//! Each turn the runtime runs the connections that have a request waiting,
//! and each answers it. Written as each is ready, every answer is its own
//! wake-up for the client: on loopback the kernel delivers the bytes and
//! wakes the reader from inside the writer's `writev`, and waking a client
//! that went idle while the next answer was being decided costs the server
//! several microseconds of kernel time, as much as a decision itself.
//! Instead, the first write of an answer yields to the runtime once
//! ([`tokio::task::yield_now`]): the answers of the other requests of the
//! turn are decided first, and the writes then go out one after the
//! other, waking a client once for several answers, much as Redis writes
//! its replies just before it sleeps.
//!
//! A yielded task runs again once the runtime has run every task already
//! woken and polled the sockets (without waiting) for more, so an answer
//! waits for the work already under way and no longer; a lone request
//! costs one extra look at the sockets. Only the first write of an answer
//! yields; the rest of it follows at once, and the connection yields again
//! once the next request's bytes arrive. Nothing is buffered here: the
//! yielding write returns `Pending`, and hyper keeps the bytes.

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Where a connection's next answer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Its first write yields.
    Armed,
    /// Yielded: the next write goes out.
    Yielded,
    /// Written through until the next request arrives.
    Released,
    /// Every write goes out at once (`batch_writes = false`).
    Unbatched,
}

/// A connection's socket whose answers wait for the end of the turn.
#[derive(Debug)]
pub struct BatchedWrites<T> {
    inner: T,
    turn: Turn,
}

impl<T> BatchedWrites<T> {
    /// `batch` false writes every answer at once.
    pub fn new(inner: T, batch: bool) -> Self {
        BatchedWrites {
            inner,
            turn: if batch { Turn::Armed } else { Turn::Unbatched },
        }
    }

    /// Ready when this write may go out; the first write of an answer
    /// yields once.
    fn poll_turn(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.turn {
            Turn::Released | Turn::Unbatched => Poll::Ready(()),
            Turn::Yielded => {
                self.turn = Turn::Released;
                Poll::Ready(())
            }
            Turn::Armed => {
                self.turn = Turn::Yielded;
                // Registers the task to run again at the end of the turn.
                let _ = pin!(tokio::task::yield_now()).poll(cx);
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for BatchedWrites<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        // A request's bytes: its answer is the next to yield.
        if buf.filled().len() > before && self.turn == Turn::Released {
            self.turn = Turn::Armed;
        }
        read
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for BatchedWrites<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_turn(cx));
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_turn(cx));
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

    use super::*;

    /// What three connections, each with a request ready in the same turn,
    /// do in order: `decide N` when one answers, `wrote N` once its answer
    /// is written.
    fn three_answers(batch: bool) -> Vec<String> {
        let steps = Arc::new(Mutex::new(Vec::new()));
        on_one_thread(async {
            let mut clients = Vec::new();
            let tasks: Vec<_> = (0..3)
                .map(|n| {
                    let (near, far) = duplex(64);
                    clients.push(far);
                    let steps = steps.clone();
                    tokio::spawn(async move {
                        let mut socket = BatchedWrites::new(near, batch);
                        steps.lock().unwrap().push(format!("decide {n}"));
                        socket.write_all(b"answer").await.expect("written");
                        steps.lock().unwrap().push(format!("wrote {n}"));
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("the task ran");
            }
            for mut client in clients {
                let mut answer = [0; 6];
                client.read_exact(&mut answer).await.expect("answered");
                assert_eq!(&answer, b"answer");
            }
        });
        Arc::try_unwrap(steps).unwrap().into_inner().unwrap()
    }

    #[test]
    fn the_answers_of_a_turn_are_written_after_every_one_is_decided() {
        let mut steps = three_answers(true);
        assert_eq!(steps[..3], ["decide 0", "decide 1", "decide 2"]);
        // In the order the runtime runs yielded tasks again.
        steps[3..].sort();
        assert_eq!(steps[3..], ["wrote 0", "wrote 1", "wrote 2"]);
    }

    #[test]
    fn unbatched_each_answer_is_written_as_it_is_decided() {
        assert_eq!(
            three_answers(false),
            [
                "decide 0", "wrote 0", "decide 1", "wrote 1", "decide 2", "wrote 2"
            ]
        );
    }

    /// Runs `test` on a current-thread runtime, as the service on one core.
    fn on_one_thread(test: impl Future<Output = ()>) {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(test);
    }

    /// The client sends its next request, and `socket` reads it.
    async fn next_request(socket: &mut BatchedWrites<DuplexStream>, client: &mut DuplexStream) {
        client.write_all(b"next request").await.expect("sent");
        let mut request = [0; 12];
        socket.read_exact(&mut request).await.expect("read");
    }

    /// One poll of a write of one byte.
    async fn write_once(socket: &mut BatchedWrites<DuplexStream>) -> Poll<io::Result<usize>> {
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *socket).poll_write(cx, b"a"))).await
    }

    #[test]
    fn unbatched_a_connection_never_yields_even_after_a_request() {
        on_one_thread(async {
            let (near, mut far) = duplex(64);
            let mut socket = BatchedWrites::new(near, false);
            assert!(matches!(write_once(&mut socket).await, Poll::Ready(Ok(1))));
            next_request(&mut socket, &mut far).await;
            assert!(matches!(write_once(&mut socket).await, Poll::Ready(Ok(1))));
        });
    }

    #[test]
    fn one_yield_per_answer_and_again_once_the_next_request_arrives() {
        on_one_thread(async {
            let (near, mut far) = duplex(64);
            let mut socket = BatchedWrites::new(near, true);
            assert!(write_once(&mut socket).await.is_pending());
            assert!(matches!(write_once(&mut socket).await, Poll::Ready(Ok(1))));
            // The rest of the answer follows at once.
            assert!(matches!(write_once(&mut socket).await, Poll::Ready(Ok(1))));
            next_request(&mut socket, &mut far).await;
            assert!(write_once(&mut socket).await.is_pending());
        });
    }
}
