//! `POST /v1/decisions`, `POST /v1/decisions/batch` and `POST /v1/route`.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::AppState;
use super::answer::{json_answer, written_answer};
use super::error::{Problem, ValidJson, json_body, parse_json};
use super::front::RequestContext;
use super::observe::{Endpoint, record_decision};
use crate::catalog::FieldError;
use crate::catalog::format::{RawDecisionRequest, RawTenant};
use crate::engine::{decide, resolve_request, resolve_route_request};
use crate::wire::{DecisionBody, ProblemBody, RouteDecisionBody, decision_json, route_json};

/// Problems a JSON endpoint can answer with (for the OpenAPI document only).
#[derive(utoipa::IntoResponses)]
#[expect(dead_code)]
pub enum JsonProblems {
    /// Malformed JSON, an unknown field, a wrong type or an unknown id.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(ProblemBody),
    /// The body is over the size limit.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(ProblemBody),
    /// The body is not declared as `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(ProblemBody),
}

/// A weak `ETag` for an answer to `request` (see [`super::gateway::etag`]).
fn etag_header(
    catalog: &crate::catalog::Catalog,
    request: &impl std::hash::Hash,
) -> Option<(header::HeaderName, HeaderValue)> {
    super::gateway::etag(catalog, request).map(|tag| (header::ETAG, tag))
}

/// Decide for one tenant and its features.
///
/// Chooses the mode (the tenant's selection when eligible, else the region's
/// default when eligible, else the eligible mode of least exposure), routes
/// every feature, and lists obligations and reasons. A deny is a 200 answer.
#[utoipa::path(post, path = "/v1/decisions", tag = "decisions",
    request_body(content = RawDecisionRequest,
        example = json!({"tenant": {"region": "EU", "residency": "strict", "denied_providers": ["openai"], "compliance": ["gdpr"]}, "features": ["meeting_summary", "web_search_answers"]})),
    responses((status = 200, description = "The decision", body = DecisionBody,
        headers(
            ("ETag" = String, description = "Weak entity tag of the answer: the catalog version and a hash of the request, the same for the same request under the same catalog"),
            ("Cache-Control" = String, description = "`private, max-age=` the catalog's `ttl_seconds`"),
        )), JsonProblems))]
pub async fn decide_one(
    State(state): State<AppState>,
    context: RequestContext,
    ValidJson(raw): ValidJson<RawDecisionRequest>,
) -> Result<Response, Problem> {
    decision_answer(&state, &context, &raw)
}

/// The answer of `POST /v1/decisions` to a parsed request.
pub fn decision_answer(
    state: &AppState,
    context: &RequestContext,
    raw: &RawDecisionRequest,
) -> Result<Response, Problem> {
    let loaded = state.catalog();
    let catalog = &loaded.catalog;
    let request = resolve_request(catalog, raw).map_err(Problem::invalid)?;
    let decision = decide(catalog, &request);
    let decision_id = state.next_decision_id();
    record_decision(
        state,
        context,
        Endpoint::Decisions,
        &loaded,
        &decision,
        &decision_id,
    );
    Ok(written_answer(
        &loaded,
        etag_header(catalog, raw),
        decision_json(catalog, &decision, &decision_id, request.explain),
    ))
}

/// A batch of decision requests.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Decision requests (each shaped as `RawDecisionRequest`), answered in
    /// the same order. Items are checked one by one: an item that is not a
    /// valid request gets a problem in its place in `results`, so the
    /// document accepts any JSON value here. From 1 to `limits.max_batch`
    /// (100 unless configured) requests.
    #[schema(value_type = Vec<serde_json::Value>, min_items = 1)]
    pub requests: Vec<Box<RawValue>>,
}

/// One answer of a batch: a decision, or the problem with that item (the
/// same problem object every client error has; pointers are from the batch
/// root, such as `/requests/2/tenant/region`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem<'a> {
    Decision(Box<DecisionBody<'a>>),
    Problem(ProblemBody),
}

#[derive(Serialize, ToSchema)]
pub struct BatchResponse<'a> {
    pub results: Vec<BatchItem<'a>>,
}

/// Decide for many requests at once.
///
/// Each item is answered on its own: one bad item gets a problem in its
/// place and does not fail the batch.
#[utoipa::path(post, path = "/v1/decisions/batch", tag = "decisions",
    request_body(content = BatchRequest,
        example = json!({"requests": [{"tenant": {"region": "EU", "residency": "strict", "denied_providers": ["openai"], "compliance": ["gdpr"]}, "features": ["meeting_summary", "web_search_answers"]}, {"tenant": {"region": "SG"}, "features": ["meeting_summary"]}]})),
    responses((status = 200, description = "One result per request, in order", body = BatchResponse,
        headers(
            ("ETag" = String, description = "Weak entity tag of the answer: the catalog version and a hash of the request, the same for the same request under the same catalog"),
            ("Cache-Control" = String, description = "`private, max-age=` the catalog's `ttl_seconds`"),
        )), JsonProblems))]
