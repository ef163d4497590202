//! `/v1/authz` and `/v1/authz/{*rest}`: external authorisation for
//! gateways (nginx `auth_request`, Envoy `ext_authz`, Caddy `forward_auth`).
//!
//! Any method, any path below, no body: the tenant and the feature come
//! from headers. Allowed is a 200 whose headers carry the route; denied is
//! a 403 with `x-ai-deny-reason` and a JSON body of reasons. The decision is
//! the engine's, exactly as `POST /v1/route` makes it.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::answer::serialised;
use super::error::Problem;
use super::front::RequestContext;
use super::gateway::{GatewayAnswer, UnknownTenants, decide_for_gateway, etag};
use super::observe::{Endpoint, record_decision, record_unknown_tenant};
use crate::catalog::format::{RawTenant, ResidencyInput};
use crate::catalog::{Catalog, FieldError, Route};
use crate::wire::{ProblemBody, RouteDecisionBody, route_json};

/// Request headers read by the authoriser.
pub mod request {
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

/// `/v1/authz/` itself, which the catch-all does not match: the path Envoy
/// sends for an original path of `/` under a `/v1/authz` prefix.
pub const SLASH_ROUTE: &str = "/v1/authz/";

/// Reason code of a request whose headers are missing or invalid.
pub const INVALID_REQUEST: &str = "invalid_request";

/// Answers of the authoriser (for the OpenAPI document only).
#[derive(utoipa::IntoResponses)]
pub enum AuthzResponses<'a> {
    /// Allowed. The route is in the headers `x-ai-mode`, `x-ai-provider`,
    /// `x-ai-model`, `x-ai-region`, `x-decision-id`, the fallback chain
    /// header (`x-ai-fallback-chain` unless configured otherwise), and,
    /// when the route has them, `x-ai-platform`, `x-ai-endpoint` and
    /// `x-ai-provider-model`; `x-envoy-auth-headers-to-remove` names the
    /// routing headers not set, so a client cannot set them itself.
    #[response(status = 200, headers(
        ("x-ai-mode" = String, description = "The mode decided"),
        ("x-ai-provider" = String, description = "The provider to send the request to"),
        ("x-ai-model" = String, description = "The model to ask for"),
        ("x-ai-region" = String, description = "Where the provider processes the request: a region code, or `global`"),
        ("x-decision-id" = String, description = "The decision's id, as logged"),
        ("x-ai-fallback-chain" = String, description = "The fallback providers in order, comma-separated, empty when there are none (the name is the setting `authz.fallback_header`)"),
        ("x-ai-platform" = String, description = "The platform the provider is reached on (such as `amazon_bedrock`), when the route has one"),
        ("x-ai-endpoint" = String, description = "The endpoint to call, when the route names one"),
        ("x-ai-provider-model" = String, description = "The provider's own model id, when the route names one"),
        ("x-envoy-auth-headers-to-remove" = String, description = "The routing headers this answer did not set, for Envoy to strip from the forwarded request"),
        ("Cache-Control" = String, description = "`private, max-age=` the catalog's `ttl_seconds`: how long the answer may be cached"),
        ("x-accel-expires" = String, description = "The same lifetime in seconds, for nginx's `auth_request` cache"),
        ("ETag" = String, description = "Weak entity tag of the answer: the catalog version and a hash of the request's tenant and feature headers"),
    ))]
    Allowed(#[to_schema] RouteDecisionBody<'a>),
    /// Denied, with the stable reason code in `x-ai-deny-reason`
    /// (`unknown_tenant` for a tenant id that names no profile, when
    /// `authz.require_known_tenant` is set) and `x-decision-id`.
    #[response(status = 403, headers(
        ("x-ai-deny-reason" = String, description = "The stable code of the deny: the feature's refusal (such as `feature_not_in_mode`), or why no mode was decided (`no_eligible_mode`, `selected_mode_not_eligible`), or `unknown_tenant`"),
        ("x-decision-id" = String, description = "The decision's id, as logged"),
        ("Cache-Control" = String, description = "`private, max-age=` the catalog's `ttl_seconds`: how long the answer may be cached"),
        ("x-accel-expires" = String, description = "The same lifetime in seconds, for nginx's `auth_request` cache"),
        ("ETag" = String, description = "Weak entity tag of the answer: the catalog version and a hash of the request's tenant and feature headers"),
    ))]
    Denied(#[to_schema] RouteDecisionBody<'a>),
    /// Missing or invalid headers (403 instead when `authz.invalid_status`
    /// is 403, for nginx).
    #[response(status = 400, content_type = "application/problem+json", headers(
        ("x-ai-deny-reason" = String, description = "`invalid_request`"),
    ))]
    BadRequest(ProblemBody),
}

