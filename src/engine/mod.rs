//! The decision engine: `decide(&Catalog, &DecisionRequest) -> Decision`.
//!
//! Pure and synchronous: no I/O, no HTTP types, no JSON values. It follows
//! the mode rule step by step (candidates, residency, provider lists,
//! eligible modes, selection, routing) and records a [`Reason`] at each
//! step. A deny is an ordinary [`Decision`].
//!
//! Depends on `catalog` only.

mod reason;
mod request;
mod whatif;

pub use reason::{Message, Reason};
pub use request::{
    DecisionRequest, MAX_FEATURES, ResolvedTenant, resolve_feature, resolve_features,
    resolve_request, resolve_route_request, resolve_tenant,
};
pub use whatif::{
    CurrentMode, ModeChange, Reroute, WhatIf, compare_decisions, current_mode, decide_under,
};

use crate::catalog::{
    AddOnId, Catalog, Condition, FeatureId, IdSet, ModeId, Obligation, OfferedProvider, Offering,
    Processing, Residency, Route, Tenant,
};

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every requested feature is served.
    Permit,
    /// Some, not all, requested features are served.
    Partial,
    /// No feature is served, or no usable mode.
    Deny,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Permit, Outcome::Partial, Outcome::Deny];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Permit => "permit",
            Outcome::Partial => "partial",
            Outcome::Deny => "deny",
        }
    }
}

/// Whether a mode may be used by a tenant, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeStatus {
    Eligible,
    NotOffered,
    ResidencyGlobalProcessing,
    ResidencyThirdParty,
    NoUsableProvider,
}

/// One mode as a tenant sees it.
#[derive(Debug, Clone, Copy)]
pub struct ModeView<'c> {
    pub mode: ModeId,
    pub status: ModeStatus,
    /// The mode in the tenant's region and cluster, when offered there.
    pub offering: Option<&'c Offering>,
    /// Providers of the offering that the tenant's lists leave usable.
    pub usable: IdSet,
}

impl<'c> ModeView<'c> {
    /// The offering's providers that the tenant's lists leave usable.
    pub fn usable_providers(&self) -> impl Iterator<Item = &'c OfferedProvider> + use<'c> {
        let usable = self.usable;
        let list = self.offering.map_or(&[][..], |o| o.providers.as_slice());
        list.iter()
            .filter(move |p| usable.contains(p.provider.index()))
    }

    pub fn eligible(&self) -> bool {
        self.status == ModeStatus::Eligible
    }

    /// The reason for the status, as recorded in answers.
    pub fn reason(&self, tenant: &Tenant) -> Reason {
        let mode = self.mode;
        match self.status {
            ModeStatus::Eligible => Reason::ModeOffered {
                mode,
                region: tenant.region,
                cluster: tenant.cluster,
            },
            ModeStatus::NotOffered => Reason::ModeNotOffered {
                mode,
                region: tenant.region,
                cluster: tenant.cluster,
            },
            ModeStatus::ResidencyGlobalProcessing => Reason::ResidencyGlobalProcessing {
                mode,
                residency: tenant.residency,
            },
            ModeStatus::ResidencyThirdParty => Reason::ResidencyThirdParty { mode },
            ModeStatus::NoUsableProvider => Reason::NoUsableProvider { mode },
        }
    }
}

/// Evaluates one mode for a tenant: steps 1 and 2 of the mode rule.
pub fn evaluate_mode<'c>(catalog: &'c Catalog, tenant: &Tenant, mode: ModeId) -> ModeView<'c> {
    let offering = catalog.offering(mode, tenant.region, tenant.cluster);
    let Some(o) = offering else {
        return ModeView {
            mode,
            status: ModeStatus::NotOffered,
            offering,
            usable: IdSet::EMPTY,
        };
    };
    let usable = o.provider_set.intersection(tenant.usable_providers());
    let keeps_in_region = tenant.residency >= Residency::Strict;
    let status = if keeps_in_region && o.global {
        // `strict` and `trust_boundary` both require in-region processing.
        ModeStatus::ResidencyGlobalProcessing
    } else if tenant.residency == Residency::TrustBoundary
        && !o.provider_set.intersection(catalog.third_party).is_empty()
    {
        ModeStatus::ResidencyThirdParty
    } else if usable.is_empty() {
        ModeStatus::NoUsableProvider
    } else {
        ModeStatus::Eligible
    };
    ModeView {
        mode,
        status,
        offering,
        usable,
    }
}

