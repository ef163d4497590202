//! Catalog diff: what changed between two catalogs, and whose decisions
//! change because of it.
//!
//! [`diff()`] compares two compiled catalogs in two parts, each in a stable
//! order so that the output of a review can itself be diffed:
//!
//! - **changes**: the edits, entry by entry (regions added to or removed from
//!   a mode, providers of an offering, features and their provider
//!   preferences and models, obligations, region defaults, profiles ...);
//! - **impact**: the same decisions made under both catalogs, for every
//!   tenant profile and for every (region, data cluster, residency, selected
//!   mode or none) of a tenant holding every add-on and asking for every
//!   feature; each decision whose outcome, mode, eligible modes, routes,
//!   data handling or obligations differ is listed old beside new.
//!
//! Used by `aipdp diff OLD NEW`; [`diff_upload`] is the whole of what an
//! HTTP endpoint comparing the catalog in force with an uploaded one needs.
//! Depends on `catalog` and `engine`; never on HTTP types.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use utoipa::ToSchema;

use crate::catalog::format::{RawCatalog, RawObligation, RawOffering, RawTenant};
use crate::catalog::{Catalog, CatalogError, FeatureId, Residency};
use crate::engine::{Decision, DecisionRequest, Outcome, decide, resolve_tenant};

/// Everything that differs between two catalogs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogDiff {
    pub old_version: String,
    pub new_version: String,
    /// The edits, in catalog order: top-level settings, clusters, regions,
    /// providers, modes, add-ons, features, obligations, compliance regimes,
    /// sectors, tenant profiles.
    pub changes: Vec<Change>,
    pub impact: Impact,
    /// What would stop the new catalog from going live as it is, such as
    /// changes under an unchanged version, which a running service refuses
    /// to reload.
    pub warnings: Vec<String>,
}

impl CatalogDiff {
    /// Whether any decision differs between the two catalogs.
    pub fn changes_decisions(&self) -> bool {
        !self.impact.changed.is_empty()
    }
}

/// One edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Change {
    /// Stable code, such as `mode_region_added` or `feature_model_changed`.
    pub kind: &'static str,
    /// The entry, named as validation names it: `modes[zm_plus]`.
    pub entry: String,
    /// One sentence for people.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// Whose decisions change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Impact {
    /// Features every decision asked for: both catalogs' features.
    pub features: Vec<String>,
    /// How many decisions were compared.
    pub scenarios: usize,
    /// The decisions that differ, in scenario order.
    pub changed: Vec<ScenarioChange>,
}

/// A decision that differs, old beside new.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScenarioChange {
    pub scenario: Scenario,
    /// What differs: `outcome`, `mode`, `eligible_modes`, `routes`,
    /// `processing`, `third_party`, `obligations`, or `tenant` when the
    /// scenario exists under one catalog only.
    pub differs: Vec<&'static str>,
    /// Null when the scenario does not exist under the old catalog.
    pub old: Option<Snapshot>,
    /// Null when the scenario does not exist under the new catalog.
    pub new: Option<Snapshot>,
}

/// The tenant a decision was made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Scenario {
    /// The tenant profile, for profile scenarios.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub region: String,
    pub data_cluster: String,
    #[schema(value_type = String)]
    pub residency: Residency,
    pub selected_mode: Option<String>,
}

/// The parts of a decision the impact compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Snapshot {
    pub outcome: &'static str,
    pub mode: Option<String>,
    pub eligible_modes: Vec<String>,
    /// One per feature of [`Impact::features`], in that order.
    pub routes: Vec<FeatureRoute>,
    /// `in_region` or `global`; null without a mode.
    pub processing: Option<&'static str>,
    pub third_party: bool,
    /// Codes of the obligations and warnings raised.
    pub obligations: Vec<String>,
}

/// Where one feature goes, or that it is not served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FeatureRoute {
    pub feature: String,
    pub permitted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Where and how a gateway calls the provider: a change here moves
    /// traffic as surely as a change of provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_model: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

/// Compares the catalog in force with an uploaded one (TOML text).
///
/// # Errors
/// [`CatalogError`] when the uploaded text is not a valid catalog.
pub fn diff_upload(in_force: &Catalog, uploaded: &str) -> Result<CatalogDiff, CatalogError> {
    let new = Catalog::from_toml(uploaded)?;
    Ok(diff(in_force, &new))
}