/// Authorise a gateway request (the path below `/v1/authz` is ignored).
///
/// Reads the tenant from `x-tenant-id`, `x-tenant-region`,
/// `x-tenant-residency`, `x-tenant-mode`, `x-tenant-cluster`,
/// `x-tenant-allowed-providers`, `x-tenant-denied-providers`,
/// `x-tenant-compliance` and `x-tenant-add-ons` (lists are comma-separated), and the feature from
/// `x-ai-feature`. A tenant id that names a catalog profile starts from the
/// profile, which headers may only tighten; an id that names none is an
/// ad-hoc tenant, which needs `x-tenant-region` (400 without it), or is
/// refused (`unknown_tenant`) when `authz.require_known_tenant` is set.
/// Every method listed here is answered alike (`HEAD` without a body);
/// extension methods such as `PURGE` are not allowed (405).
#[utoipa::path(
    method(get, post, put, delete, patch, head, options, trace),
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

/// Authorise a gateway request sent to `/v1/authz/`, as `/v1/authz` does.
///
/// Envoy sends this path for an original path of `/`.
#[utoipa::path(
    method(get, post, put, delete, patch, head, options, trace),
    path = "/v1/authz/",
    tag = "gateways",
    params(AuthzHeaders,),
    responses(AuthzResponses)
)]
pub async fn authorise_slash(
    State(state): State<AppState>,
    context: RequestContext,
    request: Request,
) -> Response {
    answer(&state, &context, request.headers())
}

