//! The JSON shapes of answers: decisions, routes and eligibility grids.
//!
//! Built from engine values borrowing the catalog, so ids are never copied
//! into new strings; shared by the HTTP API and `aipdp decide`.

mod write;

pub use write::{decision_json, escaped, json_number, route_json, string as json_string};

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::catalog::{
    Catalog, FieldError, Obligation, ObligationKind, OfferedProvider, Processing, Provider, Route,
};
use crate::engine::{Decision, FeatureOutcome, ModeView, Outcome, Reason};

/// Hands out decision ids: unique per process run and unpredictable across runs.
#[derive(Debug)]
pub struct DecisionIds {
    seed: [u64; 2],
    next: AtomicU64,
}

impl Default for DecisionIds {
    fn default() -> Self {
        DecisionIds::new()
    }
}

impl DecisionIds {
    pub fn new() -> DecisionIds {
        let mut bytes = [0u8; 16];
        // With no entropy source, fall back to the clock: ids stay unique
        // within the process because of the counter.
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = nanos.to_le_bytes();
        }
        let (hi, lo) = bytes.split_at(8);
        let word = |b: &[u8]| b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x));
        DecisionIds {
            seed: [word(hi), word(lo)],
            next: AtomicU64::new(0),
        }
    }

    /// A new id shaped like a UUID (version 4 bits set), never repeated in
    /// this process: the low half is a bijective mix of a counter.
    pub fn next_id(&self) -> DecisionId {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let lo = splitmix64(self.seed[1].wrapping_add(n));
        let hi = (self.seed[0] & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
        let lo_v = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
        // The variant bits overwrite two bits of `lo`; fold them into `hi`
        // so distinct counters still give distinct ids.
        let hi = hi ^ ((lo >> 62) << 32);
        let digits: [u8; 32] = hex((u128::from(hi) << 64 | u128::from(lo_v)).to_be_bytes());
        let mut out = [b'-'; 36];
        out[..8].copy_from_slice(&digits[..8]);
        out[9..13].copy_from_slice(&digits[8..12]);
        out[14..18].copy_from_slice(&digits[12..16]);
        out[19..23].copy_from_slice(&digits[16..20]);
        out[24..].copy_from_slice(&digits[20..]);
        DecisionId(out)
    }
}

/// A decision (or request) id made by [`DecisionIds`]: `8-4-4-4-12`
/// lowercase hex digits, kept on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecisionId([u8; 36]);

impl DecisionId {
    pub fn as_bytes(&self) -> &[u8; 36] {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits and dashes are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::ops::Deref for DecisionId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for DecisionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `bytes` as lowercase hex digits, two per byte.
///
/// Worked out four bytes at a time in a `u64` rather than looked up: a
/// table of digit pairs is read once per id, so it is out of the cache by
/// the next request.
pub fn hex<const N: usize, const D: usize>(bytes: [u8; N]) -> [u8; D] {
    const { assert!(N.is_multiple_of(4) && D == 2 * N) };
    let mut digits = [0u8; D];
    for (out, word) in digits.chunks_exact_mut(8).zip(bytes.chunks_exact(4)) {
        let word = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        out.copy_from_slice(&hex_word(word).to_be_bytes());
    }
    digits
}

/// The eight hex digits of `word`, most significant first, as the bytes of
/// a big-endian `u64`.
const fn hex_word(word: u32) -> u64 {
    // Spread the nibbles, one to a byte: 0x1234_abcd -> 0x0102_0304_0a0b_0c0d.
    let mut x = word as u64;
    x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
    x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    // Adding 6 carries into bit 4 exactly for the nibbles 10 to 15, which
    // go from '0' + n to 'a' + n - 10: 39 further.
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    x + 0x3030_3030_3030_3030 + letters * 39
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeBody {
    Permit,
    Partial,
    Deny,
}

impl From<Outcome> for OutcomeBody {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Permit => OutcomeBody::Permit,
            Outcome::Partial => OutcomeBody::Partial,
            Outcome::Deny => OutcomeBody::Deny,
        }
    }
}

/// Part of an answer that depends on the catalog alone (a route, an
/// offered provider, an obligation): serialised as the JSON rendered once
/// when the catalog was compiled, so answers copy it instead of escaping
/// the same strings on every request. `value` is the same part as fields,
/// for code that reads them. Fields holding one carry `value_type` so the
/// API document shows `T`'s schema.
#[derive(Debug, Clone, Copy)]
pub struct Rendered<'a, T> {
    pub value: T,
    json: &'a RawValue,
}

