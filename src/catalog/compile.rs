//! Validation and compilation of a parsed catalog.
//!
//! Every reference is checked before anything is indexed, so the engine can
//! rely on the invariants documented on [`Catalog`] without checking them.

use rustc_hash::FxHashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::format::{RawCatalog, RawObligation};
use crate::wire;

use super::{
    AddOn, AddOnId, AnswerJson, Catalog, CatalogError, Cluster, ClusterId, Feature, IdSet, Mode,
    ModeId, Names, Obligation, OfferedProvider, Offering, Processing, Provider, ProviderId, Regime,
    Region, RegionId, Route, Sector, list_ids,
};

/// The most features, regions or clusters a catalog may hold.
const MAX_WIDE: usize = 4096;

/// Validates a parsed catalog and compiles it for the engine.
///
/// # Errors
/// The first problem found, naming the entry (`features[meeting_summary]`,
/// `regions[EU]`, ...) and what is wrong with it.
pub fn compile(raw: RawCatalog) -> Result<Catalog, CatalogError> {
    check_version(&raw.version)?;
    limit("providers", raw.providers.len(), IdSet::CAPACITY)?;
    limit("modes", raw.modes.len(), IdSet::CAPACITY)?;
    limit("compliance regimes", raw.compliance.len(), IdSet::CAPACITY)?;
    limit("add-ons", raw.add_ons.len(), IdSet::CAPACITY)?;
    limit("regions", raw.regions.len(), MAX_WIDE)?;
    limit("clusters", raw.clusters.len(), MAX_WIDE)?;
    limit("features", raw.features.len(), MAX_WIDE)?;
    limit("sectors", raw.sectors.len(), MAX_WIDE)?;
    for (kind, empty) in [
        ("clusters", raw.clusters.is_empty()),
        ("regions", raw.regions.is_empty()),
        ("providers", raw.providers.is_empty()),
        ("modes", raw.modes.is_empty()),
    ] {
        if empty {
            return Err(invalid(kind, "at least one entry is required"));
        }
    }

    let mut names = Names::default();
    intern(
        &mut names.clusters,
        "clusters",
        "cluster",
        IdCase::Lower,
        raw.clusters.iter().map(|c| &c.id),
    )?;
    intern(
        &mut names.regions,
        "regions",
        "region",
        IdCase::Upper,
        raw.regions.iter().map(|r| &r.id),
    )?;
    intern(
        &mut names.providers,
        "providers",
        "provider",
        IdCase::Lower,
        raw.providers.iter().map(|p| &p.id),
    )?;
    intern(
        &mut names.features,
        "features",
        "feature",
        IdCase::Lower,
        raw.features.iter().map(|f| &f.id),
    )?;
    intern(
        &mut names.compliance,
        "compliance",
        "compliance regime",
        IdCase::Lower,
        raw.compliance.iter().map(|c| &c.id),
    )?;
    intern(
        &mut names.add_ons,
        "add_ons",
        "add-on",
        IdCase::Lower,
        raw.add_ons.iter().map(|a| &a.id),
    )?;
    intern(
        &mut names.sectors,
        "sectors",
        "sector",
        IdCase::Lower,
        raw.sectors.iter().map(|s| &s.id),
    )?;

    // Modes are indexed in exposure order, so a lower ModeId is less exposure.
    let mut by_exposure: Vec<&super::format::RawMode> = raw.modes.iter().collect();
    by_exposure.sort_by_key(|m| m.exposure);
    for pair in by_exposure.windows(2) {
        if pair[0].exposure == pair[1].exposure {
            return Err(CatalogError::ExposureTie {
                first: pair[0].id.clone(),
                second: pair[1].id.clone(),
                rank: pair[0].exposure,
            });
        }
    }
    intern(
        &mut names.modes,
        "modes",
        "mode",
        IdCase::Lower,
        by_exposure.iter().map(|m| &m.id),
    )?;

    let known = |table: &FxHashMap<Box<str>, u16>| {
        let mut ids: Vec<&str> = table.keys().map(|k| &**k).collect();
        ids.sort_unstable();
        list_ids(ids)
    };
    let find = |table: &FxHashMap<Box<str>, u16>, entry: &str, kind: &'static str, id: &str| {
        table
            .get(id)
            .copied()
            .ok_or_else(|| CatalogError::DanglingReference {
                entry: entry.to_owned(),
                kind,
                id: id.to_owned(),
                known: known(table),
            })
    };
    let region_ix = names.regions.clone();
    let cluster_ix = names.clusters.clone();
    let mode_ix = names.modes.clone();
    let provider_ix = names.providers.clone();
    let feature_ix = names.features.clone();
    let add_on_ix = names.add_ons.clone();

    let clusters: Vec<Cluster> = raw
        .clusters
        .iter()
        .map(|c| Cluster {
            id: c.id.as_str().into(),
            name: c.name.as_str().into(),
        })
        .collect();

    let mut regions = Vec::with_capacity(raw.regions.len());
    for r in &raw.regions {
        let entry = format!("regions[{}]", r.id);
        regions.push(Region {
            id: r.id.as_str().into(),
            name: r.name.as_str().into(),
            default_cluster: ClusterId(find(&cluster_ix, &entry, "cluster", &r.default_cluster)?),
            default_mode: ModeId(find(&mode_ix, &entry, "mode", &r.default_mode)?),
        });
    }

    let providers: Vec<Provider> = raw
        .providers
        .iter()
        .map(|p| Provider {
            id: p.id.as_str().into(),
            name: p.name.as_str().into(),
            third_party: p.third_party,
        })
        .collect();
    let mut third_party = IdSet::EMPTY;
    for (i, p) in providers.iter().enumerate() {
        if p.third_party {
            third_party.insert(i);
        }
    }

    // Offerings, expanded to one per (mode, region, cluster). `only` keeps
    // each offered provider's feature restriction for route compilation.
    let mut offerings: Vec<Offering> = Vec::new();
    let mut only: Vec<Vec<Option<Vec<u16>>>> = Vec::new();
    let mut offering_at = vec![None; raw.modes.len() * regions.len() * clusters.len()];
    let mut mode_offers = vec![IdSet::EMPTY; raw.modes.len()];
    for m in &by_exposure {
        let mode = ModeId(mode_ix[m.id.as_str()]);
        if m.offerings.is_empty() {
            return Err(invalid(
                &format!("modes[{}]", m.id),
                "at least one offering is required",
            ));
        }
        for (o, offering) in m.offerings.iter().enumerate() {
            let entry = format!("modes[{}].offerings[{o}]", m.id);
            if offering.regions.is_empty()
                || offering.clusters.is_empty()
                || offering.providers.is_empty()
            {
                return Err(invalid(
                    &entry,
                    "regions, clusters and providers must each list at least one id",
                ));
            }
            let mut set = IdSet::EMPTY;
            let mut restrictions = Vec::new();
            for p in &offering.providers {
                let provider = find(&provider_ix, &entry, "provider", &p.id)?;
                if set.contains(usize::from(provider)) {
                    return Err(invalid(
                        &entry,
                        &format!("provider `{}` is listed twice", p.id),
                    ));
                }
                set.insert(usize::from(provider));
                check_call_params(&entry, p, &offering.regions)?;
                restrictions.push(match &p.only_features {
                    None => None,
                    Some(list) => Some(
                        list.iter()
                            .map(|f| find(&feature_ix, &entry, "feature", f))
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                });
            }
            mode_offers[mode.index()] = mode_offers[mode.index()].union(set);
            let global = offering
                .providers
                .iter()
                .any(|p| p.processing == Processing::Global);
            for region_name in &offering.regions {
                let region = RegionId(find(&region_ix, &entry, "region", region_name)?);
                for cluster_name in &offering.clusters {
                    let cluster = ClusterId(find(&cluster_ix, &entry, "cluster", cluster_name)?);
                    let slot = (mode.index() * regions.len() + region.index()) * clusters.len()
                        + cluster.index();
                    if offering_at[slot].is_some() {
                        return Err(CatalogError::OverlappingOffering {
                            entry,
                            mode: m.id.clone(),
                            region: region_name.clone(),
                            cluster: cluster_name.clone(),
                        });
                    }
                    offering_at[slot] = Some(offerings.len() as u32);
                    let providers = offering
                        .providers
                        .iter()
                        .map(|p| OfferedProvider {
                            provider: ProviderId(provider_ix[p.id.as_str()]),
                            platform: p.platform.as_deref().map(Box::from),
                            call: p.call.get(region_name).cloned(),
                            processing: p.processing,
                            processing_region: match p.processing {
                                Processing::InRegion => region_name.as_str().into(),
                                Processing::Global => "global".into(),
                            },
                            answer_json: AnswerJson::pending(),
                        })
                        .collect();
                    offerings.push(Offering {
                        mode,
                        region,
                        cluster,
                        providers,
                        provider_set: set,
                        global,
                    });
                    only.push(restrictions.clone());
                }
            }
        }
    }

    for (r, region) in regions.iter().enumerate() {
        let slot = (region.default_mode.index() * regions.len() + r) * clusters.len()
            + region.default_cluster.index();
        if offering_at[slot].is_none() {
            return Err(CatalogError::DefaultModeNotOffered {
                entry: format!("regions[{}]", region.id),
                region: region.id.to_string(),
                mode: raw.regions[r].default_mode.clone(),
                cluster: raw.regions[r].default_cluster.clone(),
            });
        }
    }

    let mut add_ons = Vec::with_capacity(raw.add_ons.len());
    for a in &raw.add_ons {
        let entry = format!("add_ons[{}]", a.id);
        let mut modes = IdSet::EMPTY;
        for m in &a.modes {
            modes.insert(usize::from(find(&mode_ix, &entry, "mode", m)?));
        }
        add_ons.push(AddOn {
            id: a.id.as_str().into(),
            name: a.name.as_str().into(),
            modes,
        });
    }

    let mut features = Vec::with_capacity(raw.features.len());
    let mut preferences: Vec<Vec<Vec<(u16, &str)>>> = Vec::with_capacity(raw.features.len());
    for f in &raw.features {
        let entry = format!("features[{}]", f.id);
        let requires_add_on = match &f.requires_add_on {
            None => None,
            Some(a) => Some(AddOnId(find(&add_on_ix, &entry, "add-on", a)?)),
        };
        let mut modes = IdSet::EMPTY;
        let mut per_mode: Vec<Vec<(u16, &str)>> = vec![Vec::new(); raw.modes.len()];
        for (mode_name, list) in &f.routes {
            let mode = ModeId(find(&mode_ix, &entry, "mode", mode_name)?);
            let entry = format!("{entry}.routes.{mode_name}");
            if list.is_empty() {
                return Err(invalid(
                    &entry,
                    "list at least one provider, or leave the mode out",
                ));
            }
            if let Some(add_on) = requires_add_on
                && !add_ons[add_on.index()].modes.contains(mode.index())
            {
                return Err(invalid(
                    &entry,
                    &format!(
                        "the feature needs add-on `{}`, which is not available under mode `{mode_name}`",
                        add_ons[add_on.index()].id
                    ),
                ));
            }
            modes.insert(mode.index());
            let mut seen = IdSet::EMPTY;
            for p in list {
                let provider = find(&provider_ix, &entry, "provider", &p.provider)?;
                if !mode_offers[mode.index()].contains(usize::from(provider)) {
                    return Err(CatalogError::DanglingPreference {
                        entry,
                        mode: mode_name.clone(),
                        provider: p.provider.clone(),
                    });
                }
                if seen.contains(usize::from(provider)) {
                    return Err(invalid(
                        &entry,
                        &format!("provider `{}` is listed twice", p.provider),
                    ));
                }
                if p.model.trim().is_empty() {
                    return Err(invalid(
                        &entry,
                        &format!("provider `{}` has an empty model", p.provider),
                    ));
                }
                seen.insert(usize::from(provider));
                per_mode[mode.index()].push((provider, p.model.as_str()));
            }
        }
        features.push(Feature {
            id: f.id.as_str().into(),
            name: f.name.as_str().into(),
            requires_add_on,
            modes,
        });
        preferences.push(per_mode);
    }

    // Routes per (feature, offering): the preferences the offering can serve.
    let mut routes: Vec<Vec<Route>> = Vec::with_capacity(features.len() * offerings.len());
    for (f, per_mode) in preferences.iter().enumerate() {
        for (o, offering) in offerings.iter().enumerate() {
            let list = per_mode[offering.mode.index()]
                .iter()
                .filter_map(|&(provider, model)| {
                    let at = offering
                        .providers
                        .iter()
                        .position(|p| p.provider.0 == provider)?;
                    if let Some(allowed) = &only[o][at]
                        && !allowed.contains(&(f as u16))
                    {
                        return None;
                    }
                    let offered = &offering.providers[at];
                    let call = offered.call.as_ref();
                    Some(Route {
                        provider: offered.provider,
                        model: model.into(),
                        platform: offered.platform.clone(),
                        processing_region: offered.processing_region.clone(),
                        endpoint: call.and_then(|c| c.endpoint.as_deref()).map(Box::from),
                        provider_model: call
                            .and_then(|c| c.model_prefix.as_deref())
                            .map(|prefix| format!("{prefix}{model}").into_boxed_str()),
                        params: call
                            .map(|c| {
                                c.params
                                    .iter()
                                    .map(|(k, v)| (Box::from(k.as_str()), Box::from(v.as_str())))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        answer_json: AnswerJson::pending(),
                        mode: offering.mode,
                        position: 0,
                    })
                })
                .collect();
            routes.push(list);
        }
    }
    // A preference some offering of its mode offers, but whose
    // `only_features` leave this feature out in every one, could never be
    // a route: refused rather than kept as a silent dead entry.
    for (f, per_mode) in preferences.iter().enumerate() {
        for (m, list) in per_mode.iter().enumerate() {
            for &(provider, _) in list {
                let serves = offerings.iter().enumerate().any(|(o, offering)| {
                    offering.mode.index() == m
                        && routes[f * offerings.len() + o]
                            .iter()
                            .any(|r| r.provider.0 == provider)
                });
                if !serves {
                    let mode = &by_exposure[m].id;
                    return Err(invalid(
                        &format!("features[{}].routes.{mode}", features[f].id),
                        &format!(
                            "provider `{}` serves this feature in no offering of mode `{mode}`: its `only_features` leave it out everywhere",
                            raw.providers[usize::from(provider)].id
                        ),
                    ));
                }
            }
        }
    }
    for (position, route) in routes.iter_mut().flatten().enumerate() {
        route.position = u32::try_from(position).unwrap_or(u32::MAX);
    }

    // Codes are unique across the top-level obligations and every regime's:
    // one answer can hold both.
    let mut codes = FxHashMap::default();
    let obligations = compile_obligations("obligations", &raw.obligations, &mut codes)?;
    let mut compliance = Vec::with_capacity(raw.compliance.len());
    for c in &raw.compliance {
        let entry = format!("compliance[{}].obligations", c.id);
        compliance.push(Regime {
            id: c.id.as_str().into(),
            name: c.name.as_str().into(),
            obligations: compile_obligations(&entry, &c.obligations, &mut codes)?,
        });
    }
    let sectors = raw
        .sectors
        .iter()
        .map(|s| Sector {
            id: s.id.as_str().into(),
            high_exposure: s.high_exposure,
        })
        .collect();

    let digest = {
        let canonical = serde_json::to_vec(&raw).map_err(|e| invalid("catalog", &e.to_string()))?;
        let hash = Sha256::digest(&canonical);
        hash.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_boxed_str()
    };
    let modes = by_exposure
        .iter()
        .map(|m| Mode {
            id: m.id.as_str().into(),
            name: m.name.as_str().into(),
            exposure: m.exposure,
            summary: m.summary.as_str().into(),
        })
        .collect();

    let mut catalog = Catalog {
        version: raw.version.as_str().into(),
        ttl_seconds: raw.ttl_seconds,
        digest,
        clusters,
        regions,
        providers,
        modes,
        features,
        add_ons,
        obligations,
        compliance,
        sectors,
        third_party,
        offerings,
        offering_at,
        routes,
        tenants: FxHashMap::default(),
        names,
        raw,
    };
    compile_tenants(&mut catalog)?;
    render_answers(&mut catalog)?;
    Ok(catalog)
}

/// Checks an offered provider's call parameters: one entry per region of
/// the offering at most, no empty values.
fn check_call_params(
    entry: &str,
    provider: &super::format::RawOfferedProvider,
    regions: &[String],
) -> Result<(), CatalogError> {
    for (region, call) in &provider.call {
        let at = format!("{entry}.providers[{}].call.{region}", provider.id);
        if !regions.contains(region) {
            return Err(invalid(
                &at,
                &format!(
                    "region `{region}` is not a region of this offering; valid: {}",
                    list_ids(regions.iter().map(String::as_str))
                ),
            ));
        }
        // Values travel in HTTP headers: printable, no control characters.
        let printable = |v: &str| !v.chars().any(char::is_control);
        if !call
            .endpoint
            .iter()
            .chain(&call.model_prefix)
            .chain(call.params.values())
            .all(|v| printable(v))
        {
            return Err(invalid(&at, "values must not contain control characters"));
        }
        let empty = |v: &Option<String>| v.as_deref().is_some_and(|s| s.trim().is_empty());
        if empty(&call.endpoint) || empty(&call.model_prefix) {
            return Err(invalid(
                &at,
                "`endpoint` and `model_prefix` must not be empty",
            ));
        }
        if let Some((name, _)) = call
            .params
            .iter()
            .find(|(k, v)| k.trim().is_empty() || v.trim().is_empty())
        {
            return Err(invalid(
                &at,
                &format!("parameter `{name}` must have a name and a value"),
            ));
        }
    }
    Ok(())
}

/// Renders the entries answers copy whole: routes, offered providers and
/// obligations.
fn render_answers(catalog: &mut Catalog) -> Result<(), CatalogError> {
    let failed = |entry: &str, e: serde_json::Error| {
        invalid(entry, &format!("cannot be written as JSON: {e}"))
    };
    let providers = &catalog.providers;
    for route in catalog.routes.iter_mut().flatten() {
        let provider = &providers[route.provider.index()].id;
        route.answer_json = AnswerJson(
            wire::render(&wire::RouteBody::of(provider, route))
                .map_err(|e| failed(&format!("providers[{provider}]"), e))?,
        );
    }
    for offered in catalog.offerings.iter_mut().flat_map(|o| &mut o.providers) {
        let provider = &providers[offered.provider.index()];
        offered.answer_json = AnswerJson(
            wire::render(&wire::ProviderBody::of(provider, offered))
                .map_err(|e| failed(&format!("providers[{}]", provider.id), e))?,
        );
    }
    let regimes = catalog
        .compliance
        .iter_mut()
        .flat_map(|r| &mut r.obligations);
    for obligation in catalog.obligations.iter_mut().chain(regimes) {
        obligation.answer_json = AnswerJson(
            wire::render(&wire::ObligationBody::from(&*obligation))
                .map_err(|e| failed(&format!("obligations[{}]", obligation.code), e))?,
        );
    }
    Ok(())
}

fn compile_tenants(catalog: &mut Catalog) -> Result<(), CatalogError> {
    let mut tenants =
        FxHashMap::with_capacity_and_hasher(catalog.raw.tenants.len(), Default::default());
    for (i, raw) in catalog.raw.tenants.iter().enumerate() {
        let Some(id) = raw.id.as_deref() else {
            return Err(invalid(
                &format!("tenants[{i}]"),
                "a tenant profile needs an `id`",
            ));
        };
        let entry = || format!("tenants[{id}]");
        let key = Arc::<str>::from(id);
        let tenant = catalog
            .resolve_tenant_fields(raw, "")
            .map_err(|errors| field_problem(&entry(), &errors))?
            .into_tenant(catalog, Some(key.clone()), "")
            .map_err(|error| field_problem(&entry(), std::slice::from_ref(&error)))?;
        if tenants.insert(key, tenant).is_some() {
            return Err(CatalogError::DuplicateId {
                entry: entry(),
                kind: "tenant",
                id: id.to_owned(),
            });
        }
    }
    catalog.tenants = tenants;
    Ok(())
}

fn field_problem(entry: &str, errors: &[super::FieldError]) -> CatalogError {
    let problem = errors
        .iter()
        .map(|e| format!("{}: {}", e.pointer.trim_start_matches('/'), e.message))
        .collect::<Vec<_>>()
        .join("; ");
    invalid(entry, &problem)
}

/// Compiles a list of obligations, refusing codes that are badly spelled
/// or already in `codes` (code -> the list that has it).
fn compile_obligations<'a>(
    entry: &str,
    raw: &'a [RawObligation],
    codes: &mut FxHashMap<&'a str, String>,
) -> Result<Vec<Obligation>, CatalogError> {
    raw.iter()
        .enumerate()
        .map(|(i, o)| {
            if o.code.trim().is_empty() || o.message.trim().is_empty() {
                return Err(invalid(
                    entry,
                    "every obligation needs a code and a message",
                ));
            }
            if let Some(problem) = IdCase::Lower.problem(&o.code) {
                let problem = problem.replacen("id", "code", 1);
                return Err(invalid(&format!("{entry}[{i}]"), &problem));
            }
            if let Some(first) = codes.insert(&o.code, entry.to_owned()) {
                return Err(invalid(
                    &format!("{entry}[{}]", o.code),
                    &format!(
                        "duplicate obligation code `{}`, already used in `{first}`",
                        o.code
                    ),
                ));
            }
            Ok(Obligation {
                code: o.code.as_str().into(),
                kind: o.kind,
                when: o.when,
                message: o.message.as_str().into(),
                answer_json: AnswerJson::pending(),
            })
        })
        .collect()
}

/// How the ids of a kind are spelled: region codes upper-case as the vendor
/// writes them (`US`, `KSA`), every other id lower-case snake_case.
#[derive(Clone, Copy)]
enum IdCase {
    Upper,
    Lower,
}

impl IdCase {
    /// The problem with `id`, when it is not spelled this way.
    fn problem(self, id: &str) -> Option<String> {
        let (letter, rule): (fn(&u8) -> bool, &str) = match self {
            IdCase::Upper => (
                u8::is_ascii_uppercase,
                "upper-case letters, digits and `_`, starting with a letter",
            ),
            IdCase::Lower => (
                u8::is_ascii_lowercase,
                "lower-case snake_case: `a`-`z`, digits and `_`, starting with a letter",
            ),
        };
        let bytes = id.as_bytes();
        let good = bytes.first().is_some_and(letter)
            && bytes
                .iter()
                .all(|b| letter(b) || b.is_ascii_digit() || *b == b'_');
        (!good).then(|| format!("id `{id}` must be {rule}"))
    }
}

/// Interns ids of one kind, refusing empty, badly spelled and duplicate
/// ones.
fn intern<'a>(
    table: &mut FxHashMap<Box<str>, u16>,
    entry: &str,
    kind: &'static str,
    case: IdCase,
    ids: impl Iterator<Item = &'a String>,
) -> Result<(), CatalogError> {
    for (i, id) in ids.enumerate() {
        if id.trim().is_empty() {
            return Err(invalid(&format!("{entry}[{i}]"), "id must not be empty"));
        }
        if let Some(problem) = case.problem(id) {
            return Err(invalid(&format!("{entry}[{i}]"), &problem));
        }
        if table.insert(id.as_str().into(), i as u16).is_some() {
            return Err(CatalogError::DuplicateId {
                entry: format!("{entry}[{id}]"),
                kind,
                id: id.clone(),
            });
        }
    }
    Ok(())
}

fn limit(kind: &'static str, len: usize, max: usize) -> Result<(), CatalogError> {
    if len > max {
        return Err(CatalogError::TooMany { kind, max });
    }
    Ok(())
}

/// The most characters a catalog version may have.
const MAX_VERSION: usize = 64;

/// The version travels in entity tags, metric labels and log lines, so it
/// is kept to visible ASCII without quotes: `2026-11-24.1`, `v3+hotfix`.
fn check_version(version: &str) -> Result<(), CatalogError> {
    if version.is_empty() {
        return Err(invalid("version", "must not be empty"));
    }
    if version.len() > MAX_VERSION {
        return Err(invalid(
            "version",
            &format!("must be at most {MAX_VERSION} characters"),
        ));
    }
    if !version
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    {
        return Err(invalid(
            "version",
            "must be visible ASCII characters without spaces, quotes or backslashes",
        ));
    }
    Ok(())
}

fn invalid(entry: &str, problem: &str) -> CatalogError {
    CatalogError::Invalid {
        entry: entry.to_owned(),
        problem: problem.to_owned(),
    }
}
