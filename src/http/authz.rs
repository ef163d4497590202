//! `/v1/authz` and `/v1/authz/{*rest}`: external authorisation for
//! gateways (nginx `auth_request`, Envoy `ext_authz`, Caddy `forward_auth`).
//!
//! Any method, any path below, no body: the tenant and the feature come
//! from headers. Allowed is a 200 whose headers carry the route; denied is
//! a 403 with `x-ai-deny-reason` and a JSON body of reasons. The decision is
//! the engine's, exactly as `POST /v1/route` makes it.

use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::GetAll;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::answer::serialised;
use super::error::Problem;
use super::front::RequestContext;
use super::gateway::{GatewayAnswer, decide_for_gateway, etag};
use super::observe::{Endpoint, record_decision};
use crate::catalog::format::{RawTenant, Residency};
use crate::catalog::{FieldError, Route, list_ids};
use crate::wire::{ProblemBody, RouteDecisionBody, route_json};

/// Request headers read by the authoriser.
pub mod request {
    use axum::http::HeaderName;

    pub const TENANT_ID: &str = "x-tenant-id";
    pub const TENANT_REGION: &str = "x-tenant-region";
    pub const TENANT_RESIDENCY: &str = "x-tenant-residency";
    pub const TENANT_MODE: &str = "x-tenant-mode";
    pub const TENANT_CLUSTER: &str = "x-tenant-cluster";
    pub const TENANT_ALLOWED_PROVIDERS: &str = "x-tenant-allowed-providers";
    pub const TENANT_DENIED_PROVIDERS: &str = "x-tenant-denied-providers";
    pub const TENANT_COMPLIANCE: &str = "x-tenant-compliance";
    pub const TENANT_ADD_ONS: &str = "x-tenant-add-ons";
    pub const FEATURE: &str = "x-ai-feature";
    /// The JSON pointer of [`FEATURE`] in problems.
    pub const FEATURE_POINTER: &str = "/headers/x-ai-feature";

    /// Every header that can change the answer: a cache in front of the
    /// authoriser must key on all of them.
    pub const ALL: [&str; 10] = [
        TENANT_ID,
        TENANT_REGION,
        TENANT_RESIDENCY,
        TENANT_MODE,
        TENANT_CLUSTER,
        TENANT_ALLOWED_PROVIDERS,
        TENANT_DENIED_PROVIDERS,
        TENANT_COMPLIANCE,
        TENANT_ADD_ONS,
        FEATURE,
    ];

    /// [`ALL`] as header names, in the same order, made at compile time.
    pub static HEADERS: [HeaderName; 10] = [
        HeaderName::from_static(TENANT_ID),
        HeaderName::from_static(TENANT_REGION),
        HeaderName::from_static(TENANT_RESIDENCY),
        HeaderName::from_static(TENANT_MODE),
        HeaderName::from_static(TENANT_CLUSTER),
        HeaderName::from_static(TENANT_ALLOWED_PROVIDERS),
        HeaderName::from_static(TENANT_DENIED_PROVIDERS),
        HeaderName::from_static(TENANT_COMPLIANCE),
        HeaderName::from_static(TENANT_ADD_ONS),
        HeaderName::from_static(FEATURE),
    ];
}

/// Response headers set by the authoriser.
pub mod response {
    pub const MODE: &str = "x-ai-mode";
    pub const PROVIDER: &str = "x-ai-provider";
    pub const MODEL: &str = "x-ai-model";
    pub const REGION: &str = "x-ai-region";
    pub const PLATFORM: &str = "x-ai-platform";
    pub const ENDPOINT: &str = "x-ai-endpoint";
    pub const PROVIDER_MODEL: &str = "x-ai-provider-model";
    pub const DECISION_ID: &str = "x-decision-id";
    pub const DENY_REASON: &str = "x-ai-deny-reason";
    /// Envoy removes the request headers named here before forwarding.
    pub const HEADERS_TO_REMOVE: &str = "x-envoy-auth-headers-to-remove";
    /// nginx takes its cache lifetime from this header.
    pub const ACCEL_EXPIRES: &str = "x-accel-expires";

