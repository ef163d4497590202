//! `POST /v1/decisions`, `POST /v1/decisions/batch` and `POST /v1/route`.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::AppState;
use super::answer::json_answer;
use super::error::{Problem, ValidJson, json_body, parse_json};
use crate::catalog::FieldError;
use crate::catalog::format::{RawDecisionRequest, RawTenant};
use crate::engine::{DecisionRequest, decide, resolve_feature, resolve_request, resolve_tenant};
use crate::wire::{DecisionBody, ProblemBody, RouteDecisionBody};

/// Problems a JSON endpoint can answer with (for the OpenAPI document only).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
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

/// `Cache-Control` for an answer that may be cached for `ttl` seconds.
pub fn cache_for(ttl: u32) -> (header::HeaderName, HeaderValue) {
    let value = HeaderValue::from_str(&format!("private, max-age={ttl}"))
        .unwrap_or(HeaderValue::from_static("no-store"));
    (header::CACHE_CONTROL, value)
}

/// Decide for one tenant and its features.
///
/// Chooses the mode (the tenant's selection when eligible, else the region's
/// default when eligible, else the eligible mode of least exposure), routes
/// every feature, and lists obligations and reasons. A deny is a 200 answer.
#[utoipa::path(post, path = "/v1/decisions", tag = "decisions",
    request_body = RawDecisionRequest,
    responses((status = 200, description = "The decision", body = DecisionBody), JsonProblems))]
pub async fn decide_one(
    State(state): State<AppState>,
    ValidJson(raw): ValidJson<RawDecisionRequest>,
) -> Result<Response, Problem> {
    let loaded = state.catalog();
    let catalog = &loaded.catalog;
    let request = resolve_request(catalog, &raw).map_err(Problem::invalid)?;
    let decision = decide(catalog, &request);
    let body = DecisionBody::new(
        catalog,
        &decision,
        state.next_decision_id(),
        request.explain,
    );
    Ok(json_answer(catalog.ttl_seconds, &body))
}

/// A batch of decision requests.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Decision requests, answered in the same order.
    #[schema(value_type = Vec<RawDecisionRequest>)]
    pub requests: Vec<Box<RawValue>>,
}

/// One answer of a batch: a decision, or the problem with that item.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem<'a> {
    Decision(Box<DecisionBody<'a>>),
    Error {
        /// The problem with this item; pointers are from the batch root.
        error: ProblemBody,
    },
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
    request_body = BatchRequest,
    responses((status = 200, description = "One result per request, in order", body = BatchResponse), JsonProblems))]
pub async fn decide_batch(
    State(state): State<AppState>,
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
                    let body = DecisionBody::new(
                        catalog,
                        &decision,
                        state.next_decision_id(),
                        request.explain,
                    );
                    BatchItem::Decision(Box::new(body))
                }
                Err(problem) => BatchItem::Error {
                    error: problem.body(),
                },
            }
        })
        .collect();
    Ok(json_answer(catalog.ttl_seconds, &BatchResponse { results }))
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
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    pub tenant: RawTenant,
    /// One feature id.
    pub feature: String,
}

/// Route one feature for a gateway.
///
/// Answers `allow` with the route and its fallbacks, or `allow: false` with
/// the reasons. A deny is a 200 answer, not an error.
#[utoipa::path(post, path = "/v1/route", tag = "decisions",
    request_body = RouteRequest,
    responses((status = 200, description = "Allow or deny, with the route", body = RouteDecisionBody), JsonProblems))]
pub async fn route(
    State(state): State<AppState>,
    ValidJson(raw): ValidJson<RouteRequest>,
) -> Result<Response, Problem> {
    let loaded = state.catalog();
    let catalog = &loaded.catalog;
    let tenant = resolve_tenant(catalog, &raw.tenant, "/tenant");
    let feature = resolve_feature(catalog, &raw.feature, "/feature");
    let (tenant, feature) = match (tenant, feature) {
        (Ok(t), Ok(f)) => (t, f),
        (Err(mut errors), Err(e)) => {
            errors.push(e);
            return Err(Problem::invalid(errors));
        }
        (Err(errors), Ok(_)) => return Err(Problem::invalid(errors)),
        (Ok(_), Err(e)) => return Err(Problem::invalid(vec![e])),
    };
    let request = DecisionRequest {
        tenant: tenant.tenant,
        profile_applied: tenant.profile_applied,
        ignored: tenant.ignored,
        features: vec![feature],
        explain: false,
    };
    let decision = decide(catalog, &request);
    let body = RouteDecisionBody::new(catalog, &decision, state.next_decision_id());
    Ok(json_answer(catalog.ttl_seconds, &body))
}
