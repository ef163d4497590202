//! Reason codes: why a mode was chosen, removed or a feature refused.
//!
//! A [`Reason`] is a small value recorded while deciding; its stable `code`
//! and its human message are only rendered when an answer is serialised.

use std::fmt;

use crate::catalog::{
    AddOnId, Catalog, ClusterId, FeatureId, IdSet, ModeId, ProviderId, RegionId, Residency,
};

/// One reason, with the ids it speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The tenant profile named by the request was applied.
    ProfileApplied,
    /// A request field tried to loosen the profile and was ignored.
    ProfileLooseningIgnored { field: &'static str },
    /// The mode is offered in the tenant's region and cluster.
    ModeOffered {
        mode: ModeId,
        region: RegionId,
        cluster: ClusterId,
    },
    /// The mode is not offered in the tenant's region and cluster.
    ModeNotOffered {
        mode: ModeId,
        region: RegionId,
        cluster: ClusterId,
    },
    /// Residency removed the mode: it may process outside the region.
    ResidencyGlobalProcessing { mode: ModeId, residency: Residency },
    /// `trust_boundary` removed the mode: it uses a third-party provider.
    ResidencyThirdParty { mode: ModeId },
    /// The provider lists leave the mode no provider.
    NoUsableProvider { mode: ModeId },
    /// The modes that survived.
    EligibleModes { modes: IdSet },
    /// The tenant's selected mode is eligible and decides.
    SelectedMode { mode: ModeId },
    /// The tenant's selected mode is not eligible: a deny.
    SelectedModeNotEligible { mode: ModeId, eligible: IdSet },
    /// The region's default mode is eligible and decides.
    DefaultMode { mode: ModeId, region: RegionId },
    /// The default is not eligible; the least exposed eligible mode decides.
    LeastExposureMode { mode: ModeId, default: ModeId },
    /// No mode survived the tenant's constraints.
    NoEligibleMode,
    /// A feature is routed.
    FeatureRouted {
        feature: FeatureId,
        provider: ProviderId,
    },
    /// The decided mode does not support the feature at all.
    FeatureNotInMode { feature: FeatureId, mode: ModeId },
    /// The mode supports the feature, but not in this region and cluster.
    FeatureNotOfferedHere { feature: FeatureId, mode: ModeId },
    /// Every provider that could serve the feature is excluded by the lists.
    FeatureProvidersExcluded { feature: FeatureId, mode: ModeId },
    /// The feature needs an add-on the tenant does not have.
    AddOnRequired { feature: FeatureId, add_on: AddOnId },
    /// The feature's add-on is not available under the mode.
    AddOnNotInMode {
        feature: FeatureId,
        add_on: AddOnId,
        mode: ModeId,
    },
    /// The tenant has an add-on that the decided mode does not support.
    AddOnUnavailable { add_on: AddOnId, mode: ModeId },
    /// No mode was decided, so the feature cannot be served.
    NoModeForFeature { feature: FeatureId },
    /// Every requested feature is served.
    AllFeaturesPermitted,
    /// Some requested features are served.
    SomeFeaturesPermitted { permitted: u16, requested: u16 },
    /// No requested feature is served.
    NoFeaturePermitted,
}

