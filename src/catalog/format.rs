//! The catalog file format: plain serde types that mirror `config/catalog.toml`
//! one to one. Nothing here is validated; [`super::compile`] turns a
//! [`RawCatalog`] into a checked, indexed [`super::Catalog`].
//!
//! The tenant and request shapes are defined here too, because tenant
//! profiles and example decisions in the catalog use the same fields as a
//! decision request on the wire.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A whole catalog file.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCatalog {
    /// Version reported as `catalog_version` in every decision.
    pub version: String,
    /// How long callers may cache a decision.
    pub ttl_seconds: u32,
    #[serde(default)]
    pub changelog: Vec<RawChange>,
    pub clusters: Vec<RawCluster>,
    pub regions: Vec<RawRegion>,
    pub providers: Vec<RawProvider>,
    pub modes: Vec<RawMode>,
    #[serde(default)]
    pub add_ons: Vec<RawAddOn>,
    pub features: Vec<RawFeature>,
    #[serde(default)]
    pub obligations: Vec<RawObligation>,
    #[serde(default)]
    pub compliance: Vec<RawCompliance>,
    #[serde(default)]
    pub sectors: Vec<RawSector>,
    #[serde(default)]
    pub tenants: Vec<RawTenant>,
    #[serde(default)]
    pub examples: Vec<RawExample>,
}

/// One entry of the catalog's changelog, for timelines.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChange {
    pub version: String,
    pub date: String,
    pub summary: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub default_cluster: String,
    pub default_mode: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `false` only for the vendor's own models.
    pub third_party: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMode {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Rank from least (1) to most data exposure; distinct across modes.
    pub exposure: u32,
    #[serde(default)]
    pub summary: String,
    pub offerings: Vec<RawOffering>,
}

/// Where a mode exists and which providers it uses there.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOffering {
    pub regions: Vec<String>,
    pub clusters: Vec<String>,
    pub providers: Vec<RawOfferedProvider>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOfferedProvider {
    pub id: String,
    /// The platform the provider's models run on, such as `amazon_bedrock`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    pub processing: Processing,
    /// When set, the provider serves only these features in this offering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_features: Option<Vec<String>>,
    /// Per region code of this offering, the provider-specific parameters
    /// that keep a call in that region, so a gateway can execute a route
    /// without a table of its own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub call: BTreeMap<String, RawCallParams>,
}

/// How to call a provider so that processing stays where the route says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCallParams {
    /// Host (or base URL) of the provider's in-region endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Prefixed to the route's model to give the id the provider expects,
    /// such as `eu.anthropic.` for a geographic inference profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_prefix: Option<String>,
    /// Further provider-specific settings (project, residency flag ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

/// Where a provider processes data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Processing {
    /// In the tenant's region.
    InRegion,
    /// Anywhere, including outside the tenant's region.
    Global,
}