    /// The routing headers an allowed answer may set (the fallback chain
    /// header, whose name is a setting, comes on top).
    pub const ROUTING: [&str; 8] = [
        MODE,
        PROVIDER,
        MODEL,
        REGION,
        PLATFORM,
        ENDPOINT,
        PROVIDER_MODEL,
        DECISION_ID,
    ];
}

/// The axum route of the paths below `/v1/authz`.
pub const CATCH_ALL_ROUTE: &str = "/v1/authz/{*rest}";

/// Reason code of a request whose headers are missing or invalid.
pub const INVALID_REQUEST: &str = "invalid_request";

/// Answers of the authoriser (for the OpenAPI document only).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum AuthzResponses<'a> {
    /// Allowed. The route is in the headers `x-ai-mode`, `x-ai-provider`,
    /// `x-ai-model`, `x-ai-region`, `x-decision-id`, the fallback chain
    /// header (`x-ai-fallback-chain` unless configured otherwise), and,
    /// when the route has them, `x-ai-platform`, `x-ai-endpoint` and
    /// `x-ai-provider-model`; `x-envoy-auth-headers-to-remove` names the
    /// routing headers not set, so a client cannot set them itself.
    #[response(status = 200)]
    Allowed(#[to_schema] RouteDecisionBody<'a>),
    /// Denied, with the stable reason code in `x-ai-deny-reason`
    /// (`unknown_tenant` for a tenant id that names no profile) and
    /// `x-decision-id`.
    #[response(status = 403)]
    Denied(#[to_schema] RouteDecisionBody<'a>),
    /// Missing or invalid headers (403 instead when `authz.invalid_status`
    /// is 403, for nginx).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(ProblemBody),
}

/// Authorise a gateway request (the path below `/v1/authz` is ignored).
///
/// Reads the tenant from `x-tenant-id`, `x-tenant-region`,
/// `x-tenant-residency`, `x-tenant-mode`, `x-tenant-cluster`,
/// `x-tenant-allowed-providers`, `x-tenant-denied-providers`,
/// `x-tenant-compliance` and `x-tenant-add-ons` (lists are comma-separated), and the feature from
/// `x-ai-feature`. A tenant id that names a catalog profile starts from the
/// profile, which headers may only tighten; an id that names none is refused
/// (`unknown_tenant`) unless a region is sent too.
#[utoipa::path(
    method(get, post, put, delete, patch, head, options),
    path = "/v1/authz",
    tag = "gateways",
    params(AuthzHeaders,),
    responses(AuthzResponses)
)]
pub async fn authorise(
    State(state): State<AppState>,
    context: RequestContext,
    request: Request,
) -> Response {
    answer(&state, &context, request.headers())
}

/// Authorise a gateway request; the path after `/v1/authz/` (Envoy's
/// original path) is ignored.
#[utoipa::path(method(get, post, put, delete, patch, head, options), path = "/v1/authz/{*rest}", tag = "gateways",
    params(
        ("rest" = String, Path, description = "The original request path, ignored"),
        AuthzHeaders,
    ),
    responses(AuthzResponses))]
pub async fn authorise_path(
    State(state): State<AppState>,
    context: RequestContext,
    request: Request,
) -> Response {
    answer(&state, &context, request.headers())
}

/// The headers a gateway sends, for the OpenAPI document (they are read by
/// `read_headers`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header, rename_all = "kebab-case")]
#[allow(dead_code)]
struct AuthzHeaders {
    /// Tenant id; a catalog profile when it names one.
    x_tenant_id: Option<String>,
    /// Provisioned region; required unless `x-tenant-id` names a profile.
    x_tenant_region: Option<String>,
    /// `none`, `preferred`, `strict` or `trust_boundary`.
    x_tenant_residency: Option<String>,
    /// The tenant's selected mode.
    x_tenant_mode: Option<String>,
    /// `global` or `local`.
    x_tenant_cluster: Option<String>,
    /// Comma-separated provider ids.
    x_tenant_allowed_providers: Option<String>,
    /// Comma-separated provider ids.
    x_tenant_denied_providers: Option<String>,
    /// Comma-separated compliance regime ids.
    x_tenant_compliance: Option<String>,
    /// Comma-separated add-on ids.
    x_tenant_add_ons: Option<String>,
    /// The feature the request is for.
    x_ai_feature: String,
}

