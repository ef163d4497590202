//! Decision requests: raw request fields checked against the catalog and
//! merged with the tenant's profile, which a request may only tighten.

use std::sync::Arc;

use crate::catalog::format::{RawDecisionRequest, RawTenant};
use crate::catalog::{Catalog, Echo, FeatureId, FieldError, IdSet, Tenant, list_ids};

/// The most features one request may name.
pub const MAX_FEATURES: usize = 64;

/// A request whose every id is known, ready for [`super::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest {
    pub tenant: Tenant,
    /// Whether a catalog profile was the starting point.
    pub profile_applied: bool,
    /// Request fields that would have loosened the profile and were ignored.
    pub ignored: Vec<&'static str>,
    /// Distinct features, in request order.
    pub features: Vec<FeatureId>,
    pub explain: bool,
}

/// A tenant after the profile merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTenant {
    pub tenant: Tenant,
    pub profile_applied: bool,
    pub ignored: Vec<&'static str>,
}

/// Checks a raw request against the catalog.
///
/// # Errors
/// One [`FieldError`] per bad field, with JSON pointers from the request root.
pub fn resolve_request(
    catalog: &Catalog,
    raw: &RawDecisionRequest,
) -> Result<DecisionRequest, Vec<FieldError>> {
    let tenant = resolve_tenant(catalog, &raw.tenant, "/tenant");
    let features = resolve_features(catalog, &raw.features, "/features");
    match (tenant, features) {
        (Ok(t), Ok(features)) => Ok(DecisionRequest {
            tenant: t.tenant,
            profile_applied: t.profile_applied,
            ignored: t.ignored,
            features,
            explain: raw.explain,
        }),
        (Err(mut a), Err(b)) => {
            a.extend(b);
            Err(a)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// Checks a one-feature request (a gateway's question): the tenant and the
/// feature, each error with its pointer.
///
/// # Errors
/// One [`FieldError`] per bad field, below `tenant_pointer` or at
/// `feature_pointer`.
pub fn resolve_route_request(
    catalog: &Catalog,
    tenant: &RawTenant,
    feature: &str,
    (tenant_pointer, feature_pointer): (&str, &str),
) -> Result<DecisionRequest, Vec<FieldError>> {
    let tenant = resolve_tenant(catalog, tenant, tenant_pointer);
    let feature = resolve_feature(catalog, feature, feature_pointer);
    match (tenant, feature) {
        (Ok(t), Ok(feature)) => Ok(DecisionRequest {
            tenant: t.tenant,
            profile_applied: t.profile_applied,
            ignored: t.ignored,
            features: vec![feature],
            explain: false,
        }),
        (Err(mut errors), Err(e)) => {
            errors.push(e);
            Err(errors)
        }
        (Err(errors), Ok(_)) => Err(errors),
        (Ok(_), Err(e)) => Err(vec![e]),
    }
}

/// Checks a feature list: at least one, each known, none twice.
///
/// # Errors
/// A [`FieldError`] per bad entry, pointing below `pointer`.
pub fn resolve_features(
    catalog: &Catalog,
    raw: &[String],
    pointer: &str,
) -> Result<Vec<FeatureId>, Vec<FieldError>> {
    if raw.is_empty() {
        return Err(vec![FieldError::new(
            pointer,
            "at least one feature is required",
        )]);
    }
    if raw.len() > MAX_FEATURES {
        return Err(vec![FieldError::new(
            pointer,
            format!(
                "at most {MAX_FEATURES} features per request, got {}",
                raw.len()
            ),
        )]);
    }
    let mut errors = Vec::new();
    let mut features = Vec::with_capacity(raw.len());
    for (i, id) in raw.iter().enumerate() {
        // The pointer is only written out for an error.
        let found = catalog
            .feature_id(id)
            .ok_or(())
            .or_else(|()| resolve_feature(catalog, id, &format!("{pointer}/{i}")));
        match found {
            Ok(f) if features.contains(&f) => errors.push(FieldError::new(
                format!("{pointer}/{i}"),
                format!("feature `{id}` is listed twice"),
            )),
            Ok(f) => features.push(f),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(features)
    } else {
        Err(errors)
    }
}

/// Resolves one feature id.
///
/// # Errors
/// A [`FieldError`] at `pointer` listing the valid features.
pub fn resolve_feature(
    catalog: &Catalog,
    id: &str,
    pointer: &str,
) -> Result<FeatureId, FieldError> {
    catalog.feature_id(id).ok_or_else(|| {
        FieldError::new(
            pointer,
            format!(
                "unknown feature `{}`; valid: {}",
                Echo(id),
                list_ids(catalog.features.iter().map(|f| &*f.id))
            ),
        )
    })
}

/// Resolves a tenant object: from its profile when `id` names one (request
/// fields may only tighten it), else from the fields alone.
///
/// # Errors
/// A [`FieldError`] per bad field, pointing below `pointer`.
pub fn resolve_tenant(
    catalog: &Catalog,
    raw: &RawTenant,
    pointer: &str,
) -> Result<ResolvedTenant, Vec<FieldError>> {
    let fields = catalog.resolve_tenant_fields(raw, pointer)?;
    let Some(profile) = raw.id.as_deref().and_then(|id| catalog.tenant_profile(id)) else {
        let id = raw.id.as_deref().map(Arc::from);
        let tenant = fields.into_tenant(catalog, id, pointer).map_err(|mut e| {
            if let Some(id) = &raw.id {
                e.message
                    .push_str(&format!(" (`{id}` is not a tenant profile)"));
            }
            vec![e]
        })?;
        return Ok(ResolvedTenant {
            tenant,
            profile_applied: false,
            ignored: Vec::new(),
        });
    };

    let mut tenant = profile.clone();
    let mut ignored = Vec::new();
    let mut ignore_unless_same = |field: &'static str, same: bool| {
        if !same {
            ignored.push(field);
        }
    };
    if let Some(region) = fields.region {
        ignore_unless_same("region", region == tenant.region);
    }
    if let Some(cluster) = fields.cluster {
        ignore_unless_same("data_cluster", cluster == tenant.cluster);
    }
    if let Some(residency) = fields.residency {
        // Stricter residency tightens; looser is ignored.
        if residency >= tenant.residency {
            tenant.residency = residency;
        } else {
            ignore_unless_same("residency", false);
        }
    }
    if let Some(mode) = fields.selected_mode {
        match tenant.selected_mode {
            None => tenant.selected_mode = Some(mode),
            Some(current) => ignore_unless_same("selected_mode", current == mode),
        }
    }
    if let Some(allowed) = fields.allowed {
        let current = tenant.allowed.unwrap_or(IdSet::all(IdSet::CAPACITY));
        ignore_unless_same("allowed_providers", allowed.is_subset(current));
        tenant.allowed = Some(allowed.intersection(current));
    }
    if let Some(denied) = fields.denied {
        tenant.denied = tenant.denied.union(denied);
    }
    if let Some(compliance) = fields.compliance {
        tenant.compliance = tenant.compliance.union(compliance);
    }
    if let Some(add_ons) = fields.add_ons {
        // Fewer add-ons tighten; one the profile lacks would loosen.
        ignore_unless_same("add_ons", add_ons.is_subset(tenant.add_ons));
        tenant.add_ons = add_ons.intersection(tenant.add_ons);
    }
    if let Some(opt_out) = fields.training_opt_out {
        // Not opted out raises a warning, so it is the tighter value.
        if opt_out && !tenant.training_opt_out {
            ignore_unless_same("training_opt_out", false);
        }
        tenant.training_opt_out = tenant.training_opt_out && opt_out;
    }
    if let Some(sector) = fields.sector {
        match tenant.sector {
            None => tenant.sector = Some(sector),
            Some(current) => ignore_unless_same("sector", current == sector),
        }
    }
    Ok(ResolvedTenant {
        tenant,
        profile_applied: true,
        ignored,
    })
}