impl<T> Serialize for Rendered<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

/// `value` as compact JSON, kept for [`Rendered`].
///
/// # Errors
/// When `value` does not serialise, which no answer type does.
pub fn render(value: &impl Serialize) -> Result<Box<RawValue>, serde_json::Error> {
    serde_json::value::to_raw_value(value)
}

/// A reason: a stable code and a sentence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonBody<'a> {
    /// Stable, machine-readable reason code.
    pub code: &'static str,
    #[schema(value_type = String)]
    pub message: MessageBody<'a>,
}

/// A reason's sentence: written from the reason while the answer is
/// serialised, or a text made for the occasion.
#[derive(Debug, Clone)]
pub enum MessageBody<'a> {
    Reason(crate::engine::Message<'a>),
    Text(String),
}

impl Serialize for MessageBody<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MessageBody::Reason(message) => serializer.collect_str(message),
            MessageBody::Text(text) => serializer.serialize_str(text),
        }
    }
}

impl<'a> ReasonBody<'a> {
    pub fn new(catalog: &'a Catalog, reason: &Reason) -> ReasonBody<'a> {
        ReasonBody {
            code: reason.code(),
            message: MessageBody::Reason(reason.describe(catalog)),
        }
    }

    /// A reason the engine does not make, such as an unknown tenant.
    pub fn text(code: &'static str, message: String) -> ReasonBody<'a> {
        ReasonBody {
            code,
            message: MessageBody::Text(message),
        }
    }
}

fn reasons<'a>(catalog: &'a Catalog, list: &[Reason]) -> Vec<ReasonBody<'a>> {
    list.iter().map(|r| ReasonBody::new(catalog, r)).collect()
}

/// An obligation or warning raised by the tenant's compliance regimes or
/// training state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObligationBody<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub kind: ObligationKind,
}

impl<'a> From<&'a Obligation> for ObligationBody<'a> {
    fn from(o: &'a Obligation) -> Self {
        ObligationBody {
            code: &o.code,
            message: &o.message,
            kind: o.kind,
        }
    }
}

impl<'a> ObligationBody<'a> {
    pub fn rendered(o: &'a Obligation) -> Rendered<'a, ObligationBody<'a>> {
        Rendered {
            value: o.into(),
            json: o.answer_json.raw(),
        }
    }
}

/// Where a feature is sent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RouteBody<'a> {
    pub provider: &'a str,
    pub model: &'a str,
    /// Region code such as `EU`, or `global`.
    pub processing_region: &'a str,
    /// Platform the model runs on, such as `amazon_bedrock`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<&'a str>,
    /// The provider's endpoint that keeps the call in the processing region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<&'a str>,
    /// The model id to send the provider, such as a geographic inference
    /// profile id, when it differs from `model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_model: Option<&'a str>,
    /// Further provider-specific parameters (project, residency ...).
    #[serde(skip_serializing_if = "CallParams::is_empty")]
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    pub params: CallParams<'a>,
}

