//! Who may call, and how many at once.
//!
//! - [`token_refusal`]: bearer tokens. `/healthz`, `/readyz`, `/metrics` and
//!   `/openapi.json` are always open (probes and scrapers carry no
//!   secrets), as are the explorer's static pages under `/ui` (they ask
//!   for a token before calling the API); `/admin/...` needs an admin token and does not exist (404)
//!   when none is configured; every other path needs an API token when
//!   API tokens are configured. Anything added later is therefore guarded
//!   by default. A missing token is 401 with `WWW-Authenticate`; a token
//!   that is not accepted is 403 with the same words whichever list it
//!   missed, so a caller learns nothing about the configured tokens.
//! - [`admit`]: at most `limits.max_concurrent_requests` requests at
//!   once; the next one is refused at once with 503 and `Retry-After`
//!   rather than queued behind the others.
//! - [`cors`]: the CORS layer, off unless origins are configured, and
//!   [`CorsOutsideAuthz`], which keeps it off the authoriser's paths.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use sha2::{Digest, Sha256};
use tower_http::cors::{AllowOrigin, Any, Cors, CorsLayer};

use super::AppState;
use super::error::{PROBLEM_JSON, Problem};
use crate::config::{Settings, Tokens};

/// The configured tokens, kept only as SHA-256 digests.
#[derive(Debug)]
pub struct Guard {
    api: Vec<[u8; 32]>,
    admin: Vec<[u8; 32]>,
    max_in_flight: usize,
    retry_after: HeaderValue,
}

