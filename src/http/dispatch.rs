//! The endpoints called on every AI request, handed straight to their
//! handlers; every other request goes through axum's router.
//!
//! Through the router, a decision paid for the router's own path match,
//! storing its URL parameters (none) in the request's extensions, the
//! method router, and a cloned, boxed route service; here its path is
//! matched against the route templates the front door times requests by
//! ([`AppState::route_of`]), and the rest is saved: about 2,350 of its
//! 42,500 instructions. The same handler runs with the same extractors,
//! inside the same layers.
//!
//! Only exact method and route-template pairs are taken; anything else,
//! the same paths with another method included, goes to the router, which
//! answers it (and its 404s and 405s) as before. The authoriser takes
//! every method it is routed for (a gateway may forward the client's own)
//! except `HEAD`, which goes to the router: it strips the body there.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::handler::Handler;
use axum::http::Method;
use axum::response::Response;
use tower::Service;

use super::front::Answering;
use super::{AppState, authz, decisions};

/// An endpoint taken past the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hot {
    Decision,
    Route,
    Authz,
    AuthzPath,
}

impl Hot {
    /// The endpoint for a method and the route template its path matches.
    fn of(method: &Method, template: &str) -> Option<Hot> {
        let authoriser = matches!(
            *method,
            Method::GET
                | Method::POST
                | Method::PUT
                | Method::DELETE
                | Method::PATCH
                | Method::OPTIONS
        );
        match (method, template) {
            (&Method::POST, "/v1/decisions") => Some(Hot::Decision),
            (&Method::POST, "/v1/route") => Some(Hot::Route),
            (_, "/v1/authz") if authoriser => Some(Hot::Authz),
            (_, authz::CATCH_ALL_ROUTE) if authoriser => Some(Hot::AuthzPath),
            _ => None,
        }
    }
}

/// The router behind a table of hot endpoints.
#[derive(Clone)]
pub struct Dispatch<R> {
    pub state: AppState,
    pub router: R,
}

impl<R> Service<Request> for Dispatch<R>
where
    R: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    R::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answering;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // axum's router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let hot = Hot::of(request.method(), self.state.route_of(request.uri().path()));
        let state = self.state.clone();
        let handled = match hot {
            Some(Hot::Decision) => decisions::decide_one.call(request, state),
            Some(Hot::Route) => decisions::route.call(request, state),
            Some(Hot::Authz) => authz::authorise.call(request, state),
            Some(Hot::AuthzPath) => authz::authorise_path.call(request, state),
            None => return Box::pin(self.router.call(request)),
        };
        Box::pin(async move { Ok(handled.await) })
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
        assert_eq!(
            hot(Method::GET, "/v1/authz/v1/chat/completions"),
            Some(Hot::AuthzPath)
        );
        // The authoriser, with each method it is routed for but HEAD.
        for method in [
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::OPTIONS,
        ] {
            assert_eq!(
                hot(method.clone(), "/v1/authz"),
                Some(Hot::Authz),
                "{method}"
            );
            assert_eq!(
                hot(method.clone(), "/v1/authz/x"),
                Some(Hot::AuthzPath),
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
            (Method::TRACE, "/v1/authz"),
            (Method::CONNECT, "/v1/authz/x"),
            (Method::POST, "/v1/decisions/batch"),
            (Method::POST, "/v1/decisions/"),
            (Method::POST, "/v1/Decisions"),
            (Method::GET, "/healthz"),
        ] {
            assert_eq!(hot(method.clone(), path), None, "{method} {path}");
        }
    }
}
