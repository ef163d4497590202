//! What the gateway-facing endpoints (`/v1/authz/...` and AuthZEN) share:
//! a tenant resolved with the unknown-tenant rule, one feature decided
//! exactly as `POST /v1/route` decides it, the stable deny reason, and the
//! cache validator of an answer.
//!
//! Holds no rule of the decision itself: tenants and features are resolved
//! and decided by the engine.

use std::hash::{Hash, Hasher};

use axum::body::Bytes;
use axum::http::HeaderValue;
use rustc_hash::FxHasher;

use crate::catalog::format::RawTenant;
use crate::catalog::{Catalog, FieldError, Id};
use crate::engine::{Decision, Reason, decide, resolve_feature, resolve_route_request};
use crate::wire::{ReasonBody, RouteDecisionBody, hex};

/// Reason code of a refusal because the tenant id names no catalog profile.
pub const UNKNOWN_TENANT: &str = "unknown_tenant";

/// The reason of a refusal because tenant `id` names no catalog profile,
/// or, with no id at all, because only profiles are served.
pub fn unknown_tenant<'a>(catalog: &Catalog, id: Option<&str>) -> ReasonBody<'a> {
    let message = match id {
        Some(id) => format!(
            "tenant `{id}` is not a tenant profile of catalog `{}`",
            catalog.version
        ),
        None => format!(
            "no tenant id was sent, and only the tenant profiles of catalog `{}` are served",
            catalog.version
        ),
    };
    ReasonBody::text(UNKNOWN_TENANT, message)
}

/// A gateway's question, answered.
pub enum GatewayAnswer<'c> {
    /// The engine decided (allow or deny).
    Decided(Box<Decision<'c>>),
    /// The tenant id names no profile (or, when only profiles are served,
    /// there is none) and the request may not stand alone.
    UnknownTenant { id: Option<String>, feature: &'c Id },
}

/// What a gateway endpoint does with a tenant id that names no profile.
/// Such a tenant is never decided from defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownTenants {
    /// Refused (`unknown_tenant`), region or not, and so is a request
    /// without a tenant id: the setting `authz.require_known_tenant`.
    Refused,
    /// Refused without a region; with one, decided as an ad-hoc tenant
    /// (AuthZEN, whose answers are decisions).
    RefusedWithoutRegion,
    /// Decided as an ad-hoc tenant, as `POST /v1/decisions` does: without
    /// a region that is a client error, the region being required
    /// (`/v1/authz`).
    AdHoc,
}

impl UnknownTenants {
    /// The rule under `authz.require_known_tenant`, else `otherwise`.
    pub fn with_setting(require_known_tenant: bool, otherwise: UnknownTenants) -> UnknownTenants {
        if require_known_tenant {
            UnknownTenants::Refused
        } else {
            otherwise
        }
    }

    /// Whether `raw` is refused as an unknown tenant under this rule: its
    /// id names no profile (or, when only profiles are served, it has
    /// none) and the rule does not let it stand alone.
    pub fn refuse(self, catalog: &Catalog, raw: &RawTenant) -> bool {
        let refused = match self {
            UnknownTenants::Refused => true,
            UnknownTenants::RefusedWithoutRegion => raw.region.is_none(),
            UnknownTenants::AdHoc => false,
        };
        refused
            && match raw.id.as_deref() {
                Some(id) => catalog.tenant_profile(id).is_none(),
                None => self == UnknownTenants::Refused,
            }
    }
}

/// Resolves the tenant and the feature, then decides; a tenant id that
/// names no profile is handled by `unknown`.
///
/// # Errors
/// One [`FieldError`] per bad field, with pointers below `tenant_pointer`
/// and at `feature_pointer`.
pub fn decide_for_gateway<'c>(
    catalog: &'c Catalog,
    raw: &RawTenant,
    feature: &str,
    unknown: UnknownTenants,
    (tenant_pointer, feature_pointer): (&str, &str),
) -> Result<GatewayAnswer<'c>, Vec<FieldError>> {
    if unknown.refuse(catalog, raw) {
        // Still report a bad feature or a malformed field first: a typo is
        // a client error, not a refusal.
        let fields = catalog.resolve_tenant_fields(raw, tenant_pointer);
        return match (fields, resolve_feature(catalog, feature, feature_pointer)) {
            (Ok(_), Ok(f)) => Ok(GatewayAnswer::UnknownTenant {
                id: raw.id.clone(),
                feature: &catalog.feature(f).id,
            }),
            (Err(mut errors), Err(e)) => {
                errors.push(e);
                Err(errors)
            }
            (Err(errors), Ok(_)) => Err(errors),
            (Ok(_), Err(e)) => Err(vec![e]),
        };
    }
    let request = resolve_route_request(catalog, raw, feature, (tenant_pointer, feature_pointer))?;
    Ok(GatewayAnswer::Decided(Box::new(decide(catalog, &request))))
}

impl<'c> GatewayAnswer<'c> {
    /// The answer as `POST /v1/route` shapes it.
    pub fn body(&self, catalog: &'c Catalog, decision_id: String) -> RouteDecisionBody<'c> {
        match self {
            GatewayAnswer::Decided(decision) => {
                RouteDecisionBody::new(catalog, decision, decision_id)
            }
            GatewayAnswer::UnknownTenant { id, feature } => RouteDecisionBody {
                decision_id,
                catalog_version: &catalog.version,
                allow: false,
                mode: None,
                feature,
                route: None,
                fallbacks: Vec::new(),
                reasons: vec![unknown_tenant(catalog, id.as_deref())],
                ttl_seconds: catalog.ttl_seconds,
            },
        }
    }

    /// The stable reason code of a deny: the feature's refusal, or, when no
    /// mode was decided, why not. `None` when allowed.
    pub fn deny_reason(&self) -> Option<&'static str> {
        let decision = match self {
            GatewayAnswer::UnknownTenant { .. } => return Some(UNKNOWN_TENANT),
            GatewayAnswer::Decided(decision) => decision,
        };
        let feature = decision.features.first()?;
        match feature.refusal {
            None => feature.route().is_none().then_some("no_route"),
            Some(Reason::NoModeForFeature { .. }) => Some(
                decision
                    .reasons
                    .iter()
                    .find(|r| {
                        matches!(
                            r,
                            Reason::SelectedModeNotEligible { .. } | Reason::NoEligibleMode
                        )
                    })
                    .map_or("no_mode", Reason::code),
            ),
            Some(reason) => Some(reason.code()),
        }
    }
}

/// A weak entity tag for an answer: the catalog (version and digest) and
/// the normalised request. Equal tags mean the same decision, though the
/// decision ids of the two answers differ.
///
/// The request is hashed with the Fx hash, which has no random keys:
/// replicas running the same build give a request the same tag. A tag is a
/// cache validator, not a secret, so a fast 64-bit hash is enough.
///
/// `None` when the catalog's version cannot appear in a header value.
pub fn etag(catalog: &Catalog, normalised: &impl Hash) -> Option<HeaderValue> {
    let mut hasher = FxHasher::default();
    catalog.digest.hash(&mut hasher);
    normalised.hash(&mut hasher);
    let hash = hasher.finish().to_be_bytes();
    // Exactly as long as the tag, so the bytes become the header value
    // without another copy.
    let mut tag = Vec::with_capacity(catalog.version.len() + 21);
    tag.extend_from_slice(b"W/\"");
    tag.extend_from_slice(catalog.version.as_bytes());
    tag.push(b'-');
    tag.extend_from_slice(&hex::<8, 16>(hash));
    tag.push(b'"');
    HeaderValue::from_maybe_shared(Bytes::from(tag)).ok()
}
