//! The endpoints called on every AI request, answered by the front door
//! itself; every other request goes through axum's router.
//!
//! Through the router, a decision paid for the router's own path match,
//! storing its URL parameters (none) in the request's extensions, the
//! method router, a cloned route service, and three boxed futures (the
//! router's, the handler's and the front door's). Here the front door
//! looks the endpoint up from the route template it has already matched
//! for its latency histogram ([`AppState::route_of`]) and awaits the
//! endpoint's answer within its own future: one allocation for the
//! request's whole handling. The answer comes from the same functions the
//! routed handlers call, with the same checks on the body (content type,
//! `limits.max_body_bytes`, shape).
//!
//! Only exact method and route-template pairs are taken; anything else,
//! the same paths with another method included, goes to the router, which
//! answers it (and its 404s and 405s) as before. The authoriser takes
//! every method it is routed for (a gateway may forward the client's own)
//! except `HEAD`, which goes to the router: it strips the body there.

use std::future::{Future, ready};

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::Either;

use super::error::valid_json;
use super::front::RequestContext;
use super::{AppState, authz, decisions};

/// An endpoint the front door answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hot {
    Decision,
    Route,
    Authz,
}

impl Hot {
    /// The endpoint for a method and the route template its path matches.
    pub fn of(method: &Method, template: &str) -> Option<Hot> {
        // Every method the OpenAPI document can list but `HEAD`, which the
        // router answers, without a body. Extension methods (`PURGE`,
        // `QUERY`) go to the router too, which answers 405 as the document
        // says.
        let authoriser = matches!(
            *method,
            Method::GET
                | Method::POST
                | Method::PUT
                | Method::DELETE
                | Method::PATCH
                | Method::OPTIONS
                | Method::TRACE
        );
        match (method, template) {
            (&Method::POST, "/v1/decisions") => Some(Hot::Decision),
            (&Method::POST, "/v1/route") => Some(Hot::Route),
            (_, "/v1/authz" | authz::SLASH_ROUTE | authz::CATCH_ALL_ROUTE) if authoriser => {
                Some(Hot::Authz)
            }
            _ => None,
        }
    }

    /// The endpoint's answer to `request`, as its routed handler gives it.
    ///
    /// What the answer needs from the request's head is read before the
    /// returned future, which holds the body alone (see
    /// [`super::error::typed_body`]); the authoriser's answer, from headers
    /// alone, is made here.
    pub fn answer<'a>(
        self,
        state: &'a AppState,
        context: &'a RequestContext,
        request: Request,
    ) -> impl Future<Output = Response> + Send + use<'a> {
        // Combinators rather than an async block, which would hold the
        // body's future twice (as its capture and as the future awaited).
        match self {
            Hot::Authz => Either::Left(ready(authz::answer(state, context, request.headers()))),
            Hot::Decision => Either::Right(Either::Left(valid_json(request, state).map(|raw| {
                raw.and_then(|raw| decisions::decision_answer(state, context, &raw))
                    .into_response()
            }))),
            Hot::Route => Either::Right(Either::Right(valid_json(request, state).map(|raw| {
                raw.and_then(|raw| decisions::route_answer(state, context, &raw))
                    .into_response()
            }))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::config::Settings;
    use crate::http::LoadedCatalog;

    fn state() -> AppState {
        let settings = Settings::load(None, Vec::<(String, String)>::new()).unwrap();
        let catalog = LoadedCatalog::new(Catalog::builtin().unwrap(), "built-in");
        AppState::new(settings, catalog).unwrap()
    }

    /// The table's templates are the router's own: a template renamed in
    /// the router would silently send its endpoint the slow way.
    #[test]
    fn hot_paths_match_the_routers_templates() {
        let state = state();
        let hot = |method: Method, path: &str| Hot::of(&method, state.route_of(path));
        assert_eq!(hot(Method::POST, "/v1/decisions"), Some(Hot::Decision));
        assert_eq!(hot(Method::POST, "/v1/route"), Some(Hot::Route));
        assert_eq!(hot(Method::GET, "/v1/authz"), Some(Hot::Authz));
        assert_eq!(hot(Method::GET, "/v1/authz/"), Some(Hot::Authz));
        assert_eq!(
            hot(Method::GET, "/v1/authz/v1/chat/completions"),
            Some(Hot::Authz)
        );
        // The authoriser, with each method it is routed for but HEAD.
        for method in [
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::OPTIONS,
            Method::TRACE,
        ] {
            assert_eq!(
                hot(method.clone(), "/v1/authz"),
                Some(Hot::Authz),
                "{method}"
            );
            assert_eq!(
                hot(method.clone(), "/v1/authz/x"),
                Some(Hot::Authz),
                "{method}"
            );
        }
    }

    /// Other methods, other paths and near misses go to the router.
    #[test]
    fn everything_else_goes_to_the_router() {
        let state = state();
        let hot = |method: Method, path: &str| Hot::of(&method, state.route_of(path));
        for (method, path) in [
            (Method::GET, "/v1/decisions"),
            (Method::PUT, "/v1/route"),
            (Method::HEAD, "/v1/authz"),
            (Method::HEAD, "/v1/authz/x"),
            (Method::CONNECT, "/v1/authz/x"),
            (Method::from_bytes(b"PURGE").unwrap(), "/v1/authz"),
            (Method::POST, "/v1/decisions/batch"),
            (Method::POST, "/v1/decisions/"),
            (Method::POST, "/v1/Decisions"),
            (Method::GET, "/healthz"),
        ] {
            assert_eq!(hot(method.clone(), path), None, "{method} {path}");
        }
    }
}
