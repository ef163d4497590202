//! The one error contract: every client error leaves as an RFC 9457
//! problem+json body with a pointer per bad field; server errors are opaque
//! and their cause is logged. Also the JSON and query extractors that turn
//! their own failures into problems.

use std::future::ready;

use axum::body::{Bytes, HttpBody};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::Either;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use super::AppState;
use crate::catalog::FieldError;
use crate::catalog::format::Object;
use crate::wire::ProblemBody;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The most field errors one problem lists.
pub const MAX_FIELD_ERRORS: usize = 100;

/// A client or server error, rendered as problem+json.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// Short slug used in the `type` URI, such as `invalid-request`.
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// A 500: a bug or a failed task on the service's side, never bad
    /// input.
    /// A 500: `cause` is logged, and the body says only that it was. A
    /// 5xx body is opaque, so a bug's text never reaches a client.
    pub fn internal(cause: impl std::fmt::Display) -> Problem {
        tracing::error!(%cause, "the service failed to answer");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            FAILED_TO_ANSWER,
        )
    }

    /// A request whose fields do not validate. At most
    /// [`MAX_FIELD_ERRORS`] are listed, so a body of thousands of bad
    /// entries cannot make a problem many times its own size.
    pub fn invalid(mut errors: Vec<FieldError>) -> Problem {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", display_pointer(&one.pointer), one.message),
            many if many.len() > MAX_FIELD_ERRORS => format!(
                "{} fields are invalid; the first {MAX_FIELD_ERRORS} are listed",
                many.len()
            ),
            many => format!("{} fields are invalid", many.len()),
        };
        errors.truncate(MAX_FIELD_ERRORS);
        Problem {
            errors,
            ..Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "Invalid request",
                detail,
            )
        }
    }

    /// A problem with the request body as a whole (its size, its
    /// encoding), listed as one error whose pointer is the whole body.
    pub fn about_body(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: String,
    ) -> Problem {
        Problem::about("", status, slug, title, detail)
    }

    /// A problem with one part of the request, listed as one error at
    /// `pointer` whose message is the detail.
    pub fn about(
        pointer: &str,
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: String,
    ) -> Problem {
        let mut problem = Problem::new(status, slug, title, detail.clone());
        problem.errors.push(FieldError::new(pointer, detail));
        problem
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// The body of this problem.
    pub fn body(&self) -> ProblemBody {
        ProblemBody {
            kind: format!("urn:aipdp:problem:{}", self.slug),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

fn display_pointer(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), detail = %self.detail, "request failed");
        }
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        (
            self.status,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response()
    }
}

/// The detail of every 500, whose cause is logged.
pub const FAILED_TO_ANSWER: &str = "the service failed to answer; the cause is logged";

/// Gives a problem body to error responses that have none, such as the
/// router's 404 and 405 and the front door's 408.
pub fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let (slug, title, detail) = match status {
        StatusCode::NOT_FOUND => ("not-found", "Not found", "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "Method not allowed",
            "this resource does not accept that method",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "Request timeout",
            "the request took too long to arrive or to answer",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body-too-large",
            "Body too large",
            "the request body is over the limit",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            "unavailable",
            "Service unavailable",
            "the service cannot answer now; retry later",
        ),
        s if s.is_server_error() => ("internal", "Internal error", FAILED_TO_ANSWER),
        _ => ("client-error", "Client error", "the request was refused"),
    };
    let mut problem = Problem::new(status, slug, title, detail).into_response();
    // Keep the response's other headers (`Allow`, `Retry-After` ...), but
    // not the length of the empty body it replaces.
    for (name, value) in response.headers() {
        if name == header::CONTENT_LENGTH {
            continue;
        }
        problem
            .headers_mut()
            .entry(name)
            .or_insert_with(|| value.clone());
    }
    problem
}

/// A JSON body, checked for content type, size and shape; every failure is
/// a problem naming the field.
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ValidJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        valid_json(req, state).await.map(ValidJson)
    }
}

/// The JSON body of a request, checked for content type, size and shape
/// (what [`ValidJson`] extracts).
///
/// # Errors
/// The problems of [`json_body`] and [`parse_json`].
pub fn valid_json<T: DeserializeOwned>(
    req: Request,
    state: &AppState,
) -> impl Future<Output = Result<T, Problem>> + Send + use<T> {
    json_body(req, state).map(|body| parse_json(&body?, ""))
}