/// The tenant and feature read from headers, normalised (also the input of
/// the entity tag).
#[derive(Serialize, Hash)]
struct HeaderRequest {
    tenant: RawTenant,
    feature: String,
}

fn answer(state: &AppState, context: &RequestContext, headers: &HeaderMap) -> Response {
    let settings = &state.settings().authz;
    let request = match read_headers(headers, settings.max_header_bytes) {
        Ok(request) => request,
        Err(errors) => return invalid(state, errors),
    };
    let loaded = state.catalog();
    let catalog = &loaded.catalog;
    let answer = match decide_for_gateway(
        catalog,
        &request.tenant,
        &request.feature,
        settings.require_known_tenant,
        ("/headers", request::FEATURE_POINTER),
    ) {
        Ok(answer) => answer,
        Err(errors) => return invalid(state, header_pointers(errors)),
    };
    let decision_id = state.next_decision_id();
    // The answer's body, and for a decision its mode and usable routes:
    // the first is the route, the others its fallbacks.
    let (json, mode, mut routes) = match &answer {
        GatewayAnswer::Decided(decision) => {
            record_decision(
                state,
                context,
                Endpoint::Authz,
                catalog,
                decision,
                &decision_id,
            );
            let routes = decision.features.first().map(|f| f.usable_routes());
            (
                route_json(catalog, decision, &decision_id),
                decision.mode,
                routes,
            )
        }
        GatewayAnswer::UnknownTenant { .. } => {
            match serialised(&answer.body(catalog, decision_id.to_string())) {
                Ok(json) => (json, None, None),
                Err(problem) => return problem.into_response(),
            }
        }
    };
    let deny = answer.deny_reason();
    let allowed_route = match deny {
        None => routes.as_mut().and_then(Iterator::next),
        Some(_) => None,
    };
    let mut response = Response::new(Body::from(json));
    if allowed_route.is_none() {
        *response.status_mut() = StatusCode::FORBIDDEN;
    }
    let out = response.headers_mut();
    out.reserve(16);
    let (name, value) = loaded.cache_control();
    out.insert(name, value);
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out.insert(
        const { HeaderName::from_static(response::ACCEL_EXPIRES) },
        loaded.ttl(),
    );
    if let Some(tag) = etag(catalog, &request) {
        out.insert(header::ETAG, tag);
    }
    if let Ok(value) = HeaderValue::from_str(&decision_id) {
        out.insert(
            const { HeaderName::from_static(response::DECISION_ID) },
            value,
        );
    }
    let Some(route) = allowed_route else {
        out.insert(
            const { HeaderName::from_static(response::DENY_REASON) },
            HeaderValue::from_static(deny.unwrap_or("no_route")),
        );
        return response;
    };
    // The route's values were made with the catalog; only the fallback
    // chain is put together here, and only when it has two providers.
    let headers = &route.headers;
    let values = [
        mode.and_then(|m| loaded.mode_id(m)),
        headers.provider.clone(),
        headers.model.clone(),
        headers.region.clone(),
        headers.platform.clone(),
        headers.endpoint.clone(),
        headers.provider_model.clone(),
    ];
    let mut unset = 0;
    for (i, (name, value)) in ROUTED.iter().zip(values).enumerate() {
        match value {
            Some(value) => {
                out.insert(name.clone(), value);
            }
            None => unset |= 1 << i,
        }
    }
    let mut fallbacks = routes.into_iter().flatten();
    let chain = match (fallbacks.next(), fallbacks.next()) {
        (None, _) => Some(HeaderValue::from_static("")),
        (Some(only), None) => only.headers.provider.clone(),
        (Some(first), Some(second)) => {
            let provider = |r: &Route| &*catalog.provider(r.provider).id;
            let mut chain = String::from(provider(first));
            for fallback in std::iter::once(second).chain(fallbacks) {
                chain.push(',');
                chain.push_str(provider(fallback));
            }
            HeaderValue::from_str(&chain).ok()
        }
    };
    if let Some(chain) = chain {
        out.insert(state.fallback_header().clone(), chain);
    }
    if let Some(names) = headers_to_remove(unset) {
        out.insert(
            const { HeaderName::from_static(response::HEADERS_TO_REMOVE) },
            names,
        );
    }
    response
}

