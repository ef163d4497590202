//! The catalog: what modes exist where, which providers they use, how each
//! feature is routed, and which obligations apply.
//!
//! [`format`] is the file format, [`compile()`] validates a parsed file and
//! compiles it into the [`Catalog`] the engine reads: ids interned to small
//! indices, provider sets as bit sets, routes pre-expanded per (feature,
//! mode, region, cluster). A `Catalog` is immutable once built.
//!
//! Depends on nothing else in the crate.

mod compile;
mod error;
pub mod format;
mod tenant;

use rustc_hash::FxHashMap;
use std::sync::Arc;

pub use compile::compile;
pub use error::{CatalogError, Echo, FieldError, LoadError};
pub use format::{Condition, ObligationKind, Processing, RawCatalog, Residency};
pub use tenant::Tenant;

/// The catalog built into the binary.
pub const BUILTIN_SOURCE: &str = include_str!("../../config/catalog.toml");

/// Where [`BUILTIN_SOURCE`] comes from, for messages.
pub const BUILTIN_NAME: &str = "built-in config/catalog.toml";

/// The largest catalog file read, in bytes. The shipped catalog is about
/// 20 KiB, and one with 100,000 tenant profiles about 10 MiB; a file over
/// this is refused before it is read whole, so a runaway writer cannot
/// make a reload hold gigabytes.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Reads a catalog file of at most [`MAX_FILE_BYTES`].
///
/// # Errors
/// [`LoadError::Read`] when the file cannot be read, and
/// [`LoadError::TooLarge`] over the limit.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;
    let cannot_read = |source| LoadError::Read {
        path: path.display().to_string(),
        source,
    };
    let too_large = || LoadError::TooLarge {
        path: path.display().to_string(),
        limit: MAX_FILE_BYTES,
    };
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    // The size a file says it has is refused without reading it; one that
    // grows while read (or a pipe) is cut at the limit.
    if file.metadata().is_ok_and(|m| m.len() > MAX_FILE_BYTES) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u16);

        impl $name {
            pub fn index(self) -> usize {
                usize::from(self.0)
            }
        }
    };
}

index_type!(
    /// A region, by its position in [`Catalog::regions`].
    RegionId
);
index_type!(
    /// A data cluster, by its position in [`Catalog::clusters`].
    ClusterId
);
index_type!(
    /// A mode, by its position in [`Catalog::modes`], which is exposure order.
    ModeId
);
index_type!(
    /// A provider, by its position in [`Catalog::providers`].
    ProviderId
);
index_type!(
    /// A feature, by its position in [`Catalog::features`].
    FeatureId
);
index_type!(
    /// A compliance regime, by its position in [`Catalog::compliance`].
    ComplianceId
);
index_type!(
    /// An add-on, by its position in [`Catalog::add_ons`].
    AddOnId
);
index_type!(
    /// A sector, by its position in [`Catalog::sectors`].
    SectorId
);

/// A set of up to 64 small ids (providers, modes, regimes, add-ons).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct IdSet(u64);

impl IdSet {
    /// The most members a set can hold; the catalog refuses more of any kind.
    pub const CAPACITY: usize = 64;

    pub const EMPTY: IdSet = IdSet(0);

    pub fn all(len: usize) -> IdSet {
        if len >= 64 {
            IdSet(u64::MAX)
        } else {
            IdSet((1u64 << len) - 1)
        }
    }

    pub fn insert(&mut self, index: usize) {
        debug_assert!(index < Self::CAPACITY);
        self.0 |= 1u64 << (index % Self::CAPACITY);
    }

    pub fn contains(self, index: usize) -> bool {
        index < Self::CAPACITY && self.0 & (1u64 << index) != 0
    }

    pub fn union(self, other: IdSet) -> IdSet {
        IdSet(self.0 | other.0)
    }

    pub fn intersection(self, other: IdSet) -> IdSet {
        IdSet(self.0 & other.0)
    }

    pub fn difference(self, other: IdSet) -> IdSet {
        IdSet(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn is_subset(self, other: IdSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Member indices in ascending order.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let index = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(index)
        })
    }
}