/// Reads a request body after checking that it is declared as JSON.
///
/// # Errors
/// 415 without a JSON content type, 413 over the body limit, 400 when the
/// body cannot be read.
pub fn json_body(
    req: Request,
    state: &AppState,
) -> impl Future<Output = Result<Bytes, Problem>> + Send + use<> {
    typed_body(req, state, "application/json", |essence| {
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    })
}

/// Reads a request body of at most `limits.max_body_bytes` after checking
/// its declared media type with `accepts` (given the lower-case type
/// without parameters); `want` names the expected type in the 415 answer.
///
/// The limit is applied here rather than by a layer, so that the endpoints
/// the front door answers itself are held to it too (see [`super::dispatch`]).
/// The media type and the limit are read before the returned future, which
/// holds the body alone: a request's head is large, and a future holds its
/// arguments for its whole life.
///
/// # Errors
/// 415 for another media type, 413 over the body limit, 400 when the body
/// cannot be read.
pub fn typed_body<F: Fn(&str) -> bool>(
    req: Request,
    state: &AppState,
    want: &str,
    accepts: F,
) -> impl Future<Output = Result<Bytes, Problem>> + Send + use<F> {
    if let Some(problem) = media_type_problem(req.headers(), want, accepts) {
        return Either::Left(ready(Err(problem)));
    }
    let limit = state.settings().limits.max_body_bytes;
    // A declared length over the limit is refused before any of the body
    // arrives (else the request would wait for bytes it will refuse).
    if req.body().size_hint().lower() > limit as u64 {
        return Either::Left(ready(Err(too_large(limit))));
    }
    // A combinator rather than an async block, which would hold the body
    // twice (as its capture and inside the collecting future).
    let read = Limited::new(req.into_body(), limit).collect();
    Either::Right(read.map(move |read| match read {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(too_large(limit)),
        Err(error) => Err(Problem::about_body(
            StatusCode::BAD_REQUEST,
            "unreadable-body",
            "Unreadable body",
            format!("the request body could not be read: {error}"),
        )),
    }))
}

/// The 413 problem for a body over `limit` bytes.
fn too_large(limit: usize) -> Problem {
    Problem::about_body(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        "Body too large",
        format!("the request body is over the limit of {limit} bytes"),
    )
}

/// The 415 problem for a request whose declared media type `accepts`
/// refuses (given the lower-case type without parameters), if it does.
fn media_type_problem(
    headers: &HeaderMap,
    want: &str,
    accepts: impl Fn(&str) -> bool,
) -> Option<Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let lower;
    let essence = if essence.bytes().any(|b| b.is_ascii_uppercase()) {
        lower = essence.to_ascii_lowercase();
        &lower
    } else {
        essence
    };
    if accepts(essence) {
        return None;
    }
    let detail = format!(
        "send the body as `{want}`, not `{}`",
        if content_type.is_empty() {
            "(no content type)"
        } else {
            content_type
        }
    );
    Some(Problem::about(
        "/headers/content-type",
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        detail,
    ))
}

/// Parses JSON into `T`, mapping every error to a pointer below `prefix`.
///
/// # Errors
/// 400 `malformed-json` for syntax errors, `invalid-request` for shape
/// errors, naming each bad field (see [`further_errors`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], prefix: &str) -> Result<T, Problem> {
    // Well-formed bodies, the common case, take serde_json's plain path;
    // tracking the path costs an allocation per object key, so only a body
    // that fails is parsed again to find where.
    // Every body is an object: serde's positional form of a struct (a JSON
    // array of its fields) is refused, at the top as everywhere else.
    if let Ok(Object(value)) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let first = match locate::<T>(bytes, prefix)? {
        Ok(value) => return Ok(value),
        Err(first) => first,
    };
    let mut errors = vec![first];
    further_errors::<T>(bytes, prefix, &mut errors);
    Err(Problem::invalid(errors))
}

/// The most times [`further_errors`] reads a body again.
const FURTHER_READS: usize = 16;

/// After the first bad field of a body that is valid JSON, the others
/// serde would have stopped at: each bad value found is taken out (a bad
/// list item with its whole list, whose other items' pointers would shift)
/// and the rest read again, at most [`FURTHER_READS`] times. A field that
/// is missing because it was taken out is no error of the client's, and
/// ends the search.
fn further_errors<T: DeserializeOwned>(bytes: &[u8], prefix: &str, errors: &mut Vec<FieldError>) {
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return;
    };
    let mut taken_out = Vec::new();
    for _ in 0..FURTHER_READS {
        let Some(last) = errors.last() else { return };
        let Some(member) = take_out_member(&mut value, &last.pointer[prefix.len()..]) else {
            return;
        };
        taken_out.push(member);
        let Ok(bytes) = serde_json::to_vec(&value) else {
            return;
        };
        let error = match locate::<T>(&bytes, prefix) {
            Ok(Err(error)) => error,
            Ok(Ok(_)) | Err(_) => return,
        };
        if error.message.starts_with("missing field `")
            && taken_out
                .iter()
                .any(|m| *m == error.pointer[prefix.len()..])
        {
            return;
        }
        errors.push(error);
    }
}

