//! `POST /v1/decisions/compare`: what-if across modes, for admin portals.
//!
//! One column per mode (the decision the tenant would get had it selected
//! that mode) and a summary of what it gains and loses against its current
//! mode. Every value comes from the engine (`decide_under`,
//! `compare_decisions`); this module only validates and renders.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::decisions::JsonProblems;
use super::error::{Problem, ValidJson};
use crate::catalog::format::{RawDecisionRequest, RawTenant};
use crate::catalog::{Catalog, Echo, FieldError, ModeId, list_ids};
use crate::engine::{
    CurrentMode, ModeChange, WhatIf, compare_decisions, current_mode, decide_under, resolve_request,
};
use crate::wire::{
    DataHandlingBody, FeatureBody, ObligationBody, OutcomeBody, ProviderBody, ReasonBody,
    RouteBody, TenantBody,
};

/// A tenant, its features, and the modes to compare.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareRequest {
    #[serde(deserialize_with = "crate::catalog::format::object")]
    pub tenant: RawTenant,
    /// Feature ids; at least one, no duplicates, at most
    /// `engine::MAX_FEATURES`.
    #[schema(min_items = 1, max_items = 64)]
    pub features: Vec<String>,
    /// Mode ids to compare, in the order wanted; every mode of the catalog
    /// (least exposure first) when absent.
    #[serde(default)]
    #[schema(min_items = 1)]
    pub modes: Option<Vec<String>>,
    /// Adds each column's step-by-step trace.
    #[serde(default)]
    pub explain: bool,
}

/// Where the current mode comes from.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CurrentModeSource {
    /// The tenant (or its profile) selected it.
    Selected,
    /// No selection: the mode a decision picks.
    Decided,
    /// No selection and no eligible mode.
    None,
}

/// One mode's column: its eligibility and the decision under it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModeColumnBody<'a> {
    pub mode: &'a str,
    pub name: &'a str,
    pub exposure: u32,
    pub eligible: bool,
    pub is_default: bool,
    pub is_current: bool,
    /// Why the mode is or is not eligible.
    pub reasons: Vec<ReasonBody<'a>>,
    /// The outcome had the tenant selected this mode.
    pub outcome: OutcomeBody,
    /// Providers usable under this mode; empty when not eligible.
    pub providers: Vec<ProviderBody<'a>>,
    pub features: Vec<FeatureBody<'a>>,
    /// Null when the mode is not eligible.
    pub data_handling: Option<DataHandlingBody>,
    pub obligations: Vec<ObligationBody<'a>>,
    /// The decision's steps, when `explain` was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<ReasonBody<'a>>>,
}

/// A feature served under both modes by a different route.
#[derive(Debug, Serialize, ToSchema)]
pub struct RerouteBody<'a> {
    pub feature: &'a str,
    pub from: RouteBody<'a>,
    pub to: RouteBody<'a>,
}

/// A value before and after a move.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeBody<T> {
    pub from: T,
    pub to: T,
}

/// What the tenant gains and loses by moving from its current mode to `mode`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModeSummaryBody<'a> {
    pub mode: &'a str,
    pub eligible: bool,
    /// One sentence for people.
    pub message: String,
    pub gained_features: Vec<&'a str>,
    pub lost_features: Vec<&'a str>,
    pub rerouted_features: Vec<RerouteBody<'a>>,
    /// `in_region` or `global`, when the move changes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ChangeBody<String>>)]
    pub processing: Option<ChangeBody<&'static str>>,
    /// Third-party provider use, when the move changes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ChangeBody<bool>>)]
    pub third_party: Option<ChangeBody<bool>>,
    pub obligations_added: Vec<&'a str>,
    pub obligations_removed: Vec<&'a str>,
}

/// Every compared mode side by side, and the gains and losses of each move.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompareBody<'a> {
    pub catalog_version: &'a str,
    pub tenant: TenantBody<'a>,
    pub features: Vec<&'a str>,
    /// The tenant's selected mode, else the mode a decision picks; null when none is eligible.
    pub current_mode: Option<&'a str>,
    pub current_mode_source: CurrentModeSource,
    pub default_mode: &'a str,
    /// The eligible mode of least exposure that serves every feature.
    pub recommended_mode: Option<&'a str>,
    /// Eligible modes, least exposure first.
    pub eligible_modes: Vec<&'a str>,
    /// One column per compared mode, in the order asked.
    pub modes: Vec<ModeColumnBody<'a>>,
    /// One entry per compared mode other than the current one.
    pub summary: Vec<ModeSummaryBody<'a>>,
    pub ttl_seconds: u32,
}