impl<'a> RouteBody<'a> {
    pub fn new(catalog: &'a Catalog, route: &'a Route) -> RouteBody<'a> {
        RouteBody::of(&catalog.provider(route.provider).id, route)
    }

    /// `route` of the provider whose id is `provider`.
    pub fn of(provider: &'a str, route: &'a Route) -> RouteBody<'a> {
        RouteBody {
            provider,
            model: &route.model,
            processing_region: &route.processing_region,
            platform: route.platform.as_deref(),
            endpoint: route.endpoint.as_deref(),
            provider_model: route.provider_model.as_deref(),
            params: CallParams(&route.params),
        }
    }

    pub fn rendered(catalog: &'a Catalog, route: &'a Route) -> Rendered<'a, RouteBody<'a>> {
        Rendered {
            value: RouteBody::new(catalog, route),
            json: route.answer_json.raw(),
        }
    }
}

/// A route's provider parameters, serialised as a JSON object without
/// copying them out of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct CallParams<'a>(pub &'a [(Box<str>, Box<str>)]);

impl CallParams<'_> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for CallParams<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(&**name, &**value)?;
        }
        map.end()
    }
}

/// A provider usable under the decided mode.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderBody<'a> {
    pub id: &'a str,
    /// Region code such as `EU`, or `global`.
    pub processing_region: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<&'a str>,
    pub third_party: bool,
}

impl<'a> ProviderBody<'a> {
    pub fn new(catalog: &'a Catalog, offered: &'a OfferedProvider) -> ProviderBody<'a> {
        ProviderBody::of(catalog.provider(offered.provider), offered)
    }

    /// `offered`, an offering's entry for `provider`.
    pub fn of(provider: &'a Provider, offered: &'a OfferedProvider) -> ProviderBody<'a> {
        ProviderBody {
            id: &provider.id,
            processing_region: &offered.processing_region,
            platform: offered.platform.as_deref(),
            third_party: provider.third_party,
        }
    }

    pub fn rendered(
        catalog: &'a Catalog,
        offered: &'a OfferedProvider,
    ) -> Rendered<'a, ProviderBody<'a>> {
        Rendered {
            value: ProviderBody::new(catalog, offered),
            json: offered.answer_json.raw(),
        }
    }
}

/// One requested feature in a decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeatureBody<'a> {
    pub id: &'a str,
    pub permitted: bool,
    /// The route, when permitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RouteBody>)]
    pub route: Option<Rendered<'a, RouteBody<'a>>>,
    /// Further usable routes in order of preference, when permitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<RouteBody>>)]
    pub fallbacks: Option<Vec<Rendered<'a, RouteBody<'a>>>>,
    /// Why not, when not permitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<ReasonBody<'a>>>,
}

impl<'a> FeatureBody<'a> {
    pub fn new(catalog: &'a Catalog, outcome: &FeatureOutcome<'a>) -> FeatureBody<'a> {
        let id = &*catalog.feature(outcome.feature).id;
        match outcome.refusal {
            None => {
                let mut routes = outcome
                    .usable_routes()
                    .map(|r| RouteBody::rendered(catalog, r));
                FeatureBody {
                    id,
                    permitted: true,
                    route: routes.next(),
                    fallbacks: Some(routes.collect()),
                    reasons: None,
                }
            }
            Some(reason) => FeatureBody {
                id,
                permitted: false,
                route: None,
                fallbacks: None,
                reasons: Some(vec![ReasonBody::new(catalog, &reason)]),
            },
        }
    }
}

/// What happens to the tenant's data under the decided mode.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataHandlingBody {
    pub processing: Processing,
    /// Whether a third-party provider may receive the data.
    pub third_party: bool,
    /// Always false: customer communications content is never used for training.
    pub customer_content_training: bool,
}

/// The tenant the decision was made for, after its profile was applied.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenantBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id: Option<std::sync::Arc<str>>,
    pub region: &'a str,
    pub data_cluster: &'a str,
    #[schema(value_type = crate::catalog::format::Residency)]
    pub residency: &'static str,
}