/// Removes the object member `pointer` names, or that holds the list item
/// it names; returns the member's pointer.
fn take_out_member(value: &mut serde_json::Value, pointer: &str) -> Option<String> {
    let mut member = pointer;
    loop {
        let (parent, key) = member.rsplit_once('/')?;
        match value.pointer_mut(parent) {
            Some(serde_json::Value::Object(members)) => {
                let key = key.replace("~1", "/").replace("~0", "~");
                return members.remove(&key).map(|_| member.to_owned());
            }
            Some(serde_json::Value::Array(_)) => member = parent,
            _ => return None,
        }
    }
}

/// Reads `bytes` as `T` tracking the path: the value, the field at fault,
/// or (as the outer error) the problem of JSON that cannot be read.
fn locate<T: DeserializeOwned>(
    bytes: &[u8],
    prefix: &str,
) -> Result<Result<T, FieldError>, Problem> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let err = match serde_path_to_error::deserialize::<_, Object<T>>(&mut de) {
        Ok(Object(value)) => {
            return de
                .end()
                .map(|()| Ok(value))
                .map_err(|e| malformed(prefix, &e));
        }
        Err(err) => err,
    };
    let pointer = format!("{prefix}{}", path_pointer(err.path()));
    let inner = err.into_inner();
    if inner.is_eof() || inner.is_io() {
        return Err(malformed(prefix, &inner));
    }
    let message = if inner.is_syntax() {
        // serde_json reports a value of the wrong JSON type where an enum
        // (such as `residency`) is expected as a syntax error. When the body
        // is valid JSON, name the field and the type instead.
        match mistyped_value(bytes, &pointer[prefix.len()..]) {
            Some(message) => message,
            None => return Err(malformed(prefix, &inner)),
        }
    } else {
        strip_position(&inner.to_string())
    };
    // serde_path_to_error's path ends at an unknown field already, but at
    // the parent of a missing or duplicated one. A duplicated key is refused
    // (every request struct denies unknown fields and serde's derive refuses
    // a field given twice), so no value silently wins over another.
    let pointer = match field_named(&message) {
        Some(field) if !pointer.ends_with(&format!("/{}", escape_pointer(field))) => {
            format!("{pointer}/{}", escape_pointer(field))
        }
        _ => pointer,
    };
    Ok(Err(FieldError::new(pointer, message)))
}

/// For valid JSON whose value at `pointer` is not a string: what it is.
fn mistyped_value(bytes: &[u8], pointer: &str) -> Option<String> {
    use serde_json::Value;
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let kind = match value.pointer(pointer)? {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::Array(_) => "sequence",
        Value::Object(_) => "map",
        Value::String(_) => return None,
    };
    Some(format!("invalid type: {kind}, expected a string"))
}

/// The problem of JSON that cannot be read at `prefix` (empty for the whole
/// body). Inside a batch the position serde_json gives counts from the
/// item, not the body, so it is left out and the pointer locates the item.
fn malformed(prefix: &str, error: &serde_json::Error) -> Problem {
    let (message, detail) = if prefix.is_empty() {
        let message = error.to_string();
        let detail = format!("the body is not valid JSON: {message}");
        (message, detail)
    } else {
        let message = strip_position(&error.to_string());
        let detail = format!("the request at `{prefix}` is not valid JSON: {message}");
        (message, detail)
    };
    let mut problem = Problem::new(
        StatusCode::BAD_REQUEST,
        "malformed-json",
        "Malformed JSON",
        detail,
    );
    problem.errors.push(FieldError::new(prefix, message));
    problem
}

/// The field an `unknown field`, `missing field` or `duplicate field`
/// message names.
fn field_named(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))
        .or_else(|| message.strip_prefix("duplicate field `"))?;
    rest.split('`').next()
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn path_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", escape_pointer(key))),
            Segment::Enum { variant } => out.push_str(&format!("/{}", escape_pointer(variant))),
            Segment::Unknown => {}
        }
    }
    out
}

fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
