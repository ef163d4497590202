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

/// The front door's refusals (shed, deadline, tokens) are declared where
/// they can happen, and only there.
#[test]
fn the_front_doors_refusals_are_declared_where_they_apply() {
    let doc: serde_json::Value = serde_json::from_str(&aipdp::http::openapi_json()).unwrap();
    let statuses = |path: &str, method: &str| -> Vec<String> {
        let responses = doc["paths"][path][method]["responses"].as_object().unwrap();
        responses.keys().cloned().collect()
    };
    let shared = |path: &str, method: &str, status: &str| {
        doc["paths"][path][method]["responses"][status]["$ref"].clone()
    };
    // A guarded, shed endpoint: all four, as shared answers.
    for (status, name) in [
        ("401", "Unauthenticated"),
        ("403", "Forbidden"),
        ("408", "Timeout"),
        ("503", "Overloaded"),
    ] {
        assert_eq!(
            shared("/v1/decisions", "post", status),
            format!("#/components/responses/{name}")
        );
    }
    assert_eq!(
        doc["paths"]["/v1/eligibility"]["get"]["security"],
        serde_json::json!([{}, {"api_token": []}])
    );
    let overloaded = &doc["components"]["responses"]["Overloaded"];
    assert!(overloaded["headers"].get("Retry-After").is_some());
    assert!(
        doc["components"]["responses"]["Unauthenticated"]["headers"]
            .get("WWW-Authenticate")
            .is_some()
    );
    // Probes are neither shed nor guarded; the document itself is not
    // guarded; admin endpoints keep their own token.
    assert_eq!(statuses("/healthz", "get"), ["200"]);
    assert_eq!(statuses("/openapi.json", "get"), ["200", "408", "503"]);
    assert!(
        doc["paths"]["/openapi.json"]["get"]
            .get("security")
            .is_none()
    );
    assert_eq!(
        doc["paths"]["/admin/status"]["get"]["security"],
        serde_json::json!([{"admin_token": []}])
    );
    // The authoriser's 403 is a deny (JSON) or a refused token
    // (problem+json).
    let denied = &doc["paths"]["/v1/authz"]["get"]["responses"]["403"]["content"];
    assert!(denied.get("application/json").is_some());
    assert!(denied.get("application/problem+json").is_some());
    let allowed = &doc["paths"]["/v1/authz"]["get"]["responses"]["200"]["headers"];
    for header in [
        "x-ai-mode",
        "x-ai-provider",
        "x-ai-model",
        "x-ai-region",
        "x-decision-id",
    ] {
        assert!(allowed.get(header).is_some(), "{header} not declared");
    }
}

/// The document states the engine's fixed limit on features, where a
/// request lists them.
#[test]
fn the_feature_limit_in_the_document_is_the_engines() {
    let spec: serde_json::Value = serde_json::from_str(&aipdp::http::openapi_json()).unwrap();
    for schema in ["RawDecisionRequest", "CompareRequest"] {
        let features = &spec["components"]["schemas"][schema]["properties"]["features"];
        assert_eq!(features["minItems"], 1, "{schema}");
        assert_eq!(
            features["maxItems"],
            aipdp::engine::MAX_FEATURES,
            "{schema}"
        );
    }
}
