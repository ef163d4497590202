//! The OpenID AuthZEN Authorization API 1.0: access evaluation, batched
//! evaluations, action search and the PDP metadata.
//!
//! The mapping: subject = tenant (`type` `tenant`, `id` the tenant id,
//! `properties` the tenant fields of a decision request), action = feature
//! (`name` the feature id), resource = AI deployment (`type`
//! `ai_deployment`, `id` the caller's name for it, `properties` may carry
//! `residency`, `selected_mode`, `allowed_providers` and
//! `denied_providers`, which tighten the tenant). The answer's `context` is
//! the route answer of `POST /v1/route`: mode, route, fallbacks and reason
//! codes. Decisions are the engine's; this module only translates.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::decisions::JsonProblems;
use super::error::{Problem, ValidJson};
use super::front::RequestContext;
use super::gateway::{GatewayAnswer, UnknownTenants, decide_for_gateway};
use super::observe::{Endpoint, record_decision, record_unknown_tenant};
use super::{AppState, LoadedCatalog};
use crate::catalog::format::{
    RawTenant, Residency, ResidencyInput, object, objects, optional_object,
};
use crate::catalog::{Echo, FieldError};
use crate::engine::{DecisionRequest, decide, resolve_tenant};
use crate::wire::{ProblemBody, RouteDecisionBody};

/// A member AuthZEN lets callers send and this service does not use: any
/// JSON object, kept only so that it is checked to be one.
type Unused = serde_json::Map<String, serde_json::Value>;

/// The only subject type: a tenant of the catalog (or an ad-hoc one).
pub const SUBJECT_TYPE: &str = "tenant";
/// The only resource type: the AI deployment a request would reach.
pub const RESOURCE_TYPE: &str = "ai_deployment";

/// The tenant asking.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// Always `tenant` (any other is refused: in a batch, as that item's
    /// error).
    #[serde(rename = "type")]
    pub kind: String,
    /// The tenant id; a catalog profile when it names one.
    pub id: String,
    /// Tenant fields as in a decision request (`region`, `residency`,
    /// `allowed_providers` ...), without `id`.
    #[serde(default, deserialize_with = "optional_object")]
    pub properties: Option<RawTenant>,
}

/// The feature to use.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// A feature id of the catalog.
    pub name: String,
    /// Accepted and not used.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    // Read so that AuthZEN callers may send it; nothing depends on it.
    #[expect(dead_code)]
    pub properties: Option<Unused>,
}

/// Constraints of the AI deployment that tighten the tenant's own.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceProperties {
    #[serde(default)]
    pub residency: Option<Residency>,
    #[serde(default)]
    pub selected_mode: Option<String>,
    #[serde(default)]
    pub allowed_providers: Option<Vec<String>>,
    #[serde(default)]
    pub denied_providers: Option<Vec<String>>,
}

/// The AI deployment the request would reach.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Always `ai_deployment` (any other is refused: in a batch, as that
    /// item's error).
    #[serde(rename = "type")]
    pub kind: String,
    /// The caller's name for the deployment; not interpreted.
    pub id: String,
    #[serde(default, deserialize_with = "optional_object")]
    pub properties: Option<ResourceProperties>,
}

/// One access evaluation request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationRequest {
    #[serde(deserialize_with = "object")]
    pub subject: Subject,
    #[serde(deserialize_with = "object")]
    pub action: Action,
    #[serde(deserialize_with = "object")]
    pub resource: Resource,
    /// Accepted and not used.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    // Read so that AuthZEN callers may send it; nothing depends on it.
    #[expect(dead_code)]
    pub context: Option<Unused>,
}

/// An access evaluation answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationResponse<'a> {
    pub decision: bool,
    pub context: EvaluationContext<'a>,
}

/// The route answer, or the problem with this evaluation (in a batch).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EvaluationContext<'a> {
    Route(Box<RouteDecisionBody<'a>>),
    Error { error: ProblemBody },
}

