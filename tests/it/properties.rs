//! Safety properties of the engine and of the wire answer, checked over
//! generated catalogs (random clusters, regions, providers, modes with
//! distinct exposure ranks, offerings with processing scopes and feature
//! restrictions, features with per-mode preferences, add-ons and tenant
//! profiles, all passing `catalog::compile`) and over the shipped catalog.
//!
//! Every property is stated once in a `check_*` function and run against
//! both kinds of catalog. Failing cases found so far are kept by proptest in
//! `tests/proptest-regressions/properties.txt` (committed) and replayed
//! first on every run.
//!
//! Monotonicity is stated on what a tenant *may* have: the eligible modes,
//! each mode's served features and their routes. A single decision can move
//! to another mode when a restriction removes the one it used (a stricter
//! residency can move a tenant from its default mode to a less exposed one
//! that happens to serve a feature the default did not), so the property
//! on a decision is that the tighter answer is one the looser tenant could
//! also have been given under the same mode.

use std::sync::LazyLock;

use aipdp::catalog::format::{
    Condition, ObligationKind, RawAddOn, RawCatalog, RawCluster, RawDecisionRequest, RawFeature,
    RawMode, RawObligation, RawOfferedProvider, RawOffering, RawPreference, RawProvider, RawRegion,
    RawTenant,
};
use aipdp::catalog::{Catalog, IdSet, ModeId, Processing, Residency, Tenant, compile};
use aipdp::engine::resolve_route_request;
use aipdp::engine::{DecisionRequest, FeatureOutcome, ModeView, decide, eligibility};
use aipdp::engine::{resolve_request, resolve_tenant};
use aipdp::wire::{DecisionBody, DecisionIds, RouteDecisionBody, decision_json, route_json};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

const MAX_CLUSTERS: usize = 2;
const MAX_REGIONS: usize = 3;
const MAX_PROVIDERS: usize = 4;
const MAX_MODES: usize = 3;
const MAX_FEATURES: usize = 4;
const MAX_ADD_ONS: usize = 2;
const MAX_PROFILES: usize = 2;

/// Cases per property: enough to explore the small generated catalogs,
/// few enough that the whole file runs in a few seconds on two cores.
const CASES: u32 = 192;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

static SHIPPED: LazyLock<Catalog> = LazyLock::new(|| Catalog::builtin().unwrap());

// ---------------------------------------------------------------------------
// Generated catalogs
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Sizes {
    clusters: usize,
    regions: usize,
    providers: usize,
    modes: usize,
    features: usize,
    add_ons: usize,
}

/// One (mode, region, cluster) cell: whether the mode is offered there and
/// how. The masks are over provider indices (and feature indices for
/// `only_features`).
#[derive(Debug, Clone)]
struct Cell {
    offered: bool,
    providers: u8,
    global: u8,
    platform: u8,
    restricted: u8,
    only_features: u8,
}

#[derive(Debug, Clone)]
struct FeaturePlan {
    add_on: Option<u8>,
    /// Per mode, provider indices in order of preference (filtered to the
    /// providers the mode offers when the catalog is built).
    routes: Vec<Vec<u8>>,
}

/// A tenant object by indices into the catalog's lists, resolved to ids
/// against whichever catalog it is used with.
#[derive(Debug, Clone)]
struct TenantPlan {
    profile: Option<u8>,
    region: Option<u8>,
    cluster: Option<u8>,
    residency: Option<u8>,
    selected_mode: Option<u8>,
    allowed: Option<u8>,
    denied: Option<u8>,
    add_ons: Option<u8>,
    training_opt_out: Option<bool>,
}

#[derive(Debug, Clone)]
struct RequestPlan {
    tenant: TenantPlan,
    features: Vec<u8>,
    explain: bool,
}

#[derive(Debug, Clone)]
struct CatalogPlan {
    sizes: Sizes,
    third_party: Vec<bool>,
    exposure: Vec<u32>,
    cells: Vec<Cell>,
    /// Per region: (default cluster, default mode), as indices.
    defaults: Vec<(u8, u8)>,
    features: Vec<FeaturePlan>,
    /// Per add-on: the modes it works with, as a mask.
    add_on_modes: Vec<u8>,
    profiles: Vec<TenantPlan>,
}

fn cell() -> impl Strategy<Value = Cell> {
    (
        prop::bool::weighted(0.7),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop_oneof![4 => Just(0u8), 1 => any::<u8>()],
        any::<u8>(),
    )
        .prop_map(
            |(offered, providers, global, platform, restricted, only_features)| Cell {
                offered,
                providers,
                global,
                platform,
                restricted,
                only_features,
            },
        )
}

fn feature_plan() -> impl Strategy<Value = FeaturePlan> {
    (
        prop::option::weighted(0.25, any::<u8>()),
        vec(vec(any::<u8>(), 0..=MAX_PROVIDERS), MAX_MODES),
    )
        .prop_map(|(add_on, routes)| FeaturePlan { add_on, routes })
}

