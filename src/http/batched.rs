//! Answers written together at the end of the event loop's turn.
//!
//! Each turn the runtime runs the connections that have a request waiting,
//! and each answers it. Written as each is ready, every answer is its own
//! wake-up for the client: on loopback the kernel delivers the bytes and
//! wakes the reader from inside the writer's `writev`, and waking a client
//! that went idle while the next answer was being decided costs the server
//! several microseconds of kernel time, as much as a decision itself.
//! Instead, when other connections of the server have a request waiting to
//! be run, the first write of an answer steps aside: the task wakes itself
//! and returns `Pending`, which puts it behind the tasks already woken. The
//! answers of those requests are decided first, and the writes then go out
//! one after the other, waking a client once for several answers, much as
//! Redis writes its replies just before it sleeps.
//!
//! A connection counts as waiting from the moment the runtime's socket
//! driver wakes it for bytes to read until it next reads: its socket reads
//! with a waker of its own ([`Arrival`]) that counts it in the server's
//! [`Waiting`] before waking the task. An answer with no other request
//! waiting (a request at a time, or the last of a turn) goes out at once
//! and costs nothing more. Only the first write of an answer can step
//! aside; the rest of it follows at once, and the connection can step aside
//! again once the next request's bytes arrive. Nothing is buffered here:
//! the held write returns `Pending`, and hyper keeps the bytes.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The connections of one server that were woken by a request's bytes and
/// have not run since. Cloned into each connection.
#[derive(Debug, Clone, Default)]
pub struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    /// How many connections wait to be run.
    fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// The waker a connection's socket reads with: it counts the connection as
/// waiting, then wakes the connection's task.
#[derive(Debug)]
struct Arrival {
    waiting: Waiting,
    /// Whether this connection is counted in `waiting`.
    counted: AtomicBool,
    /// The connection's task, as of its last read.
    task: Mutex<Option<Waker>>,
}

impl Arrival {
    /// The connection runs and reads with `task`: it no longer waits.
    fn runs(&self, task: &Waker) {
        self.uncount();
        let mut current = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if !current.as_ref().is_some_and(|t| t.will_wake(task)) {
            *current = Some(task.clone());
        }
    }