/// An id of the catalog that answers show: its text, and the same text as a
/// JSON string (quoted and escaped), rendered once when the catalog is
/// compiled so that answers copy it instead of escaping it again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id {
    text: Box<str>,
    json: Box<str>,
}

impl Id {
    /// The id as a JSON string, quotes included.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The id escaped for a JSON string: [`Id::json`] without its quotes.
    pub fn json_escaped(&self) -> &str {
        self.json
            .get(1..self.json.len().saturating_sub(1))
            .unwrap_or_default()
    }
}

impl From<&str> for Id {
    fn from(text: &str) -> Id {
        Id {
            text: text.into(),
            // Serialising a string cannot fail.
            json: serde_json::to_string(text).unwrap_or_default().into(),
        }
    }
}

impl std::ops::Deref for Id {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub id: Id,
    pub name: Box<str>,
}

#[derive(Debug, Clone)]
pub struct Region {
    pub id: Id,
    pub name: Box<str>,
    pub default_cluster: ClusterId,
    pub default_mode: ModeId,
}

#[derive(Debug, Clone)]
pub struct Provider {
    pub id: Id,
    pub name: Box<str>,
    pub third_party: bool,
}

#[derive(Debug, Clone)]
pub struct Mode {
    pub id: Id,
    pub name: Box<str>,
    pub exposure: u32,
    pub summary: Box<str>,
}

/// A mode as offered in one (region, cluster): its providers there.
#[derive(Debug, Clone)]
pub struct Offering {
    pub mode: ModeId,
    pub region: RegionId,
    pub cluster: ClusterId,
    pub providers: Vec<OfferedProvider>,
    /// The providers above, as a set.
    pub provider_set: IdSet,
    /// Whether any provider here may process outside the region.
    pub global: bool,
}

/// An entry of the catalog as answers show it, as compact JSON rendered
/// once by [`compile`] (see [`crate::wire::Rendered`]).
#[derive(Debug, Clone)]
pub struct AnswerJson(Box<serde_json::value::RawValue>);

impl AnswerJson {
    /// Stands in until [`compile`] renders the entry.
    fn pending() -> AnswerJson {
        AnswerJson(serde_json::value::RawValue::NULL.to_owned())
    }

    pub fn raw(&self) -> &serde_json::value::RawValue {
        &self.0
    }
}

/// Rendered from the entry's other fields, so equal entries render equally.
impl PartialEq for AnswerJson {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for AnswerJson {}

#[derive(Debug, Clone)]
pub struct OfferedProvider {
    pub provider: ProviderId,
    pub platform: Option<Box<str>>,
    /// How to call the provider in this region, when the catalog says.
    pub call: Option<format::RawCallParams>,
    pub processing: Processing,
    /// `EU`-style region code, or `global`.
    pub processing_region: Box<str>,
    pub answer_json: AnswerJson,
}

/// One way to serve a feature: a provider and model in one offering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub provider: ProviderId,
    pub model: Box<str>,
    pub platform: Option<Box<str>>,
    /// `EU`-style region code, or `global`.
    pub processing_region: Box<str>,
    /// The provider's endpoint for this region, when the catalog names one.
    pub endpoint: Option<Box<str>>,
    /// The model id to send the provider (the model with the region's
    /// prefix), when the catalog sets a prefix.
    pub provider_model: Option<Box<str>>,
    /// Further provider-specific parameters, sorted by name.
    pub params: Box<[(Box<str>, Box<str>)]>,
    pub answer_json: AnswerJson,
    /// The mode of the offering the route is in.
    pub mode: ModeId,
    /// Where the route is in [`Catalog::all_routes`], so tables made from
    /// the catalog can be indexed by route.
    pub position: u32,
}

#[derive(Debug, Clone)]
pub struct Feature {
    pub id: Id,
    pub name: Box<str>,
    pub requires_add_on: Option<AddOnId>,
    /// Modes that list this feature at all (whatever the region).
    pub modes: IdSet,
}