/// Compare what a tenant would get under each mode.
///
/// Answers one column per mode, as if the tenant had selected it: eligible
/// or not and why, each feature permitted or not with its route, data
/// handling and obligations; and for every mode other than the tenant's
/// current one (its selection, else the mode a decision picks) the features
/// gained, lost and rerouted, and the data-handling and obligation changes.
#[utoipa::path(post, path = "/v1/decisions/compare", tag = "eligibility",
    request_body(content = CompareRequest,
        example = json!({"tenant": {"region": "EU", "selected_mode": "zm_plus"}, "features": ["meeting_summary", "web_search_answers"]})),
    responses((status = 200, description = "Every compared mode side by side", body = CompareBody), JsonProblems))]
pub async fn compare(
    State(state): State<AppState>,
    ValidJson(raw): ValidJson<CompareRequest>,
) -> Result<Response, Problem> {
    let loaded = state.catalog();
    let catalog = &loaded.catalog;
    let CompareRequest {
        tenant,
        features,
        modes,
        explain,
    } = raw;
    let request = resolve_request(
        catalog,
        &RawDecisionRequest {
            tenant,
            features,
            explain,
        },
    );
    let modes = resolve_modes(catalog, modes.as_deref());
    let (request, modes) = match (request, modes) {
        (Ok(r), Ok(m)) => (r, m),
        (r, m) => {
            let mut errors = r.err().unwrap_or_default();
            errors.extend(m.err().unwrap_or_default());
            return Err(Problem::invalid(errors));
        }
    };

    let current = current_mode(catalog, &request);
    let columns: Vec<WhatIf<'_>> = modes
        .iter()
        .map(|&m| decide_under(catalog, &request, m))
        .collect();
    // The current mode's decision, compared against even when not asked for.
    let baseline = current.mode().map(|m| {
        columns
            .iter()
            .find(|w| w.view.mode == m)
            .map_or_else(|| decide_under(catalog, &request, m), Clone::clone)
    });
    let tenant = &request.tenant;
    let region = catalog.region(tenant.region);
    // Eligible modes and the recommendation do not depend on the selection,
    // so any of the decisions gives them.
    let sample = columns
        .first()
        .map(|w| &w.decision)
        .or(baseline.as_ref().map(|w| &w.decision));
    let mode_id = |m: ModeId| &*catalog.mode(m).id;
    let body = CompareBody {
        catalog_version: &catalog.version,
        tenant: TenantBody {
            id: tenant.id.clone(),
            region: &region.id,
            data_cluster: &catalog.cluster(tenant.cluster).id,
            residency: tenant.residency.as_str(),
        },
        features: request
            .features
            .iter()
            .map(|f| &*catalog.feature(*f).id)
            .collect(),
        current_mode: current.mode().map(mode_id),
        current_mode_source: match current {
            CurrentMode::Selected(_) => CurrentModeSource::Selected,
            CurrentMode::Decided(_) => CurrentModeSource::Decided,
            CurrentMode::None => CurrentModeSource::None,
        },
        default_mode: mode_id(region.default_mode),
        recommended_mode: sample.and_then(|d| d.recommended_mode).map(mode_id),
        eligible_modes: sample
            .map(|d| {
                d.eligible_modes
                    .iter()
                    .map(|m| &*catalog.modes[m].id)
                    .collect()
            })
            .unwrap_or_default(),
        modes: columns
            .iter()
            .map(|w| column(catalog, w, current, explain))
            .collect(),
        summary: columns
            .iter()
            .filter(|w| Some(w.view.mode) != current.mode())
            .map(|w| {
                let change = compare_decisions(baseline.as_ref().map(|b| &b.decision), &w.decision);
                summary(catalog, w, current.mode(), &change)
            })
            .collect(),
        ttl_seconds: catalog.ttl_seconds,
    };
    Ok(([loaded.cache_control()], Json(body)).into_response())
}