/// Authorise a gateway request; the path after `/v1/authz/` is ignored.
///
/// Envoy appends the original request path, which may hold further `/`:
/// every path under `/v1/authz/` is answered, though an OpenAPI path
/// template matches one segment only.
#[utoipa::path(method(get, post, put, delete, patch, head, options, trace), path = "/v1/authz/{*rest}", tag = "gateways",
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
#[expect(dead_code)]
struct AuthzHeaders {
    /// Tenant id; a catalog profile when it names one.
    x_tenant_id: Option<String>,
    /// Provisioned region; required unless `x-tenant-id` names a profile.
    x_tenant_region: Option<String>,
    /// `none`, `preferred`, `strict` or `trust_boundary`.
    #[param(value_type = Option<crate::catalog::format::Residency>)]
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

/// The authoriser's answer to a gateway request's headers.
pub fn answer(state: &AppState, context: &RequestContext, headers: &HeaderMap) -> Response {
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
        UnknownTenants::with_setting(settings.require_known_tenant, UnknownTenants::AdHoc),
        ("/headers", request::FEATURE_POINTER),
    ) {
        Ok(answer) => answer,
        Err(errors) => return invalid(state, header_pointers(errors)),
    };
    let decision_id = state.next_decision_id();
    // The answer's body, and for a decision its mode and usable routes:
    // the first is the route, the others its fallbacks.
    let (json, mut routes) = match &answer {
        GatewayAnswer::Decided(decision) => {
            record_decision(
                state,
                context,
                Endpoint::Authz,
                &loaded,
                decision,
                &decision_id,
            );
            let routes = decision.features.first().map(|f| f.usable_routes());
            (route_json(catalog, decision, &decision_id), routes)
        }
        GatewayAnswer::UnknownTenant { id, feature } => {
            record_unknown_tenant(
                state,
                context,
                Endpoint::Authz,
                &loaded,
                id.as_deref(),
                std::iter::once(*feature),
                &decision_id,
            );
            match serialised(&answer.body(catalog, decision_id.to_string())) {
                Ok(json) => (json, None),
                Err(problem) => return problem.into_response(),
            }
        }
    };
    let deny = answer.deny_reason();
    let allowed_route = match deny {
        None => routes.as_mut().and_then(Iterator::next),
        Some(_) => None,
    };
    let heads = loaded.gateway_heads();
    // The catalog's and the route's headers come made; the entity tag, the
    // decision id and the fallback chain are added per request.
    let mut response = Response::new(Body::from(json));
    *response.headers_mut() = match allowed_route {
        Some(route) => match heads.allowed(route) {
            Some(head) => head.clone(),
            None => {
                return Problem::internal(format_args!(
                    "no gateway headers for route {} of the catalog in force",
                    route.position
                ))
                .into_response();
            }
        },
        None => {
            *response.status_mut() = StatusCode::FORBIDDEN;
            heads.denied.clone()
        }
    };
    let out = response.headers_mut();
    if let Some(tag) = etag(catalog, &request) {
        out.insert(header::ETAG, tag);
    }
    if let Ok(value) = HeaderValue::from_str(&decision_id) {
        out.insert(
            const { HeaderName::from_static(response::DECISION_ID) },
            value,
        );
    }
    if allowed_route.is_none() {
        out.insert(
            const { HeaderName::from_static(response::DENY_REASON) },
            HeaderValue::from_static(deny.unwrap_or("no_route")),
        );
        return response;
    }
    // Joined only when the chain has two providers or more.
    let mut fallbacks = routes.into_iter().flatten();
    let chain = match (fallbacks.next(), fallbacks.next()) {
        (None, _) => Some(HeaderValue::from_static("")),
        (Some(only), None) => heads.provider(only),
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
    response
}

/// The headers of the authoriser's answers that depend on the catalog
/// alone, made when it is loaded: cloning a finished header map costs a
/// fraction of inserting a dozen headers one by one, each name hashed.
/// A value holding a control character cannot be sent, and is left out.
#[derive(Debug)]
pub struct Heads {
    /// A denial's: the content type and the cache lifetime
    /// (`cache-control`, `x-accel-expires`).
    denied: HeaderMap,
    /// An allowed answer's, by [`Route::position`]: a denial's, the route's
    /// routing headers and its mode, and `x-envoy-auth-headers-to-remove`
    /// naming the routing headers it leaves unset.
    allowed: Box<[HeaderMap]>,
    /// Each provider's id, by provider index (fallback chains of one).
    providers: Box<[Option<HeaderValue>]>,
}

impl Heads {
    pub fn new(catalog: &Catalog, cache_control: &HeaderValue) -> Heads {
        let value = |text: &str| HeaderValue::from_str(text).ok();
        let mut denied = HeaderMap::with_capacity(16);
        denied.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        denied.insert(header::CACHE_CONTROL, cache_control.clone());
        denied.insert(
            const { HeaderName::from_static(response::ACCEL_EXPIRES) },
            HeaderValue::from(catalog.ttl_seconds),
        );
        let providers: Box<[_]> = catalog.providers.iter().map(|p| value(&p.id)).collect();
        let allowed = catalog
            .all_routes()
            .map(|route| {
                let mut head = denied.clone();
                let values = [
                    value(&catalog.mode(route.mode).id),
                    providers[route.provider.index()].clone(),
                    value(&route.model),
                    value(&route.processing_region),
                    route.platform.as_deref().and_then(value),
                    route.endpoint.as_deref().and_then(value),
                    route.provider_model.as_deref().and_then(value),
                ];
                let mut unset = Vec::new();
                for (name, value) in ROUTED.iter().zip(values) {
                    match value {
                        Some(value) => {
                            head.insert(name.clone(), value);
                        }
                        None => unset.push(name.as_str()),
                    }
                }
                if !unset.is_empty()
                    && let Ok(names) = HeaderValue::from_str(&unset.join(","))
                {
                    head.insert(
                        const { HeaderName::from_static(response::HEADERS_TO_REMOVE) },
                        names,
                    );
                }
                head
            })
            .collect();
        Heads {
            denied,
            allowed,
            providers,
        }
    }

