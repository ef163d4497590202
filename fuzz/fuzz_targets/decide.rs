//! Request bytes -> the service's JSON parser -> resolve_request -> decide
//! -> the wire answer, on the shipped catalog. Any panic, overflow or hang
//! is a finding; so is a decision that routes to a provider the request
//! denied.

#![no_main]

use std::sync::LazyLock;

use aipdp::catalog::Catalog;
use aipdp::catalog::format::RawDecisionRequest;
use aipdp::engine::{decide, resolve_request};
use aipdp::http::error::parse_json;
use aipdp::wire::DecisionBody;
use libfuzzer_sys::fuzz_target;

static CATALOG: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::builtin().expect("the shipped catalog compiles"));

fuzz_target!(|data: &[u8]| {
    let catalog = &*CATALOG;
    let raw: RawDecisionRequest = match parse_json(data, "") {
        Ok(raw) => raw,
        Err(problem) => {
            // Bad input must render as a client problem.
            assert!(problem.status.is_client_error());
            serde_json::to_vec(&problem.body()).expect("a problem serialises");
            return;
        }
    };
    let request = match resolve_request(catalog, &raw) {
        Ok(request) => request,
        Err(errors) => {
            assert!(!errors.is_empty());
            return;
        }
    };
    let decision = decide(catalog, &request);
    let body = DecisionBody::new(catalog, &decision, String::new(), request.explain);
    let json = serde_json::to_value(&body).expect("a decision serialises");

    let denied = raw.tenant.denied_providers.unwrap_or_default();
    for feature in json["features"].as_array().expect("features") {
        let routes = feature.get("route").into_iter().chain(
            feature
                .get("fallbacks")
                .and_then(|f| f.as_array())
                .into_iter()
                .flatten(),
        );
        for route in routes {
            let provider = route["provider"].as_str().expect("a provider id");
            assert!(
                !denied.iter().any(|d| d == provider),
                "routed to denied `{provider}`"
            );
        }
    }
});