pub async fn decide_batch(
    State(state): State<AppState>,
    context: RequestContext,
    request: Request,
) -> Result<Response, Problem> {
    let bytes = json_body(request, &state).await?;
    let batch: BatchRequest = parse_json(&bytes, "")?;
    let max = state.settings().limits.max_batch;
    if batch.requests.is_empty() || batch.requests.len() > max {
        return Err(Problem::invalid(vec![FieldError::new(
            "/requests",
            format!(
                "a batch holds 1 to {max} requests, got {}",
                batch.requests.len()
            ),
        )]));
    }
    let loaded = state.catalog();
    let catalog = &loaded.catalog;
    let results = batch
        .requests
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let prefix = format!("/requests/{i}");
            let request = parse_json::<RawDecisionRequest>(item.get().as_bytes(), &prefix)
                .and_then(|raw| {
                    resolve_request(catalog, &raw)
                        .map_err(|errors| Problem::invalid(prefixed(&prefix, errors)))
                });
            match request {
                Ok(request) => {
                    let decision = decide(catalog, &request);
                    let decision_id = state.next_decision_id();
                    record_decision(
                        &state,
                        &context,
                        Endpoint::Batch,
                        &loaded,
                        &decision,
                        &decision_id,
                    );
                    let body = DecisionBody::new(
                        catalog,
                        &decision,
                        decision_id.to_string(),
                        request.explain,
                    );
                    BatchItem::Decision(Box::new(body))
                }
                Err(problem) => BatchItem::Problem(problem.body()),
            }
        })
        .collect();
    // The batch's items as compact JSON with object keys sorted, so that
    // the same requests spelled differently share a tag.
    let normalised: Vec<String> = batch
        .requests
        .iter()
        .map(|item| {
            serde_json::from_str::<serde_json::Value>(item.get())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    Ok(json_answer(
        &loaded,
        etag_header(catalog, &normalised),
        &BatchResponse { results },
    ))
}

fn prefixed(prefix: &str, errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| FieldError {
            pointer: format!("{prefix}{}", e.pointer),
            ..e
        })
        .collect()
}

/// A gateway's question: may this tenant use this feature, and where to send it.
#[derive(Deserialize, Serialize, Hash, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    #[serde(deserialize_with = "crate::catalog::format::object")]
    pub tenant: RawTenant,
    /// One feature id.
    pub feature: String,
}

/// Route one feature for a gateway.
///
/// Answers `allow` with the route and its fallbacks, or `allow: false` with
/// the reasons. A deny is a 200 answer, not an error.
#[utoipa::path(post, path = "/v1/route", tag = "decisions",
    request_body(content = RouteRequest,
        example = json!({"tenant": {"region": "US", "residency": "strict"}, "feature": "meeting_summary"})),
    responses((status = 200, description = "Allow or deny, with the route", body = RouteDecisionBody,
        headers(
            ("ETag" = String, description = "Weak entity tag of the answer: the catalog version and a hash of the request, the same for the same request under the same catalog"),
            ("Cache-Control" = String, description = "`private, max-age=` the catalog's `ttl_seconds`"),
        )), JsonProblems))]
pub async fn route(
    State(state): State<AppState>,
    context: RequestContext,
    ValidJson(raw): ValidJson<RouteRequest>,
) -> Result<Response, Problem> {
    route_answer(&state, &context, &raw)
}

/// The answer of `POST /v1/route` to a parsed request.
pub fn route_answer(
    state: &AppState,
    context: &RequestContext,
    raw: &RouteRequest,
) -> Result<Response, Problem> {
    let loaded = state.catalog();
    let catalog = &loaded.catalog;
    let request =
        resolve_route_request(catalog, &raw.tenant, &raw.feature, ("/tenant", "/feature"))
            .map_err(Problem::invalid)?;
    let decision = decide(catalog, &request);
    let decision_id = state.next_decision_id();
    record_decision(
        state,
        context,
        Endpoint::Route,
        &loaded,
        &decision,
        &decision_id,
    );
    Ok(written_answer(
        &loaded,
        etag_header(catalog, raw),
        route_json(catalog, &decision, &decision_id),
    ))
}