    fn uncount(&self) {
        if self.counted.swap(false, Ordering::AcqRel) {
            self.waiting.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// A connection closed while waiting leaves the count once nothing can
/// wake it any more: its socket, and any waker of it the runtime still
/// holds, are gone.
impl Drop for Arrival {
    fn drop(&mut self) {
        if *self.counted.get_mut() {
            self.waiting.0.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Wake for Arrival {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.counted.swap(true, Ordering::AcqRel) {
            self.waiting.0.fetch_add(1, Ordering::AcqRel);
        }
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(task) = task.as_ref() {
            task.wake_by_ref();
        }
    }
}

/// Where a connection's next answer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Its first write steps aside if another request waits.
    Armed,
    /// Stepped aside: the next write goes out.
    Yielded,
    /// Written through until the next request arrives.
    Released,
}

/// What a batched connection keeps: the waker its socket reads with, and
/// where its answer stands.
#[derive(Debug)]
struct Batch {
    arrival: Arc<Arrival>,
    /// `arrival` as a waker, made once.
    waker: Waker,
    turn: Turn,
}

/// A connection's socket whose answers wait for the other requests of the
/// turn.
#[derive(Debug)]
pub struct BatchedWrites<T> {
    inner: T,
    /// `None` writes every answer at once (`batch_writes = false`).
    batch: Option<Batch>,
}

impl<T> BatchedWrites<T> {
    /// A connection of the server whose waiting connections are `waiting`;
    /// `None` writes every answer at once.
    pub fn new(inner: T, waiting: Option<Waiting>) -> Self {
        let batch = waiting.map(|waiting| {
            let arrival = Arc::new(Arrival {
                waiting,
                counted: AtomicBool::new(false),
                task: Mutex::new(None),
            });
            Batch {
                waker: Waker::from(arrival.clone()),
                arrival,
                turn: Turn::Armed,
            }
        });
        BatchedWrites { inner, batch }
    }

    /// Ready when this write may go out; the first write of an answer
    /// steps aside once while other requests wait.
    fn poll_turn(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(batch) = &mut self.batch else {
            return Poll::Ready(());
        };
        match batch.turn {
            Turn::Released => Poll::Ready(()),
            Turn::Yielded => {
                batch.turn = Turn::Released;
                Poll::Ready(())
            }
            Turn::Armed if batch.arrival.waiting.count() == 0 => {
                batch.turn = Turn::Released;
                Poll::Ready(())
            }
            Turn::Armed => {
                batch.turn = Turn::Yielded;
                // Queued again behind the tasks already woken.
                cx.waker().wake_by_ref();
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
        let this = &mut *self;
        let Some(batch) = &mut this.batch else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        batch.arrival.runs(cx.waker());
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(&mut Context::from_waker(&batch.waker), buf);
        // A request's bytes: its answer is the next that may step aside.
        if buf.filled().len() > before && batch.turn == Turn::Released {
            batch.turn = Turn::Armed;
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
    use std::future::{Future, poll_fn};

    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

    use super::*;

    /// What three connections, whose requests arrive in the same turn, do
    /// in order: `decide N` when one has read its request, `wrote N` once
    /// its answer is written.
    fn three_answers(batch: bool) -> Vec<String> {
        let steps = Arc::new(Mutex::new(Vec::new()));
        on_one_thread(async {
            let waiting = batch.then(Waiting::default);
            let mut clients = Vec::new();
            let tasks: Vec<_> = (0..3)
                .map(|n| {
                    let (near, far) = duplex(64);
                    clients.push(far);
                    let steps = steps.clone();
                    let mut socket = BatchedWrites::new(near, waiting.clone());
                    tokio::spawn(async move {
                        let mut request = [0; 7];
                        socket.read_exact(&mut request).await.expect("read");
                        steps.lock().unwrap().push(format!("decide {n}"));
                        socket.write_all(b"answer").await.expect("written");
                        steps.lock().unwrap().push(format!("wrote {n}"));
                    })
                })
                .collect();
            // Every connection waits for its request.
            tokio::task::yield_now().await;
            for client in &mut clients {
                client.write_all(b"request").await.expect("sent");
            }
            for task in tasks {
                task.await.expect("the task ran");
            }
            for mut client in clients {
                let mut answer = [0; 6];
                client.read_exact(&mut answer).await.expect("answered");
                assert_eq!(&answer, b"answer");
            }
            if let Some(waiting) = waiting {
                assert_eq!(waiting.count(), 0);
            }
        });
        Arc::try_unwrap(steps).unwrap().into_inner().unwrap()
    }

    #[test]
    fn the_answers_of_a_turn_are_written_after_every_one_is_decided() {
        let steps = three_answers(true);
        assert_eq!(
            steps,
            [
                "decide 0", "decide 1", "decide 2",
                // The last has no one to wait for; the others follow in
                // the order they stepped aside.
                "wrote 2", "wrote 0", "wrote 1"
            ]
        );
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
        poll_fn(|cx| Poll::Ready(Pin::new(&mut *socket).poll_write(cx, b"a"))).await
    }

    /// A connection whose request has arrived and not been read yet.
    async fn waiting_connection(waiting: &Waiting) -> (BatchedWrites<DuplexStream>, DuplexStream) {
        let (near, mut far) = duplex(64);
        let mut socket = BatchedWrites::new(near, Some(waiting.clone()));
        let mut byte = [0; 1];
        let read = poll_fn(|cx| {
            let mut buf = ReadBuf::new(&mut byte);
            Poll::Ready(Pin::new(&mut socket).poll_read(cx, &mut buf))
        });
        assert!(read.await.is_pending(), "nothing sent yet");
        let before = waiting.count();
        far.write_all(b"request").await.expect("sent");
        assert_eq!(waiting.count(), before + 1);
        (socket, far)
    }

    #[test]
    fn unbatched_a_connection_never_yields_even_after_a_request() {
        on_one_thread(async {
            let (near, mut far) = duplex(64);
            let mut socket = BatchedWrites::new(near, None);
            assert!(matches!(write_once(&mut socket).await, Poll::Ready(Ok(1))));
            next_request(&mut socket, &mut far).await;
            assert!(matches!(write_once(&mut socket).await, Poll::Ready(Ok(1))));
        });
    }

    #[test]
    fn an_answer_steps_aside_once_while_another_request_waits() {
        on_one_thread(async {
            let waiting = Waiting::default();
            let (near, mut far) = duplex(64);
            let mut socket = BatchedWrites::new(near, Some(waiting.clone()));
            let (mut other, _other_client) = waiting_connection(&waiting).await;
            next_request(&mut socket, &mut far).await;
            assert!(write_once(&mut socket).await.is_pending());
            assert!(matches!(write_once(&mut socket).await, Poll::Ready(Ok(1))));
            // The rest of the answer follows at once.
            assert!(matches!(write_once(&mut socket).await, Poll::Ready(Ok(1))));
            // The next answer steps aside again.
            next_request(&mut socket, &mut far).await;
            assert!(write_once(&mut socket).await.is_pending());
            assert!(matches!(write_once(&mut socket).await, Poll::Ready(Ok(1))));
            // Once the other connection has run, nothing waits: the next
            // answer goes out at once.
            let mut request = [0; 7];
            other.read_exact(&mut request).await.expect("read");
            assert_eq!(waiting.count(), 0);
            next_request(&mut socket, &mut far).await;
            assert!(matches!(write_once(&mut socket).await, Poll::Ready(Ok(1))));
        });
    }

    #[test]
    fn a_lone_answer_goes_out_at_once() {
        on_one_thread(async {
            let waiting = Waiting::default();
            let (near, mut far) = duplex(64);
            let mut socket = BatchedWrites::new(near, Some(waiting.clone()));
            next_request(&mut socket, &mut far).await;
            assert_eq!(waiting.count(), 0);
            assert!(matches!(write_once(&mut socket).await, Poll::Ready(Ok(1))));
        });
    }

    #[test]
    fn a_connection_closed_while_waiting_no_longer_counts() {
        on_one_thread(async {
            let waiting = Waiting::default();
            let (socket, _client) = waiting_connection(&waiting).await;
            let (second, _second_client) = waiting_connection(&waiting).await;
            assert_eq!(waiting.count(), 2);
            drop(socket);
            assert_eq!(waiting.count(), 1);
            drop(second);
            assert_eq!(waiting.count(), 0);
        });
    }
}