/// The routing headers an allowed answer sets from the route, in the order
/// of [`response::ROUTING`] (the decision id, always set, is last there).
static ROUTED: [HeaderName; 7] = [
    HeaderName::from_static(response::MODE),
    HeaderName::from_static(response::PROVIDER),
    HeaderName::from_static(response::MODEL),
    HeaderName::from_static(response::REGION),
    HeaderName::from_static(response::PLATFORM),
    HeaderName::from_static(response::ENDPOINT),
    HeaderName::from_static(response::PROVIDER_MODEL),
];

/// The value of `x-envoy-auth-headers-to-remove` when the routing headers
/// in `unset` (bit `i` for `ROUTED[i]`) are not set; none when all are.
/// Every combination is written once, on first use.
fn headers_to_remove(unset: usize) -> Option<HeaderValue> {
    static VALUES: LazyLock<Vec<Option<HeaderValue>>> = LazyLock::new(|| {
        (0..1usize << ROUTED.len())
            .map(|unset| {
                let names: Vec<&str> = ROUTED
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| unset & (1 << i) != 0)
                    .map(|(_, name)| name.as_str())
                    .collect();
                (!names.is_empty())
                    .then(|| HeaderValue::from_str(&names.join(",")).ok())
                    .flatten()
            })
            .collect()
    });
    VALUES.get(unset).cloned().flatten()
}

/// A problem for bad headers, with the configured status (nginx turns a
/// 400 from its auth subrequest into a 500, so it may be set to 403).
fn invalid(state: &AppState, errors: Vec<FieldError>) -> Response {
    let mut problem = Problem::invalid(errors);
    if state.settings().authz.invalid_status == 403 {
        problem.status = StatusCode::FORBIDDEN;
    }
    let mut response = problem.into_response();
    response.headers_mut().insert(
        const { HeaderName::from_static(response::DENY_REASON) },
        HeaderValue::from_static(INVALID_REQUEST),
    );
    response
}

/// Engine pointers (`/headers/region`) renamed to the header they came from.
fn header_pointers(errors: Vec<FieldError>) -> Vec<FieldError> {
    let rename = |field: &str| match field {
        "id" => request::TENANT_ID,
        "region" => request::TENANT_REGION,
        "residency" => request::TENANT_RESIDENCY,
        "selected_mode" => request::TENANT_MODE,
        "data_cluster" => request::TENANT_CLUSTER,
        "allowed_providers" => request::TENANT_ALLOWED_PROVIDERS,
        "denied_providers" => request::TENANT_DENIED_PROVIDERS,
        "compliance" => request::TENANT_COMPLIANCE,
        "add_ons" => request::TENANT_ADD_ONS,
        _ => "",
    };
    errors
        .into_iter()
        .map(|mut e| {
            if let Some(rest) = e.pointer.strip_prefix("/headers/") {
                let mut parts = rest.splitn(2, '/');
                let field = parts.next().unwrap_or("");
                let name = rename(field);
                if !name.is_empty() {
                    // A list entry keeps its index: `/headers/x-tenant-compliance/1`.
                    e.pointer = match parts.next() {
                        Some(index) => format!("/headers/{name}/{index}"),
                        None => format!("/headers/{name}"),
                    };
                }
            }
            e
        })
        .collect()
}

