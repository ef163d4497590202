//! The request deadline (`limits.request_timeout_ms`): a request that takes
//! longer, such as a body that is slow to arrive, is answered 408.
//!
//! `tokio::time::timeout` polls the request first and arms its timer only
//! when the request has to wait. A decision whose body has already arrived
//! is answered in that first poll, so it never touches the runtime's timer
//! wheel. (tower-http's `TimeoutLayer` arms the timer before every request;
//! on a busy multi-threaded runtime that wakes the thread parked on the
//! timer, two system calls per request.)

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Middleware: `next`, or a bare 408 once `limit` has passed (the problem
/// body is added by [`super::error::problem_for_bare_errors`]).
pub async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}
