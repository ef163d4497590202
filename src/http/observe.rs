//! What a decision leaves behind: one decision-log line and the decision
//! counters, from one call, [`record_decision`], that every decision
//! handler makes once per decision it answers.
//!
//! The log line is written by [`decision_log`] in the shape of the
//! `aipdp::decision` tracing target (JSON when `log.format = "json"`) and
//! carries ids and codes only: never the tenant object, the request body or
//! a token. Volume is controlled by `log.decision_sample_rate` and
//! `log.decisions_deny_only`.

use std::convert::Infallible;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::HeaderValue;
use axum::http::request::Parts;

use super::front::RequestContext;
use super::gateway::UNKNOWN_TENANT;
use super::{AppState, LoadedCatalog, decision_log};
use crate::catalog::Id;
use crate::engine::{Decision, Outcome};
use crate::wire::DecisionId;

/// The tracing target of decision-log lines.
pub const DECISION_TARGET: &str = "aipdp::decision";

/// A decision handler's view of its request: the front door's
/// [`RequestContext`] (the request id and when the request arrived), taken
/// from the task.
impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Outside the front door (a router served without it), from the
        // request itself.
        Ok(RequestContext::current().unwrap_or_else(|| RequestContext {
            request_id: parts
                .headers
                .get(&super::front::REQUEST_ID)
                .cloned()
                .unwrap_or(HeaderValue::from_static("")),
            started: Instant::now(),
        }))
    }
}

/// The endpoints that answer decisions, as they appear in metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Decisions,
    Batch,
    Route,
    Authz,
    AuthZen,
}

impl Endpoint {
    pub const ALL: [Endpoint; 5] = [
        Endpoint::Decisions,
        Endpoint::Batch,
        Endpoint::Route,
        Endpoint::Authz,
        Endpoint::AuthZen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Decisions => "decisions",
            Endpoint::Batch => "batch",
            Endpoint::Route => "route",
            Endpoint::Authz => "authz",
            Endpoint::AuthZen => "authzen",
        }
    }
}

/// Counts a decision and writes its decision-log line (when sampled in).
/// Call it once per decision answered, after `decide`, with the id the
/// answer carries.
pub fn record_decision(
    state: &AppState,
    context: &RequestContext,
    endpoint: Endpoint,
    loaded: &LoadedCatalog,
    decision: &Decision<'_>,
    decision_id: &DecisionId,
) {
    let catalog = &loaded.catalog;
    let mode = decision.mode.map(|m| &catalog.mode(m).id);
    state.metrics().decision(
        loaded.decision_counters(),
        endpoint,
        decision.outcome,
        decision.mode.zip(mode),
    );
    let Some(log) = logged(state, decision.outcome) else {
        return;
    };
    let line = decision_log::Line {
        decision_id,
        request_id: context.request_id.to_str().unwrap_or(""),
        tenant_id: decision.tenant.id.as_deref().unwrap_or(""),
        endpoint: endpoint.as_str(),
        outcome: decision.outcome.as_str(),
        mode,
        catalog_version: &catalog.version,
        latency_us: context.latency_us(),
    };
    let features = decision
        .features
        .iter()
        .map(|f| &catalog.feature(f.feature).id);
    // Decision-level reasons, then each refused feature's reason.
    let reasons = decision
        .reasons
        .iter()
        .chain(decision.features.iter().filter_map(|f| f.refusal.as_ref()))
        .map(|r| r.code());
    if !decision_log::write(log.format, &line, features, reasons) {
        state.metrics().decision_log_dropped();
    }
}

/// Counts and logs a gateway's refusal of a tenant the catalog does not
/// know, made before any decision: a deny under no mode, for `features`
/// (the one asked for, or every feature for an action search), with the
/// one reason [`UNKNOWN_TENANT`]. Its answer carries a decision id, so the
/// audit trail has its line too.
pub fn record_unknown_tenant<'a>(
    state: &AppState,
    context: &RequestContext,
    endpoint: Endpoint,
    loaded: &LoadedCatalog,
    tenant_id: Option<&str>,
    features: impl Iterator<Item = &'a Id>,
    decision_id: &DecisionId,
) {
    let catalog = &loaded.catalog;
    state
        .metrics()
        .decision(loaded.decision_counters(), endpoint, Outcome::Deny, None);
    let Some(log) = logged(state, Outcome::Deny) else {
        return;
    };
    let line = decision_log::Line {
        decision_id,
        request_id: context.request_id.to_str().unwrap_or(""),
        tenant_id: tenant_id.unwrap_or(""),
        endpoint: endpoint.as_str(),
        outcome: Outcome::Deny.as_str(),
        mode: None,
        catalog_version: &catalog.version,
        latency_us: context.latency_us(),
    };
    if !decision_log::write(log.format, &line, features, std::iter::once(UNKNOWN_TENANT)) {
        state.metrics().decision_log_dropped();
    }
}

/// The log settings when a decision with `outcome` gets a log line (the
/// log on, the outcome logged, sampled in, the target enabled).
fn logged(state: &AppState, outcome: Outcome) -> Option<&crate::config::LogSettings> {
    let log = &state.settings().log;
    if !log.decisions
        || (log.decisions_deny_only && outcome == Outcome::Permit)
        || !sampled_in(log.decision_sample_rate)
    {
        return None;
    }
    tracing::enabled!(target: DECISION_TARGET, tracing::Level::INFO).then_some(log)
}

/// Whether this decision falls in the logged share `rate`.
fn sampled_in(rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 {
        return false;
    }
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // Without entropy, log rather than lose the line.
        return true;
    }
    // 53 random bits as a uniform value in [0, 1).
    let draw = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    draw < rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_bounds_are_exact() {
        assert!((0..1000).all(|_| sampled_in(1.0)));
        assert!((0..1000).all(|_| !sampled_in(0.0)));
        let hits = (0..10_000).filter(|_| sampled_in(0.25)).count();
        assert!((2000..3000).contains(&hits), "{hits} of 10000 at 0.25");
    }
}
