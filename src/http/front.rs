//! The front door: what every request goes through before routing, in one
//! middleware wrapped around the whole router.
//!
//! In order: the request id (an incoming `x-request-id` of 1 to 128
//! visible ASCII characters is kept, else one is made; either way it is
//! returned), the latency histogram (labelled by
//! the route template the path matches), load shedding and the in-flight
//! count, the bearer-token check, the request deadline, the answer, and a
//! problem body for any bare error status the router produced. A request
//! span carrying the id is opened at `debug` level. The answer comes from
//! the endpoint itself for the hot endpoints of [`super::dispatch`], which
//! are handed the request's [`RequestContext`] (its id and arrival time),
//! and from the router for every other request, whose handlers find the
//! context in the task's [`RequestContext`], not in the request's headers.
//!
//! One middleware around the router instead of one layer per concern on
//! every route: a layer added with `Router::layer` is cloned and boxed
//! again for each request, and the four of them cost more than the
//! decision itself.
//!
//! The deadline (`limits.request_timeout_ms`): `tokio::time::timeout` polls
//! the request first and arms its timer only when the request has to wait.
//! A request without a body (probes, the authoriser) is answered in that
//! first poll; one with a body usually waits once, because hyper hands the
//! body over through a channel, and then registers the timer without a
//! system call (tower-http's `TimeoutLayer` armed its timer before every
//! request and woke the thread parked on the timer: two system calls per
//! request).

use std::time::{Duration, Instant};

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use tower::Layer;
use tower::Service;
use tracing::Instrument;

use super::AppState;
use super::dispatch::Hot;
use super::error::problem_for_bare_errors;
use super::guard;

/// The header that carries a request's id in and out.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The front door as a tower layer around the router.
///
/// A service of its own rather than axum's `from_fn`: that boxes the inner
/// service and its future again for every request.
#[derive(Clone)]
pub struct FrontDoorLayer(pub AppState);

impl<S> Layer<S> for FrontDoorLayer {
    type Service = FrontDoor<S>;

    fn layer(&self, inner: S) -> FrontDoor<S> {
        FrontDoor {
            state: self.0.clone(),
            inner,
        }
    }
}

/// The service [`FrontDoorLayer`] makes.
#[derive(Clone)]
pub struct FrontDoor<S> {
    state: AppState,
    inner: S,
}

impl<S> Service<Request> for FrontDoor<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    // Boxed: an async function's future has no type to name.
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        Box::pin(front_door(self.state.clone(), request, self.inner.clone()))
    }
}

/// What the front door learnt about the request being handled, for the
/// handlers on its task (see [`RequestContext::current`]).
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The request's id: the client's `x-request-id`, or one made for it.
    pub request_id: HeaderValue,
    /// When the request reached the front door.
    pub started: Instant,
}

tokio::task_local! {
    static CURRENT: RequestContext;
}

