//! What-if across modes: the decision a tenant would get under a mode it has
//! not (necessarily) chosen, and what it gains or loses by moving there.
//!
//! Pure like [`super::decide`], and built from it: a what-if is a decision
//! made as if the tenant had selected the mode, so no rule is restated here.

use super::{Decision, DecisionRequest, ModeView, decide, evaluate_mode};
use crate::catalog::{Catalog, FeatureId, ModeId, Obligation, Processing, Route};

/// One column of a comparison: a mode's eligibility for the tenant and the
/// decision it would get under that mode.
#[derive(Debug, Clone)]
pub struct WhatIf<'c> {
    pub view: ModeView<'c>,
    pub decision: Decision<'c>,
}

/// Decides as if the tenant had selected `mode`.
///
/// Under an eligible mode this is exactly the decision for that selection.
/// Under a mode that is not eligible the decision is a deny, and every
/// feature is refused for the mode's own reason (not offered, residency,
/// provider lists), which says more than "no mode was decided".
pub fn decide_under<'c>(
    catalog: &'c Catalog,
    request: &DecisionRequest,
    mode: ModeId,
) -> WhatIf<'c> {
    let mut hypothetical = request.clone();
    hypothetical.tenant.selected_mode = Some(mode);
    let mut decision = decide(catalog, &hypothetical);
    let view = evaluate_mode(catalog, &request.tenant, mode);
    if !view.eligible() {
        let reason = view.reason(&request.tenant);
        for feature in &mut decision.features {
            feature.routes = &[];
            feature.refusal = Some(reason);
        }
    }
    WhatIf { view, decision }
}

/// Where the tenant's current mode comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentMode {
    /// The tenant (or its profile) selected it.
    Selected(ModeId),
    /// No selection: the mode `decide` picks (default or least exposure).
    Decided(ModeId),
    /// No selection and no eligible mode.
    None,
}

impl CurrentMode {
    pub fn mode(self) -> Option<ModeId> {
        match self {
            CurrentMode::Selected(m) | CurrentMode::Decided(m) => Some(m),
            CurrentMode::None => None,
        }
    }
}

/// The tenant's current mode: its selection, else what `decide` picks.
/// A selection counts even when it is not eligible: that is where the
/// tenant stands, and the comparison shows what it would gain by moving.
pub fn current_mode(catalog: &Catalog, request: &DecisionRequest) -> CurrentMode {
    match request.tenant.selected_mode {
        Some(mode) => CurrentMode::Selected(mode),
        None => decide(catalog, request)
            .mode
            .map_or(CurrentMode::None, CurrentMode::Decided),
    }
}

/// A feature served under both modes, by a different route.
#[derive(Debug, Clone, Copy)]
pub struct Reroute<'c> {
    pub feature: FeatureId,
    pub from: &'c Route,
    pub to: &'c Route,
}

/// What a tenant gains and loses by moving from its current decision to another.
#[derive(Debug, Clone, Default)]
pub struct ModeChange<'c> {
    /// Features served under the other mode and not under the current one.
    pub gained: Vec<FeatureId>,
    /// Features served under the current mode and not under the other one.
    pub lost: Vec<FeatureId>,
    /// Features served under both, by a different provider, model or region.
    pub rerouted: Vec<Reroute<'c>>,
    /// `(current, other)` processing scope, when it differs.
    pub processing: Option<(Processing, Processing)>,
    /// `(current, other)` third-party use, when it differs.
    pub third_party: Option<(bool, bool)>,
    pub obligations_added: Vec<&'c Obligation>,
    pub obligations_removed: Vec<&'c Obligation>,
}

impl ModeChange<'_> {
    /// Whether the move changes nothing the tenant would notice.
    pub fn is_empty(&self) -> bool {
        self.gained.is_empty()
            && self.lost.is_empty()
            && self.rerouted.is_empty()
            && self.processing.is_none()
            && self.third_party.is_none()
            && self.obligations_added.is_empty()
            && self.obligations_removed.is_empty()
    }
}

