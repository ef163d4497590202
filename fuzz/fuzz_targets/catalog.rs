//! Catalog text -> TOML parsing -> validation and compilation; a catalog
//! that compiles is then asked one decision per region for all its
//! features, so compiled indexes are exercised too.

#![no_main]

use aipdp::catalog::Catalog;
use aipdp::catalog::format::{RawDecisionRequest, RawTenant};
use aipdp::engine::{MAX_FEATURES, decide, resolve_request};
use aipdp::wire::DecisionBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(catalog) = Catalog::from_toml(text) else {
        return;
    };
    let features: Vec<String> = catalog
        .features
        .iter()
        .take(MAX_FEATURES)
        .map(|f| f.id.to_string())
        .collect();
    if features.is_empty() {
        return;
    }
    for region in &catalog.regions {
        let raw = RawDecisionRequest {
            tenant: RawTenant {
                region: Some(region.id.to_string()),
                ..RawTenant::default()
            },
            features: features.clone(),
            explain: true,
        };
        let request = resolve_request(&catalog, &raw).expect("ids from the catalog resolve");
        let decision = decide(&catalog, &request);
        let body = DecisionBody::new(&catalog, &decision, String::new(), true);
        serde_json::to_vec(&body).expect("a decision serialises");
    }
});
