//! Inputs shared by the benches: the request bodies that scripts/bench-http.sh
//! also sends, and catalogs with many tenant profiles.

#![allow(dead_code)]

use aipdp::catalog::BUILTIN_SOURCE;

/// `POST /v1/decisions` body: a profile tenant and five requested features.
pub const DECISION_BODY: &str = include_str!("../requests/decision.json");

/// `POST /v1/route` body.
pub const ROUTE_BODY: &str = include_str!("../requests/route.json");

/// Id of the `n`th synthetic tenant profile.
pub fn profile_id(n: usize) -> String {
    format!("bench-tenant-{n:06}")
}

/// The shipped catalog plus `count` synthetic tenant profiles, as TOML.
///
/// Profiles cycle through regions, residencies and compliance regimes so the
/// table holds varied entries, as an operator's would.
pub fn catalog_with_profiles(count: usize) -> String {
    const REGIONS: [&str; 7] = ["US", "EU", "SG", "KSA", "AU", "IN", "CA"];
    const RESIDENCY: [&str; 4] = ["none", "preferred", "strict", "trust_boundary"];
    const COMPLIANCE: [&str; 3] = ["gdpr", "ccpa", "hipaa"];
    let mut text = String::with_capacity(BUILTIN_SOURCE.len() + count * 110);
    text.push_str(BUILTIN_SOURCE);
    for n in 0..count {
        text.push_str(&format!(
            "\n[[tenants]]\nid = \"{}\"\nregion = \"{}\"\nresidency = \"{}\"\ncompliance = [\"{}\"]\ntraining_opt_out = {}\n",
            profile_id(n),
            REGIONS[n % REGIONS.len()],
            RESIDENCY[n % RESIDENCY.len()],
            COMPLIANCE[n % COMPLIANCE.len()],
            n % 2 == 0,
        ));
    }
    text
}

/// The large profile count: 100,000 under `cargo bench`, 1,000 when the test
/// runner only checks that the benches work (it runs each once, without
/// `--bench`), so the test suite stays fast.
pub fn large_profile_count() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        100_000
    } else {
        1_000
    }
}