impl Guard {
    pub fn new(settings: &Settings) -> Guard {
        let Tokens { api, admin } = &settings.tokens;
        let digests = |tokens: &[crate::config::Secret]| {
            tokens
                .iter()
                .map(|t| digest(t.expose().as_bytes()))
                .collect()
        };
        Guard {
            api: digests(api),
            admin: digests(admin),
            max_in_flight: settings.limits.max_concurrent_requests,
            retry_after: HeaderValue::from(settings.limits.retry_after_seconds),
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Whether `presented` is one of `accepted`, in time that depends on neither
/// the token's content nor which entry (if any) it matches: digests have a
/// fixed length, every byte of every entry is compared, and nothing exits
/// early.
fn accepted(presented: &str, accepted: &[[u8; 32]]) -> bool {
    let presented = digest(presented.as_bytes());
    let mut found = 0u8;
    for candidate in accepted {
        let diff = candidate
            .iter()
            .zip(presented.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        found |= u8::from(diff == 0);
    }
    found == 1
}

/// Paths open to every caller, tokens or not.
const OPEN: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/openapi.json"];

/// Paths never shed: a busy replica must not look dead to its probes, nor
/// go dark to its scraper.
const NEVER_SHED: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

fn is_admin(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// Where a refused token is, in the problem's `errors`.
const AUTHORIZATION_POINTER: &str = "/headers/authorization";

/// Checks the bearer token `path` needs (see the module docs): the
/// refusal to answer with, or `None` to go on.
pub fn token_refusal(state: &AppState, path: &str, headers: &HeaderMap) -> Option<Response> {
    let guard = &state.inner.guard;
    // The explorer's pages are static files with no data: a browser cannot
    // send a token when it loads them, and they ask for one before calling
    // the API.
    let accepted_tokens = if OPEN.contains(&path) || super::ui::paths().contains(&path) {
        return None;
    } else if is_admin(path) {
        if guard.admin.is_empty() {
            return Some(Problem::not_found("no such resource").into_response());
        }
        &guard.admin
    } else {
        if guard.api.is_empty() {
            return None;
        }
        &guard.api
    };
    let mut authorizations = headers.get_all(header::AUTHORIZATION).iter();
    let first = authorizations.next();
    // Two credentials are refused, not one of them picked.
    let token = if authorizations.next().is_some() {
        Err("send one `Authorization` header, not several")
    } else {
        first
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or("send a bearer token: `Authorization: Bearer <token>`")
    };
    match token {
        Err(detail) => {
            let mut response = Problem::about(
                AUTHORIZATION_POINTER,
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Unauthenticated",
                detail.to_owned(),
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"aipdp\""),
            );
            Some(response)
        }
        Ok(token) if accepted(token, accepted_tokens) => None,
        Ok(_) => Some(
            Problem::about(
                AUTHORIZATION_POINTER,
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                "the bearer token is not accepted for this resource".to_owned(),
            )
            .into_response(),
        ),
    }
}

/// A request let in: holds its place under the concurrency limit, and in
/// the in-flight count, until dropped. Probes and the scrape hold none.
pub struct Admission<'a> {
    counted: Option<&'a AtomicUsize>,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if let Some(in_flight) = self.counted {
            in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Lets a request to `path` in, or `None` when the concurrency limit is
/// reached; probes and the metrics scrape are always let in, so a busy
/// replica is not mistaken for a dead one.
pub fn admit<'a>(state: &'a AppState, path: &str) -> Option<Admission<'a>> {
    if NEVER_SHED.contains(&path) {
        return Some(Admission { counted: None });
    }
    let max = state.inner.guard.max_in_flight;
    let in_flight = state.metrics().in_flight();
    in_flight
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()?;
    Some(Admission {
        counted: Some(in_flight),
    })
}

/// The refusal of a request [`admit`] did not let in: 503 with
/// `Retry-After`, counted as shed.
pub fn overloaded(state: &AppState) -> Response {
    state.metrics().shed();
    let mut response = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "Overloaded",
        "too many requests in progress; retry after the delay in `Retry-After`",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, state.inner.guard.retry_after.clone());
    response
}

/// The CORS layer for the configured origins, or `None` when CORS is off.
pub fn cors(settings: &Settings) -> Option<CorsLayer> {
    let origins = settings.cors.origins();
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.contains(&"*") {
        AllowOrigin::from(Any)
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_NONE_MATCH,
                header::HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                header::ETAG,
                header::RETRY_AFTER,
                header::HeaderName::from_static("x-request-id"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// CORS for browser callers around every path but the authoriser's
/// (`/v1/authz` and below): the CORS layer answers any `OPTIONS` request
/// itself, 200 with no decision, and a gateway forwarding a client's
/// `OPTIONS` would take that for an allow. The authoriser decides every
/// method it is sent, as it does with CORS off.
#[derive(Clone)]
pub struct CorsOutsideAuthz(pub CorsLayer);

impl<S: Clone> tower::Layer<S> for CorsOutsideAuthz {
    type Service = CorsOutsideAuthzService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsOutsideAuthzService {
            cors: self.0.layer(inner.clone()),
            plain: inner,
        }
    }
}

/// The service [`CorsOutsideAuthz`] makes.
#[derive(Clone)]
pub struct CorsOutsideAuthzService<S> {
    cors: Cors<S>,
    plain: S,
}

impl<S, B> tower::Service<axum::http::Request<B>> for CorsOutsideAuthzService<S>
where
    S: tower::Service<axum::http::Request<B>, Response = Response> + Clone,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<<Cors<S> as tower::Service<axum::http::Request<B>>>::Future, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.plain.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let authz = path
            .strip_prefix("/v1/authz")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if authz {
            Either::Right(self.plain.call(request))
        } else {
            Either::Left(self.cors.call(request))
        }
    }
}

/// Declares, on every operation of the OpenAPI document, the refusals the
/// front door may answer it with before its handler runs: 503 when shed
/// (with `Retry-After`) and 408 past the request deadline, except on the
/// paths never shed; and, on the paths API tokens guard, the optional
/// `api_token` scheme with its 401 (with `WWW-Authenticate`) and 403. The
/// answers are shared components. Run on the whole document, once its
/// paths are in.
pub fn declare_refusals(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, header::HeaderBuilder};
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ProblemBody")))
            .build()
    };
    let refusals = [
        (
            "408",
            "Timeout",
            "The request took longer than `limits.request_timeout_ms`",
            None,
        ),
        (
            "503",
            "Overloaded",
            "Shed: `limits.max_concurrent_requests` requests are in progress",
            Some((
                "Retry-After",
                "Seconds to wait before retrying (`limits.retry_after_seconds`)",
            )),
        ),
        (
            "401",
            "Unauthenticated",
            "API tokens are configured and the request has none",
            Some(("WWW-Authenticate", "`Bearer realm=\"aipdp\"`")),
        ),
        (
            "403",
            "Forbidden",
            "API tokens are configured and the request's is not one of them",
            None,
        ),
    ];
    let components = openapi.components.get_or_insert_with(Default::default);
    for (_, name, description, header) in &refusals {
        let mut response = ResponseBuilder::new()
            .description(*description)
            .content(PROBLEM_JSON, problem());
        if let Some((header, about)) = header {
            response = response.header(
                *header,
                HeaderBuilder::new().description(Some(*about)).build(),
            );
        }
        components
            .responses
            .insert((*name).to_owned(), RefOr::T(response.build()));
    }
    for (path, item) in &mut openapi.paths.paths {
        let guarded = !OPEN.contains(&path.as_str()) && !is_admin(path);
        let shed = !NEVER_SHED.contains(&path.as_str());
        for operation in super::operations_mut(item)
            .into_iter()
            .filter_map(|(_, operation)| operation.as_mut())
        {
            let responses = &mut operation.responses.responses;
            for (status, name, description, _) in &refusals {
                let applies = if matches!(*status, "401" | "403") {
                    guarded
                } else {
                    shed
                };
                if !applies {
                    continue;
                }
                match responses.get_mut(*status) {
                    None => {
                        let shared = Ref::new(format!("#/components/responses/{name}"));
                        responses.insert((*status).to_owned(), RefOr::Ref(shared));
                    }
                    // The status answers something else too (the
                    // authoriser's 403 deny): the problem goes beside it.
                    Some(RefOr::T(response)) if !response.content.contains_key(PROBLEM_JSON) => {
                        response.description = format!(
                            "{}\n\nOr, as problem+json: {description}.",
                            response.description
                        );
                        response.content.insert(PROBLEM_JSON.to_owned(), problem());
                    }
                    Some(_) => {}
                }
            }
            if guarded {
                // `{}` first: without API tokens configured, none is needed.
                operation.security = Some(vec![
                    SecurityRequirement::default(),
                    SecurityRequirement::new("api_token", Vec::<String>::new()),
                ]);
            }
        }
    }
}

/// Declares the two bearer-token schemes of the guard.
pub struct BearerTokens;

impl utoipa::Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, description) in [
            (
                "api_token",
                "Needed on every endpoint except health, readiness, metrics, the API description and admin, when API tokens are configured",
            ),
            (
                "admin_token",
                "Needed on /admin/...; without admin tokens configured those endpoints do not exist",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(description))
                        .build(),
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_tokens_are_accepted() {
        let list = [
            digest(b"first-token-0123456789"),
            digest(b"second-token-0123456789"),
        ];
        assert!(accepted("first-token-0123456789", &list));
        assert!(accepted("second-token-0123456789", &list));
        assert!(!accepted("first-token-012345678", &list));
        assert!(!accepted("", &list));
        assert!(!accepted("first-token-0123456789", &[]));
    }
}