/// How one feature fares under one mode.
#[derive(Debug, Clone, Copy)]
pub struct FeatureOutcome<'c> {
    pub feature: FeatureId,
    /// Routes of the offering, most preferred first, before the tenant's lists.
    pub routes: &'c [Route],
    /// Providers the tenant may use; routes to others are skipped.
    pub usable: IdSet,
    /// `None` when permitted, else why not.
    pub refusal: Option<Reason>,
}

impl<'c> FeatureOutcome<'c> {
    pub fn permitted(&self) -> bool {
        self.refusal.is_none()
    }

    /// The routes the tenant may use: the first is the route, the rest fallbacks.
    pub fn usable_routes(&self) -> impl Iterator<Item = &'c Route> + use<'c> {
        let usable = self.usable;
        let routes = if self.refusal.is_none() {
            self.routes
        } else {
            &[]
        };
        routes
            .iter()
            .filter(move |r| usable.contains(r.provider.index()))
    }

    pub fn route(&self) -> Option<&'c Route> {
        self.usable_routes().next()
    }
}

/// Routes one feature under a mode (step 6 of the mode rule).
pub fn route_feature<'c>(
    catalog: &'c Catalog,
    tenant: &Tenant,
    view: &ModeView<'c>,
    feature: FeatureId,
) -> FeatureOutcome<'c> {
    let mode = view.mode;
    let spec = catalog.feature(feature);
    let refused = |reason| FeatureOutcome {
        feature,
        routes: &[],
        usable: IdSet::EMPTY,
        refusal: Some(reason),
    };
    let add_on_missing = |add_on: AddOnId| !tenant.has_add_on(add_on);
    if !spec.modes.contains(mode.index()) {
        return refused(match spec.requires_add_on {
            Some(add_on) if !catalog.add_ons[add_on.index()].modes.contains(mode.index()) => {
                Reason::AddOnNotInMode {
                    feature,
                    add_on,
                    mode,
                }
            }
            _ => Reason::FeatureNotInMode { feature, mode },
        });
    }
    if let Some(add_on) = spec.requires_add_on.filter(|a| add_on_missing(*a)) {
        return refused(Reason::AddOnRequired { feature, add_on });
    }
    let Some(offering) = view.offering else {
        return refused(Reason::NoModeForFeature { feature });
    };
    let routes = catalog.routes(feature, offering);
    if routes.is_empty() {
        return refused(Reason::FeatureNotOfferedHere { feature, mode });
    }
    if !routes
        .iter()
        .any(|r| view.usable.contains(r.provider.index()))
    {
        return refused(Reason::FeatureProvidersExcluded { feature, mode });
    }
    FeatureOutcome {
        feature,
        routes,
        usable: view.usable,
        refusal: None,
    }
}

/// What happens to the data under the decided mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHandling {
    pub processing: Processing,
    pub third_party: bool,
    /// A third-party provider may receive the data itself, not through a
    /// platform (such as Amazon Bedrock) the vendor reaches it on.
    pub third_party_direct: bool,
}

/// A complete answer.
#[derive(Debug, Clone)]
pub struct Decision<'c> {
    pub outcome: Outcome,
    pub mode: Option<ModeId>,
    pub default_mode: ModeId,
    pub recommended_mode: Option<ModeId>,
    pub eligible_modes: IdSet,
    /// The decided mode as the tenant sees it (offering and usable providers).
    pub view: Option<ModeView<'c>>,
    pub features: Vec<FeatureOutcome<'c>>,
    pub data_handling: DataHandling,
    pub obligations: Vec<&'c Obligation>,
    pub reasons: Vec<Reason>,
    /// Every step, when the request asked to explain.
    pub trace: Vec<Reason>,
    pub tenant: Tenant,
}

impl<'c> Decision<'c> {
    /// The usable providers of the decided mode with where they process.
    pub fn providers(&self) -> impl Iterator<Item = &'c OfferedProvider> + use<'c> {
        self.view.into_iter().flat_map(|v| v.usable_providers())
    }
}

