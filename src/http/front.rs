//! The front door: what every request goes through before routing, in one
//! middleware wrapped around the whole router.
//!
//! In order: the request id (an incoming `x-request-id` is kept, else one
//! is made; either way it is returned), the latency histogram (labelled by
//! the route template the path matches), load shedding and the in-flight
//! gauge, the bearer-token check, the request deadline, and a problem body
//! for any bare error status the router or a layer produced. A request
//! span carrying the id is opened at `debug` level.
//!
//! One middleware around the router instead of one layer per concern on
//! every route: a layer added with `Router::layer` is cloned and boxed
//! again for each request, and the four of them cost more than the
//! decision itself.
//!
//! The deadline (`limits.request_timeout_ms`): `tokio::time::timeout` polls
//! the request first and arms its timer only when the request has to wait.
//! A decision whose body has already arrived is answered in that first
//! poll, so it never touches the runtime's timer wheel (tower-http's
//! `TimeoutLayer` arms the timer before every request; on a busy
//! multi-threaded runtime that wakes the thread parked on the timer, two
//! system calls per request).

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::AppState;
use super::error::problem_for_bare_errors;
use super::guard;

/// The header that carries a request's id in and out.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware around the whole router; see the module docs.
pub async fn front_door(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id = match request.headers().get(&REQUEST_ID) {
        Some(id) => id.clone(),
        None => {
            let made = state.next_request_id();
            request
                .headers_mut()
                .insert(REQUEST_ID.clone(), made.clone());
            made
        }
    };
    let span = tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = request_id.to_str().unwrap_or(""),
    );
    let started = Instant::now();
    let method = request.method().clone();
    let route = state.route_of(request.uri().path());
    let mut response = admit_and_run(&state, request, next).instrument(span).await;
    state
        .metrics()
        .request_done(route, &method, response.status(), started);
    response
        .headers_mut()
        .insert(REQUEST_ID.clone(), request_id);
    response
}

async fn admit_and_run(state: &AppState, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let Some(admission) = guard::admit(state, path) else {
        return guard::overloaded(state);
    };
    if let Some(refused) = guard::token_refusal(state, path, request.headers()) {
        return refused;
    }
    let limit = Duration::from_millis(state.settings().limits.request_timeout_ms);
    let response = match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => StatusCode::REQUEST_TIMEOUT.into_response(),
    };
    drop(admission);
    problem_for_bare_errors(response)
}