impl Reason {
    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::ProfileApplied => "profile_applied",
            Reason::ProfileLooseningIgnored { .. } => "profile_loosening_ignored",
            Reason::ModeOffered { .. } => "mode_eligible",
            Reason::ModeNotOffered { .. } => "mode_not_offered",
            Reason::ResidencyGlobalProcessing { .. } => "residency_global_processing",
            Reason::ResidencyThirdParty { .. } => "residency_third_party",
            Reason::NoUsableProvider { .. } => "no_usable_provider",
            Reason::EligibleModes { .. } => "eligible_modes",
            Reason::SelectedMode { .. } => "selected_mode",
            Reason::SelectedModeNotEligible { .. } => "selected_mode_not_eligible",
            Reason::DefaultMode { .. } => "default_mode",
            Reason::LeastExposureMode { .. } => "least_exposure_mode",
            Reason::NoEligibleMode => "no_eligible_mode",
            Reason::FeatureRouted { .. } => "feature_routed",
            Reason::FeatureNotInMode { .. } => "feature_not_in_mode",
            Reason::FeatureNotOfferedHere { .. } => "feature_not_offered_here",
            Reason::FeatureProvidersExcluded { .. } => "providers_excluded",
            Reason::AddOnRequired { .. } => "add_on_required",
            Reason::AddOnNotInMode { .. } => "add_on_not_in_mode",
            Reason::AddOnUnavailable { .. } => "add_on_unavailable",
            Reason::NoModeForFeature { .. } => "no_mode",
            Reason::AllFeaturesPermitted => "all_features_permitted",
            Reason::SomeFeaturesPermitted { .. } => "some_features_permitted",
            Reason::NoFeaturePermitted => "no_feature_permitted",
        }
    }

    /// A sentence for people, naming the ids involved.
    pub fn message(&self, catalog: &Catalog) -> String {
        self.describe(catalog).to_string()
    }

    /// The sentence of [`Reason::message`], written when displayed: answers
    /// serialise it straight into their buffer.
    pub fn describe(self, catalog: &Catalog) -> Message<'_> {
        Message {
            reason: self,
            catalog,
        }
    }

    fn write_message(&self, catalog: &Catalog, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = |m: &ModeId| &*catalog.mode(*m).id;
        let feature = |f: &FeatureId| &*catalog.feature(*f).id;
        let add_on = |a: &AddOnId| &*catalog.add_ons[a.index()].id;
        let modes = |out: &mut fmt::Formatter<'_>, set: &IdSet| {
            write_ids(out, set.iter().map(|m| &*catalog.modes[m].id))
        };
        match self {
            Reason::ProfileApplied => {
                out.write_str("the tenant profile in the catalog was applied")
            }
            // A list is narrowed to what the profile has: only its extra
            // entries are ignored.
            Reason::ProfileLooseningIgnored {
                field: field @ ("allowed_providers" | "add_ons"),
            } => write!(
                out,
                "`{field}` in the request names some the tenant profile does not have; \
                 those were ignored and the rest applied"
            ),
            Reason::ProfileLooseningIgnored { field } => {
                write!(
                    out,
                    "`{field}` in the request would loosen the tenant profile and was ignored"
                )
            }
            Reason::ModeOffered {
                mode: m,
                region,
                cluster,
            } => write!(
                out,
                "mode `{}` is offered in region `{}` on the `{}` cluster and meets the tenant's constraints",
                mode(m),
                catalog.region(*region).id,
                catalog.cluster(*cluster).id
            ),
            Reason::ModeNotOffered {
                mode: m,
                region,
                cluster,
            } => write!(
                out,
                "mode `{}` is not offered in region `{}` on the `{}` cluster",
                mode(m),
                catalog.region(*region).id,
                catalog.cluster(*cluster).id
            ),
            Reason::ResidencyGlobalProcessing { mode: m, residency } => write!(
                out,
                "`{}` residency removes mode `{}`: it may process data outside the region",
                residency.as_str(),
                mode(m)
            ),
            Reason::ResidencyThirdParty { mode: m } => write!(
                out,
                "`trust_boundary` residency removes mode `{}`: it uses a third-party provider",
                mode(m)
            ),
            Reason::NoUsableProvider { mode: m } => {
                write!(
                    out,
                    "the provider lists leave mode `{}` no provider",
                    mode(m)
                )
            }
            Reason::EligibleModes { modes: set } if set.is_empty() => {
                out.write_str("no mode is eligible under the tenant's constraints")
            }
            Reason::EligibleModes { modes: set } => {
                out.write_str("eligible modes, least exposure first: ")?;
                modes(out, set)
            }
            Reason::SelectedMode { mode: m } => {
                write!(
                    out,
                    "the tenant selected mode `{}`, which is eligible",
                    mode(m)
                )
            }
            Reason::SelectedModeNotEligible { mode: m, eligible } if eligible.is_empty() => {
                write!(
                    out,
                    "the selected mode `{}` is not eligible, and no mode is",
                    mode(m)
                )
            }
            Reason::SelectedModeNotEligible { mode: m, eligible } => {
                write!(
                    out,
                    "the selected mode `{}` is not eligible; eligible modes: ",
                    mode(m)
                )?;
                modes(out, eligible)
            }
            Reason::DefaultMode { mode: m, region } => write!(
                out,
                "`{}` is the default mode of region `{}`",
                mode(m),
                catalog.region(*region).id
            ),
            Reason::LeastExposureMode { mode: m, default } => write!(
                out,
                "the region's default mode `{}` is not eligible; `{}` is the eligible mode of least exposure",
                mode(default),
                mode(m)
            ),
            Reason::NoEligibleMode => {
                out.write_str("no mode is eligible under the tenant's constraints")
            }
            Reason::FeatureRouted {
                feature: f,
                provider,
            } => write!(
                out,
                "`{}` is routed to `{}`",
                feature(f),
                catalog.provider(*provider).id
            ),
            Reason::FeatureNotInMode {
                feature: f,
                mode: m,
            } => {
                write!(out, "mode `{}` does not support `{}`", mode(m), feature(f))
            }
            Reason::FeatureNotOfferedHere {
                feature: f,
                mode: m,
            } => write!(
                out,
                "mode `{}` offers `{}` in other regions or clusters, not in the tenant's",
                mode(m),
                feature(f)
            ),
            Reason::FeatureProvidersExcluded {
                feature: f,
                mode: m,
            } => write!(
                out,
                "every provider that serves `{}` under mode `{}` is excluded by the provider lists",
                feature(f),
                mode(m)
            ),
            Reason::AddOnRequired {
                feature: f,
                add_on: a,
            } => {
                write!(out, "`{}` needs the `{}` add-on", feature(f), add_on(a))
            }
            Reason::AddOnNotInMode {
                feature: f,
                add_on: a,
                mode: m,
            } => write!(
                out,
                "`{}` needs the `{}` add-on, which is not available under mode `{}`",
                feature(f),
                add_on(a),
                mode(m)
            ),
            Reason::AddOnUnavailable { add_on: a, mode: m } => write!(
                out,
                "the tenant's `{}` add-on is not available under mode `{}`",
                add_on(a),
                mode(m)
            ),
            Reason::NoModeForFeature { feature: f } => {
                write!(
                    out,
                    "no mode was decided, so `{}` cannot be served",
                    feature(f)
                )
            }
            Reason::AllFeaturesPermitted => out.write_str("every requested feature is permitted"),
            Reason::SomeFeaturesPermitted {
                permitted,
                requested,
            } => {
                write!(
                    out,
                    "{permitted} of {requested} requested features are permitted"
                )
            }
            Reason::NoFeaturePermitted => out.write_str("no requested feature is permitted"),
        }
    }
}

