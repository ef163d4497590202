//! Tenants with their ids resolved against a catalog.

use std::sync::Arc;

use super::format::{RawTenant, ResidencyInput};
use super::{
    AddOnId, Catalog, ClusterId, Echo, FieldError, IdSet, ModeId, RegionId, Residency, SectorId,
    list_ids,
};

/// A tenant whose every id is known to the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Shared with the catalog's profile table, so that copying a profile
    /// into a request costs no allocation.
    pub id: Option<Arc<str>>,
    pub region: RegionId,
    pub cluster: ClusterId,
    pub residency: Residency,
    pub selected_mode: Option<ModeId>,
    /// `None` allows every provider.
    pub allowed: Option<IdSet>,
    pub denied: IdSet,
    pub compliance: IdSet,
    pub add_ons: IdSet,
    pub training_opt_out: bool,
    pub sector: Option<super::SectorId>,
}

impl Tenant {
    /// The providers this tenant's lists leave usable.
    pub fn usable_providers(&self) -> IdSet {
        self.allowed
            .unwrap_or(IdSet::all(IdSet::CAPACITY))
            .difference(self.denied)
    }

    pub fn has_add_on(&self, add_on: AddOnId) -> bool {
        self.add_ons.contains(add_on.index())
    }
}

/// The fields of a tenant object, each resolved if it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantFields {
    pub region: Option<RegionId>,
    pub cluster: Option<ClusterId>,
    pub residency: Option<Residency>,
    pub selected_mode: Option<ModeId>,
    pub allowed: Option<IdSet>,
    pub denied: Option<IdSet>,
    pub compliance: Option<IdSet>,
    pub add_ons: Option<IdSet>,
    pub training_opt_out: Option<bool>,
    pub sector: Option<SectorId>,
}

impl TenantFields {
    /// Fills the defaults (the region's cluster, `preferred` residency) and
    /// names the tenant `id`.
    ///
    /// # Errors
    /// A field error at `pointer/region` when no region was given.
    pub fn into_tenant(
        self,
        catalog: &Catalog,
        id: Option<Arc<str>>,
        pointer: &str,
    ) -> Result<Tenant, FieldError> {
        let Some(region) = self.region else {
            return Err(FieldError::new(
                format!("{pointer}/region"),
                format!(
                    "region is required unless `id` names a tenant profile; valid regions: {}",
                    list_ids(catalog.region_ids())
                ),
            ));
        };
        Ok(Tenant {
            id,
            region,
            cluster: self
                .cluster
                .unwrap_or(catalog.region(region).default_cluster),
            residency: self.residency.unwrap_or(Residency::Preferred),
            selected_mode: self.selected_mode,
            allowed: self.allowed,
            denied: self.denied.unwrap_or_default(),
            compliance: self.compliance.unwrap_or_default(),
            add_ons: self.add_ons.unwrap_or_default(),
            training_opt_out: self.training_opt_out.unwrap_or(false),
            sector: self.sector,
        })
    }
}

impl ResidencyInput {
    /// The residency, or an error at `pointer()` listing the valid ones.
    ///
    /// # Errors
    /// When the value is not one of the four residencies.
    pub fn known(&self, pointer: impl FnOnce() -> String) -> Result<Residency, FieldError> {
        match self {
            ResidencyInput::Known(residency) => Ok(*residency),
            ResidencyInput::Unknown(value) => Err(FieldError::new(
                pointer(),
                format!(
                    "unknown residency `{}`; valid: {}",
                    Echo(value),
                    list_ids(Residency::ALL.iter().map(|r| r.as_str()))
                ),
            )),
        }
    }
}