/// One evaluation of a batch; missing parts come from the batch defaults.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationItem {
    #[serde(default, deserialize_with = "optional_object")]
    pub subject: Option<Subject>,
    #[serde(default, deserialize_with = "optional_object")]
    pub action: Option<Action>,
    #[serde(default, deserialize_with = "optional_object")]
    pub resource: Option<Resource>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    // Read so that AuthZEN callers may send it; nothing depends on it.
    #[expect(dead_code)]
    pub context: Option<Unused>,
}

/// How a batch is run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationsSemantic {
    /// Every evaluation, every answer.
    #[default]
    ExecuteAll,
    /// Stop after the first deny (or error).
    DenyOnFirstDeny,
    /// Stop after the first permit.
    PermitOnFirstPermit,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationsOptions {
    #[serde(default)]
    pub evaluations_semantic: EvaluationsSemantic,
}

/// A batch of evaluations with shared defaults.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationsRequest {
    #[serde(default, deserialize_with = "optional_object")]
    pub subject: Option<Subject>,
    #[serde(default, deserialize_with = "optional_object")]
    pub action: Option<Action>,
    #[serde(default, deserialize_with = "optional_object")]
    pub resource: Option<Resource>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    // Read so that AuthZEN callers may send it; nothing depends on it.
    #[expect(dead_code)]
    pub context: Option<Unused>,
    #[serde(default, deserialize_with = "objects")]
    pub evaluations: Vec<EvaluationItem>,
    #[serde(default, deserialize_with = "optional_object")]
    pub options: Option<EvaluationsOptions>,
}

/// The answers of a batch, in request order (shorter when a semantic
/// stopped early).
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationsResponse<'a> {
    pub evaluations: Vec<EvaluationResponse<'a>>,
}

/// The answer of `POST /access/v1/evaluations`, for the OpenAPI document:
/// a batch's answers, or one evaluation's when the request held no
/// `evaluations`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[expect(dead_code)]
enum EvaluationsAnswer<'a> {
    Batch(EvaluationsResponse<'a>),
    One(EvaluationResponse<'a>),
}

/// Which actions (features) a tenant may use on a deployment.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionSearchRequest {
    #[serde(deserialize_with = "object")]
    pub subject: Subject,
    #[serde(deserialize_with = "object")]
    pub resource: Resource,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    // Read so that AuthZEN callers may send it; nothing depends on it.
    #[expect(dead_code)]
    pub context: Option<Unused>,
    /// Accepted; every result fits in one page.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    // Read so that AuthZEN callers may send it; nothing depends on it.
    #[expect(dead_code)]
    pub page: Option<Unused>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionResult<'a> {
    pub name: &'a str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page {
    /// Always empty: there is no next page.
    pub next_token: &'static str,
}

/// The decision behind an action search.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchContext<'a> {
    pub decision_id: String,
    pub catalog_version: &'a str,
    /// The mode decided for the tenant, or null.
    pub mode: Option<&'a str>,
    pub reasons: Vec<crate::wire::ReasonBody<'a>>,
    pub ttl_seconds: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionSearchResponse<'a> {
    pub results: Vec<ActionResult<'a>>,
    pub page: Page,
    pub context: SearchContext<'a>,
}

/// The PDP metadata of AuthZEN 1.0.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthzenConfiguration {
    pub policy_decision_point: String,
    pub access_evaluation_endpoint: String,
    pub access_evaluations_endpoint: String,
    pub search_action_endpoint: String,
}

