//! The catalog is data: rolling a mode out to a region or adding a feature
//! is an edit of the file, and a broken edit is refused with its entry named.

use aipdp::catalog::{BUILTIN_SOURCE, Catalog};
use aipdp::engine::{decide, resolve_request};
use serde_json::json;

use crate::helpers::{feature, ids, settings, spawn_with};

/// The shipped catalog with one exact piece of text replaced.
pub fn edited(old: &str, new: &str) -> String {
    assert!(
        BUILTIN_SOURCE.contains(old),
        "the shipped catalog no longer contains {old:?}"
    );
    BUILTIN_SOURCE.replacen(old, new, 1)
}

pub const ZM_PLUS_REGIONS: &str =
    "regions = [\"US\", \"EU\"] # [source] being rolled out to more regions";

#[tokio::test]
async fn rolling_zm_plus_out_to_sg_is_a_catalog_edit() {
    let text = edited(ZM_PLUS_REGIONS, "regions = [\"US\", \"EU\", \"SG\"]");
    let app = spawn_with(settings(&[]), &text).await;
    let d = app
        .decide(json!({"tenant": {"region": "SG", "selected_mode": "zm_plus"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(ids(&d["eligible_modes"]), ["zmo", "zm_plus"]);
    assert_eq!(d["mode"], "zm_plus");
    let route = &feature(&d, "meeting_summary")["route"];
    assert_eq!(route["provider"], "anthropic");
    assert_eq!(route["processing_region"], "SG");
    // The default stays zmo until the region's default is edited too.
    let default = app
        .decide(json!({"tenant": {"region": "SG"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(default["mode"], "zmo");
}

#[test]
fn adding_a_feature_is_a_catalog_edit() {
    let text = format!(
        "{BUILTIN_SOURCE}\n[[features]]\nid = \"clip_highlights\"\nname = \"Clip highlights\"\nroutes.zmo = [{{ provider = \"zoom\", model = \"zoom-clips-1\" }}]\n"
    );
    let catalog = Catalog::from_toml(&text).unwrap();
    let raw = serde_json::from_value(
        json!({"tenant": {"region": "AU"}, "features": ["clip_highlights"]}),
    )
    .unwrap();
    let request = resolve_request(&catalog, &raw).unwrap();
    let decision = decide(&catalog, &request);
    let route = decision.features[0].route().unwrap();
    assert_eq!(&*route.model, "zoom-clips-1");
    assert_eq!(&*route.processing_region, "AU");
}

/// Each broken edit and the words its refusal must contain.
#[test]
fn broken_catalogs_are_refused_naming_the_entry() {
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            edited(
                "default_mode = \"zm_plus\"   # EU accounts",
                "default_mode = \"turbo\" #",
            ),
            vec!["regions[EU]", "unknown mode `turbo`"],
        ),
        (
            edited(
                "default_mode = \"zmo\"       # outside the US and EU: zmo only [source]",
                "default_mode = \"federated\"",
            ),
            vec!["regions[SG]", "not offered"],
        ),
        (
            edited(
                "{ provider = \"perplexity\", model = \"sonar-pro\" }",
                "{ provider = \"perplexity2\", model = \"sonar-pro\" }",
            ),
            vec!["features[web_search_answers]", "perplexity2"],
        ),
        (
            edited(
                "routes.zmo = [{ provider = \"zoom\", model = \"zoom-voice-1\" }]",
                "routes.zmo = [{ provider = \"openai\", model = \"gpt\" }]",
            ),
            vec![
                "features[contact_center_virtual_agent].routes.zmo",
                "`openai` is not offered by mode `zmo`",
            ],
        ),
        (
            edited("exposure = 2", "exposure = 1"),
            vec!["exposure", "total"],
        ),
        (
            edited("id = \"legal\"", "id = \"healthcare\""),
            vec!["duplicate sector id `healthcare`"],
        ),
        // Obligation codes are spelled like ids and unique across regimes.
        (
            edited(
                "code = \"training_consent_warning\"",
                "code = \"Training Consent\"",
            ),
            vec![
                "obligations[0]",
                "code `Training Consent` must be lower-case snake_case",
            ],
        ),
        (
            edited(
                "code = \"high_exposure_sector\"",
                "code = \"training_consent_warning\"",
            ),
            vec![
                "obligations[training_consent_warning]",
                "duplicate obligation code `training_consent_warning`, already used in `obligations`",
            ],
        ),
        (
            edited(
                "{ code = \"ccpa_training_rights\"",
                "{ code = \"gdpr_legal_basis\"",
            ),
            vec![
                "compliance[ccpa].obligations[gdpr_legal_basis]",
                "already used in `compliance[gdpr].obligations`",
            ],
        ),
        // A preference whose provider serves the feature nowhere.
        (
            edited(
                "routes.federated = [{ provider = \"perplexity\", model = \"sonar-pro\" }]",
                "routes.federated = [{ provider = \"elevenlabs\", model = \"sonar-pro\" }]",
            ),
            vec![
                "features[web_search_answers].routes.federated",
                "provider `elevenlabs` serves this feature in no offering of mode `federated`",
            ],
        ),
        // The version travels in entity tags and metric labels.
        (
            edited("\nversion = \"", "\nversion = \"\\\"Q4\\\" "),
            vec!["version", "visible ASCII characters without spaces, quotes"],
        ),
        (
            edited("\nversion = \"", "\nversion = \"\\u0000"),
            vec!["version", "visible ASCII"],
        ),
        // Ids are lower-case snake_case in JSON, region codes upper-case.
        (
            edited("id = \"gdpr\"", "id = \"GDPR\""),
            vec!["compliance[0]", "id `GDPR` must be lower-case snake_case"],
        ),
        (
            edited("id = \"meeting_summary\"", "id = \"meeting-summary\""),
            vec!["features[0]", "id `meeting-summary` must be lower-case"],
        ),
        (
            edited("id = \"EU\"", "id = \"eu\""),
            vec!["regions[1]", "id `eu` must be upper-case"],
        ),
        (
            edited(
                "regions = [\"US\", \"EU\"] # [source] being",
                "regions = [\"US\", \"EU\", \"MARS\"] #",
            ),
            vec!["modes[zm_plus].offerings[0]", "unknown region `MARS`"],
        ),
        (
            edited(
                "compliance = [\"gdpr\", \"eu_ai_act\"]",
                "compliance = [\"gdpr\", \"sox\"]",
            ),
            vec!["tenants[acme-eu]", "sox"],
        ),
        (
            edited("residency = \"strict\"", "residency = \"lax\""),
            vec![
                "tenants[acme-eu]",
                "residency",
                "unknown residency `lax`",
                "trust_boundary",
            ],
        ),
        (
            edited("ttl_seconds = 300", "ttl_seconds = \"soon\""),
            vec!["ttl_seconds", "line"],
        ),
        (
            edited(
                "routes.zm_plus = [\n  { provider = \"anthropic\", model = \"claude-sonnet-4-5\" },\n  { provider = \"zoom\", model = \"zoom-chat-2\" },\n]\nroutes.federated = [\n  { provider = \"anthropic\", model = \"claude-sonnet-4-5\" },\n  { provider = \"openai\", model = \"gpt-5\" },\n  { provider = \"zoom\", model = \"zoom-chat-2\" },\n]",
                "routes.zmo = [{ provider = \"zoom\", model = \"zoom-chat-2\" }]",
            ),
            vec!["features[custom_ai_companion].routes.zmo", "add-on"],
        ),
    ];
    for (text, words) in cases {
        let error = Catalog::from_toml(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        for word in &words {
            assert!(error.contains(word), "expected {word:?} in {error:?}");
        }
    }
}

#[test]
fn the_shipped_catalog_states_the_source_facts() {
    let catalog = Catalog::builtin().unwrap();
    let modes: Vec<&str> = catalog.modes.iter().map(|m| &*m.id).collect();
    assert_eq!(modes, ["zmo", "zm_plus", "federated"]);
    let providers: Vec<&str> = catalog.providers.iter().map(|p| &*p.id).collect();
    assert_eq!(
        providers,
        ["zoom", "anthropic", "openai", "perplexity", "elevenlabs"]
    );
    let default = |r: &str| {
        &*catalog
            .mode(catalog.region(catalog.region_id(r).unwrap()).default_mode)
            .id
    };
    assert_eq!(default("EU"), "zm_plus");
    for r in ["SG", "KSA", "AU", "IN", "CA"] {
        assert_eq!(default(r), "zmo");
    }
    for c in ["gdpr", "ccpa", "hipaa", "bipa", "eu_ai_act"] {
        assert!(catalog.compliance_id(c).is_some(), "{c}");
    }
    for s in ["healthcare", "legal", "financial_services"] {
        assert!(
            catalog.sectors[catalog.sector_id(s).unwrap().index()].high_exposure,
            "{s}"
        );
    }
}