/// Decides which mode, providers and routes a tenant gets for its features.
pub fn decide<'c>(catalog: &'c Catalog, request: &DecisionRequest) -> Decision<'c> {
    let tenant = &request.tenant;
    let explain = request.explain;
    let mut trace = Vec::new();
    // Usually the mode's reason and the summary: room for those and two
    // more, so the list is allocated once, at its size.
    let mut reasons = Vec::with_capacity(4);
    if request.profile_applied {
        reasons.push(Reason::ProfileApplied);
    }
    for field in &request.ignored {
        reasons.push(Reason::ProfileLooseningIgnored { field });
    }

    // Steps 1-3: candidates, residency and provider lists give the eligible
    // modes. Views are not kept: evaluating a mode is a few bit operations,
    // cheaper than a list to hold them.
    let mut eligible = IdSet::EMPTY;
    for mode in catalog.mode_ids() {
        let view = evaluate_mode(catalog, tenant, mode);
        if explain {
            trace.push(view.reason(tenant));
        }
        if view.eligible() {
            eligible.insert(mode.index());
        }
    }
    if explain {
        trace.push(Reason::EligibleModes { modes: eligible });
    }

    // Steps 4-5: the selected mode, else the default, else the least exposed.
    let region = catalog.region(tenant.region);
    let least_exposed = eligible.iter().next().map(|i| ModeId(i as u16));
    let chosen = match tenant.selected_mode {
        // A selection that is eligible decides.
        Some(mode) if eligible.contains(mode.index()) => {
            reasons.push(Reason::SelectedMode { mode });
            Some(mode)
        }
        // A selection that is not eligible is a deny naming the eligible modes.
        Some(mode) => {
            reasons.push(Reason::SelectedModeNotEligible { mode, eligible });
            None
        }
        // No selection: the region's default when eligible.
        None if eligible.contains(region.default_mode.index()) => {
            reasons.push(Reason::DefaultMode {
                mode: region.default_mode,
                region: tenant.region,
            });
            Some(region.default_mode)
        }
        // Otherwise the eligible mode of least exposure.
        None => match least_exposed {
            Some(mode) => {
                reasons.push(Reason::LeastExposureMode {
                    mode,
                    default: region.default_mode,
                });
                Some(mode)
            }
            None => {
                reasons.push(Reason::NoEligibleMode);
                None
            }
        },
    };
    if explain {
        trace.extend(reasons.iter().copied());
    }

    // Step 6: route every feature under the decided mode.
    let view = chosen.map(|m| evaluate_mode(catalog, tenant, m));
    let features: Vec<FeatureOutcome<'c>> = request
        .features
        .iter()
        .map(|&feature| match &view {
            Some(view) => route_feature(catalog, tenant, view, feature),
            None => FeatureOutcome {
                feature,
                routes: &[],
                usable: IdSet::EMPTY,
                refusal: Some(Reason::NoModeForFeature { feature }),
            },
        })
        .collect();
    if explain {
        for f in &features {
            trace.push(match (f.refusal, f.route()) {
                (Some(reason), _) => reason,
                (None, Some(route)) => Reason::FeatureRouted {
                    feature: f.feature,
                    provider: route.provider,
                },
                (None, None) => Reason::NoModeForFeature { feature: f.feature },
            });
        }
    }

    let permitted = features.iter().filter(|f| f.permitted()).count();
    let outcome = match (chosen, permitted) {
        // No usable mode: nothing can be served.
        (None, _) => Outcome::Deny,
        // A mode, but none of the features under it.
        (Some(_), 0) => Outcome::Deny,
        // Every requested feature is served.
        (Some(_), n) if n == features.len() => Outcome::Permit,
        // Some are.
        (Some(_), _) => Outcome::Partial,
    };
    let summary = match outcome {
        Outcome::Permit => Reason::AllFeaturesPermitted,
        Outcome::Partial => Reason::SomeFeaturesPermitted {
            permitted: permitted as u16,
            requested: features.len() as u16,
        },
        Outcome::Deny => Reason::NoFeaturePermitted,
    };
    reasons.push(summary);
    if explain {
        trace.push(summary);
    }
    if let Some(mode) = chosen {
        for add_on in tenant.add_ons.iter() {
            if !catalog.add_ons[add_on].modes.contains(mode.index()) {
                reasons.push(Reason::AddOnUnavailable {
                    add_on: AddOnId(add_on as u16),
                    mode,
                });
            }
        }
    }

    let recommended_mode = eligible.iter().map(|i| ModeId(i as u16)).find(|&mode| {
        // The decided mode's features are already routed.
        if chosen == Some(mode) {
            return permitted == features.len();
        }
        let v = evaluate_mode(catalog, tenant, mode);
        request
            .features
            .iter()
            .all(|&f| route_feature(catalog, tenant, &v, f).permitted())
    });

    let data_handling = data_handling(catalog, view.as_ref());
    let obligations = obligations(catalog, tenant, data_handling);
    Decision {
        outcome,
        mode: chosen,
        default_mode: region.default_mode,
        recommended_mode,
        eligible_modes: eligible,
        view,
        features,
        data_handling,
        obligations,
        reasons,
        trace,
        tenant: tenant.clone(),
    }
}