/// Evaluate one access request: may this tenant use this feature?
///
/// `decision` is the route answer's `allow`; `context` is that answer
/// (mode, route, fallbacks, reasons with stable codes). A tenant id that
/// names no profile, sent without a `region` property, is a `false`
/// decision with reason `unknown_tenant`.
#[utoipa::path(post, path = "/access/v1/evaluation", tag = "authzen",
    request_body(content = EvaluationRequest,
        example = json!({"subject": {"type": "tenant", "id": "acme-eu"}, "action": {"name": "meeting_summary"}, "resource": {"type": "ai_deployment", "id": "assistant-gateway"}})),
    responses((status = 200, description = "The decision", body = EvaluationResponse), JsonProblems))]
pub async fn evaluation(
    State(state): State<AppState>,
    context: RequestContext,
    ValidJson(request): ValidJson<EvaluationRequest>,
) -> Result<Response, Problem> {
    let loaded = state.catalog();
    let answer = evaluate(
        &state,
        &context,
        &loaded,
        &request.subject,
        &request.action,
        &request.resource,
        "",
    )
    .map_err(Problem::invalid)?;
    Ok(([loaded.cache_control()], Json(answer)).into_response())
}

/// Evaluate many access requests.
///
/// Top-level `subject`, `action` and `resource` are defaults for the items
/// that omit them. `options.evaluations_semantic`: `execute_all` (the
/// default), `deny_on_first_deny` or `permit_on_first_permit`. An item that
/// cannot be evaluated is a `false` decision whose `context.error` is the
/// problem. Without `evaluations`, the request is one evaluation and the
/// answer has the single-evaluation shape.
#[utoipa::path(post, path = "/access/v1/evaluations", tag = "authzen",
    request_body(content = EvaluationsRequest,
        example = json!({"subject": {"type": "tenant", "id": "acme-eu"}, "resource": {"type": "ai_deployment", "id": "assistant-gateway"}, "evaluations": [{"action": {"name": "meeting_summary"}}, {"action": {"name": "web_search_answers"}}]})),
    responses((status = 200, description = "One decision per evaluation, in order; without `evaluations` in the request, the single-evaluation answer", body = EvaluationsAnswer), JsonProblems))]
pub async fn evaluations(
    State(state): State<AppState>,
    context: RequestContext,
    ValidJson(request): ValidJson<EvaluationsRequest>,
) -> Result<Response, Problem> {
    let loaded = state.catalog();
    let cache = loaded.cache_control();
    if request.evaluations.is_empty() {
        let missing =
            |name: &str| FieldError::new(format!("/{name}"), format!("`{name}` is required"));
        let (subject, action, resource) =
            match (&request.subject, &request.action, &request.resource) {
                (Some(s), Some(a), Some(r)) => (s, a, r),
                (s, a, r) => {
                    let errors = [
                        s.is_none().then(|| missing("subject")),
                        a.is_none().then(|| missing("action")),
                        r.is_none().then(|| missing("resource")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    return Err(Problem::invalid(errors));
                }
            };
        let answer = evaluate(&state, &context, &loaded, subject, action, resource, "")
            .map_err(Problem::invalid)?;
        return Ok(([cache], Json(answer)).into_response());
    }
    let bad_residencies = unknown_residencies(&request);
    if !bad_residencies.is_empty() {
        return Err(Problem::invalid(bad_residencies));
    }
    let max = state.settings().limits.max_batch;
    if request.evaluations.len() > max {
        return Err(Problem::invalid(vec![FieldError::new(
            "/evaluations",
            format!(
                "at most {max} evaluations per request, got {}",
                request.evaluations.len()
            ),
        )]));
    }
    let semantic = request
        .options
        .as_ref()
        .map(|o| o.evaluations_semantic)
        .unwrap_or_default();
    let mut answers = Vec::with_capacity(request.evaluations.len());
    for (i, item) in request.evaluations.iter().enumerate() {
        let prefix = format!("/evaluations/{i}");
        let subject = item.subject.as_ref().or(request.subject.as_ref());
        let action = item.action.as_ref().or(request.action.as_ref());
        let resource = item.resource.as_ref().or(request.resource.as_ref());
        let answer = match (subject, action, resource) {
            (Some(s), Some(a), Some(r)) => evaluate(&state, &context, &loaded, s, a, r, &prefix),
            (s, a, r) => Err([
                s.is_none().then_some("subject"),
                a.is_none().then_some("action"),
                r.is_none().then_some("resource"),
            ]
            .into_iter()
            .flatten()
            .map(|name| {
                FieldError::new(
                    format!("{prefix}/{name}"),
                    format!("`{name}` is required here or at the top level"),
                )
            })
            .collect()),
        };
        let answer = answer.unwrap_or_else(|errors| EvaluationResponse {
            decision: false,
            context: EvaluationContext::Error {
                error: Problem::invalid(errors).body(),
            },
        });
        let decision = answer.decision;
        answers.push(answer);
        // Each arm says whether this answer ends the batch.
        let stop = match semantic {
            // Every item is evaluated.
            EvaluationsSemantic::ExecuteAll => false,
            // A deny (or an error, which is a deny) short-circuits.
            EvaluationsSemantic::DenyOnFirstDeny => !decision,
            // A permit short-circuits.
            EvaluationsSemantic::PermitOnFirstPermit => decision,
        };
        if stop {
            break;
        }
    }
    Ok((
        [cache],
        Json(EvaluationsResponse {
            evaluations: answers,
        }),
    )
        .into_response())
}

/// The features (actions) a tenant may use on a deployment.
///
/// Every feature of the catalog is decided for the tenant at once; those
/// permitted are the results. An unknown tenant gets no results.
#[utoipa::path(post, path = "/access/v1/search/action", tag = "authzen",
    request_body(content = ActionSearchRequest,
        example = json!({"subject": {"type": "tenant", "id": "acme-eu"}, "resource": {"type": "ai_deployment", "id": "assistant-gateway"}})),
    responses((status = 200, description = "The permitted actions", body = ActionSearchResponse), JsonProblems))]