/// Compares two catalogs: the edits and their impact on decisions.
pub fn diff(old: &Catalog, new: &Catalog) -> CatalogDiff {
    let changes = changes(&old.raw, &new.raw);
    let mut warnings = Vec::new();
    if old.version == new.version && !changes.is_empty() {
        warnings.push(format!(
            "the catalog changes but its version `{}` does not: a running service refuses to reload it; give it a new `version`",
            new.version
        ));
    }
    CatalogDiff {
        old_version: old.version.to_string(),
        new_version: new.version.to_string(),
        changes,
        impact: impact(old, new),
        warnings,
    }
}

// ---------------------------------------------------------------------------
// Changes
// ---------------------------------------------------------------------------

struct Changes(Vec<Change>);

impl Changes {
    fn push(&mut self, kind: &'static str, entry: String, message: String) {
        self.0.push(Change {
            kind,
            entry,
            message,
            old: None,
            new: None,
        });
    }

    fn changed(
        &mut self,
        kind: &'static str,
        entry: String,
        message: String,
        old: impl Into<String>,
        new: impl Into<String>,
    ) {
        self.0.push(Change {
            kind,
            entry,
            message,
            old: Some(old.into()),
            new: Some(new.into()),
        });
    }
}

/// Ids of `new` and then those only in `old`: the order changes are listed in.
fn union_ids<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = new.to_vec();
    out.extend(old.iter().filter(|id| !new.contains(id)));
    out
}

/// A kind of catalog entry: the codes of its additions and removals, and
/// its name in messages.
struct Kind {
    added: &'static str,
    removed: &'static str,
    noun: &'static str,
}

macro_rules! kind {
    ($name:literal, $noun:literal) => {
        Kind {
            added: concat!($name, "_added"),
            removed: concat!($name, "_removed"),
            noun: $noun,
        }
    };
}

/// Added and removed entries of one kind, calling `both` for those in both.
fn each_entry<'a, T>(
    out: &mut Changes,
    kind: Kind,
    section: &str,
    old: &'a [T],
    new: &'a [T],
    id: impl Fn(&T) -> &str,
    mut both: impl FnMut(&mut Changes, &'a T, &'a T),
) {
    let old_ids: Vec<&str> = old.iter().map(&id).collect();
    let new_ids: Vec<&str> = new.iter().map(&id).collect();
    for key in union_ids(&old_ids, &new_ids) {
        let before = old.iter().find(|x| id(x) == key);
        let after = new.iter().find(|x| id(x) == key);
        let entry = format!("{section}[{key}]");
        match (before, after) {
            (None, Some(_)) => {
                out.push(kind.added, entry, format!("{} `{key}` is added", kind.noun))
            }
            (Some(_), None) => out.push(
                kind.removed,
                entry,
                format!("{} `{key}` is removed", kind.noun),
            ),
            (Some(a), Some(b)) => both(out, a, b),
            (None, None) => {}
        }
    }
}