/// A decision: mode, providers, per-feature routes, obligations and reasons.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionBody<'a> {
    pub decision_id: String,
    pub catalog_version: &'a str,
    pub outcome: OutcomeBody,
    /// The mode decided, or null on a deny for want of an eligible mode.
    #[schema(required = true)]
    pub mode: Option<&'a str>,
    pub default_mode: &'a str,
    /// The eligible mode of least exposure that serves every requested
    /// feature, or null.
    #[schema(required = true)]
    pub recommended_mode: Option<&'a str>,
    /// Least exposure first.
    pub eligible_modes: Vec<&'a str>,
    #[schema(value_type = Vec<ProviderBody>)]
    pub providers: Vec<Rendered<'a, ProviderBody<'a>>>,
    pub features: Vec<FeatureBody<'a>>,
    pub data_handling: DataHandlingBody,
    #[schema(value_type = Vec<ObligationBody>)]
    pub obligations: Vec<Rendered<'a, ObligationBody<'a>>>,
    pub reasons: Vec<ReasonBody<'a>>,
    /// Every step of the decision, when `explain` was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<ReasonBody<'a>>>,
    pub tenant: TenantBody<'a>,
    pub ttl_seconds: u32,
}

impl<'a> DecisionBody<'a> {
    pub fn new(
        catalog: &'a Catalog,
        decision: &Decision<'a>,
        decision_id: String,
        explain: bool,
    ) -> DecisionBody<'a> {
        let mode_id = |m: crate::catalog::ModeId| &*catalog.mode(m).id;
        DecisionBody {
            decision_id,
            catalog_version: &catalog.version,
            outcome: decision.outcome.into(),
            mode: decision.mode.map(mode_id),
            default_mode: mode_id(decision.default_mode),
            recommended_mode: decision.recommended_mode.map(mode_id),
            eligible_modes: decision
                .eligible_modes
                .iter()
                .map(|m| &*catalog.modes[m].id)
                .collect(),
            providers: decision
                .providers()
                .map(|p| ProviderBody::rendered(catalog, p))
                .collect(),
            features: decision
                .features
                .iter()
                .map(|f| FeatureBody::new(catalog, f))
                .collect(),
            data_handling: DataHandlingBody {
                processing: decision.data_handling.processing,
                third_party: decision.data_handling.third_party,
                customer_content_training: false,
            },
            obligations: decision
                .obligations
                .iter()
                .map(|o| ObligationBody::rendered(o))
                .collect(),
            reasons: reasons(catalog, &decision.reasons),
            trace: explain.then(|| reasons(catalog, &decision.trace)),
            tenant: TenantBody {
                id: decision.tenant.id.clone(),
                region: &catalog.region(decision.tenant.region).id,
                data_cluster: &catalog.cluster(decision.tenant.cluster).id,
                residency: decision.tenant.residency.as_str(),
            },
            ttl_seconds: catalog.ttl_seconds,
        }
    }
}

/// A gateway's answer for one feature.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RouteDecisionBody<'a> {
    pub decision_id: String,
    pub catalog_version: &'a str,
    pub allow: bool,
    /// The mode decided, or null when no mode could be.
    #[schema(required = true)]
    pub mode: Option<&'a str>,
    pub feature: &'a str,
    /// Null when not allowed.
    #[schema(value_type = Option<RouteBody>, required = true)]
    pub route: Option<Rendered<'a, RouteBody<'a>>>,
    #[schema(value_type = Vec<RouteBody>)]
    pub fallbacks: Vec<Rendered<'a, RouteBody<'a>>>,
    pub reasons: Vec<ReasonBody<'a>>,
    pub ttl_seconds: u32,
}