impl RequestContext {
    /// Microseconds since the request reached the front door.
    pub fn latency_us(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The context of the request this task is handling, when the front
    /// door is handling one.
    pub fn current() -> Option<RequestContext> {
        CURRENT.try_with(Clone::clone).ok()
    }
}

async fn front_door<S>(state: AppState, request: Request, next: S) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    let started = Instant::now();
    let request_id = match request.headers().get(&REQUEST_ID) {
        Some(id) if usable_request_id(id) => id.clone(),
        _ => state.next_request_id(),
    };
    // What this future holds across the answer is kept small (`started`
    // is read back from the context): it is boxed for every request, and
    // past 1 KiB the allocator takes a slower path.
    let context = RequestContext {
        request_id,
        started,
    };
    let span = tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = context.request_id.to_str().unwrap_or(""),
    );
    let method = request.method().clone();
    let path = request.uri().path();
    let route = state.route_of(path);
    let hot = Hot::of(&method, route);
    let mut response = if let Some(admission) = guard::admit(&state, path) {
        if let Some(refused) = guard::token_refusal(&state, path, request.headers()) {
            refused
        } else {
            let limit = Duration::from_millis(state.settings().limits.request_timeout_ms);
            // A hot endpoint's answer is started here, so that the
            // deadline's future holds it rather than the request; any other
            // request goes to the router, boxed: that future is large and
            // only other endpoints' requests need it.
            let answering = match hot {
                Some(hot) => Either::Left(hot.answer(&state, &context, request)),
                None => Either::Right(Box::pin(routed(next, context.clone(), request))),
            };
            // The deadline counts from the request's arrival.
            let deadline = tokio::time::Instant::from_std(context.started) + limit;
            let answered = tokio::time::timeout_at(deadline, answering)
                .instrument(span)
                .await;
            let response =
                answered.unwrap_or_else(|_elapsed| StatusCode::REQUEST_TIMEOUT.into_response());
            drop(admission);
            problem_for_bare_errors(response)
        }
    } else {
        let mut shed = guard::overloaded(&state);
        if declares_body(request.headers()) {
            close_after(&mut shed);
        }
        shed
    };
    // A body over the limit, or a request cut off by its deadline, was
    // not read to its end: the connection cannot carry another request.
    if matches!(
        response.status(),
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT
    ) {
        close_after(&mut response);
    }
    state
        .metrics()
        .request_done(route, &method, response.status(), context.started);
    tracing::debug!(
        request_id = context.request_id.to_str().unwrap_or(""),
        method = %method,
        route,
        status = response.status().as_u16(),
        latency_us = context.latency_us(),
        "answered"
    );
    response
        .headers_mut()
        .insert(REQUEST_ID.clone(), context.request_id);
    Ok(response)
}

/// Whether a request says a body follows (which a refusal leaves unread).
fn declares_body(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(axum::http::header::TRANSFER_ENCODING)
        || headers
            .get(axum::http::header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// Marks an answer as the last on its connection: hyper closes the
/// connection after it, and the client knows not to send another request
/// on it.
fn close_after(response: &mut Response) {
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        HeaderValue::from_static("close"),
    );
}

/// Longest client request id kept, in bytes; a longer one is replaced.
pub const MAX_REQUEST_ID_BYTES: usize = 128;

/// Whether a client's `x-request-id` is kept: 1 to
/// [`MAX_REQUEST_ID_BYTES`] visible ASCII characters. Any other (empty,
/// huge, or bytes the log could not show, so the answer and the log line
/// would not match) is replaced by one made here.
fn usable_request_id(id: &HeaderValue) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_BYTES
        && bytes.iter().all(|b| b.is_ascii_graphic())
}

/// A request's answer from the router, with its context in the task for
/// the handlers.
async fn routed<S>(mut router: S, context: RequestContext, request: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    // No `poll_ready` first: axum's router is always ready, which is also
    // why the front door's own is.
    match CURRENT.scope(context, router.call(request)).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Declares the `x-request-id` header on every response of the OpenAPI
/// document, shared refusals included: the front door sets it on all of
/// them.
pub fn declare_request_id(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::header::HeaderBuilder;
    let header = HeaderBuilder::new()
        .description(Some(
            "The request's id: the caller's `x-request-id` when it is 1 to 128 visible ASCII \
             characters, else one made here; written in the decision log",
        ))
        .build();
    let shared = openapi
        .components
        .iter_mut()
        .flat_map(|c| c.responses.values_mut());
    let inline = openapi.paths.paths.values_mut().flat_map(|item| {
        super::operations_mut(item)
            .into_iter()
            .filter_map(|(_, operation)| operation.as_mut())
            .flat_map(|operation| operation.responses.responses.values_mut())
    });
    for response in shared.chain(inline) {
        if let RefOr::T(response) = response {
            response
                .headers
                .insert(REQUEST_ID.as_str().to_owned(), header.clone());
        }
    }
}