fn changes(old: &RawCatalog, new: &RawCatalog) -> Vec<Change> {
    let mut out = Changes(Vec::new());
    if old.version != new.version {
        out.changed(
            "version_changed",
            "version".into(),
            "the catalog version changes".into(),
            &old.version,
            &new.version,
        );
    }
    if old.ttl_seconds != new.ttl_seconds {
        out.changed(
            "ttl_changed",
            "ttl_seconds".into(),
            "decisions may be cached for a different time".into(),
            old.ttl_seconds.to_string(),
            new.ttl_seconds.to_string(),
        );
    }
    for c in &new.changelog {
        if !old
            .changelog
            .iter()
            .any(|o| o.version == c.version && o.summary == c.summary)
        {
            out.push(
                "changelog_added",
                format!("changelog[{}]", c.version),
                format!("{}: {}", c.date, c.summary),
            );
        }
    }
    for c in &old.changelog {
        if !new.changelog.iter().any(|n| n.version == c.version) {
            out.push(
                "changelog_removed",
                format!("changelog[{}]", c.version),
                format!("{}: {}", c.date, c.summary),
            );
        }
    }
    each_entry(
        &mut out,
        kind!("cluster", "cluster"),
        "clusters",
        &old.clusters,
        &new.clusters,
        |c| &c.id,
        |_, _, _| {},
    );
    each_entry(
        &mut out,
        kind!("region", "region"),
        "regions",
        &old.regions,
        &new.regions,
        |r| &r.id,
        |out, a, b| {
            if a.default_mode != b.default_mode {
                out.changed(
                    "region_default_mode_changed",
                    format!("regions[{}]", a.id),
                    format!("the default mode of `{}` changes", a.id),
                    &a.default_mode,
                    &b.default_mode,
                );
            }
            if a.default_cluster != b.default_cluster {
                out.changed(
                    "region_default_cluster_changed",
                    format!("regions[{}]", a.id),
                    format!("the default data cluster of `{}` changes", a.id),
                    &a.default_cluster,
                    &b.default_cluster,
                );
            }
        },
    );
    each_entry(
        &mut out,
        kind!("provider", "provider"),
        "providers",
        &old.providers,
        &new.providers,
        |p| &p.id,
        |out, a, b| {
            if a.third_party != b.third_party {
                out.changed(
                    "provider_third_party_changed",
                    format!("providers[{}]", a.id),
                    format!("whether `{}` is a third party changes", a.id),
                    a.third_party.to_string(),
                    b.third_party.to_string(),
                );
            }
        },
    );
    let regions = union_ids(
        &old.regions
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        &new.regions
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
    );
    let clusters = union_ids(
        &old.clusters
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        &new.clusters
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
    );
    each_entry(
        &mut out,
        kind!("mode", "mode"),
        "modes",
        &old.modes,
        &new.modes,
        |m| &m.id,
        |out, a, b| {
            let entry = format!("modes[{}]", a.id);
            if a.exposure != b.exposure {
                out.changed(
                    "mode_exposure_changed",
                    entry.clone(),
                    format!("the exposure rank of `{}` changes", a.id),
                    a.exposure.to_string(),
                    b.exposure.to_string(),
                );
            }
            for region in &regions {
                let offered = |offerings: &[RawOffering]| -> Vec<&str> {
                    clusters
                        .iter()
                        .copied()
                        .filter(|c| offering_at(offerings, region, c).is_some())
                        .collect()
                };
                let (before, after) = (offered(&a.offerings), offered(&b.offerings));
                let added: Vec<&str> = after
                    .iter()
                    .copied()
                    .filter(|c| !before.contains(c))
                    .collect();
                let removed: Vec<&str> = before
                    .iter()
                    .copied()
                    .filter(|c| !after.contains(c))
                    .collect();
                if !added.is_empty() {
                    out.changed(
                        "mode_region_added",
                        entry.clone(),
                        format!(
                            "`{}` is now offered in `{region}` on the {} cluster(s)",
                            a.id,
                            crate::catalog::list_ids(added.iter().copied())
                        ),
                        before.join(", "),
                        after.join(", "),
                    );
                }
                if !removed.is_empty() {
                    out.changed(
                        "mode_region_removed",
                        entry.clone(),
                        format!(
                            "`{}` is no longer offered in `{region}` on the {} cluster(s)",
                            a.id,
                            crate::catalog::list_ids(removed.iter().copied())
                        ),
                        before.join(", "),
                        after.join(", "),
                    );
                }
                for cluster in after.iter().filter(|c| before.contains(c)) {
                    let render = |offerings: &[RawOffering]| {
                        offering_at(offerings, region, cluster).map(render_providers)
                    };
                    let (p, q) = (render(&a.offerings), render(&b.offerings));
                    if p != q {
                        out.changed(
                            "mode_providers_changed",
                            entry.clone(),
                            format!(
                                "the providers of `{}` in `{region}` on the `{cluster}` cluster change",
                                a.id
                            ),
                            p.unwrap_or_default(),
                            q.unwrap_or_default(),
                        );
                    }
                }
            }
        },
    );
    each_entry(
        &mut out,
        kind!("add_on", "add-on"),
        "add_ons",
        &old.add_ons,
        &new.add_ons,
        |a| &a.id,
        |out, a, b| {
            if a.modes != b.modes {
                out.changed(
                    "add_on_modes_changed",
                    format!("add_ons[{}]", a.id),
                    format!("the modes `{}` works with change", a.id),
                    a.modes.join(", "),
                    b.modes.join(", "),
                );
            }
        },
    );
    each_entry(
        &mut out,
        kind!("feature", "feature"),
        "features",
        &old.features,
        &new.features,
        |f| &f.id,
        |out, a, b| {
            if a.requires_add_on != b.requires_add_on {
                out.changed(
                    "feature_add_on_changed",
                    format!("features[{}]", a.id),
                    format!("the add-on `{}` needs changes", a.id),
                    a.requires_add_on.clone().unwrap_or_else(|| "none".into()),
                    b.requires_add_on.clone().unwrap_or_else(|| "none".into()),
                );
            }
            let modes: BTreeSet<&String> = a.routes.keys().chain(b.routes.keys()).collect();
            for mode in modes {
                let entry = format!("features[{}].routes.{mode}", a.id);
                let render = |list: &[crate::catalog::format::RawPreference]| {
                    list.iter()
                        .map(|p| format!("{} {}", p.provider, p.model))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                match (a.routes.get(mode), b.routes.get(mode)) {
                    (None, Some(list)) => out.changed(
                        "feature_mode_added",
                        entry,
                        format!("`{}` is now served under `{mode}`", a.id),
                        "",
                        render(list),
                    ),
                    (Some(list), None) => out.changed(
                        "feature_mode_removed",
                        entry,
                        format!("`{}` is no longer served under `{mode}`", a.id),
                        render(list),
                        "",
                    ),
                    (Some(x), Some(y)) => {
                        let providers = |l: &[crate::catalog::format::RawPreference]| {
                            l.iter().map(|p| p.provider.clone()).collect::<Vec<_>>()
                        };
                        if providers(x) != providers(y) {
                            out.changed(
                                "feature_preferences_changed",
                                entry,
                                format!(
                                    "the providers of `{}` under `{mode}`, in order of preference, change",
                                    a.id
                                ),
                                render(x),
                                render(y),
                            );
                        } else {
                            for (p, q) in x.iter().zip(y) {
                                if p.model != q.model {
                                    out.changed(
                                        "feature_model_changed",
                                        entry.clone(),
                                        format!(
                                            "the `{}` model of `{}` under `{mode}` changes",
                                            p.provider, a.id
                                        ),
                                        &p.model,
                                        &q.model,
                                    );
                                }
                            }
                        }
                    }
                    (None, None) => {}
                }
            }
        },
    );
    obligation_changes(&mut out, "obligations", &old.obligations, &new.obligations);
    each_entry(
        &mut out,
        kind!("compliance", "compliance regime"),
        "compliance",
        &old.compliance,
        &new.compliance,
        |c| &c.id,
        |out, a, b| {
            obligation_changes(
                out,
                &format!("compliance[{}].obligations", a.id),
                &a.obligations,
                &b.obligations,
            );
        },
    );
    each_entry(
        &mut out,
        kind!("sector", "sector"),
        "sectors",
        &old.sectors,
        &new.sectors,
        |s| &s.id,
        |out, a, b| {
            if a.high_exposure != b.high_exposure {
                out.changed(
                    "sector_exposure_changed",
                    format!("sectors[{}]", a.id),
                    format!("whether `{}` is a high-exposure sector changes", a.id),
                    a.high_exposure.to_string(),
                    b.high_exposure.to_string(),
                );
            }
        },
    );
    each_entry(
        &mut out,
        kind!("tenant", "tenant profile"),
        "tenants",
        &old.tenants,
        &new.tenants,
        |t| t.id.as_deref().unwrap_or(""),
        |out, a, b| {
            if a != b {
                out.changed(
                    "tenant_changed",
                    format!("tenants[{}]", a.id.as_deref().unwrap_or("")),
                    format!("the profile of `{}` changes", a.id.as_deref().unwrap_or("")),
                    render_tenant(a),
                    render_tenant(b),
                );
            }
        },
    );
    out.0
}

fn obligation_changes(
    out: &mut Changes,
    section: &str,
    old: &[RawObligation],
    new: &[RawObligation],
) {
    let render = |o: &RawObligation| {
        let kind = match o.kind {
            crate::catalog::ObligationKind::Obligation => "obligation",
            crate::catalog::ObligationKind::Warning => "warning",
        };
        let when = serde_json::to_value(o.when)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("{kind} when {when}: {}", o.message)
    };
    let old_ids: Vec<&str> = old.iter().map(|o| o.code.as_str()).collect();
    let new_ids: Vec<&str> = new.iter().map(|o| o.code.as_str()).collect();
    for code in union_ids(&old_ids, &new_ids) {
        let entry = format!("{section}[{code}]");
        let before = old.iter().find(|o| o.code == code).map(render);
        let after = new.iter().find(|o| o.code == code).map(render);
        match (before, after) {
            (None, Some(b)) => out.changed(
                "obligation_added",
                entry,
                format!("obligation `{code}` is added"),
                "",
                b,
            ),
            (Some(a), None) => out.changed(
                "obligation_removed",
                entry,
                format!("obligation `{code}` is removed"),
                a,
                "",
            ),
            (Some(a), Some(b)) if a != b => out.changed(
                "obligation_changed",
                entry,
                format!("obligation `{code}` changes"),
                a,
                b,
            ),
            _ => {}
        }
    }
}

fn render_tenant(t: &RawTenant) -> String {
    serde_json::to_string(t).unwrap_or_default()
}

/// The raw offering of a mode that covers a region and cluster.
fn offering_at<'a>(
    offerings: &'a [RawOffering],
    region: &str,
    cluster: &str,
) -> Option<&'a RawOffering> {
    offerings
        .iter()
        .find(|o| o.regions.iter().any(|r| r == region) && o.clusters.iter().any(|c| c == cluster))
}