#[derive(Debug, Clone)]
pub struct AddOn {
    pub id: Id,
    pub name: Box<str>,
    pub modes: IdSet,
}

#[derive(Debug, Clone)]
pub struct Obligation {
    pub code: Box<str>,
    pub kind: ObligationKind,
    pub when: Condition,
    pub message: Box<str>,
    pub answer_json: AnswerJson,
}

#[derive(Debug, Clone)]
pub struct Regime {
    pub id: Box<str>,
    pub name: Box<str>,
    pub obligations: Vec<Obligation>,
}

#[derive(Debug, Clone)]
pub struct Sector {
    pub id: Box<str>,
    pub high_exposure: bool,
}

/// A validated, compiled catalog. Build one with [`compile()`] or
/// [`Catalog::from_toml`].
#[derive(Debug)]
pub struct Catalog {
    /// The file as parsed, for the catalog endpoints and `check`.
    pub raw: RawCatalog,
    pub version: Id,
    pub ttl_seconds: u32,
    /// Hex SHA-256 of the catalog's canonical JSON form.
    pub digest: Box<str>,
    pub clusters: Vec<Cluster>,
    pub regions: Vec<Region>,
    pub providers: Vec<Provider>,
    /// In exposure order, least first.
    pub modes: Vec<Mode>,
    pub features: Vec<Feature>,
    pub add_ons: Vec<AddOn>,
    pub obligations: Vec<Obligation>,
    pub compliance: Vec<Regime>,
    pub sectors: Vec<Sector>,
    /// Providers that are third parties, as a set.
    pub third_party: IdSet,
    offerings: Vec<Offering>,
    /// `[mode][region][cluster]` -> position in `offerings`.
    offering_at: Vec<Option<u32>>,
    /// `[feature][offering]` -> routes in order of preference.
    routes: Vec<Vec<Route>>,
    tenants: FxHashMap<Arc<str>, Tenant>,
    names: Names,
}

/// Id lookups, one table per kind, to positions in the catalog's lists.
///
/// Fx hashing: request ids are only looked up, never inserted, so a hash
/// that resists chosen collisions buys nothing here, and it was the larger
/// part of resolving a request.
#[derive(Debug, Default)]
struct Names {
    regions: FxHashMap<Box<str>, u16>,
    clusters: FxHashMap<Box<str>, u16>,
    modes: FxHashMap<Box<str>, u16>,
    providers: FxHashMap<Box<str>, u16>,
    features: FxHashMap<Box<str>, u16>,
    compliance: FxHashMap<Box<str>, u16>,
    add_ons: FxHashMap<Box<str>, u16>,
    sectors: FxHashMap<Box<str>, u16>,
}