pub async fn search_action(
    State(state): State<AppState>,
    context: RequestContext,
    ValidJson(request): ValidJson<ActionSearchRequest>,
) -> Result<Response, Problem> {
    let loaded = state.catalog();
    let catalog = &loaded.catalog;
    let raw = tenant_of(&request.subject, &request.resource, "").map_err(Problem::invalid)?;
    let decision_id = state.next_decision_id();
    let unknown = UnknownTenants::with_setting(
        state.settings().authz.require_known_tenant,
        UnknownTenants::RefusedWithoutRegion,
    );
    if unknown.refuse(catalog, &raw) {
        // Same refusal as an evaluation: no fall-through to defaults.
        record_unknown_tenant(
            &state,
            &context,
            Endpoint::AuthZen,
            &loaded,
            Some(&request.subject.id),
            catalog.features.iter().map(|f| &f.id),
            &decision_id,
        );
        let body = ActionSearchResponse {
            results: Vec::new(),
            page: Page { next_token: "" },
            context: SearchContext {
                decision_id: decision_id.to_string(),
                catalog_version: &catalog.version,
                mode: None,
                reasons: vec![super::gateway::unknown_tenant(
                    catalog,
                    Some(&request.subject.id),
                )],
                ttl_seconds: catalog.ttl_seconds,
            },
        };
        return Ok(([loaded.cache_control()], Json(body)).into_response());
    }
    let tenant = resolve_tenant(catalog, &raw, "/subject/properties")
        .map_err(|e| Problem::invalid(subject_pointers(e)))?;
    let request = DecisionRequest {
        tenant: tenant.tenant,
        profile_applied: tenant.profile_applied,
        ignored: tenant.ignored,
        features: (0..catalog.features.len())
            .map(|i| crate::catalog::FeatureId(i as u16))
            .collect(),
        explain: false,
    };
    let decision = decide(catalog, &request);
    record_decision(
        &state,
        &context,
        Endpoint::AuthZen,
        &loaded,
        &decision,
        &decision_id,
    );
    let body = ActionSearchResponse {
        results: decision
            .features
            .iter()
            .filter(|f| f.permitted())
            .map(|f| ActionResult {
                name: &catalog.feature(f.feature).id,
            })
            .collect(),
        page: Page { next_token: "" },
        context: SearchContext {
            decision_id: decision_id.to_string(),
            catalog_version: &catalog.version,
            mode: decision.mode.map(|m| &*catalog.mode(m).id),
            reasons: decision
                .reasons
                .iter()
                .map(|r| crate::wire::ReasonBody::new(catalog, r))
                .collect(),
            ttl_seconds: catalog.ttl_seconds,
        },
    };
    Ok(([loaded.cache_control()], Json(body)).into_response())
}

