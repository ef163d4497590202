//! Answers as JSON bodies, serialised into one buffer.
//!
//! axum's `Json` starts its buffer at 128 bytes, so a 2-3 KB decision is
//! copied five times as the buffer doubles. Answers here start with room for
//! a typical decision instead; decisions and routes come already written
//! (`wire::decision_json`, `wire::route_json`).

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::LoadedCatalog;
use super::error::Problem;

/// Room for a typical answer.
const ANSWER_CAPACITY: usize = 4096;

/// `body` as `application/json`, cacheable for the catalog's TTL, with its
/// entity tag when there is one.
pub fn json_answer<T: Serialize>(
    loaded: &LoadedCatalog,
    etag: Option<(HeaderName, HeaderValue)>,
    body: &T,
) -> Response {
    match serialised(body) {
        Ok(bytes) => written_answer(loaded, etag, bytes),
        Err(problem) => problem.into_response(),
    }
}

/// `body` as JSON in one buffer, or the 500 to answer when it does not
/// serialise (answer types serialise infallibly: a bug, not bad input).
///
/// # Errors
/// The 500 problem, with the cause logged.
pub fn serialised<T: Serialize>(body: &T) -> Result<Vec<u8>, Problem> {
    let mut bytes = Vec::with_capacity(ANSWER_CAPACITY);
    serde_json::to_writer(&mut bytes, body)
        .map_err(|error| Problem::internal(format_args!("cannot serialise an answer: {error}")))?;
    Ok(bytes)
}

/// An answer already written as JSON, as [`json_answer`] sends it.
pub fn written_answer(
    loaded: &LoadedCatalog,
    etag: Option<(HeaderName, HeaderValue)>,
    json: Vec<u8>,
) -> Response {
    // Not `(headers, json).into_response()`: that first sets an
    // `application/octet-stream` content type, then replaces it.
    let mut response = Response::new(Body::from(json));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let (name, value) = loaded.cache_control();
    headers.insert(name, value);
    if let Some((name, value)) = etag {
        response.headers_mut().insert(name, value);
    }
    response
}
