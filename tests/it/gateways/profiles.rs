//! Tenant profiles at scale, and the catalog's per-region call parameters.

use aipdp::catalog::format::RawTenant;
use aipdp::catalog::{BUILTIN_SOURCE, Catalog, RawCatalog, Residency, compile};
use aipdp::engine::{DecisionRequest, decide, resolve_tenant};
use aipdp::http::{Application, LoadedCatalog};

use crate::helpers::settings;

const PROFILES: usize = 100_000;

/// The shipped catalog with `PROFILES` more tenant profiles, alternating
/// between an EU tenant with strict residency and a US tenant bound to the
/// vendor's trust boundary, loaded (validated and indexed) whole.
fn catalog_with_many_profiles() -> Catalog {
    let mut raw: RawCatalog = toml::from_str(BUILTIN_SOURCE).unwrap();
    raw.tenants.extend((0..PROFILES).map(|i| {
        let (region, residency) = if i % 2 == 0 {
            ("EU", Residency::Strict)
        } else {
            ("US", Residency::TrustBoundary)
        };
        RawTenant {
            id: Some(format!("tenant-{i:06}")),
            region: Some(region.into()),
            residency: Some(residency.into()),
            ..RawTenant::default()
        }
    }));
    compile(raw).unwrap()
}

fn route_of(catalog: &Catalog, id: &str, feature: &str) -> (String, String, String) {
    let raw = RawTenant {
        id: Some(id.to_owned()),
        ..RawTenant::default()
    };
    let tenant = resolve_tenant(catalog, &raw, "/tenant").unwrap();
    assert!(tenant.profile_applied, "{id} is a profile");
    let request = DecisionRequest {
        tenant: tenant.tenant,
        profile_applied: true,
        ignored: Vec::new(),
        features: vec![catalog.feature_id(feature).unwrap()],
        explain: false,
    };
    let decision = decide(catalog, &request);
    let route = decision.features[0].route().expect("a route");
    (
        catalog.mode(decision.mode.unwrap()).id.to_string(),
        catalog.provider(route.provider).id.to_string(),
        route.processing_region.to_string(),
    )
}

#[tokio::test]
async fn a_hundred_thousand_profiles_load_and_resolve_at_both_ends() {
    let catalog = catalog_with_many_profiles();
    assert_eq!(catalog.tenant_profiles().count(), PROFILES + 4);
    // Profiles sit in a hash map keyed by id: a lookup hashes the id once,
    // whatever the number of profiles. First, last and middle decide as
    // their profiles say.
    for (id, expected) in [
        ("tenant-000000", ("zm_plus", "anthropic", "EU")),
        ("tenant-000001", ("zmo", "zoom", "US")),
        ("tenant-050000", ("zm_plus", "anthropic", "EU")),
        ("tenant-099998", ("zm_plus", "anthropic", "EU")),
        ("tenant-099999", ("zmo", "zoom", "US")),
        ("acme-eu", ("zm_plus", "anthropic", "EU")),
    ] {
        let (mode, provider, region) = route_of(&catalog, id, "meeting_summary");
        assert_eq!(
            (mode.as_str(), provider.as_str(), region.as_str()),
            expected,
            "{id}"
        );
    }
    // A near miss is no profile.
    assert!(catalog.tenant_profile("tenant-100000").is_none());
    assert!(catalog.tenant_profile("tenant-00000").is_none());

    // Served, the same catalog answers gateways for both ends.
    let app = Application::build(settings(&[]), LoadedCatalog::new(catalog, "generated"))
        .await
        .unwrap();
    let addr = app.local_addr().unwrap();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    for (id, provider) in [("tenant-000000", "anthropic"), ("tenant-099999", "zoom")] {
        let response = reqwest::Client::new()
            .get(format!("http://{addr}/v1/authz"))
            .header("x-tenant-id", id)
            .header("x-ai-feature", "meeting_summary")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-ai-provider"], provider);
    }
}

#[test]
fn call_parameters_must_name_a_region_of_their_offering() {
    let text = BUILTIN_SOURCE.replace(
        "call.US = { endpoint = \"ai.us.vendor.example\" }",
        "call.SG = { endpoint = \"ai.sg.vendor.example\" }",
    );
    assert_ne!(text, BUILTIN_SOURCE);
    let err = Catalog::from_toml(&text).unwrap_err().to_string();
    assert_eq!(
        err,
        "modes[zm_plus].offerings[0].providers[zoom].call.SG: region `SG` is not a region of this offering; valid: `US`, `EU`"
    );
    let text = BUILTIN_SOURCE.replacen(
        "model_prefix = \"us.anthropic.\"",
        "model_prefix = \" \"",
        1,
    );
    let err = Catalog::from_toml(&text).unwrap_err().to_string();
    assert_eq!(
        err,
        "modes[zm_plus].offerings[0].providers[anthropic].call.US: `endpoint` and `model_prefix` must not be empty"
    );
    let text = BUILTIN_SOURCE.replacen(
        "endpoint = \"ai.eu.vendor.example\"",
        "endpoint = \"ai.eu\\r\\nx-ai-provider: openai\"",
        1,
    );
    let err = Catalog::from_toml(&text).unwrap_err().to_string();
    assert_eq!(
        err,
        "modes[zm_plus].offerings[0].providers[zoom].call.EU: values must not contain control characters"
    );
}

#[test]
fn routes_carry_the_call_parameters_of_their_region() {
    let catalog = Catalog::builtin().unwrap();
    let (_, provider, region) = route_of(&catalog, "acme-eu", "meeting_summary");
    assert_eq!((provider.as_str(), region.as_str()), ("anthropic", "EU"));
    let raw = RawTenant {
        region: Some("US".into()),
        selected_mode: Some("zm_plus".into()),
        ..RawTenant::default()
    };
    let tenant = resolve_tenant(&catalog, &raw, "/tenant").unwrap();
    let request = DecisionRequest {
        tenant: tenant.tenant,
        profile_applied: false,
        ignored: Vec::new(),
        features: vec![catalog.feature_id("meeting_summary").unwrap()],
        explain: false,
    };
    let decision = decide(&catalog, &request);
    let route = decision.features[0].route().unwrap();
    assert_eq!(
        route.endpoint.as_deref(),
        Some("bedrock-runtime.us-east-1.amazonaws.com")
    );
    assert_eq!(
        route.provider_model.as_deref(),
        Some("us.anthropic.claude-sonnet-4-5")
    );
    assert_eq!(
        route
            .params
            .iter()
            .map(|(k, v)| (&**k, &**v))
            .collect::<Vec<_>>(),
        [("aws_region", "us-east-1")]
    );
}