/// Processing scope and third-party use of the decided mode's usable providers.
fn data_handling(catalog: &Catalog, view: Option<&ModeView<'_>>) -> DataHandling {
    let mut handling = DataHandling {
        processing: Processing::InRegion,
        third_party: false,
        third_party_direct: false,
    };
    let Some((offering, usable)) = view.and_then(|v| v.offering.map(|o| (o, v.usable))) else {
        return handling;
    };
    for p in offering
        .providers
        .iter()
        .filter(|p| usable.contains(p.provider.index()))
    {
        if p.processing == Processing::Global {
            handling.processing = Processing::Global;
        }
        if catalog.provider(p.provider).third_party {
            handling.third_party = true;
            handling.third_party_direct |= p.platform.is_none();
        }
    }
    handling
}

/// The catalog's obligations whose conditions hold for this tenant and mode.
fn obligations<'c>(
    catalog: &'c Catalog,
    tenant: &Tenant,
    handling: DataHandling,
) -> Vec<&'c Obligation> {
    let high_exposure = tenant
        .sector
        .is_some_and(|s| catalog.sectors[s.index()].high_exposure);
    let holds = |o: &&Obligation| match o.when {
        Condition::Always => true,
        Condition::ThirdParty => handling.third_party,
        Condition::ThirdPartyDirect => handling.third_party_direct,
        Condition::GlobalProcessing => handling.processing == Processing::Global,
        Condition::TrainingNotOptedOut => !tenant.training_opt_out,
        Condition::HighExposureSector => high_exposure,
        Condition::ResidencyPreferenceUnmet => {
            tenant.residency == Residency::Preferred && handling.processing == Processing::Global
        }
    };
    let regimes = tenant
        .compliance
        .iter()
        .flat_map(|c| catalog.compliance[c].obligations.iter());
    catalog
        .obligations
        .iter()
        .chain(regimes)
        .filter(holds)
        .collect()
}