impl<'a> RouteDecisionBody<'a> {
    /// From a decision made for exactly one feature.
    pub fn new(
        catalog: &'a Catalog,
        decision: &Decision<'a>,
        decision_id: String,
    ) -> RouteDecisionBody<'a> {
        let feature = decision.features.first();
        let mut routes = feature
            .into_iter()
            .flat_map(|f| f.usable_routes())
            .map(|r| RouteBody::rendered(catalog, r));
        let route = routes.next();
        let fallbacks = routes.collect();
        let mut why: Vec<ReasonBody<'a>> = reasons(catalog, &decision.reasons);
        if let Some(refusal) = feature.and_then(|f| f.refusal) {
            why.insert(0, ReasonBody::new(catalog, &refusal));
        }
        RouteDecisionBody {
            decision_id,
            catalog_version: &catalog.version,
            allow: route.is_some(),
            mode: decision.mode.map(|m| &*catalog.mode(m).id),
            feature: feature.map_or("", |f| &*catalog.feature(f.feature).id),
            route,
            fallbacks,
            reasons: why,
            ttl_seconds: catalog.ttl_seconds,
        }
    }
}

/// A feature's support under one mode, in the eligibility grid.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeatureSupportBody<'a> {
    pub id: &'a str,
    pub supported: bool,
    /// The route it would take, when supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteBody<'a>>,
    pub reasons: Vec<ReasonBody<'a>>,
}

/// One mode in the eligibility grid.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModeEligibilityBody<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub exposure: u32,
    pub eligible: bool,
    pub is_default: bool,
    pub reasons: Vec<ReasonBody<'a>>,
    pub providers: Vec<ProviderBody<'a>>,
    pub features: Vec<FeatureSupportBody<'a>>,
}

impl<'a> ModeEligibilityBody<'a> {
    pub fn new(
        catalog: &'a Catalog,
        tenant: &crate::catalog::Tenant,
        view: &ModeView<'a>,
        features: &[FeatureOutcome<'a>],
    ) -> ModeEligibilityBody<'a> {
        let mode = catalog.mode(view.mode);
        let providers = view
            .usable_providers()
            .map(|p| ProviderBody::new(catalog, p))
            .collect();
        ModeEligibilityBody {
            id: &mode.id,
            name: &mode.name,
            exposure: mode.exposure,
            eligible: view.eligible(),
            is_default: catalog.region(tenant.region).default_mode == view.mode,
            reasons: vec![ReasonBody::new(catalog, &view.reason(tenant))],
            providers,
            features: features
                .iter()
                .map(|f| FeatureSupportBody {
                    id: &catalog.feature(f.feature).id,
                    supported: f.permitted(),
                    route: f.route().map(|r| RouteBody::new(catalog, r)),
                    reasons: match f.refusal {
                        Some(reason) => vec![ReasonBody::new(catalog, &reason)],
                        None => Vec::new(),
                    },
                })
                .collect(),
        }
    }
}

/// The whole eligibility grid for a region and constraints.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EligibilityBody<'a> {
    pub catalog_version: &'a str,
    pub region: &'a str,
    pub data_cluster: &'a str,
    pub residency: &'static str,
    pub default_mode: &'a str,
    pub modes: Vec<ModeEligibilityBody<'a>>,
}

/// An RFC 9457 problem: every client error has this shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemBody {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Each bad field with a JSON pointer to it.
    pub errors: Vec<FieldError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_match_the_formatter_for_every_byte() {
        for byte in 0..=255u8 {
            let bytes = [byte, byte.rotate_left(4), !byte, byte ^ 0x5a];
            let digits: [u8; 8] = hex(bytes);
            let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(std::str::from_utf8(&digits).unwrap(), expected);
        }
    }

    #[test]
    fn decision_ids_are_uuid_shaped_version_4_and_distinct() {
        let ids = DecisionIds::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let id = ids.next_id().to_string();
            let groups: Vec<&str> = id.split('-').collect();
            assert_eq!(
                groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12],
                "{id}"
            );
            assert!(
                id.chars()
                    .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)),
                "{id}"
            );
            assert!(groups[2].starts_with('4'), "version nibble: {id}");
            assert!("89ab".contains(&groups[3][..1]), "variant bits: {id}");
            assert!(seen.insert(id));
        }
    }
}