impl Catalog {
    /// Parses and compiles a catalog from TOML text.
    ///
    /// # Errors
    /// [`CatalogError`] naming the entry and the problem.
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        if text.trim().is_empty() {
            return Err(CatalogError::Empty);
        }
        let raw: RawCatalog = toml::from_str(text).map_err(|e| CatalogError::syntax(text, &e))?;
        compile(raw)
    }

    /// The catalog built into the binary.
    ///
    /// # Errors
    /// Only if the shipped file is broken, which the test suite rules out.
    pub fn builtin() -> Result<Catalog, LoadError> {
        Catalog::from_toml(BUILTIN_SOURCE).map_err(|source| LoadError::Invalid {
            path: BUILTIN_NAME.into(),
            source: Box::new(source),
        })
    }

    /// Reads, parses and compiles a catalog file.
    ///
    /// # Errors
    /// [`LoadError`] naming the file and, for bad content, the entry.
    pub fn load(path: &std::path::Path) -> Result<Catalog, LoadError> {
        Catalog::from_file_bytes(path, &read_file(path)?)
    }

    /// Parses and compiles the bytes of the catalog file `path`.
    ///
    /// # Errors
    /// [`LoadError`] naming the file: bytes that are not UTF-8, or the
    /// entry at fault.
    pub fn from_file_bytes(path: &std::path::Path, bytes: &[u8]) -> Result<Catalog, LoadError> {
        let text = std::str::from_utf8(bytes).map_err(|e| LoadError::Read {
            path: path.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        Catalog::from_toml(text).map_err(|source| LoadError::Invalid {
            path: path.display().to_string(),
            source: Box::new(source),
        })
    }

    pub fn region_id(&self, id: &str) -> Option<RegionId> {
        self.names.regions.get(id).copied().map(RegionId)
    }
    pub fn cluster_id(&self, id: &str) -> Option<ClusterId> {
        self.names.clusters.get(id).copied().map(ClusterId)
    }
    pub fn mode_id(&self, id: &str) -> Option<ModeId> {
        self.names.modes.get(id).copied().map(ModeId)
    }
    pub fn provider_id(&self, id: &str) -> Option<ProviderId> {
        self.names.providers.get(id).copied().map(ProviderId)
    }
    pub fn feature_id(&self, id: &str) -> Option<FeatureId> {
        self.names.features.get(id).copied().map(FeatureId)
    }
    pub fn compliance_id(&self, id: &str) -> Option<ComplianceId> {
        self.names.compliance.get(id).copied().map(ComplianceId)
    }
    pub fn add_on_id(&self, id: &str) -> Option<AddOnId> {
        self.names.add_ons.get(id).copied().map(AddOnId)
    }
    pub fn sector_id(&self, id: &str) -> Option<SectorId> {
        self.names.sectors.get(id).copied().map(SectorId)
    }

    pub fn region(&self, id: RegionId) -> &Region {
        &self.regions[id.index()]
    }
    pub fn cluster(&self, id: ClusterId) -> &Cluster {
        &self.clusters[id.index()]
    }
    pub fn mode(&self, id: ModeId) -> &Mode {
        &self.modes[id.index()]
    }
    pub fn provider(&self, id: ProviderId) -> &Provider {
        &self.providers[id.index()]
    }
    pub fn feature(&self, id: FeatureId) -> &Feature {
        &self.features[id.index()]
    }

    /// All mode ids, least exposure first.
    pub fn mode_ids(&self) -> impl Iterator<Item = ModeId> + '_ {
        (0..self.modes.len()).map(|i| ModeId(i as u16))
    }

    /// The tenant profile with this id, if the catalog has one.
    pub fn tenant_profile(&self, id: &str) -> Option<&Tenant> {
        self.tenants.get(id)
    }

    /// Every tenant profile, in no particular order.
    pub fn tenant_profiles(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.values()
    }

    /// The mode as offered in a region and cluster, if it is.
    pub fn offering(
        &self,
        mode: ModeId,
        region: RegionId,
        cluster: ClusterId,
    ) -> Option<&Offering> {
        let slot = (mode.index() * self.regions.len() + region.index()) * self.clusters.len()
            + cluster.index();
        let at = self.offering_at.get(slot).copied().flatten()?;
        self.offerings.get(at as usize)
    }

    /// Every route of every feature in every offering, in the order of
    /// their [`Route::position`].
    pub fn all_routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter().flatten()
    }

    /// A feature's routes in an offering, most preferred first. Empty when
    /// the offering cannot serve the feature at all.
    pub fn routes(&self, feature: FeatureId, offering: &Offering) -> &[Route] {
        let Some(at) = self.offering_position(offering) else {
            return &[];
        };
        self.routes
            .get(feature.index() * self.offerings.len() + at)
            .map_or(&[], Vec::as_slice)
    }

    fn offering_position(&self, offering: &Offering) -> Option<usize> {
        let slot = (offering.mode.index() * self.regions.len() + offering.region.index())
            * self.clusters.len()
            + offering.cluster.index();
        self.offering_at
            .get(slot)
            .copied()
            .flatten()
            .map(|at| at as usize)
    }

    /// Ids of every region, for messages that list the valid ones.
    pub fn region_ids(&self) -> Vec<&str> {
        self.regions.iter().map(|r| &*r.id).collect()
    }
}

/// Lists ids as `` `a`, `b`, `c` `` for messages.
pub fn list_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, id) in ids.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('`');
        out.push_str(id);
        out.push('`');
    }
    out
}