fn tenant_plan() -> impl Strategy<Value = TenantPlan> {
    (
        prop::option::weighted(0.3, any::<u8>()),
        prop::option::weighted(0.9, any::<u8>()),
        prop::option::of(any::<u8>()),
        prop::option::of(0u8..4),
        prop::option::weighted(0.3, any::<u8>()),
        prop::option::weighted(0.3, any::<u8>()),
        prop::option::weighted(0.4, any::<u8>()),
        prop::option::weighted(0.4, any::<u8>()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(
                profile,
                region,
                cluster,
                residency,
                selected_mode,
                allowed,
                denied,
                add_ons,
                training_opt_out,
            )| TenantPlan {
                profile,
                region,
                cluster,
                residency,
                selected_mode,
                allowed,
                denied,
                add_ons,
                training_opt_out,
            },
        )
}

fn request_plan() -> impl Strategy<Value = RequestPlan> {
    (tenant_plan(), vec(any::<u8>(), 1..=4), any::<bool>()).prop_map(
        |(tenant, features, explain)| RequestPlan {
            tenant,
            features,
            explain,
        },
    )
}

fn catalog_plan() -> impl Strategy<Value = CatalogPlan> {
    (
        1..=MAX_CLUSTERS,
        1..=MAX_REGIONS,
        1..=MAX_PROVIDERS,
        1..=MAX_MODES,
        1..=MAX_FEATURES,
        0..=MAX_ADD_ONS,
        0..=MAX_PROFILES,
    )
        .prop_flat_map(
            |(clusters, regions, providers, modes, features, add_ons, profiles)| {
                let sizes = Sizes {
                    clusters,
                    regions,
                    providers,
                    modes,
                    features,
                    add_ons,
                };
                // Ranks with gaps, in an order unrelated to declaration order.
                let ranks: Vec<u32> = (1..=modes as u32).map(|r| r * 10).collect();
                (
                    Just(sizes),
                    vec(any::<bool>(), providers),
                    Just(ranks).prop_shuffle(),
                    vec(cell(), modes * regions * clusters),
                    vec((any::<u8>(), any::<u8>()), regions),
                    vec(feature_plan(), features),
                    vec(any::<u8>(), add_ons),
                    vec(tenant_plan(), profiles),
                )
            },
        )
        .prop_map(
            |(sizes, third_party, exposure, cells, defaults, features, add_on_modes, profiles)| {
                CatalogPlan {
                    sizes,
                    third_party,
                    exposure,
                    cells,
                    defaults,
                    features,
                    add_on_modes,
                    profiles,
                }
            },
        )
}

fn bits(mask: u8, n: usize) -> Vec<usize> {
    (0..n.min(8)).filter(|i| mask & (1 << i) != 0).collect()
}

/// Turns a plan into a catalog file that passes validation: every region's
/// default mode is offered on its default cluster, every mode has an
/// offering, preferences name only providers some offering of the mode lets
/// serve the feature (`only_features`), features that
/// need an add-on are listed only under the add-on's modes.
fn build_catalog(plan: &CatalogPlan) -> RawCatalog {
    let s = &plan.sizes;
    let cluster = |i: usize| format!("c{i}");
    let region = |i: usize| format!("R{i}");
    let provider = |i: usize| format!("p{i}");
    let mode = |i: usize| format!("m{i}");
    let feature = |i: usize| format!("f{i}");
    let add_on = |i: usize| format!("a{i}");
    let at = |m: usize, r: usize, c: usize| (m * s.regions + r) * s.clusters + c;

    let cell_providers = |cell: &Cell| {
        let mut list = bits(cell.providers, s.providers);
        if list.is_empty() {
            list.push(usize::from(cell.providers) % s.providers);
        }
        list
    };
    let mut offered: Vec<bool> = plan.cells.iter().map(|c| c.offered).collect();
    let defaults: Vec<(usize, usize)> = plan
        .defaults
        .iter()
        .map(|&(c, m)| (usize::from(c) % s.clusters, usize::from(m) % s.modes))
        .collect();
    for (r, &(c, m)) in defaults.iter().enumerate() {
        offered[at(m, r, c)] = true;
    }
    for m in 0..s.modes {
        if !(0..s.regions).any(|r| (0..s.clusters).any(|c| offered[at(m, r, c)])) {
            offered[at(m, 0, 0)] = true;
        }
    }
    let mut modes = Vec::new();
    for (m, &exposure) in plan.exposure.iter().enumerate() {
        let mut offerings = Vec::new();
        for r in 0..s.regions {
            for c in 0..s.clusters {
                if !offered[at(m, r, c)] {
                    continue;
                }
                let cell = &plan.cells[at(m, r, c)];
                let providers = cell_providers(cell)
                    .into_iter()
                    .map(|p| {
                        let bit = |mask: u8| mask & (1 << p) != 0;
                        RawOfferedProvider {
                            id: provider(p),
                            platform: bit(cell.platform).then(|| "hosted_platform".to_owned()),
                            processing: if bit(cell.global) {
                                Processing::Global
                            } else {
                                Processing::InRegion
                            },
                            only_features: bit(cell.restricted).then(|| {
                                bits(cell.only_features, s.features)
                                    .into_iter()
                                    .map(feature)
                                    .collect()
                            }),
                            call: Default::default(),
                        }
                    })
                    .collect();
                offerings.push(RawOffering {
                    regions: vec![region(r)],
                    clusters: vec![cluster(c)],
                    providers,
                });
            }
        }
        modes.push(RawMode {
            id: mode(m),
            name: String::new(),
            exposure,
            summary: String::new(),
            offerings,
        });
    }

    // Whether some offering of mode `m` lets provider `p` serve feature `f`.
    let serves = |m: usize, p: usize, f: usize| {
        modes[m].offerings.iter().any(|o| {
            o.providers.iter().any(|offered| {
                offered.id == provider(p)
                    && offered
                        .only_features
                        .as_ref()
                        .is_none_or(|only| only.contains(&feature(f)))
            })
        })
    };
    let add_on_modes: Vec<Vec<usize>> = plan
        .add_on_modes
        .iter()
        .map(|&mask| bits(mask, s.modes))
        .collect();
    let features = plan
        .features
        .iter()
        .enumerate()
        .map(|(f, fp)| {
            let requires = match (fp.add_on, s.add_ons) {
                (Some(a), n) if n > 0 => Some(usize::from(a) % n),
                _ => None,
            };
            let mut routes = std::collections::BTreeMap::new();
            for (m, wanted) in fp.routes.iter().enumerate().take(s.modes) {
                if requires.is_some_and(|a| !add_on_modes[a].contains(&m)) {
                    continue;
                }
                let mut list: Vec<usize> = Vec::new();
                for p in wanted.iter().map(|&p| usize::from(p) % s.providers) {
                    if serves(m, p, f) && !list.contains(&p) {
                        list.push(p);
                    }
                }
                if list.is_empty() {
                    continue;
                }
                routes.insert(
                    mode(m),
                    list.into_iter()
                        .map(|p| RawPreference {
                            provider: provider(p),
                            model: format!("model-{f}-{m}-{p}"),
                        })
                        .collect(),
                );
            }
            RawFeature {
                id: feature(f),
                name: String::new(),
                requires_add_on: requires.map(add_on),
                routes,
            }
        })
        .collect();

    let obligation = |code: &str, when| RawObligation {
        code: code.into(),
        kind: ObligationKind::Obligation,
        when,
        message: format!("{code} applies"),
    };
    let mut raw = RawCatalog {
        version: "generated-1".into(),
        ttl_seconds: 60,
        changelog: Vec::new(),
        clusters: (0..s.clusters)
            .map(|c| RawCluster {
                id: cluster(c),
                name: String::new(),
            })
            .collect(),
        regions: defaults
            .iter()
            .enumerate()
            .map(|(r, &(c, m))| RawRegion {
                id: region(r),
                name: String::new(),
                default_cluster: cluster(c),
                default_mode: mode(m),
            })
            .collect(),
        providers: plan
            .third_party
            .iter()
            .enumerate()
            .map(|(p, &third_party)| RawProvider {
                id: provider(p),
                name: String::new(),
                third_party,
            })
            .collect(),
        modes,
        add_ons: add_on_modes
            .iter()
            .enumerate()
            .map(|(a, modes)| RawAddOn {
                id: add_on(a),
                name: String::new(),
                summary: String::new(),
                modes: modes.iter().map(|&m| mode(m)).collect(),
            })
            .collect(),
        features,
        obligations: vec![
            obligation("always_notice", Condition::Always),
            obligation("third_party_notice", Condition::ThirdParty),
            obligation("direct_third_party_notice", Condition::ThirdPartyDirect),
            obligation("global_processing_notice", Condition::GlobalProcessing),
            obligation("training_notice", Condition::TrainingNotOptedOut),
        ],
        compliance: Vec::new(),
        sectors: Vec::new(),
        tenants: Vec::new(),
        examples: Vec::new(),
    };
    // Profiles are plain tenants (no profile of their own) named t0, t1...
    raw.tenants = plan
        .profiles
        .iter()
        .enumerate()
        .map(|(i, tp)| {
            let mut t = raw_tenant_by_names(
                &raw,
                &TenantPlan {
                    profile: None,
                    ..tp.clone()
                },
            );
            t.id = Some(format!("t{i}"));
            t
        })
        .collect();
    raw
}

/// A tenant object for a plan, with ids taken from a parsed catalog file.
fn raw_tenant_by_names(raw: &RawCatalog, plan: &TenantPlan) -> RawTenant {
    let pick = |ids: &[&str], i: u8| ids[usize::from(i) % ids.len()].to_owned();
    let set = |ids: &[&str], mask: u8| -> Vec<String> {
        bits(mask, ids.len())
            .into_iter()
            .map(|i| ids[i].to_owned())
            .collect()
    };
    let regions: Vec<&str> = raw.regions.iter().map(|r| r.id.as_str()).collect();
    let clusters: Vec<&str> = raw.clusters.iter().map(|c| c.id.as_str()).collect();
    let modes: Vec<&str> = raw.modes.iter().map(|m| m.id.as_str()).collect();
    let providers: Vec<&str> = raw.providers.iter().map(|p| p.id.as_str()).collect();
    let add_ons: Vec<&str> = raw.add_ons.iter().map(|a| a.id.as_str()).collect();
    let profiles: Vec<&str> = raw.tenants.iter().filter_map(|t| t.id.as_deref()).collect();
    let profile = match plan.profile {
        Some(p) if !profiles.is_empty() => Some(pick(&profiles, p)),
        _ => None,
    };
    // Without a profile the region is required.
    let region = match (plan.region, &profile) {
        (Some(r), _) => Some(pick(&regions, r)),
        (None, None) => Some(regions[0].to_owned()),
        (None, Some(_)) => None,
    };
    RawTenant {
        id: profile,
        region,
        data_cluster: plan.cluster.map(|c| pick(&clusters, c)),
        residency: plan
            .residency
            .map(|r| Residency::ALL[usize::from(r) % 4].into()),
        selected_mode: plan.selected_mode.map(|m| pick(&modes, m)),
        allowed_providers: plan.allowed.map(|m| set(&providers, m)),
        denied_providers: plan.denied.map(|m| set(&providers, m)),
        compliance: None,
        add_ons: match plan.add_ons {
            Some(m) if !add_ons.is_empty() => Some(set(&add_ons, m)),
            _ => None,
        },
        training_opt_out: plan.training_opt_out,
        sector: None,
    }
}

fn raw_request(catalog: &Catalog, plan: &RequestPlan) -> RawDecisionRequest {
    let mut features: Vec<String> = Vec::new();
    for &f in &plan.features {
        let id = catalog.features[usize::from(f) % catalog.features.len()]
            .id
            .to_string();
        if !features.contains(&id) {
            features.push(id);
        }
    }
    RawDecisionRequest {
        tenant: raw_tenant_by_names(&catalog.raw, &plan.tenant),
        features,
        explain: plan.explain,
    }
}

fn compiled(plan: &CatalogPlan) -> Result<Catalog, TestCaseError> {
    let raw = build_catalog(plan);
    compile(raw).map_err(|e| TestCaseError::fail(format!("generated catalog refused: {e}")))
}

fn resolved(catalog: &Catalog, raw: &RawDecisionRequest) -> Result<DecisionRequest, TestCaseError> {
    resolve_request(catalog, raw)
        .map_err(|e| TestCaseError::fail(format!("generated request refused: {e:?}")))
}

/// The decision as the wire renders it, with a fixed decision id.
fn wire(catalog: &Catalog, request: &DecisionRequest) -> Value {
    let decision = decide(catalog, request);
    serde_json::to_value(DecisionBody::new(
        catalog,
        &decision,
        "fixed".into(),
        request.explain,
    ))
    .unwrap()
}

// ---------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------

/// Every route and fallback of every feature in a wire decision.
fn routed(body: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for f in body["features"].as_array().unwrap() {
        if let Some(route) = f.get("route") {
            out.push(route);
        }
        if let Some(list) = f.get("fallbacks").and_then(Value::as_array) {
            out.extend(list.iter());
        }
    }
    out
}

/// The safety properties of one decision, on the engine value and its JSON.
fn check_decision(catalog: &Catalog, raw: &RawDecisionRequest) -> Result<(), TestCaseError> {
    let request = resolved(catalog, raw)?;
    let tenant = &request.tenant;
    let decision = decide(catalog, &request);
    let body = wire(catalog, &request);
    let usable = tenant.usable_providers();
    let denied: Vec<&str> = raw
        .tenant
        .denied_providers
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let allowed: Option<Vec<&str>> = raw
        .tenant
        .allowed_providers
        .as_ref()
        .map(|l| l.iter().map(String::as_str).collect());

    // A denied or non-allowed provider is never routed to, listed as a
    // fallback, or listed among the usable providers.
    let providers = body["providers"].as_array().unwrap();
    for entry in routed(&body).into_iter().chain(providers.iter()) {
        let name = entry
            .get("provider")
            .or_else(|| entry.get("id"))
            .and_then(Value::as_str)
            .unwrap();
        prop_assert!(!denied.contains(&name), "denied `{name}` in {body}");
        if let Some(allowed) = &allowed {
            prop_assert!(allowed.contains(&name), "non-allowed `{name}` in {body}");
        }
        let id = catalog.provider_id(name).unwrap();
        prop_assert!(usable.contains(id.index()), "unusable `{name}` in {body}");

        // `strict` (and `trust_boundary`) never process globally;
        // `trust_boundary` never reaches a third party.
        if tenant.residency >= Residency::Strict {
            prop_assert_ne!(&entry["processing_region"], "global", "{}", body);
        }
        if tenant.residency == Residency::TrustBoundary {
            prop_assert!(!catalog.provider(id).third_party, "third party in {body}");
        }
    }
    if tenant.residency >= Residency::Strict {
        prop_assert_eq!(
            &body["data_handling"]["processing"],
            "in_region",
            "{}",
            body
        );
    }
    if tenant.residency == Residency::TrustBoundary {
        prop_assert_eq!(&body["data_handling"]["third_party"], false, "{}", body);
    }

    // The decided mode is eligible and honours the selection; without one,
    // every feature is refused.
    let eligible: Vec<&str> = body["eligible_modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let exposures: Vec<u32> = eligible
        .iter()
        .map(|m| catalog.mode(catalog.mode_id(m).unwrap()).exposure)
        .collect();
    prop_assert!(exposures.windows(2).all(|w| w[0] < w[1]), "order {body}");
    match decision.mode {
        Some(mode) => {
            let id = &*catalog.mode(mode).id;
            prop_assert_eq!(&body["mode"], id);
            prop_assert!(eligible.contains(&id));
            if let Some(selected) = tenant.selected_mode {
                prop_assert_eq!(selected, mode);
            }
        }
        None => {
            prop_assert!(body["mode"].is_null());
            prop_assert_eq!(&body["outcome"], "deny");
            prop_assert!(providers.is_empty());
        }
    }

    // Every routed provider is offered by the decided mode in the tenant's
    // region and cluster, with that offering's processing region, and the
    // model is the catalog's preference for that provider under the mode.
    for (f, entry) in request
        .features
        .iter()
        .zip(body["features"].as_array().unwrap())
    {
        prop_assert_eq!(&entry["id"], &*catalog.feature(*f).id);
        let routes: Vec<&Value> = entry
            .get("route")
            .into_iter()
            .chain(
                entry
                    .get("fallbacks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            )
            .collect();
        prop_assert_eq!(entry["permitted"] == true, !routes.is_empty(), "{}", body);
        if routes.is_empty() {
            prop_assert!(!entry["reasons"].as_array().unwrap().is_empty());
            continue;
        }
        let mode = decision.mode.unwrap();
        let offering = catalog
            .offering(mode, tenant.region, tenant.cluster)
            .unwrap();
        let raw_feature = &catalog.raw.features[f.index()];
        let preferences = &raw_feature.routes[&*catalog.mode(mode).id];
        let mut last = None;
        for route in routes {
            let name = route["provider"].as_str().unwrap();
            let id = catalog.provider_id(name).unwrap();
            let offered = offering.providers.iter().find(|p| p.provider == id);
            prop_assert!(offered.is_some(), "`{name}` not offered: {body}");
            prop_assert_eq!(
                route["processing_region"].as_str().unwrap(),
                &*offered.unwrap().processing_region
            );
            let rank = preferences.iter().position(|p| p.provider == name);
            prop_assert!(rank.is_some(), "`{name}` not a preference: {body}");
            prop_assert_eq!(
                route["model"].as_str().unwrap(),
                &preferences[rank.unwrap()].model
            );
            // Fallbacks keep the catalog's order of preference.
            prop_assert!(last < rank, "order of routes: {body}");
            last = rank;
        }
    }

    // The outcome counts the permitted features.
    let permitted = decision.features.iter().filter(|f| f.permitted()).count();
    let expected = match (decision.mode, permitted) {
        (None, _) | (Some(_), 0) => "deny",
        (Some(_), n) if n == request.features.len() => "permit",
        _ => "partial",
    };
    prop_assert_eq!(&body["outcome"], expected);

    // Data handling follows the usable providers of the decided mode.
    let global = providers.iter().any(|p| p["processing_region"] == "global");
    let third_party = providers.iter().any(|p| p["third_party"] == true);
    // A third party reached on no platform receives the data itself.
    let third_party_direct = providers
        .iter()
        .any(|p| p["third_party"] == true && p.get("platform").is_none());
    prop_assert_eq!(
        &body["data_handling"]["processing"],
        if global { "global" } else { "in_region" }
    );
    prop_assert_eq!(&body["data_handling"]["third_party"], third_party);
    prop_assert_eq!(&body["data_handling"]["customer_content_training"], false);
    // An obligation whose condition holds is never left out.
    let codes: Vec<&str> = body["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    for o in &catalog.obligations {
        let holds = match o.when {
            Condition::Always => true,
            Condition::ThirdParty => third_party,
            Condition::ThirdPartyDirect => third_party_direct,
            Condition::GlobalProcessing => global,
            Condition::TrainingNotOptedOut => !tenant.training_opt_out,
            Condition::HighExposureSector => false,
            Condition::ResidencyPreferenceUnmet => {
                global && tenant.residency == Residency::Preferred
            }
        };
        // And one whose condition does not hold is never given (the
        // sector is not in the answer to check against).
        if o.when != Condition::HighExposureSector {
            prop_assert_eq!(codes.contains(&&*o.code), holds, "`{}`: {}", o.code, body);
        }
    }

    // `recommended_mode` serves every requested feature and has no more
    // exposure than any other eligible mode that does; it is null only when
    // no eligible mode serves them all.
    let grid = eligibility(catalog, tenant, &request.features);
    let serving: Vec<ModeId> = grid
        .iter()
        .filter(|(view, outcomes)| view.eligible() && outcomes.iter().all(|o| o.permitted()))
        .map(|(view, _)| view.mode)
        .collect();
    match decision.recommended_mode {
        Some(m) => {
            prop_assert!(serving.contains(&m), "{body}");
            let exposure = catalog.mode(m).exposure;
            prop_assert!(
                serving
                    .iter()
                    .all(|o| exposure <= catalog.mode(*o).exposure)
            );
            prop_assert_eq!(&body["recommended_mode"], &*catalog.mode(m).id);
        }
        None => {
            prop_assert!(serving.is_empty(), "{body}");
            prop_assert!(body["recommended_mode"].is_null());
        }
    }

    // Deterministic: the same request, or the same catalog compiled again,
    // gives the same answer.
    prop_assert_eq!(&wire(catalog, &request), &body);
    let again = compile(catalog.raw.clone()).unwrap();
    let request_again = resolved(&again, raw)?;
    prop_assert_eq!(&wire(&again, &request_again), &body);
    Ok(())
}

/// Whether `tight` is at least as restrictive as `loose` in every field.
fn check_tighter(tight: &Tenant, loose: &Tenant) -> Result<(), TestCaseError> {
    prop_assert_eq!(tight.region, loose.region);
    prop_assert_eq!(tight.cluster, loose.cluster);
    prop_assert!(tight.residency >= loose.residency);
    prop_assert!(tight.usable_providers().is_subset(loose.usable_providers()));
    prop_assert!(loose.denied.is_subset(tight.denied));
    prop_assert!(loose.compliance.is_subset(tight.compliance));
    prop_assert!(tight.add_ons.is_subset(loose.add_ons));
    prop_assert!(!tight.training_opt_out || loose.training_opt_out);
    if loose.selected_mode.is_some() {
        prop_assert_eq!(tight.selected_mode, loose.selected_mode);
    }
    if loose.sector.is_some() {
        prop_assert_eq!(tight.sector, loose.sector);
    }
    Ok(())
}

fn providers_of(outcome: &FeatureOutcome<'_>) -> Vec<usize> {
    outcome
        .usable_routes()
        .map(|r| r.provider.index())
        .collect()
}

fn is_subsequence(small: &[usize], big: &[usize]) -> bool {
    let mut rest = big.iter();
    small.iter().all(|x| rest.any(|y| y == x))
}

type Grid<'c> = Vec<(ModeView<'c>, Vec<FeatureOutcome<'c>>)>;

/// Monotonicity of the grid: a tighter tenant has no mode, no feature under
/// a mode and no route that the looser one lacks.
fn check_grid_narrows(tight: &Grid<'_>, loose: &Grid<'_>) -> Result<(), TestCaseError> {
    for ((tv, tf), (lv, lf)) in tight.iter().zip(loose) {
        prop_assert_eq!(tv.mode, lv.mode);
        prop_assert!(
            !tv.eligible() || lv.eligible(),
            "mode {:?} widened",
            tv.mode
        );
        for (t, l) in tf.iter().zip(lf) {
            prop_assert!(!t.permitted() || l.permitted(), "feature widened");
            prop_assert!(is_subsequence(&providers_of(t), &providers_of(l)));
        }
    }
    Ok(())
}

/// A restriction added to a request.
#[derive(Debug, Clone)]
enum Tightening {
    Residency(u8),
    Deny(u8),
    Allow(u8),
    Select(u8),
}

fn tightening() -> impl Strategy<Value = Tightening> {
    prop_oneof![
        (0u8..4).prop_map(Tightening::Residency),
        any::<u8>().prop_map(Tightening::Deny),
        any::<u8>().prop_map(Tightening::Allow),
        any::<u8>().prop_map(Tightening::Select),
    ]
}

fn tighten(
    catalog: &Catalog,
    raw: &RawDecisionRequest,
    loose: &Tenant,
    how: &Tightening,
) -> RawDecisionRequest {
    let mut out = raw.clone();
    let names: Vec<String> = catalog.providers.iter().map(|p| p.id.to_string()).collect();
    let t = &mut out.tenant;
    match *how {
        Tightening::Residency(level) => {
            t.residency = Some(
                Residency::ALL[usize::from(level)]
                    .max(loose.residency)
                    .into(),
            );
        }
        Tightening::Deny(p) => {
            let name = &names[usize::from(p) % names.len()];
            let list = t.denied_providers.get_or_insert_with(Vec::new);
            if !list.contains(name) {
                list.push(name.clone());
            }
        }
        Tightening::Allow(mask) => {
            let current = t.allowed_providers.clone().unwrap_or(names.clone());
            t.allowed_providers = Some(
                current
                    .into_iter()
                    .filter(|n| {
                        let i = catalog.provider_id(n).unwrap().index();
                        i >= 8 || mask & (1 << i) != 0
                    })
                    .collect(),
            );
        }
        Tightening::Select(m) => {
            if loose.selected_mode.is_none() {
                let mode = ModeId((usize::from(m) % catalog.modes.len()) as u16);
                t.selected_mode = Some(catalog.mode(mode).id.to_string());
            }
        }
    }
    out
}

/// Adding a restriction never adds an eligible mode, never turns a refused
/// feature into a served one under any mode, and whatever the tighter
/// request is answered is an answer the looser one could have had.
fn check_monotone(
    catalog: &Catalog,
    raw: &RawDecisionRequest,
    how: &Tightening,
) -> Result<(), TestCaseError> {
    let loose = resolved(catalog, raw)?;
    let tight_raw = tighten(catalog, raw, &loose.tenant, how);
    let tight = resolved(catalog, &tight_raw)?;
    check_tighter(&tight.tenant, &loose.tenant)?;

    let loose_grid = eligibility(catalog, &loose.tenant, &loose.features);
    let tight_grid = eligibility(catalog, &tight.tenant, &tight.features);
    check_grid_narrows(&tight_grid, &loose_grid)?;

    let l = decide(catalog, &loose);
    let t = decide(catalog, &tight);
    prop_assert!(t.eligible_modes.is_subset(l.eligible_modes));
    if let Some(mode) = t.mode {
        prop_assert!(l.eligible_modes.contains(mode.index()));
        let (_, under_loose) = &loose_grid[mode.index()];
        for (tf, lf) in t.features.iter().zip(under_loose) {
            prop_assert!(!tf.permitted() || lf.permitted(), "feature widened");
            prop_assert!(is_subsequence(&providers_of(tf), &providers_of(lf)));
        }
    } else {
        prop_assert!(t.features.iter().all(|f| !f.permitted()));
    }
    if let Some(rt) = t.recommended_mode {
        let rl = l.recommended_mode;
        prop_assert!(rl.is_some_and(|rl| rl <= rt), "recommendation widened");
    }
    Ok(())
}

/// A request naming a profile is never looser than the profile alone.
fn check_profile_not_loosened(
    catalog: &Catalog,
    raw: &RawDecisionRequest,
) -> Result<(), TestCaseError> {
    let Some(id) = raw.tenant.id.as_deref() else {
        return Ok(());
    };
    let Some(profile) = catalog.tenant_profile(id) else {
        return Ok(());
    };
    let request = resolved(catalog, raw)?;
    check_tighter(&request.tenant, profile)?;
    prop_assert!(request.profile_applied);
    let tight = eligibility(catalog, &request.tenant, &request.features);
    let loose = eligibility(catalog, profile, &request.features);
    check_grid_narrows(&tight, &loose)?;
    // An attempt to loosen is reported, not silently dropped.
    let body = wire(catalog, &request);
    let reported = body["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"] == "profile_loosening_ignored")
        .count();
    prop_assert_eq!(reported, request.ignored.len());
    Ok(())
}

// A profile-naming request that tries every loosening at once.
fn loosening_attempt(catalog: &Catalog, plan: &RequestPlan) -> RawDecisionRequest {
    let mut raw = raw_request(catalog, plan);
    if let Some(profile) = catalog.raw.tenants.first() {
        raw.tenant.id = profile.id.clone();
    }
    raw
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn generated_catalogs_compile(plan in catalog_plan()) {
        compiled(&plan)?;
    }

    #[test]
    fn decisions_are_safe_on_generated_catalogs(plan in catalog_plan(), req in request_plan()) {
        let catalog = compiled(&plan)?;
        check_decision(&catalog, &raw_request(&catalog, &req))?;
    }

    #[test]
    fn decisions_are_safe_on_the_shipped_catalog(req in request_plan()) {
        check_decision(&SHIPPED, &raw_request(&SHIPPED, &req))?;
    }

    #[test]
    fn written_answers_are_serde_bytes_on_generated_catalogs(
        plan in catalog_plan(),
        req in request_plan(),
    ) {
        let catalog = compiled(&plan)?;
        check_written_answers(&catalog, &raw_request(&catalog, &req))?;
    }

    #[test]
    fn written_answers_are_serde_bytes_on_the_shipped_catalog(req in request_plan()) {
        check_written_answers(&SHIPPED, &raw_request(&SHIPPED, &req))?;
    }

    #[test]
    fn restrictions_never_widen_on_generated_catalogs(
        plan in catalog_plan(),
        req in request_plan(),
        how in vec(tightening(), 1..=3),
    ) {
        let catalog = compiled(&plan)?;
        let mut raw = raw_request(&catalog, &req);
        for step in &how {
            check_monotone(&catalog, &raw, step)?;
            let loose = resolved(&catalog, &raw)?;
            raw = tighten(&catalog, &raw, &loose.tenant, step);
        }
    }

    #[test]
    fn restrictions_never_widen_on_the_shipped_catalog(
        req in request_plan(),
        how in tightening(),
    ) {
        check_monotone(&SHIPPED, &raw_request(&SHIPPED, &req), &how)?;
    }

    #[test]
    fn profiles_are_never_loosened_on_generated_catalogs(
        plan in catalog_plan(),
        req in request_plan(),
    ) {
        let catalog = compiled(&plan)?;
        check_profile_not_loosened(&catalog, &loosening_attempt(&catalog, &req))?;
    }

    #[test]
    fn profiles_are_never_loosened_on_the_shipped_catalog(req in request_plan()) {
        check_profile_not_loosened(&SHIPPED, &raw_request(&SHIPPED, &req))?;
        check_profile_not_loosened(&SHIPPED, &loosening_attempt(&SHIPPED, &req))?;
    }
}

/// The answers written by hand on the hot path are byte for byte what
/// serde_json writes for the same answer types: decisions with and without
/// a trace, and the route answer of every feature. Ad-hoc tenants get an id
/// with characters JSON must escape.
fn check_written_answers(catalog: &Catalog, raw: &RawDecisionRequest) -> Result<(), TestCaseError> {
    let mut raw = raw.clone();
    if raw.tenant.id.is_none() && raw.tenant.region.is_some() {
        raw.tenant.id = Some("odd \"id\" \\ \n\u{1}\u{7f} é".into());
    }
    for explain in [false, true] {
        raw.explain = explain;
        let request = resolved(catalog, &raw)?;
        let decision = decide(catalog, &request);
        let id = DecisionIds::new().next_id();
        let body = DecisionBody::new(catalog, &decision, id.to_string(), explain);
        prop_assert_eq!(
            String::from_utf8(decision_json(catalog, &decision, &id, explain)).unwrap(),
            serde_json::to_string(&body).unwrap()
        );
    }
    for feature in &raw.features {
        let request = resolve_route_request(catalog, &raw.tenant, feature, ("/tenant", "/feature"))
            .map_err(|e| TestCaseError::fail(format!("route request refused: {e:?}")))?;
        let decision = decide(catalog, &request);
        let id = DecisionIds::new().next_id();
        let body = RouteDecisionBody::new(catalog, &decision, id.to_string());
        prop_assert_eq!(
            String::from_utf8(route_json(catalog, &decision, &id)).unwrap(),
            serde_json::to_string(&body).unwrap()
        );
    }
    Ok(())
}

/// Whether a generated request names a profile often enough for the
/// profile property to mean something on the shipped catalog.
#[test]
fn the_shipped_catalog_has_profiles_to_test() {
    assert!(SHIPPED.raw.tenants.len() >= 2);
    assert!(SHIPPED.modes.len() >= 3 && SHIPPED.providers.len() >= 4);
}

// ---------------------------------------------------------------------------
// Batch answers equal single answers, over HTTP
// ---------------------------------------------------------------------------

/// A request as JSON: mostly valid, sometimes with an unknown region so the
/// batch's per-item problems are compared too.
fn batch_item(catalog: &Catalog, plan: &RequestPlan, broken: bool) -> Value {
    let mut value = serde_json::to_value(raw_request(catalog, plan)).unwrap();
    if broken {
        value["tenant"]["region"] = json!("MARS");
    }
    value
}

fn without_decision_id(mut v: Value) -> Value {
    if let Some(map) = v.as_object_mut() {
        map.remove("decision_id");
    }
    v
}

#[test]
fn batch_answers_equal_single_answers() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(spawn_app());
    let mut runner = TestRunner::new(Config {
        source_file: Some(file!()),
        ..config(24)
    });
    let items = vec((request_plan(), prop::bool::weighted(0.15)), 1..=6);
    runner
        .run(&items, |items| {
            let requests: Vec<Value> = items
                .iter()
                .map(|(plan, broken)| batch_item(&SHIPPED, plan, *broken))
                .collect();
            runtime.block_on(async {
                let (status, batch) = app
                    .post("/v1/decisions/batch", &json!({ "requests": requests }))
                    .await;
                prop_assert_eq!(status, 200, "{}", batch);
                let results = batch["results"].as_array().unwrap();
                prop_assert_eq!(results.len(), requests.len());
                for (i, (request, result)) in requests.iter().zip(results).enumerate() {
                    let (status, single) = app.post("/v1/decisions", request).await;
                    if status == 200 {
                        prop_assert_eq!(
                            without_decision_id(result.clone()),
                            without_decision_id(single)
                        );
                        continue;
                    }
                    // A bad item carries the single answer's problem, its
                    // pointers prefixed with the item's place in the batch.
                    prop_assert_eq!(status, 400);
                    let error = result;
                    for key in ["type", "title", "status"] {
                        prop_assert_eq!(&error[key], &single[key]);
                    }
                    let expected: Vec<Value> = single["errors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| {
                            json!({
                                "pointer": format!("/requests/{i}{}", e["pointer"].as_str().unwrap()),
                                "message": e["message"],
                            })
                        })
                        .collect();
                    prop_assert_eq!(&error["errors"], &Value::Array(expected));
                }
                Ok(())
            })
        })
        .unwrap();
}

/// Sanity of the generator itself: an empty allow-list leaves no provider.
#[test]
fn an_empty_allow_list_leaves_nothing_usable() {
    let raw = RawTenant {
        region: Some("EU".into()),
        allowed_providers: Some(Vec::new()),
        ..RawTenant::default()
    };
    let tenant = resolve_tenant(&SHIPPED, &raw, "/tenant").unwrap().tenant;
    assert_eq!(tenant.usable_providers(), IdSet::EMPTY);
}