fn render_providers(offering: &RawOffering) -> String {
    offering
        .providers
        .iter()
        .map(|p| {
            let mut s = p.id.clone();
            if let Some(platform) = &p.platform {
                let _ = write!(s, " on {platform}");
            }
            let _ = write!(s, " ({}", p.processing.as_str());
            if let Some(only) = &p.only_features {
                let _ = write!(s, ", only {}", only.join(" "));
            }
            for (region, call) in &p.call {
                let _ = write!(s, ", {region} call");
                if let Some(endpoint) = &call.endpoint {
                    let _ = write!(s, " at {endpoint}");
                }
                if let Some(prefix) = &call.model_prefix {
                    let _ = write!(s, " as {prefix}<model>");
                }
                for (key, value) in &call.params {
                    let _ = write!(s, " {key}={value}");
                }
            }
            s.push(')');
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------
// Impact
// ---------------------------------------------------------------------------

/// A tenant to decide for, as raw fields each catalog resolves on its own.
struct Probe {
    scenario: Scenario,
    tenant: RawTenant,
}

fn impact(old: &Catalog, new: &Catalog) -> Impact {
    let ids =
        |c: &Catalog| -> Vec<String> { c.features.iter().map(|f| f.id.to_string()).collect() };
    let (old_features, new_features) = (ids(old), ids(new));
    let features: Vec<String> = union_owned(&old_features, &new_features);
    let probes = probes(old, new);
    let scenarios = probes.len();
    let mut changed = Vec::new();
    for probe in probes {
        let before = snapshot(old, &probe.tenant, &features);
        let after = snapshot(new, &probe.tenant, &features);
        let differs = differs(before.as_ref(), after.as_ref());
        if !differs.is_empty() {
            changed.push(ScenarioChange {
                scenario: probe.scenario,
                differs,
                old: before,
                new: after,
            });
        }
    }
    Impact {
        features,
        scenarios,
        changed,
    }
}

fn union_owned(old: &[String], new: &[String]) -> Vec<String> {
    let mut out = new.to_vec();
    out.extend(old.iter().filter(|x| !new.contains(x)).cloned());
    out
}

/// Every profile (by id), then the grid of region x cluster x residency x
/// selected mode (none first), over both catalogs' ids.
fn probes(old: &Catalog, new: &Catalog) -> Vec<Probe> {
    let mut out = Vec::new();
    let mut profiles: BTreeSet<&str> = BTreeSet::new();
    for c in [old, new] {
        profiles.extend(c.tenant_profiles().filter_map(|t| t.id.as_deref()));
    }
    for id in profiles {
        let tenant = new
            .tenant_profile(id)
            .map(|t| (new, t))
            .or_else(|| old.tenant_profile(id).map(|t| (old, t)));
        let Some((c, t)) = tenant else { continue };
        out.push(Probe {
            scenario: Scenario {
                profile: Some(id.to_owned()),
                region: c.region(t.region).id.to_string(),
                data_cluster: c.cluster(t.cluster).id.to_string(),
                residency: t.residency,
                selected_mode: t.selected_mode.map(|m| c.mode(m).id.to_string()),
            },
            tenant: RawTenant {
                id: Some(id.to_owned()),
                ..RawTenant::default()
            },
        });
    }
    let list = |f: &dyn Fn(&Catalog) -> Vec<String>| union_owned(&f(old), &f(new));
    let regions = list(&|c| c.regions.iter().map(|r| r.id.to_string()).collect());
    let clusters = list(&|c| c.clusters.iter().map(|r| r.id.to_string()).collect());
    let modes = list(&|c| c.modes.iter().map(|r| r.id.to_string()).collect());
    let selections: Vec<Option<&String>> = std::iter::once(None)
        .chain(modes.iter().map(Some))
        .collect();
    for region in &regions {
        for cluster in &clusters {
            for residency in Residency::ALL {
                for selected in &selections {
                    out.push(Probe {
                        scenario: Scenario {
                            profile: None,
                            region: region.clone(),
                            data_cluster: cluster.clone(),
                            residency,
                            selected_mode: selected.cloned(),
                        },
                        tenant: RawTenant {
                            region: Some(region.clone()),
                            data_cluster: Some(cluster.clone()),
                            residency: Some(residency.into()),
                            selected_mode: selected.cloned(),
                            ..RawTenant::default()
                        },
                    });
                }
            }
        }
    }
    out
}

/// The decision under one catalog, or `None` when the scenario names an id
/// that catalog does not have. Grid tenants hold every add-on the catalog
/// has, so that features behind an add-on are compared too.
fn snapshot(catalog: &Catalog, raw: &RawTenant, features: &[String]) -> Option<Snapshot> {
    let mut raw = raw.clone();
    if raw.id.is_none() {
        raw.add_ons = Some(catalog.add_ons.iter().map(|a| a.id.to_string()).collect());
    }
    let resolved = resolve_tenant(catalog, &raw, "").ok()?;
    let known: Vec<FeatureId> = features
        .iter()
        .filter_map(|f| catalog.feature_id(f))
        .collect();
    let request = DecisionRequest {
        tenant: resolved.tenant,
        profile_applied: resolved.profile_applied,
        ignored: resolved.ignored,
        features: known,
        explain: false,
    };
    let decision = decide(catalog, &request);
    Some(render_snapshot(catalog, &decision, features))
}

fn render_snapshot(catalog: &Catalog, d: &Decision<'_>, features: &[String]) -> Snapshot {
    let routes: Vec<FeatureRoute> = features
        .iter()
        .map(|id| {
            let route = d
                .features
                .iter()
                .find(|f| &*catalog.feature(f.feature).id == id.as_str())
                .and_then(|f| f.route());
            FeatureRoute {
                feature: id.clone(),
                permitted: route.is_some(),
                provider: route.map(|r| catalog.provider(r.provider).id.to_string()),
                model: route.map(|r| r.model.to_string()),
                processing_region: route.map(|r| r.processing_region.to_string()),
                platform: route.and_then(|r| r.platform.as_deref().map(str::to_owned)),
                endpoint: route.and_then(|r| r.endpoint.as_deref().map(str::to_owned)),
                provider_model: route.and_then(|r| r.provider_model.as_deref().map(str::to_owned)),
                params: route
                    .map(|r| {
                        r.params
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    // The outcome of the request both catalogs answer: every feature of
    // either, one a catalog lacks counting as not served. With the same
    // features on both sides this is the decision's own outcome.
    let served = routes.iter().filter(|r| r.permitted).count();
    let outcome = match (d.mode, served) {
        (None, _) | (Some(_), 0) => Outcome::Deny,
        (Some(_), n) if n == routes.len() => Outcome::Permit,
        (Some(_), _) => Outcome::Partial,
    };
    // INVARIANT: when this catalog knows every feature, the rule above is
    // the engine's own.
    debug_assert!(d.features.len() != routes.len() || outcome == d.outcome);
    Snapshot {
        outcome: outcome.as_str(),
        mode: d.mode.map(|m| catalog.mode(m).id.to_string()),
        eligible_modes: d
            .eligible_modes
            .iter()
            .map(|m| catalog.modes[m].id.to_string())
            .collect(),
        routes,
        processing: d.mode.map(|_| d.data_handling.processing.as_str()),
        third_party: d.data_handling.third_party,
        obligations: d.obligations.iter().map(|o| o.code.to_string()).collect(),
    }
}

fn differs(old: Option<&Snapshot>, new: Option<&Snapshot>) -> Vec<&'static str> {
    let (a, b) = match (old, new) {
        (Some(a), Some(b)) => (a, b),
        (None, None) => return Vec::new(),
        _ => return vec!["tenant"],
    };
    let mut out = Vec::new();
    for (field, same) in [
        ("outcome", a.outcome == b.outcome),
        ("mode", a.mode == b.mode),
        ("eligible_modes", a.eligible_modes == b.eligible_modes),
        ("routes", a.routes == b.routes),
        ("processing", a.processing == b.processing),
        ("third_party", a.third_party == b.third_party),
        ("obligations", a.obligations == b.obligations),
    ] {
        if !same {
            out.push(field);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Text for people
// ---------------------------------------------------------------------------

impl Scenario {
    /// `lion-sg (SG local strict)` or `SG local strict, selected zm_plus`.
    pub fn label(&self) -> String {
        let base = format!(
            "{} {} {}",
            self.region,
            self.data_cluster,
            self.residency.as_str()
        );
        let selected = self
            .selected_mode
            .as_deref()
            .map_or(String::from("no selection"), |m| format!("selects {m}"));
        match &self.profile {
            Some(id) => format!("profile {id} ({base}, {selected})"),
            None => format!("{base}, {selected}"),
        }
    }
}

/// The diff as text for people: the edits, then each changed decision.
pub fn render_text(diff: &CatalogDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "catalog {} -> {}", diff.old_version, diff.new_version);
    for warning in &diff.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    let _ = writeln!(out, "\nchanges: {}", diff.changes.len());
    for c in &diff.changes {
        let _ = writeln!(out, "  {} {}: {}", c.kind, c.entry, c.message);
        if let (Some(old), Some(new)) = (&c.old, &c.new) {
            let _ = writeln!(out, "      old: {}", if old.is_empty() { "-" } else { old });
            let _ = writeln!(out, "      new: {}", if new.is_empty() { "-" } else { new });
        }
    }
    let impact = &diff.impact;
    let _ = writeln!(
        out,
        "\nimpact: {} of {} decisions change",
        impact.changed.len(),
        impact.scenarios
    );
    for s in &impact.changed {
        let _ = writeln!(out, "  {} [{}]", s.scenario.label(), s.differs.join(", "));
        match (&s.old, &s.new) {
            (Some(a), Some(b)) => {
                for field in &s.differs {
                    match *field {
                        "routes" => {
                            for (x, y) in a.routes.iter().zip(&b.routes) {
                                if x != y {
                                    let _ = writeln!(
                                        out,
                                        "      {}: {} -> {}",
                                        x.feature,
                                        route_text(x),
                                        route_text(y)
                                    );
                                }
                            }
                        }
                        other => {
                            let _ = writeln!(
                                out,
                                "      {other}: {} -> {}",
                                field_text(a, other),
                                field_text(b, other)
                            );
                        }
                    }
                }
            }
            (None, Some(_)) => {
                let _ = writeln!(out, "      exists only under the new catalog");
            }
            (Some(_), None) => {
                let _ = writeln!(out, "      exists only under the old catalog");
            }
            (None, None) => {}
        }
    }
    out
}

fn route_text(r: &FeatureRoute) -> String {
    let (Some(p), Some(m), Some(region)) = (&r.provider, &r.model, &r.processing_region) else {
        return "not served".into();
    };
    let mut text = format!("{p} {m} in {region}");
    if let Some(endpoint) = &r.endpoint {
        let _ = write!(text, " at {endpoint}");
    }
    if let Some(model) = &r.provider_model {
        let _ = write!(text, " as {model}");
    }
    for (key, value) in &r.params {
        let _ = write!(text, " {key}={value}");
    }
    text
}

fn field_text(s: &Snapshot, field: &str) -> String {
    match field {
        "outcome" => s.outcome.into(),
        "mode" => s.mode.clone().unwrap_or_else(|| "none".into()),
        "eligible_modes" => format!("[{}]", s.eligible_modes.join(", ")),
        "processing" => s.processing.unwrap_or("none").into(),
        "third_party" => s.third_party.to_string(),
        "obligations" => format!("[{}]", s.obligations.join(", ")),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::BUILTIN_SOURCE;

    fn edited(old: &str, new: &str) -> Catalog {
        assert!(BUILTIN_SOURCE.contains(old), "{old:?}");
        Catalog::from_toml(&BUILTIN_SOURCE.replacen(old, new, 1)).unwrap()
    }

    #[test]
    fn a_catalog_against_itself_has_no_change_and_no_impact() {
        let c = Catalog::builtin().unwrap();
        let d = diff(&c, &c);
        assert!(d.changes.is_empty());
        assert!(d.warnings.is_empty());
        assert!(!d.changes_decisions());
        // 4 profiles, and 7 regions x 2 clusters x 4 residencies x (1 + 3 modes).
        assert_eq!(d.impact.scenarios, 4 + 7 * 2 * 4 * 4);
    }

    /// Pointing EU's Bedrock calls at a US endpoint keeps every provider
    /// and model, and still moves traffic out of the region: the offering
    /// change and each rerouted decision are listed.
    #[test]
    fn a_changed_call_endpoint_is_a_change_with_impact() {
        let old = Catalog::builtin().unwrap();
        let eu = "call.EU = { endpoint = \"bedrock-runtime.eu-central-1.amazonaws.com\", model_prefix = \"eu.anthropic.\", params = { aws_region = \"eu-central-1\" } } },\n]";
        assert!(BUILTIN_SOURCE.contains(eu), "zm_plus's Bedrock entry moved");
        let new = edited(
            eu,
            &eu.replace("bedrock-runtime.eu-central-1", "bedrock-runtime.us-east-1")
                .replace("\"eu-central-1\"", "\"us-east-1\""),
        );
        let d = diff(&old, &new);
        assert!(
            d.changes.iter().any(|c| c
                .new
                .as_deref()
                .is_some_and(|n| n.contains("bedrock-runtime.us-east-1"))),
            "{:?}",
            d.changes
        );
        assert!(d.changes_decisions());
        assert!(!d.impact.changed.is_empty());
        let text = render_text(&d);
        assert!(
            text.contains("at bedrock-runtime.eu-central-1.amazonaws.com as eu.anthropic.claude-sonnet-4-5 aws_region=eu-central-1 -> anthropic claude-sonnet-4-5 in EU at bedrock-runtime.us-east-1.amazonaws.com"),
            "{text}"
        );
    }

    #[test]
    fn a_model_change_is_named_and_reroutes_exactly_its_feature() {
        let old = Catalog::builtin().unwrap();
        let new = edited(
            "routes.zmo = [{ provider = \"zoom\", model = \"zoom-voice-1\" }]",
            "routes.zmo = [{ provider = \"zoom\", model = \"zoom-voice-2\" }]",
        );
        let d = diff(&old, &new);
        assert_eq!(
            d.changes,
            [Change {
                kind: "feature_model_changed",
                entry: "features[contact_center_virtual_agent].routes.zmo".into(),
                message: "the `zoom` model of `contact_center_virtual_agent` under `zmo` changes"
                    .into(),
                old: Some("zoom-voice-1".into()),
                new: Some("zoom-voice-2".into()),
            }]
        );
        assert!(d.changes_decisions());
        assert_eq!(
            d.warnings,
            [
                "the catalog changes but its version `2026-11-24.3` does not: a running service refuses to reload it; give it a new `version`"
            ]
        );
        assert!(render_text(&d).contains("\nwarning: the catalog changes but its version"));
        for s in &d.impact.changed {
            assert_eq!(s.differs, ["routes"], "{s:?}");
            let (a, b) = (s.old.as_ref().unwrap(), s.new.as_ref().unwrap());
            assert_eq!(a.mode.as_deref(), Some("zmo"));
            for (x, y) in a.routes.iter().zip(&b.routes) {
                assert_eq!(x == y, x.feature != "contact_center_virtual_agent");
            }
        }
    }

    #[test]
    fn a_new_default_mode_and_a_changed_obligation_are_listed_in_order() {
        let old = Catalog::builtin().unwrap();
        let text = BUILTIN_SOURCE
            .replacen(
                "default_mode = \"zm_plus\"   # EU accounts",
                "default_mode = \"zmo\" #",
                1,
            )
            .replacen("when = \"high_exposure_sector\"", "when = \"always\"", 1);
        let new = Catalog::from_toml(&text).unwrap();
        let d = diff(&old, &new);
        let kinds: Vec<&str> = d.changes.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["region_default_mode_changed", "obligation_changed"]);
        assert_eq!(d.changes[0].entry, "regions[EU]");
        assert_eq!(d.changes[1].entry, "obligations[high_exposure_sector]");
        // Every decision now carries the sector warning, except the one
        // tenant whose sector raised it already.
        assert_eq!(d.impact.changed.len(), d.impact.scenarios - 1);
        let profiles: Vec<&str> = d
            .impact
            .changed
            .iter()
            .filter_map(|s| s.scenario.profile.as_deref())
            .collect();
        assert_eq!(profiles, ["acme-eu", "globex-us", "lion-sg"]);
        let eu = d
            .impact
            .changed
            .iter()
            .find(|s| s.scenario.profile.is_none() && s.scenario.region == "EU")
            .unwrap();
        assert_eq!(eu.differs, ["mode", "routes", "third_party", "obligations"]);
    }

    #[test]
    fn an_added_feature_is_listed_and_only_its_routes_appear() {
        let old = Catalog::builtin().unwrap();
        let new = Catalog::from_toml(&format!(
            "{BUILTIN_SOURCE}\n[[features]]\nid = \"clip_highlights\"\nroutes.zmo = [{{ provider = \"zoom\", model = \"zoom-clips-1\" }}]\n"
        ))
        .unwrap();
        let d = diff(&old, &new);
        let kinds: Vec<(&str, &str)> = d
            .changes
            .iter()
            .map(|c| (c.kind, c.entry.as_str()))
            .collect();
        assert_eq!(kinds, [("feature_added", "features[clip_highlights]")]);
        assert_eq!(
            d.impact.features.last().map(String::as_str),
            Some("clip_highlights")
        );
        assert!(d.changes_decisions());
        for s in &d.impact.changed {
            let (a, b) = (s.old.as_ref().unwrap(), s.new.as_ref().unwrap());
            let differing: Vec<&str> = a
                .routes
                .iter()
                .zip(&b.routes)
                .filter(|(x, y)| x != y)
                .map(|(x, _)| x.feature.as_str())
                .collect();
            assert_eq!(differing, ["clip_highlights"], "{s:?}");
            assert_eq!(b.mode.as_deref(), Some("zmo"), "{s:?}");
        }
    }

    #[test]
    fn the_upload_wrapper_refuses_an_invalid_catalog() {
        let c = Catalog::builtin().unwrap();
        assert!(diff_upload(&c, "version = \"x\"").is_err());
        let same = diff_upload(&c, BUILTIN_SOURCE).unwrap();
        assert!(same.changes.is_empty() && !same.changes_decisions());
    }
}
