//! `/ui`: the admin explorer and the offline API reference, a few static
//! files built into the binary (`ui/` in the repository).
//!
//! Plain HTML, CSS and JavaScript with no build step: the pages call the
//! same public endpoints as any portal (`/v1/eligibility`, `/v1/decisions`,
//! `/v1/decisions/compare`, `/v1/catalog`, `/openapi.json`). The content
//! security policy keeps them on this origin, so nothing is ever fetched
//! from elsewhere. Not part of the OpenAPI document: these are pages, not API.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

const INDEX: &str = include_str!("../../ui/index.html");
const APP_JS: &str = include_str!("../../ui/app.js");
const STYLE: &str = include_str!("../../ui/style.css");
const API: &str = include_str!("../../ui/api.html");
const API_JS: &str = include_str!("../../ui/api.js");

/// Same origin only: no script, style, image or connection elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    let headers: [(HeaderName, HeaderValue); 5] = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        // Revalidate, so a new binary's pages are picked up at once.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    (headers, body)
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// The explorer's files: path, content type and body.
const ASSETS: [(&str, &str, &str); 6] = [
    ("/ui", HTML, INDEX),
    ("/ui/", HTML, INDEX),
    ("/ui/app.js", JS, APP_JS),
    ("/ui/style.css", "text/css; charset=utf-8", STYLE),
    ("/ui/api", HTML, API),
    ("/ui/api.js", JS, API_JS),
];

/// The explorer's routes.
pub fn routes() -> Router<AppState> {
    ASSETS
        .iter()
        .fold(Router::new(), |router, &(path, content_type, body)| {
            router.route(path, get(move || async move { asset(content_type, body) }))
        })
}

/// The paths of [`routes`].
pub fn paths() -> [&'static str; ASSETS.len()] {
    ASSETS.map(|(path, _, _)| path)
}