/// Writes ids as [`crate::catalog::list_ids`] lists them, without building a string first.
fn write_ids<'a>(out: &mut fmt::Formatter<'_>, ids: impl Iterator<Item = &'a str>) -> fmt::Result {
    for (i, id) in ids.enumerate() {
        if i > 0 {
            out.write_str(", ")?;
        }
        out.write_str("`")?;
        out.write_str(id)?;
        out.write_str("`")?;
    }
    Ok(())
}

/// A reason's sentence, written when displayed; see [`Reason::describe`].
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    reason: Reason,
    catalog: &'a Catalog,
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason.write_message(self.catalog, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers write codes without escaping them: every code must be a
    /// snake_case word.
    #[test]
    fn every_code_is_a_snake_case_word() {
        let (mode, feature) = (ModeId(0), FeatureId(0));
        let (region, cluster) = (RegionId(0), ClusterId(0));
        let (add_on, provider, modes) = (AddOnId(0), ProviderId(0), IdSet::default());
        let every = [
            Reason::ProfileApplied,
            Reason::ProfileLooseningIgnored { field: "residency" },
            Reason::ModeOffered {
                mode,
                region,
                cluster,
            },
            Reason::ModeNotOffered {
                mode,
                region,
                cluster,
            },
            Reason::ResidencyGlobalProcessing {
                mode,
                residency: Residency::Strict,
            },
            Reason::ResidencyThirdParty { mode },
            Reason::NoUsableProvider { mode },
            Reason::EligibleModes { modes },
            Reason::SelectedMode { mode },
            Reason::SelectedModeNotEligible {
                mode,
                eligible: modes,
            },
            Reason::DefaultMode { mode, region },
            Reason::LeastExposureMode {
                mode,
                default: mode,
            },
            Reason::NoEligibleMode,
            Reason::FeatureRouted { feature, provider },
            Reason::FeatureNotInMode { feature, mode },
            Reason::FeatureNotOfferedHere { feature, mode },
            Reason::FeatureProvidersExcluded { feature, mode },
            Reason::AddOnRequired { feature, add_on },
            Reason::AddOnNotInMode {
                feature,
                add_on,
                mode,
            },
            Reason::AddOnUnavailable { add_on, mode },
            Reason::NoModeForFeature { feature },
            Reason::AllFeaturesPermitted,
            Reason::SomeFeaturesPermitted {
                permitted: 1,
                requested: 2,
            },
            Reason::NoFeaturePermitted,
        ];
        for reason in every {
            let code = reason.code();
            assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }
}