impl Catalog {
    /// Resolves every id of a tenant object, collecting an error per bad
    /// field (pointers start with `pointer`, such as `/tenant`).
    ///
    /// # Errors
    /// Every unknown or duplicated id, each with its pointer and the valid ids.
    pub fn resolve_tenant_fields(
        &self,
        raw: &RawTenant,
        pointer: &str,
    ) -> Result<TenantFields, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut one = |field: &str,
                       kind: &str,
                       value: &Option<String>,
                       find: &dyn Fn(&str) -> Option<u16>,
                       valid: &dyn Fn() -> String| {
            let value = value.as_deref()?;
            match find(value) {
                Some(index) => Some(index),
                None => {
                    errors.push(FieldError::new(
                        format!("{pointer}/{field}"),
                        format!("unknown {kind} `{}`; valid: {}", Echo(value), valid()),
                    ));
                    None
                }
            }
        };
        let region = one(
            "region",
            "region",
            &raw.region,
            &|s| self.region_id(s).map(|r| r.0),
            &|| list_ids(self.regions.iter().map(|r| &*r.id)),
        )
        .map(RegionId);
        let cluster = one(
            "data_cluster",
            "data cluster",
            &raw.data_cluster,
            &|s| self.cluster_id(s).map(|c| c.0),
            &|| list_ids(self.clusters.iter().map(|c| &*c.id)),
        )
        .map(ClusterId);
        let selected_mode = one(
            "selected_mode",
            "mode",
            &raw.selected_mode,
            &|s| self.mode_id(s).map(|m| m.0),
            &|| list_ids(self.modes.iter().map(|m| &*m.id)),
        )
        .map(ModeId);
        let sector = one(
            "sector",
            "sector",
            &raw.sector,
            &|s| self.sector_id(s).map(|m| m.0),
            &|| list_ids(self.sectors.iter().map(|s| &*s.id)),
        )
        .map(SectorId);

        let mut set = |field: &str,
                       kind: &str,
                       values: &Option<Vec<String>>,
                       find: &dyn Fn(&str) -> Option<u16>,
                       valid: &dyn Fn() -> String| {
            let values = values.as_ref()?;
            let mut out = IdSet::EMPTY;
            for (i, value) in values.iter().enumerate() {
                match find(value) {
                    Some(index) if out.contains(usize::from(index)) => {
                        errors.push(FieldError::new(
                            format!("{pointer}/{field}/{i}"),
                            format!("{kind} `{value}` is listed twice"),
                        ))
                    }
                    Some(index) => out.insert(usize::from(index)),
                    None => errors.push(FieldError::new(
                        format!("{pointer}/{field}/{i}"),
                        format!("unknown {kind} `{}`; valid: {}", Echo(value), valid()),
                    )),
                }
            }
            Some(out)
        };
        let providers = || list_ids(self.providers.iter().map(|p| &*p.id));
        let allowed = set(
            "allowed_providers",
            "provider",
            &raw.allowed_providers,
            &|s| self.provider_id(s).map(|p| p.0),
            &providers,
        );
        let denied = set(
            "denied_providers",
            "provider",
            &raw.denied_providers,
            &|s| self.provider_id(s).map(|p| p.0),
            &providers,
        );
        let compliance = set(
            "compliance",
            "compliance regime",
            &raw.compliance,
            &|s| self.compliance_id(s).map(|c| c.0),
            &|| list_ids(self.compliance.iter().map(|c| &*c.id)),
        );
        let add_ons = set(
            "add_ons",
            "add-on",
            &raw.add_ons,
            &|s| self.add_on_id(s).map(|a| a.0),
            &|| list_ids(self.add_ons.iter().map(|a| &*a.id)),
        );
        let residency = raw.residency.as_ref().and_then(|residency| {
            residency
                .known(|| format!("{pointer}/residency"))
                .map_err(|error| errors.push(error))
                .ok()
        });
        if let Some(id) = &raw.id
            && (id.is_empty() || id.len() > 256)
        {
            errors.push(FieldError::new(
                format!("{pointer}/id"),
                "tenant id must be 1 to 256 characters",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TenantFields {
            region,
            cluster,
            residency,
            selected_mode,
            allowed,
            denied,
            compliance,
            add_ons,
            training_opt_out: raw.training_opt_out,
            sector,
        })
    }
}