/// Compares two decisions made for the same features (as [`decide_under`]
/// gives for one request). `current` is `None` when the tenant has no mode,
/// so everything the other decision serves is a gain.
pub fn compare_decisions<'c>(
    current: Option<&Decision<'c>>,
    other: &Decision<'c>,
) -> ModeChange<'c> {
    let mut change = ModeChange::default();
    for (i, after) in other.features.iter().enumerate() {
        let before = current.and_then(|d| d.features.get(i));
        let before_route = before.and_then(|f| f.route());
        match (before_route, after.route()) {
            (None, Some(_)) => change.gained.push(after.feature),
            (Some(_), None) => change.lost.push(after.feature),
            (Some(from), Some(to)) if from != to => change.rerouted.push(Reroute {
                feature: after.feature,
                from,
                to,
            }),
            _ => {}
        }
    }
    // Data handling and obligations only mean something under a mode.
    if let (Some(current), Some(_)) = (current.filter(|d| d.mode.is_some()), other.mode) {
        let (a, b) = (current.data_handling, other.data_handling);
        if a.processing != b.processing {
            change.processing = Some((a.processing, b.processing));
        }
        if a.third_party != b.third_party {
            change.third_party = Some((a.third_party, b.third_party));
        }
    }
    let empty = Vec::new();
    let before = current.map_or(&empty, |d| &d.obligations);
    let has = |list: &[&Obligation], o: &Obligation| list.iter().any(|x| x.code == o.code);
    change.obligations_added = other
        .obligations
        .iter()
        .filter(|o| !has(before, o))
        .copied()
        .collect();
    change.obligations_removed = before
        .iter()
        .filter(|o| !has(&other.obligations, o))
        .copied()
        .collect();
    change
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::format::RawDecisionRequest;
    use crate::engine::{Outcome, Reason, resolve_request};

    fn request(c: &Catalog, json: &str) -> DecisionRequest {
        let raw: RawDecisionRequest = serde_json::from_str(json).unwrap();
        resolve_request(c, &raw).unwrap()
    }

    fn ids<'a>(c: &'a Catalog, list: &[FeatureId]) -> Vec<&'a str> {
        list.iter().map(|f| &*c.feature(*f).id).collect()
    }

    #[test]
    fn an_eligible_mode_decides_as_if_selected() {
        let c = Catalog::builtin().unwrap();
        let r = request(
            &c,
            r#"{"tenant": {"region": "EU"}, "features": ["meeting_summary"]}"#,
        );
        let zmo = c.mode_id("zmo").unwrap();
        let w = decide_under(&c, &r, zmo);
        assert!(w.view.eligible());
        assert_eq!(w.decision.mode, Some(zmo));
        assert_eq!(w.decision.outcome, Outcome::Permit);
        let route = w.decision.features[0].route().unwrap();
        assert_eq!(&*c.provider(route.provider).id, "zoom");
        // The request itself is untouched: no selection, default zm_plus.
        assert_eq!(decide(&c, &r).mode, c.mode_id("zm_plus"));
    }

    #[test]
    fn an_ineligible_mode_refuses_each_feature_for_the_modes_reason() {
        let c = Catalog::builtin().unwrap();
        let r = request(
            &c,
            r#"{"tenant": {"region": "SG", "residency": "strict"}, "features": ["meeting_summary", "team_chat_compose"]}"#,
        );
        let zm_plus = c.mode_id("zm_plus").unwrap();
        let w = decide_under(&c, &r, zm_plus);
        assert!(!w.view.eligible());
        assert_eq!(w.decision.outcome, Outcome::Deny);
        assert_eq!(w.decision.mode, None);
        let expected = Reason::ModeNotOffered {
            mode: zm_plus,
            region: c.region_id("SG").unwrap(),
            cluster: c.cluster_id("local").unwrap(),
        };
        for f in &w.decision.features {
            assert_eq!(f.refusal, Some(expected));
            assert!(f.route().is_none());
        }
    }

    #[test]
    fn the_current_mode_is_the_selection_else_the_decided_mode() {
        let c = Catalog::builtin().unwrap();
        let selected = request(
            &c,
            r#"{"tenant": {"region": "SG", "selected_mode": "federated"}, "features": ["meeting_summary"]}"#,
        );
        assert_eq!(
            current_mode(&c, &selected),
            CurrentMode::Selected(c.mode_id("federated").unwrap())
        );
        let decided = request(
            &c,
            r#"{"tenant": {"region": "EU"}, "features": ["meeting_summary"]}"#,
        );
        assert_eq!(
            current_mode(&c, &decided),
            CurrentMode::Decided(c.mode_id("zm_plus").unwrap())
        );
        let nothing = request(
            &c,
            r#"{"tenant": {"region": "EU", "denied_providers": ["zoom", "anthropic", "openai", "elevenlabs"]}, "features": ["meeting_summary"]}"#,
        );
        assert_eq!(current_mode(&c, &nothing), CurrentMode::None);
    }

    #[test]
    fn moving_from_zm_plus_to_federated_gains_web_answers_and_global_processing() {
        let c = Catalog::builtin().unwrap();
        let r = request(
            &c,
            r#"{"tenant": {"region": "EU", "data_cluster": "global", "compliance": ["gdpr"]},
                "features": ["meeting_summary", "web_search_answers", "team_chat_compose"]}"#,
        );
        let current = decide_under(&c, &r, c.mode_id("zm_plus").unwrap());
        let other = decide_under(&c, &r, c.mode_id("federated").unwrap());
        let change = compare_decisions(Some(&current.decision), &other.decision);
        assert_eq!(ids(&c, &change.gained), ["web_search_answers"]);
        assert!(change.lost.is_empty());
        // team_chat_compose moves from Anthropic on Bedrock to OpenAI; the
        // summary stays on Anthropic but leaves Bedrock and the region.
        let rerouted: Vec<(&str, &str, &str)> = change
            .rerouted
            .iter()
            .map(|r| {
                (
                    &*c.feature(r.feature).id,
                    &*c.provider(r.from.provider).id,
                    &*c.provider(r.to.provider).id,
                )
            })
            .collect();
        assert_eq!(
            rerouted,
            [
                ("meeting_summary", "anthropic", "anthropic"),
                ("team_chat_compose", "anthropic", "openai")
            ]
        );
        assert_eq!(
            change.processing,
            Some((Processing::InRegion, Processing::Global))
        );
        assert_eq!(change.third_party, None);
        let added: Vec<&str> = change.obligations_added.iter().map(|o| &*o.code).collect();
        // Federated calls its providers directly, outside the vendor's
        // trust boundary; residency defaults to `preferred`, which is told
        // when processing may leave the region.
        assert_eq!(
            added,
            [
                "outside_trust_boundary",
                "residency_preference_unmet",
                "gdpr_international_transfer"
            ]
        );
        assert!(change.obligations_removed.is_empty());
        // And back again is the mirror image.
        let back = compare_decisions(Some(&other.decision), &current.decision);
        assert_eq!(ids(&c, &back.lost), ["web_search_answers"]);
        assert_eq!(back.obligations_removed.len(), 3);
    }

    #[test]
    fn the_same_mode_changes_nothing_and_no_current_mode_gains_everything() {
        let c = Catalog::builtin().unwrap();
        let r = request(
            &c,
            r#"{"tenant": {"region": "EU"}, "features": ["meeting_summary", "web_search_answers"]}"#,
        );
        let zmo = decide_under(&c, &r, c.mode_id("zmo").unwrap());
        assert!(compare_decisions(Some(&zmo.decision), &zmo.decision).is_empty());
        let from_nothing = compare_decisions(None, &zmo.decision);
        assert_eq!(ids(&c, &from_nothing.gained), ["meeting_summary"]);
        assert_eq!(from_nothing.processing, None);
    }
}
