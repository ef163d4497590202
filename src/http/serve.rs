//! The accept loop: HTTP/1.1 connections with a header-read timeout, and a
//! graceful stop bounded by a grace period.
//!
//! `axum::serve` sets no timer on its connections, so a client that
//! trickles its headers a byte at a time holds a connection (and a task)
//! forever. This loop is the same few steps with that bound added: accept,
//! serve each connection on its own task under hyper's HTTP/1 builder, and
//! on shutdown stop accepting, let every connection finish its request in
//! flight (idle keep-alive connections close at once), and give up after
//! the grace period.
//!
//! The bound is a watchdog per connection rather than hyper's
//! `header_read_timeout`: hyper arms (and allocates) a fresh timer for
//! every request head, which cost about 5% of a decision's instructions.
//! Here a request only marks its connection busy when it starts and idle
//! when its answer is ready, two stores to one atomic; the watchdog's
//! timer fires once per timeout period and closes the connection when no
//! request has started within the timeout of the connection opening or of
//! its last answer. A request in flight is bounded by the request deadline
//! instead.
//!
//! Each connection's answer waits for the other requests of the runtime's
//! turn, unless `batch_writes` is off ([`super::batched`]).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::{Service, ServiceExt};

use super::batched::{BatchedWrites, Waiting};

/// How the accept loop serves its connections.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Longest a client may take to send its request line and headers.
    pub header_read: Duration,
    /// Longest in-flight requests get to finish after the stop signal.
    pub grace: Duration,
    /// Hold an answer while other requests wait, so that answers go out
    /// together ([`super::batched`]).
    pub batch_writes: bool,
}

/// Serves `app` on `listener` until `shutdown` completes, then drains.
///
/// # Errors
/// None today: accept errors are logged and retried, as `axum::serve` does;
/// the `Result` leaves room for start-up failures.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let http = http1::Builder::new();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let waiting = options.batch_writes.then(Waiting::default);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Per-connection errors (reset before accept) need no
                    // pause; others, such as running out of file
                    // descriptors, would spin without one.
                    if !is_connection_error(&error) {
                        tracing::error!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let (begun, done) = (activity.clone(), activity.clone());
        let service = app
            .clone()
            .map_request(move |request| {
                begun.begin();
                request
            })
            .map_response(move |response| {
                done.end();
                response
            });
        let connection = http.serve_connection(
            TokioIo::new(BatchedWrites::new(stream, waiting.clone())),
            TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        let served = tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
        tokio::spawn(watch(served, activity, options.header_read));
    }
    drop(listener);
    tracing::info!(
        connections = graceful.count(),
        "stopped accepting; finishing in-flight requests"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("every in-flight request finished"),
        () = tokio::time::sleep(options.grace) => {
            tracing::warn!(grace_ms = options.grace.as_millis() as u64, "grace period over; closing the connections still open");
        }
    }
    Ok(())
}

/// Whether a connection is handling a request, and if not, since when it
/// has been idle.
struct Activity {
    /// When the connection was accepted; times below count from it.
    opened: Instant,
    /// Milliseconds from `opened` to the end of the last answer (0 before
    /// the first request), or [`Activity::BUSY`] while a request is in
    /// flight.
    idle_since_ms: AtomicU64,
}

impl Activity {
    const BUSY: u64 = u64::MAX;

    fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            idle_since_ms: AtomicU64::new(0),
        }
    }

    /// A request's head has been read.
    fn begin(&self) {
        self.idle_since_ms.store(Self::BUSY, Ordering::Relaxed);
    }

    /// A request's answer is ready.
    fn end(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(Self::BUSY - 1);
        self.idle_since_ms.store(ms, Ordering::Relaxed);
    }

    /// Since when the connection has been idle; `None` while it is busy.
    fn idle_since(&self) -> Option<Instant> {
        match self.idle_since_ms.load(Ordering::Relaxed) {
            Self::BUSY => None,
            ms => Some(self.opened + Duration::from_millis(ms)),
        }
    }
}

/// Ends the connection served by `served` once it has been idle for
/// `limit`; ends itself when the connection ends first.
///
/// A task of its own rather than a second branch beside the connection:
/// there, its timer would be polled again every time the connection's
/// task woke, once or more per request.
async fn watch(mut served: JoinHandle<()>, activity: Arc<Activity>, limit: Duration) {
    tokio::select! {
        _ = &mut served => {}
        () = idle(&activity, limit) => {
            served.abort();
            tracing::debug!("closed a connection that sent no request head in time");
        }
    }
}

/// Completes when the connection has been idle for `limit`: no request
/// head arrived within `limit` of its opening or of its last answer.
async fn idle(activity: &Activity, limit: Duration) {
    let mut wake = activity.opened + limit;
    loop {
        tokio::time::sleep_until(wake.into()).await;
        wake = match activity.idle_since() {
            // The request deadline bounds a request in flight; look again
            // one period on.
            None => Instant::now() + limit,
            Some(idle) if Instant::now() >= idle + limit => return,
            Some(idle) => idle + limit,
        };
    }
}

fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