/// Resolves the `modes` list: every mode when absent, else each known, none twice.
fn resolve_modes(
    catalog: &Catalog,
    raw: Option<&[String]>,
) -> Result<Vec<ModeId>, Vec<FieldError>> {
    let Some(raw) = raw else {
        return Ok(catalog.mode_ids().collect());
    };
    if raw.is_empty() {
        return Err(vec![FieldError::new(
            "/modes",
            "list at least one mode, or leave `modes` out to compare every mode",
        )]);
    }
    let mut errors = Vec::new();
    let mut modes = Vec::with_capacity(raw.len());
    for (i, id) in raw.iter().enumerate() {
        match catalog.mode_id(id) {
            Some(m) if modes.contains(&m) => errors.push(FieldError::new(
                format!("/modes/{i}"),
                format!("mode `{id}` is listed twice"),
            )),
            Some(m) => modes.push(m),
            None => errors.push(FieldError::new(
                format!("/modes/{i}"),
                format!(
                    "unknown mode `{}`; valid: {}",
                    Echo(id),
                    list_ids(catalog.modes.iter().map(|m| &*m.id))
                ),
            )),
        }
    }
    if errors.is_empty() {
        Ok(modes)
    } else {
        Err(errors)
    }
}

fn column<'a>(
    catalog: &'a Catalog,
    what_if: &WhatIf<'a>,
    current: CurrentMode,
    explain: bool,
) -> ModeColumnBody<'a> {
    let WhatIf { view, decision } = what_if;
    let mode = catalog.mode(view.mode);
    let tenant = &decision.tenant;
    let reasons = |list: &[crate::engine::Reason]| {
        list.iter()
            .map(|r| ReasonBody::new(catalog, r))
            .collect::<Vec<_>>()
    };
    ModeColumnBody {
        mode: &mode.id,
        name: &mode.name,
        exposure: mode.exposure,
        eligible: view.eligible(),
        is_default: catalog.region(tenant.region).default_mode == view.mode,
        is_current: current.mode() == Some(view.mode),
        reasons: vec![ReasonBody::new(catalog, &view.reason(tenant))],
        outcome: decision.outcome.into(),
        providers: decision
            .providers()
            .map(|p| ProviderBody::new(catalog, p))
            .collect(),
        features: decision
            .features
            .iter()
            .map(|f| FeatureBody::new(catalog, f))
            .collect(),
        data_handling: decision.mode.map(|_| DataHandlingBody {
            processing: decision.data_handling.processing,
            third_party: decision.data_handling.third_party,
            customer_content_training: false,
        }),
        obligations: decision
            .obligations
            .iter()
            .map(|o| ObligationBody::from(*o))
            .collect(),
        trace: explain.then(|| reasons(&decision.trace)),
    }
}

fn summary<'a>(
    catalog: &'a Catalog,
    what_if: &WhatIf<'a>,
    current: Option<ModeId>,
    change: &ModeChange<'a>,
) -> ModeSummaryBody<'a> {
    let mode = &*catalog.mode(what_if.view.mode).id;
    let features = |list: &[crate::catalog::FeatureId]| {
        list.iter()
            .map(|f| &*catalog.feature(*f).id)
            .collect::<Vec<_>>()
    };
    let codes =
        |list: &[&'a crate::catalog::Obligation]| list.iter().map(|o| &*o.code).collect::<Vec<_>>();
    let gained = features(&change.gained);
    let lost = features(&change.lost);
    let from = current.map_or("no mode".to_owned(), |m| {
        format!("`{}`", catalog.mode(m).id)
    });
    let message = if !what_if.view.eligible() {
        format!(
            "`{mode}` is not eligible for this tenant: {}",
            what_if
                .view
                .reason(&what_if.decision.tenant)
                .message(catalog)
        )
    } else if change.is_empty() {
        format!("moving from {from} to `{mode}` changes nothing for these features")
    } else {
        let list = |ids: &[&str]| {
            if ids.is_empty() {
                "nothing".to_owned()
            } else {
                list_ids(ids.iter().copied())
            }
        };
        format!(
            "moving from {from} to `{mode}` gains {}, loses {} and reroutes {} feature(s)",
            list(&gained),
            list(&lost),
            change.rerouted.len()
        )
    };
    ModeSummaryBody {
        mode,
        eligible: what_if.view.eligible(),
        message,
        gained_features: gained,
        lost_features: lost,
        rerouted_features: change
            .rerouted
            .iter()
            .map(|r| RerouteBody {
                feature: &catalog.feature(r.feature).id,
                from: RouteBody::new(catalog, r.from),
                to: RouteBody::new(catalog, r.to),
            })
            .collect(),
        processing: change.processing.map(|(a, b)| ChangeBody {
            from: a.as_str(),
            to: b.as_str(),
        }),
        third_party: change.third_party.map(|(from, to)| ChangeBody { from, to }),
        obligations_added: codes(&change.obligations_added),
        obligations_removed: codes(&change.obligations_removed),
    }
}
