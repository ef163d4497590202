//! The committed OpenAPI document is the one the code generates.

use crate::helpers::spawn_app;

#[test]
fn committed_openapi_matches_the_code() {
    let generated = aipdp::http::openapi_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date; regenerate it with:\n    cargo run -q -- openapi > openapi/openapi.json"
    );
}

#[tokio::test]
async fn the_service_serves_the_same_document() {
    let app = spawn_app().await;
    let served = app.get_text("/openapi.json").await;
    assert_eq!(served, aipdp::http::openapi_json());
    let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
    for path in [
        "/v1/decisions",
        "/v1/decisions/batch",
        "/v1/route",
        "/v1/eligibility",
        "/v1/catalog",
        "/v1/catalog/regions",
        "/v1/catalog/modes",
        "/v1/catalog/providers",
        "/v1/catalog/features",
        "/healthz",
        "/readyz",
        "/openapi.json",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the spec"
        );
    }
    let decisions = &doc["paths"]["/v1/decisions"]["post"]["responses"];
    for status in ["200", "400", "413", "415"] {
        assert!(decisions.get(status).is_some(), "{status} not documented");
    }
}