/// The AuthZEN PDP metadata: where the endpoints are.
///
/// URLs start with `authz.public_url`, or with `http://` and the request's
/// `Host` when that setting is empty.
#[utoipa::path(get, path = "/.well-known/authzen-configuration", tag = "authzen", operation_id = "authzen_configuration",
    responses(
        (status = 200, description = "The PDP metadata", body = AuthzenConfiguration),
        (status = 400, description = "No usable `Host` header and no `authz.public_url`", content_type = "application/problem+json", body = ProblemBody),
    ))]
pub async fn configuration(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let configured = state.settings().authz.public_url.trim_end_matches('/');
    let base = if configured.is_empty() {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-request",
                    "Invalid request",
                    "send a valid `Host` header, or set `authz.public_url`",
                )
            })?;
        format!("http://{host}")
    } else {
        configured.to_owned()
    };
    let body = AuthzenConfiguration {
        access_evaluation_endpoint: format!("{base}/access/v1/evaluation"),
        access_evaluations_endpoint: format!("{base}/access/v1/evaluations"),
        search_action_endpoint: format!("{base}/access/v1/search/action"),
        policy_decision_point: base,
    };
    Ok(([state.catalog().cache_control()], Json(body)).into_response())
}

/// Residencies outside the four values, in the top-level subject and in
/// each evaluation's. The schema forbids them, so they fail the whole
/// request, as any other value the schema forbids does, where an id the
/// catalog does not know fails its own evaluation only.
fn unknown_residencies(request: &EvaluationsRequest) -> Vec<FieldError> {
    let subjects = std::iter::once((None, request.subject.as_ref())).chain(
        request
            .evaluations
            .iter()
            .enumerate()
            .map(|(i, item)| (Some(i), item.subject.as_ref())),
    );
    subjects
        .filter_map(|(item, subject)| {
            let residency = subject?.properties.as_ref()?.residency.as_ref()?;
            let pointer = || match item {
                None => "/subject/properties/residency".to_owned(),
                Some(i) => format!("/evaluations/{i}/subject/properties/residency"),
            };
            residency.known(pointer).err()
        })
        .collect()
}

/// One evaluation: the gateway decision for the subject's tenant and the
/// action's feature, with the resource's constraints applied.
fn evaluate<'c>(
    state: &AppState,
    context: &RequestContext,
    loaded: &'c LoadedCatalog,
    subject: &Subject,
    action: &Action,
    resource: &Resource,
    prefix: &str,
) -> Result<EvaluationResponse<'c>, Vec<FieldError>> {
    let catalog = &loaded.catalog;
    let raw = tenant_of(subject, resource, prefix)?;
    let answer = decide_for_gateway(
        catalog,
        &raw,
        &action.name,
        UnknownTenants::with_setting(
            state.settings().authz.require_known_tenant,
            UnknownTenants::RefusedWithoutRegion,
        ),
        (
            &format!("{prefix}/subject/properties"),
            &format!("{prefix}/action/name"),
        ),
    )
    .map_err(subject_pointers)?;
    let decision_id = state.next_decision_id();
    let body = answer.body(catalog, decision_id.to_string());
    match &answer {
        GatewayAnswer::Decided(decision) => record_decision(
            state,
            context,
            Endpoint::AuthZen,
            loaded,
            decision,
            &decision_id,
        ),
        GatewayAnswer::UnknownTenant { id, feature } => record_unknown_tenant(
            state,
            context,
            Endpoint::AuthZen,
            loaded,
            id.as_deref(),
            std::iter::once(*feature),
            &decision_id,
        ),
    }
    Ok(EvaluationResponse {
        decision: matches!(answer, GatewayAnswer::Decided(_)) && body.allow,
        context: EvaluationContext::Route(Box::new(body)),
    })
}

