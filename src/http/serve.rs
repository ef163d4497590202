//! The accept loop: HTTP/1.1 connections with a header-read timeout, and a
//! graceful stop bounded by a grace period.
//!
//! `axum::serve` sets no timer on its connections, so hyper's header-read
//! timeout never fires there and a client that trickles its headers a byte
//! at a time holds a connection (and a task) forever. This loop is the same
//! few steps with that timeout set: accept, serve each connection on its
//! own task under hyper's HTTP/1 builder, and on shutdown stop accepting,
//! let every connection finish its request in flight (idle keep-alive
//! connections close at once), and give up after the grace period.

use std::future::Future;
use std::time::Duration;

use std::convert::Infallible;

use axum::http::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::Service;

/// Timeouts of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct ServeTimeouts {
    /// Longest a client may take to send its request line and headers.
    pub header_read: Duration,
    /// Longest in-flight requests get to finish after the stop signal.
    pub grace: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes, then drains.
///
/// # Errors
/// None today: accept errors are logged and retried, as `axum::serve` does;
/// the `Result` leaves room for start-up failures.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    timeouts: ServeTimeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
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
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(
        connections = graceful.count(),
        "stopped accepting; finishing in-flight requests"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("every in-flight request finished"),
        () = tokio::time::sleep(timeouts.grace) => {
            tracing::warn!(grace_ms = timeouts.grace.as_millis() as u64, "grace period over; closing the connections still open");
        }
    }
    Ok(())
}

fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