/// The eligibility of every mode, and of each feature under it, for a tenant.
pub fn eligibility<'c>(
    catalog: &'c Catalog,
    tenant: &Tenant,
    features: &[FeatureId],
) -> Vec<(ModeView<'c>, Vec<FeatureOutcome<'c>>)> {
    catalog
        .mode_ids()
        .map(|mode| {
            let view = evaluate_mode(catalog, tenant, mode);
            let outcomes = features
                .iter()
                .map(|&f| match view.status {
                    ModeStatus::Eligible => route_feature(catalog, tenant, &view, f),
                    _ => FeatureOutcome {
                        feature: f,
                        routes: &[],
                        usable: IdSet::EMPTY,
                        refusal: Some(view.reason(tenant)),
                    },
                })
                .collect();
            (view, outcomes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::format::RawTenant;

    fn catalog() -> Catalog {
        Catalog::builtin().unwrap()
    }

    fn tenant(catalog: &Catalog, raw: RawTenant) -> Tenant {
        resolve_tenant(catalog, &raw, "/tenant").unwrap().tenant
    }

    fn raw(region: &str) -> RawTenant {
        RawTenant {
            region: Some(region.into()),
            ..RawTenant::default()
        }
    }

    fn request(catalog: &Catalog, raw: RawTenant, features: &[&str]) -> DecisionRequest {
        let features = features
            .iter()
            .map(|f| catalog.feature_id(f).unwrap())
            .collect();
        DecisionRequest {
            tenant: tenant(catalog, raw),
            profile_applied: false,
            ignored: Vec::new(),
            features,
            explain: true,
        }
    }

    fn mode(catalog: &Catalog, id: &str) -> ModeId {
        catalog.mode_id(id).unwrap()
    }

    #[test]
    fn a_mode_not_offered_in_the_region_is_not_a_candidate() {
        let c = catalog();
        let t = tenant(&c, raw("SG"));
        assert_eq!(
            evaluate_mode(&c, &t, mode(&c, "zm_plus")).status,
            ModeStatus::NotOffered
        );
        assert_eq!(
            evaluate_mode(&c, &t, mode(&c, "zmo")).status,
            ModeStatus::Eligible
        );
    }

    #[test]
    fn strict_removes_modes_that_may_process_globally() {
        let c = catalog();
        let global = tenant(
            &c,
            RawTenant {
                data_cluster: Some("global".into()),
                residency: Some(Residency::Strict.into()),
                ..raw("US")
            },
        );
        assert_eq!(
            evaluate_mode(&c, &global, mode(&c, "federated")).status,
            ModeStatus::ResidencyGlobalProcessing
        );
        assert_eq!(
            evaluate_mode(&c, &global, mode(&c, "zm_plus")).status,
            ModeStatus::Eligible
        );
        let preferred = tenant(
            &c,
            RawTenant {
                data_cluster: Some("global".into()),
                ..raw("US")
            },
        );
        assert_eq!(
            evaluate_mode(&c, &preferred, mode(&c, "federated")).status,
            ModeStatus::Eligible
        );
    }

    #[test]
    fn trust_boundary_removes_modes_with_third_parties() {
        let c = catalog();
        let t = tenant(
            &c,
            RawTenant {
                residency: Some(Residency::TrustBoundary.into()),
                ..raw("EU")
            },
        );
        assert_eq!(
            evaluate_mode(&c, &t, mode(&c, "zm_plus")).status,
            ModeStatus::ResidencyThirdParty
        );
        assert_eq!(
            evaluate_mode(&c, &t, mode(&c, "zmo")).status,
            ModeStatus::Eligible
        );
    }

    #[test]
    fn a_mode_without_usable_providers_is_not_eligible() {
        let c = catalog();
        let t = tenant(
            &c,
            RawTenant {
                denied_providers: Some(vec!["zoom".into()]),
                ..raw("EU")
            },
        );
        assert_eq!(
            evaluate_mode(&c, &t, mode(&c, "zmo")).status,
            ModeStatus::NoUsableProvider
        );
        assert_eq!(
            evaluate_mode(&c, &t, mode(&c, "zm_plus")).status,
            ModeStatus::Eligible
        );
    }

    #[test]
    fn routes_follow_preference_order_and_skip_unusable_providers() {
        let c = catalog();
        let t = tenant(
            &c,
            RawTenant {
                data_cluster: Some("global".into()),
                ..raw("US")
            },
        );
        let view = evaluate_mode(&c, &t, mode(&c, "federated"));
        let f = route_feature(&c, &t, &view, c.feature_id("meeting_summary").unwrap());
        let order: Vec<&str> = f
            .usable_routes()
            .map(|r| &*c.provider(r.provider).id)
            .collect();
        assert_eq!(order, ["anthropic", "openai", "zoom"]);
        let t = tenant(
            &c,
            RawTenant {
                data_cluster: Some("global".into()),
                denied_providers: Some(vec!["anthropic".into()]),
                ..raw("US")
            },
        );
        let view = evaluate_mode(&c, &t, mode(&c, "federated"));
        let f = route_feature(&c, &t, &view, c.feature_id("meeting_summary").unwrap());
        let order: Vec<&str> = f
            .usable_routes()
            .map(|r| &*c.provider(r.provider).id)
            .collect();
        assert_eq!(order, ["openai", "zoom"]);
    }

    #[test]
    fn every_route_excluded_refuses_the_feature() {
        let c = catalog();
        let t = tenant(
            &c,
            RawTenant {
                selected_mode: Some("federated".into()),
                data_cluster: Some("global".into()),
                denied_providers: Some(vec!["perplexity".into()]),
                ..raw("US")
            },
        );
        let d = decide(&c, &request_from(&c, t, &["web_search_answers"]));
        assert_eq!(
            d.features[0].refusal,
            Some(Reason::FeatureProvidersExcluded {
                feature: c.feature_id("web_search_answers").unwrap(),
                mode: mode(&c, "federated")
            })
        );
        assert_eq!(d.outcome, Outcome::Deny);
    }

    fn request_from(c: &Catalog, tenant: Tenant, features: &[&str]) -> DecisionRequest {
        DecisionRequest {
            tenant,
            profile_applied: false,
            ignored: Vec::new(),
            features: features.iter().map(|f| c.feature_id(f).unwrap()).collect(),
            explain: false,
        }
    }

    #[test]
    fn selection_beats_default_and_default_beats_least_exposure() {
        let c = catalog();
        let selected = decide(
            &c,
            &request(
                &c,
                RawTenant {
                    selected_mode: Some("zmo".into()),
                    ..raw("EU")
                },
                &["meeting_summary"],
            ),
        );
        assert_eq!(selected.mode, Some(mode(&c, "zmo")));
        assert!(selected.reasons.contains(&Reason::SelectedMode {
            mode: mode(&c, "zmo")
        }));
        let default = decide(&c, &request(&c, raw("EU"), &["meeting_summary"]));
        assert_eq!(default.mode, Some(mode(&c, "zm_plus")));
        // US defaults to federated; strict on the global cluster removes it.
        let fallback = decide(
            &c,
            &request(
                &c,
                RawTenant {
                    residency: Some(Residency::Strict.into()),
                    ..raw("US")
                },
                &["meeting_summary"],
            ),
        );
        assert_eq!(fallback.mode, Some(mode(&c, "zmo")));
        assert!(fallback.reasons.contains(&Reason::LeastExposureMode {
            mode: mode(&c, "zmo"),
            default: mode(&c, "federated")
        }));
    }

    #[test]
    fn outcome_counts_permitted_features() {
        let c = catalog();
        let permit = decide(&c, &request(&c, raw("EU"), &["meeting_summary"]));
        assert_eq!(permit.outcome, Outcome::Permit);
        let partial = decide(
            &c,
            &request(&c, raw("EU"), &["meeting_summary", "web_search_answers"]),
        );
        assert_eq!(partial.outcome, Outcome::Partial);
        let deny = decide(&c, &request(&c, raw("EU"), &["web_search_answers"]));
        assert_eq!(deny.outcome, Outcome::Deny);
    }

    #[test]
    fn recommended_mode_is_the_least_exposed_that_serves_everything() {
        let c = catalog();
        let d = decide(
            &c,
            &request(
                &c,
                RawTenant {
                    data_cluster: Some("global".into()),
                    ..raw("EU")
                },
                &["meeting_summary", "web_search_answers"],
            ),
        );
        assert_eq!(d.recommended_mode, Some(mode(&c, "federated")));
        let d = decide(&c, &request(&c, raw("EU"), &["meeting_summary"]));
        assert_eq!(d.recommended_mode, Some(mode(&c, "zmo")));
    }

    #[test]
    fn explain_records_every_step_and_plain_answers_record_none() {
        let c = catalog();
        let mut r = request(&c, raw("SG"), &["meeting_summary"]);
        assert_eq!(decide(&c, &r).trace.len(), 7);
        r.explain = false;
        assert!(decide(&c, &r).trace.is_empty());
    }

    #[test]
    fn profiles_are_tightened_never_loosened() {
        let c = catalog();
        let loosen = RawTenant {
            id: Some("lion-sg".into()),
            residency: Some(Residency::None.into()),
            region: Some("US".into()),
            ..RawTenant::default()
        };
        let resolved = resolve_tenant(&c, &loosen, "/tenant").unwrap();
        assert_eq!(resolved.tenant.residency, Residency::Strict);
        assert_eq!(resolved.tenant.region, c.region_id("SG").unwrap());
        assert_eq!(resolved.ignored, ["region", "residency"]);
        let tighten = RawTenant {
            id: Some("globex-us".into()),
            residency: Some(Residency::Strict.into()),
            compliance: Some(vec!["hipaa".into()]),
            ..RawTenant::default()
        };
        let resolved = resolve_tenant(&c, &tighten, "/tenant").unwrap();
        assert_eq!(resolved.tenant.residency, Residency::Strict);
        assert!(
            resolved
                .tenant
                .compliance
                .contains(c.compliance_id("ccpa").unwrap().index())
        );
        assert!(
            resolved
                .tenant
                .compliance
                .contains(c.compliance_id("hipaa").unwrap().index())
        );
        assert!(resolved.ignored.is_empty());
        let opt_in = RawTenant {
            id: Some("globex-us".into()),
            training_opt_out: Some(true),
            ..RawTenant::default()
        };
        let resolved = resolve_tenant(&c, &opt_in, "/tenant").unwrap();
        assert!(!resolved.tenant.training_opt_out);
        assert_eq!(resolved.ignored, ["training_opt_out"]);
    }
}