impl Processing {
    /// The id answers and the catalog use: `in_region` or `global`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Processing::InRegion => "in_region",
            Processing::Global => "global",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAddOn {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub summary: String,
    /// Modes the add-on works with.
    pub modes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFeature {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_add_on: Option<String>,
    /// Per mode id, providers in order of preference.
    #[serde(default)]
    pub routes: BTreeMap<String, Vec<RawPreference>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPreference {
    pub provider: String,
    pub model: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawObligation {
    pub code: String,
    pub kind: ObligationKind,
    pub when: Condition,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObligationKind {
    Obligation,
    Warning,
}

/// When an obligation applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Always,
    ThirdParty,
    /// The decided mode may send data to a third-party provider itself,
    /// not through a cloud platform the vendor runs it on: outside the
    /// vendor's trust boundary.
    ThirdPartyDirect,
    GlobalProcessing,
    TrainingNotOptedOut,
    HighExposureSector,
    /// The tenant prefers in-region processing (residency `preferred`) and
    /// the decided mode may process outside the region.
    ResidencyPreferenceUnmet,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCompliance {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub obligations: Vec<RawObligation>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSector {
    pub id: String,
    #[serde(default)]
    pub high_exposure: bool,
}

/// Residency requirement, from least to most strict.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Residency {
    /// No requirement.
    None,
    /// In-region processing preferred: no mode is removed, and obligations
    /// under `residency_preference_unmet` apply when the decided mode may
    /// process outside the region.
    Preferred,
    /// Processing must stay in the tenant's region.
    Strict,
    /// Processing must stay on the vendor's own infrastructure (and in region).
    TrustBoundary,
}

impl Residency {
    pub const ALL: [Residency; 4] = [
        Residency::None,
        Residency::Preferred,
        Residency::Strict,
        Residency::TrustBoundary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Residency::None => "none",
            Residency::Preferred => "preferred",
            Residency::Strict => "strict",
            Residency::TrustBoundary => "trust_boundary",
        }
    }

    /// The residency with this id, if there is one.
    pub fn from_id(id: &str) -> Option<Residency> {
        Residency::ALL.into_iter().find(|r| r.as_str() == id)
    }
}

/// A residency as a request or a profile gives it. An unknown value is kept
/// rather than refused while the JSON is read, so that it is reported
/// beside every other bad field when the tenant is resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResidencyInput {
    Known(Residency),
    Unknown(String),
}

impl From<Residency> for ResidencyInput {
    fn from(residency: Residency) -> Self {
        ResidencyInput::Known(residency)
    }
}

impl From<&str> for ResidencyInput {
    fn from(id: &str) -> Self {
        Residency::from_id(id).map_or_else(|| ResidencyInput::Unknown(id.to_owned()), Self::Known)
    }
}

impl Serialize for ResidencyInput {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self {
            ResidencyInput::Known(residency) => residency.as_str(),
            ResidencyInput::Unknown(id) => id,
        })
    }
}

impl<'de> Deserialize<'de> for ResidencyInput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ResidencyInput;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<ResidencyInput, E> {
                Ok(id.into())
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// A tenant: in a decision request, or as a profile in the catalog.
/// Ids are plain strings here and are checked against the catalog when the
/// request is resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTenant {
    /// Tenant id; when it names a profile in the catalog, the profile applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Provisioned region (`US`, `EU`, ...); required unless `id` names a profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `global` or `local`; defaults from the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_cluster: Option<String>,
    /// Defaults to `preferred`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Residency>)]
    pub residency: Option<ResidencyInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_providers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_providers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_ons: Option<Vec<String>>,
    /// Whether the account has opted out of model training; absent counts as not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_opt_out: Option<bool>,
    /// Industry sector id from the catalog (`healthcare`, `legal`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
}

/// A decision request: a tenant and the features it needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDecisionRequest {
    #[serde(deserialize_with = "object")]
    pub tenant: RawTenant,
    /// Feature ids; at least one, no duplicates, at most
    /// `engine::MAX_FEATURES`.
    #[schema(min_items = 1, max_items = 64)]
    pub features: Vec<String>,
    /// Adds a step-by-step trace to the answer.
    #[serde(default)]
    pub explain: bool,
}

/// An example decision carried by the catalog and run by `aipdp check`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExample {
    pub name: String,
    pub request: RawDecisionRequest,
    pub expect: RawExpectation,
}

/// What an example decision must give. Unset fields are not checked.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExpectation {
    /// `permit`, `partial` or `deny`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligible_modes: Option<Vec<String>>,
    /// Feature id to the provider it routes to, or `none` when not permitted.
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
}

/// Deserializes a struct from an object only. Serde's derived structs also
/// accept a sequence of their fields in order (`"tenant": [null, "EU"]`),
/// which no JSON caller means; with this, such input is a type error that
/// names the field.
///
/// # Errors
/// When the value is not an object, or the object does not fit `T`.
pub fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct ObjectOnly<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ObjectOnly<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_map(ObjectOnly(std::marker::PhantomData))
}

/// A value deserialized with [`object`]: for a whole request body, or the
/// items of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        object(deserializer).map(Object)
    }
}

/// [`object`] for every item of a list.
///
/// # Errors
/// When the value is not a list, or an item is not an object that fits `T`.
pub fn objects<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items: Vec<Object<T>> = Deserialize::deserialize(deserializer)?;
    Ok(items.into_iter().map(|Object(item)| item).collect())
}

/// [`object`] for an optional member: absent or `null` is `None`.
///
/// # Errors
/// When the value is neither `null` nor an object that fits `T`.
pub fn optional_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct OptionalObject<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for OptionalObject<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object or null")
        }
        fn visit_none<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_some<D2: serde::Deserializer<'de>>(self, d: D2) -> Result<Option<T>, D2::Error> {
            object(d).map(Some)
        }
    }
    deserializer.deserialize_option(OptionalObject(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::Processing;

    #[test]
    fn processing_ids_are_the_ones_serde_writes() {
        for processing in [Processing::InRegion, Processing::Global] {
            assert_eq!(
                serde_json::to_value(processing).unwrap(),
                processing.as_str()
            );
        }
    }
}
