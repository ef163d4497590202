//! `GET /v1/eligibility`: the grid of modes and features an admin portal draws.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use utoipa::IntoParams;

use super::AppState;
use super::answer::json_answer;
use super::error::Problem;
use crate::catalog::format::RawTenant;
use crate::catalog::{Echo, FieldError};
use crate::engine::{eligibility as grid, resolve_features, resolve_tenant};
use crate::wire::{EligibilityBody, ModeEligibilityBody, ProblemBody};

/// Query of the eligibility grid. Repeat a list parameter once per value.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code)]
pub struct EligibilityQuery {
    /// Region code (`US`, `EU`, `SG`, ...).
    #[param(example = "EU")]
    region: String,
    /// `global` or `local`; defaults from the region.
    data_cluster: Option<String>,
    /// `none`, `preferred` (default), `strict` or `trust_boundary`.
    #[param(value_type = Option<crate::catalog::format::Residency>)]
    residency: Option<String>,
    /// Features to show; all of the catalog's when none is given.
    feature: Option<Vec<String>>,
    /// Providers the tenant allows (only these); all when none is given.
    allowed_provider: Option<Vec<String>>,
    /// Providers the tenant refuses.
    denied_provider: Option<Vec<String>>,
    /// Compliance regimes, for completeness of the tenant; they do not change eligibility.
    compliance: Option<Vec<String>>,
    /// Add-ons the tenant has, such as `custom_ai_companion`.
    add_on: Option<Vec<String>>,
}

/// Problems of a query endpoint.
#[derive(utoipa::IntoResponses)]
#[expect(dead_code)]
pub enum QueryProblems {
    /// A missing or unknown parameter, or an unknown id.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(ProblemBody),
}

/// The eligibility of every mode, and of each feature under it.
#[utoipa::path(get, path = "/v1/eligibility", tag = "eligibility",
    params(EligibilityQuery),
    responses((status = 200, description = "Every mode of the catalog with its eligibility and features", body = EligibilityBody), QueryProblems))]
pub async fn eligibility(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| {
        Problem::invalid(vec![FieldError::new(
            "",
            format!("the query string cannot be read: {e}"),
        )])
    })?;
    let mut tenant = RawTenant::default();
    let mut features = Vec::new();
    let mut errors = Vec::new();
    let mut residency = None;
    for (key, value) in pairs {
        let list =
            |slot: &mut Option<Vec<String>>| slot.get_or_insert_with(Vec::new).push(value.clone());
        // A single-valued parameter given twice is ambiguous: refused,
        // like a duplicated key in a JSON body, rather than one copy winning.
        let mut once = |slot: &mut Option<String>, name: &str| {
            if slot.is_some() {
                errors.push(FieldError::new(
                    format!("/{name}"),
                    format!("the `{name}` parameter is given more than once"),
                ));
            }
            *slot = Some(value.clone());
        };
        match key.as_str() {
            "region" => once(&mut tenant.region, "region"),
            "data_cluster" => once(&mut tenant.data_cluster, "data_cluster"),
            "residency" => once(&mut residency, "residency"),
            "feature" => features.push(value),
            "allowed_provider" => list(&mut tenant.allowed_providers),
            "denied_provider" => list(&mut tenant.denied_providers),
            "compliance" => list(&mut tenant.compliance),
            "add_on" => list(&mut tenant.add_ons),
            other => errors.push(FieldError::new(
                format!("/{other}"),
                format!("unknown parameter `{}`; known: region, data_cluster, residency, feature, allowed_provider, denied_provider, compliance, add_on", Echo(other)),
            )),
        }
    }
    // An unknown residency is reported when the tenant is resolved.
    tenant.residency = residency.as_deref().map(Into::into);
    let loaded = state.catalog();
    let catalog = &loaded.catalog;
    if tenant.region.is_none() {
        errors.push(FieldError::new(
            "/region",
            format!(
                "the `region` parameter is required; valid: {}",
                crate::catalog::list_ids(catalog.region_ids())
            ),
        ));
    }
    let resolved = resolve_tenant(catalog, &tenant, "")
        .map_err(|e| e.into_iter().map(singular).collect::<Vec<_>>());
    let features = if features.is_empty() {
        Ok(catalog
            .features
            .iter()
            .enumerate()
            .map(|(i, _)| crate::catalog::FeatureId(i as u16))
            .collect())
    } else {
        resolve_features(catalog, &features, "/feature")
    };
    let (resolved, features) = match (resolved, features) {
        (Ok(t), Ok(f)) if errors.is_empty() => (t, f),
        (t, f) => {
            errors.extend(t.err().unwrap_or_default());
            errors.extend(f.err().unwrap_or_default());
            errors.dedup_by(|a, b| a.pointer == b.pointer);
            return Err(Problem::invalid(errors));
        }
    };
    let tenant = &resolved.tenant;
    let modes = grid(catalog, tenant, &features)
        .iter()
        .map(|(view, outcomes)| ModeEligibilityBody::new(catalog, tenant, view, outcomes))
        .collect();
    let body = EligibilityBody {
        catalog_version: &catalog.version,
        region: &catalog.region(tenant.region).id,
        data_cluster: &catalog.cluster(tenant.cluster).id,
        residency: tenant.residency.as_str(),
        default_mode: &catalog.mode(catalog.region(tenant.region).default_mode).id,
        modes,
    };
    Ok(json_answer(&loaded, None, &body))
}

/// Pointers of tenant fields named as the query names them (`/allowed_provider/0`).
fn singular(mut error: FieldError) -> FieldError {
    for (plural, one) in [
        ("/allowed_providers", "/allowed_provider"),
        ("/denied_providers", "/denied_provider"),
        ("/add_ons", "/add_on"),
    ] {
        if let Some(rest) = error.pointer.strip_prefix(plural) {
            error.pointer = format!("{one}{rest}");
        }
    }
    error
}
