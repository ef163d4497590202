//! Answers written together at the end of the event loop's turn.
//!
//! On one core (tokio's current-thread runtime) the loop takes every
//! connection that has a request waiting, answers each, and then waits
//! for more. Written as each is ready, every answer is its own wake-up for
//! the client: on loopback the kernel delivers the bytes and wakes the
//! reader from inside the writer's `writev`, and waking a client that
//! went idle while the next answer was being decided costs the server
//! several microseconds of kernel time, as much as a decision itself.
//! Held until the loop has run out of work and written then, one after
//! the other, the answers of a turn wake their readers once, as Redis
//! writes its replies just before it sleeps.
//!
//! The turn's end is the runtime's `on_thread_park` hook, which calls
//! [`release_writes`]: it wakes every held connection, and the runtime
//! runs them before it parks. Holding only ever happens on a thread where
//! that hook has run, so a runtime built without it (a test's, or the
//! multi-thread one, whose workers may park with a woken task still
//! queued) writes every answer at once. A turn holds at most
//! [`MOST_HELD`] answers: the next one releases them all, so a loop that
//! never runs out of work still writes within a bounded delay.
//!
//! Only the first write of an answer waits; the rest of it follows at
//! once, and the connection holds again when the next request's bytes
//! arrive. Nothing is buffered here: a held write returns `Pending`, and
//! hyper keeps the bytes.

use std::cell::{Cell, RefCell};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most answers held in one turn; the next releases them all.
pub const MOST_HELD: usize = 32;

/// This thread's turn: whether its runtime releases held writes, which
/// turn it is in, and the connections waiting for its end.
struct Turn {
    releases: Cell<bool>,
    number: Cell<u64>,
    held: RefCell<Vec<Waker>>,
}

thread_local! {
    static TURN: Turn = const {
        Turn {
            releases: Cell::new(false),
            number: Cell::new(0),
            held: RefCell::new(Vec::new()),
        }
    };
}

/// Ends this thread's turn: every held answer may be written. The
/// current-thread runtime's `on_thread_park` hook; from then on, this
/// thread's connections hold their answers until the next call.
pub fn release_writes() {
    TURN.with(|turn| {
        turn.releases.set(true);
        let mut held = turn.held.borrow_mut();
        if held.is_empty() {
            return;
        }
        turn.number.set(turn.number.get().wrapping_add(1));
        for waker in held.drain(..) {
            waker.wake();
        }
    });
}

/// Where a connection's next answer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// The next write waits for the turn's end.
    Armed,
    /// Waiting for the end of this turn.
    Held(u64),
    /// Written through until the next request arrives.
    Released,
}

/// A connection's socket whose answers wait for the end of the turn.
#[derive(Debug)]
pub struct BatchedWrites<T> {
    inner: T,
    hold: Hold,
}

impl<T> BatchedWrites<T> {
    pub fn new(inner: T) -> Self {
        BatchedWrites {
            inner,
            hold: Hold::Armed,
        }
    }

    /// Ready when this write may go out; otherwise held until the turn
    /// ends, with the task woken then.
    fn poll_turn(&mut self, cx: &Context<'_>) -> Poll<()> {
        TURN.with(|turn| {
            if !turn.releases.get() {
                return Poll::Ready(());
            }
            match self.hold {
                Hold::Released => Poll::Ready(()),
                Hold::Held(number) if number != turn.number.get() => {
                    self.hold = Hold::Released;
                    Poll::Ready(())
                }
                // Polled again in the same turn: its waker is queued.
                Hold::Held(_) => Poll::Pending,
                Hold::Armed => {
                    let mut held = turn.held.borrow_mut();
                    if held.len() < MOST_HELD {
                        held.push(cx.waker().clone());
                        self.hold = Hold::Held(turn.number.get());
                        return Poll::Pending;
                    }
                    drop(held);
                    release_writes();
                    self.hold = Hold::Released;
                    Poll::Ready(())
                }
            }
        })
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
        // A request's bytes: its answer is the next to hold.
        if buf.filled().len() > before && self.hold == Hold::Released {
            self.hold = Hold::Armed;
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

    use super::*;

    /// Counts its wake-ups.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    fn write(socket: &mut BatchedWrites<DuplexStream>, waker: &Waker) -> Poll<io::Result<usize>> {
        Pin::new(socket).poll_write(&mut Context::from_waker(waker), b"answer")
    }

    /// Each test runs on a thread of its own, so its turn starts fresh.
    fn on_own_thread(test: impl FnOnce() + Send + 'static) {
        std::thread::spawn(test)
            .join()
            .expect("the test thread panicked");
    }

    #[test]
    fn writes_at_once_where_no_runtime_releases_them() {
        on_own_thread(|| {
            let (near, _far) = duplex(64);
            let mut socket = BatchedWrites::new(near);
            let (count, waker) = waker();
            assert!(matches!(write(&mut socket, &waker), Poll::Ready(Ok(6))));
            assert_eq!(count.0.load(Ordering::SeqCst), 0);
        });
    }

    #[test]
    fn holds_an_answer_until_the_turn_ends() {
        on_own_thread(|| {
            release_writes();
            let (near, _far) = duplex(64);
            let mut socket = BatchedWrites::new(near);
            let (count, waker) = waker();
            assert!(write(&mut socket, &waker).is_pending());
            // Polled again in the same turn: still held, not queued twice.
            assert!(write(&mut socket, &waker).is_pending());
            release_writes();
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
            assert!(matches!(write(&mut socket, &waker), Poll::Ready(Ok(6))));
            // The rest of the answer follows at once.
            assert!(matches!(write(&mut socket, &waker), Poll::Ready(Ok(6))));
        });
    }

    #[test]
    fn the_next_request_arms_the_hold_again() {
        on_own_thread(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            release_writes();
            let (near, mut far) = duplex(64);
            let mut socket = BatchedWrites::new(near);
            let (_, waker) = waker();
            assert!(write(&mut socket, &waker).is_pending());
            release_writes();
            assert!(write(&mut socket, &waker).is_ready());
            runtime.block_on(async {
                far.write_all(b"next request").await.expect("written");
                let mut buf = [0; 12];
                socket.read_exact(&mut buf).await.expect("read");
            });
            assert!(write(&mut socket, &waker).is_pending());
        });
    }

    #[test]
    fn a_full_turn_releases_every_held_answer() {
        on_own_thread(|| {
            release_writes();
            let (count, waker) = waker();
            let (mut sockets, _far): (Vec<_>, Vec<_>) = (0..=MOST_HELD)
                .map(|_| {
                    let (near, far) = duplex(64);
                    (BatchedWrites::new(near), far)
                })
                .unzip();
            for socket in &mut sockets[..MOST_HELD] {
                assert!(write(socket, &waker).is_pending());
            }
            // One more than a turn holds: written at once, and the others
            // woken to write theirs.
            assert!(write(&mut sockets[MOST_HELD], &waker).is_ready());
            assert_eq!(count.0.load(Ordering::SeqCst), MOST_HELD);
            for socket in &mut sockets[..MOST_HELD] {
                assert!(matches!(write(socket, &waker), Poll::Ready(Ok(6))));
            }
        });
    }
}