/// Reads and shape-checks the headers: each at most once, valid UTF-8,
/// not empty, not over `max_bytes`.
fn read_headers(headers: &HeaderMap, max_bytes: usize) -> Result<HeaderRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    // Each header looked up once; the closure below checks its values.
    let found = request::HEADERS
        .each_ref()
        .map(|name| (name, headers.get_all(name)));
    let sent = |header: &str| {
        found
            .iter()
            .any(|(name, values)| *name == header && values.iter().next().is_some())
    };
    let feature_sent = sent(request::FEATURE);
    let tenant_sent = sent(request::TENANT_ID) || sent(request::TENANT_REGION);
    let mut get = |(name, values): &(&HeaderName, GetAll<'_, HeaderValue>)| -> Option<String> {
        // Written out only for an error.
        let pointer = || format!("/headers/{name}");
        let mut values = values.iter();
        let value = values.next()?;
        if values.next().is_some() {
            errors.push(FieldError::new(pointer(), "send this header once"));
            return None;
        }
        if value.len() > max_bytes {
            errors.push(FieldError::new(
                pointer(),
                format!("longer than {max_bytes} bytes"),
            ));
            return None;
        }
        match std::str::from_utf8(value.as_bytes()) {
            Err(_) => {
                errors.push(FieldError::new(pointer(), "not valid UTF-8"));
                None
            }
            Ok(text) if text.trim().is_empty() => {
                errors.push(FieldError::new(pointer(), "must not be empty"));
                None
            }
            Ok(text) => Some(text.trim().to_owned()),
        }
    };
    let [
        id,
        region,
        residency,
        selected_mode,
        data_cluster,
        allowed,
        denied,
        compliance,
        add_ons,
        feature,
    ] = found.each_ref().map(&mut get);
    let residency = residency.and_then(|value| {
        let found = Residency::ALL.into_iter().find(|r| r.as_str() == value);
        if found.is_none() {
            errors.push(FieldError::new(
                format!("/headers/{}", request::TENANT_RESIDENCY),
                format!(
                    "unknown residency `{value}`; valid: {}",
                    list_ids(Residency::ALL.iter().map(|r| r.as_str()))
                ),
            ));
        }
        found
    });
    let mut list = |name: &'static str, value: Option<String>| {
        let value = value?;
        let items: Vec<String> = value.split(',').map(|s| s.trim().to_owned()).collect();
        if items.iter().any(String::is_empty) {
            errors.push(FieldError::new(
                format!("/headers/{name}"),
                "a comma-separated list of ids, without empty entries",
            ));
            return None;
        }
        Some(items)
    };
    let allowed_providers = list(request::TENANT_ALLOWED_PROVIDERS, allowed);
    let denied_providers = list(request::TENANT_DENIED_PROVIDERS, denied);
    let compliance = list(request::TENANT_COMPLIANCE, compliance);
    let add_ons = list(request::TENANT_ADD_ONS, add_ons);
    if !feature_sent {
        errors.push(FieldError::new(
            format!("/headers/{}", request::FEATURE),
            "the feature header is required",
        ));
    }
    if !tenant_sent {
        errors.push(FieldError::new(
            format!("/headers/{}", request::TENANT_ID),
            format!(
                "send `{}` naming a tenant profile, or `{}`",
                request::TENANT_ID,
                request::TENANT_REGION
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(HeaderRequest {
        tenant: RawTenant {
            id,
            region,
            data_cluster,
            residency,
            selected_mode,
            allowed_providers,
            denied_providers,
            compliance,
            add_ons,
            ..RawTenant::default()
        },
        feature: feature.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_to_remove_names_exactly_the_unset_routing_headers_in_order() {
        assert_eq!(headers_to_remove(0), None);
        for unset in 1..1usize << ROUTED.len() {
            let expected: Vec<&str> = response::ROUTING
                .iter()
                .enumerate()
                .filter(|(i, _)| unset & (1 << i) != 0)
                .map(|(_, name)| *name)
                .collect();
            let value = headers_to_remove(unset).expect("some header is unset");
            assert_eq!(
                value.to_str().unwrap(),
                expected.join(","),
                "unset {unset:#b}"
            );
        }
        let all = headers_to_remove((1 << ROUTED.len()) - 1).unwrap();
        assert!(!all.to_str().unwrap().contains(response::DECISION_ID));
    }

    #[test]
    fn routed_headers_follow_the_routing_list() {
        let names: Vec<&str> = ROUTED.iter().map(HeaderName::as_str).collect();
        assert_eq!(names, response::ROUTING[..ROUTED.len()]);
        assert_eq!(response::ROUTING[ROUTED.len()..], [response::DECISION_ID]);
    }
}