    /// An allowed answer's headers for `route` (none only for a route of
    /// another catalog).
    fn allowed(&self, route: &Route) -> Option<&HeaderMap> {
        self.allowed.get(route.position as usize)
    }

    /// `route`'s provider id as a header value.
    fn provider(&self, route: &Route) -> Option<HeaderValue> {
        self.providers
            .get(route.provider.index())
            .cloned()
            .flatten()
    }
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
    // One pass over the request's headers, each name matched against the
    // ten read here: cheaper than ten map lookups, each hashing a name of
    // up to 26 bytes. Per header: its first value, and whether it came
    // again.
    let mut found: [(Option<&HeaderValue>, bool); 10] = [(None, false); 10];
    for (name, value) in headers {
        if let Some(i) = request::ALL.iter().position(|read| *read == name.as_str()) {
            match &mut found[i] {
                (first @ None, _) => *first = Some(value),
                (Some(_), again) => *again = true,
            }
        }
    }
    let sent = |(value, _): &(Option<&HeaderValue>, bool)| value.is_some();
    let [id, region, .., feature] = &found;
    let feature_sent = sent(feature);
    let tenant_sent = sent(id) || sent(region);
    let mut get =
        |(name, (value, again)): (&str, &(Option<&HeaderValue>, bool))| -> Option<String> {
            // Written out only for an error.
            let pointer = || format!("/headers/{name}");
            let value = (*value)?;
            if *again {
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
    ] = std::array::from_fn(|i| get((request::ALL[i], &found[i])));
    let residency = residency.and_then(|value| {
        ResidencyInput::from(value.as_str())
            .known(|| format!("/headers/{}", request::TENANT_RESIDENCY))
            .map_err(|error| errors.push(error))
            .ok()
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
            residency: residency.map(Into::into),
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
    fn every_route_has_its_own_allowed_head() {
        let catalog = Catalog::builtin().unwrap();
        let heads = Heads::new(&catalog, &HeaderValue::from_static("private, max-age=300"));
        let text =
            |head: &HeaderMap, name: &str| head.get(name).map(|v| v.to_str().unwrap().to_owned());
        let mut count = 0;
        for route in catalog.all_routes() {
            let head = heads.allowed(route).unwrap();
            let expected = [
                Some(&*catalog.mode(route.mode).id),
                Some(&*catalog.provider(route.provider).id),
                Some(&*route.model),
                Some(&*route.processing_region),
                route.platform.as_deref(),
                route.endpoint.as_deref(),
                route.provider_model.as_deref(),
            ];
            let mut unset = Vec::new();
            for (name, value) in response::ROUTING.iter().zip(expected) {
                assert_eq!(text(head, name).as_deref(), value, "{name} of {route:?}");
                if value.is_none() {
                    unset.push(*name);
                }
            }
            let to_remove = text(head, response::HEADERS_TO_REMOVE);
            assert_eq!(to_remove, (!unset.is_empty()).then(|| unset.join(",")));
            for (name, value) in &heads.denied {
                assert_eq!(head.get(name), Some(value));
            }
            assert_eq!(
                head.len(),
                heads.denied.len() + 7 - unset.len() + usize::from(!unset.is_empty())
            );
            count += 1;
        }
        assert!(count > 10, "the shipped catalog has routes");
        assert_eq!(
            text(&heads.denied, response::ACCEL_EXPIRES).as_deref(),
            Some(&*catalog.ttl_seconds.to_string())
        );
        assert_eq!(
            text(&heads.denied, "cache-control").as_deref(),
            Some("private, max-age=300")
        );
        assert_eq!(
            text(&heads.denied, "content-type").as_deref(),
            Some("application/json")
        );
    }

    #[test]
    fn routed_headers_follow_the_routing_list() {
        let names: Vec<&str> = ROUTED.iter().map(HeaderName::as_str).collect();
        assert_eq!(names, response::ROUTING[..ROUTED.len()]);
        assert_eq!(response::ROUTING[ROUTED.len()..], [response::DECISION_ID]);
    }
}