/// The tenant object of a subject, tightened by the resource's properties.
fn tenant_of(
    subject: &Subject,
    resource: &Resource,
    prefix: &str,
) -> Result<RawTenant, Vec<FieldError>> {
    let mut errors = Vec::new();
    if subject.kind != SUBJECT_TYPE {
        errors.push(FieldError::new(
            format!("{prefix}/subject/type"),
            format!(
                "unknown subject type `{}`; valid: `{SUBJECT_TYPE}`",
                Echo(&subject.kind)
            ),
        ));
    }
    if resource.kind != RESOURCE_TYPE {
        errors.push(FieldError::new(
            format!("{prefix}/resource/type"),
            format!(
                "unknown resource type `{}`; valid: `{RESOURCE_TYPE}`",
                Echo(&resource.kind)
            ),
        ));
    }
    if resource.id.trim().is_empty() {
        errors.push(FieldError::new(
            format!("{prefix}/resource/id"),
            "name the AI deployment",
        ));
    }
    let mut tenant = subject.properties.clone().unwrap_or_default();
    if tenant.id.is_some() {
        errors.push(FieldError::new(
            format!("{prefix}/subject/properties/id"),
            "the tenant id is the subject's `id`",
        ));
    }
    tenant.id = Some(subject.id.clone());
    let deployment = resource.properties.clone().unwrap_or_default();
    // The deployment's constraints only add to the tenant's: the stricter
    // residency, the common allowed providers, every denied provider. The
    // engine then applies the tenant profile, which they may only tighten.
    if let Some(residency) = deployment.residency {
        tenant.residency = Some(match tenant.residency {
            Some(ResidencyInput::Known(own)) => own.max(residency).into(),
            // Reported when the tenant is resolved.
            Some(unknown @ ResidencyInput::Unknown(_)) => unknown,
            None => residency.into(),
        });
    }
    if let Some(mode) = deployment.selected_mode {
        match &tenant.selected_mode {
            Some(own) if *own != mode => errors.push(FieldError::new(
                format!("{prefix}/resource/properties/selected_mode"),
                format!("mode `{mode}` conflicts with the subject's selected mode `{own}`"),
            )),
            _ => tenant.selected_mode = Some(mode),
        }
    }
    if let Some(allowed) = deployment.allowed_providers {
        tenant.allowed_providers = Some(match tenant.allowed_providers.take() {
            Some(own) => own.into_iter().filter(|p| allowed.contains(p)).collect(),
            None => allowed,
        });
    }
    if let Some(denied) = deployment.denied_providers {
        let mut all = tenant.denied_providers.take().unwrap_or_default();
        all.extend(
            denied
                .into_iter()
                .filter(|p| !all.contains(p))
                .collect::<Vec<_>>(),
        );
        tenant.denied_providers = Some(all);
    }
    if errors.is_empty() {
        Ok(tenant)
    } else {
        Err(errors)
    }
}

/// The engine names a bad tenant id `.../subject/properties/id`; in
/// AuthZEN it is the subject's `id`.
fn subject_pointers(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut e| {
            if let Some(head) = e.pointer.strip_suffix("/subject/properties/id") {
                e.pointer = format!("{head}/subject/id");
            }
            e
        })
        .collect()
}
