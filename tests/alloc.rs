//! Heap allocations of the hot paths, counted by a counting global allocator.
//!
//! A test binary of its own so the allocator applies to nothing else. The
//! limits are exact: a change that adds an allocation fails here and must
//! say why in this file.

use std::alloc::System;
use std::sync::Mutex;

use aipdp::catalog::Catalog;
use aipdp::catalog::format::{RawDecisionRequest, RawTenant};
use aipdp::engine::{decide, eligibility, resolve_request, resolve_tenant};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The counter is process-wide: tests that count take turns.
static COUNTING: Mutex<()> = Mutex::new(());

/// Allocations made by `f`, on its second run (the first may warm lazies).
fn allocations<T>(mut f: impl FnMut() -> T) -> usize {
    drop(f());
    let region = Region::new(GLOBAL);
    let out = f();
    let stats = region.change();
    drop(out);
    stats.allocations + stats.reallocations
}

const DECISION_BODY: &str = include_str!("../benches/requests/decision.json");

#[test]
fn decide_for_five_features_allocates_only_the_answer() {
    let _turn = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let catalog = Catalog::builtin().unwrap();
    let raw: RawDecisionRequest = serde_json::from_str(DECISION_BODY).unwrap();
    let request = resolve_request(&catalog, &raw).unwrap();
    assert_eq!(request.features.len(), 5);
    // The answer's three lists: feature outcomes, obligations, reasons.
    assert_eq!(allocations(|| decide(&catalog, &request)), 3);
}

#[test]
fn eligibility_allocates_the_grid_and_nothing_else() {
    let _turn = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let catalog = Catalog::builtin().unwrap();
    let raw = RawTenant {
        region: Some("EU".into()),
        ..RawTenant::default()
    };
    let tenant = resolve_tenant(&catalog, &raw, "").unwrap().tenant;
    let features: Vec<_> = (0..catalog.features.len())
        .map(|i| aipdp::catalog::FeatureId(i as u16))
        .collect();
    // One list of modes, and one list of feature outcomes per mode.
    assert_eq!(
        allocations(|| eligibility(&catalog, &tenant, &features)),
        1 + catalog.modes.len()
    );
}

#[test]
fn a_profile_lookup_does_not_allocate() {
    let _turn = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let catalog = Catalog::builtin().unwrap();
    assert_eq!(
        allocations(|| catalog.tenant_profile("acme-eu").is_some()),
        0
    );
}

#[test]
fn resolving_a_profile_tenant_allocates_nothing_but_the_ignored_list() {
    let _turn = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let catalog = Catalog::builtin().unwrap();
    let raw = RawTenant {
        id: Some("acme-eu".into()),
        ..RawTenant::default()
    };
    assert_eq!(allocations(|| resolve_tenant(&catalog, &raw, "/tenant")), 0);
}

#[test]
fn a_whole_answer_from_request_bytes_to_json_allocates_a_known_number() {
    let _turn = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let catalog = Catalog::builtin().unwrap();
    let id = aipdp::wire::DecisionIds::new().next_id();
    let answer = || {
        let raw: RawDecisionRequest =
            aipdp::http::error::parse_json(DECISION_BODY.as_bytes(), "").unwrap();
        let request = resolve_request(&catalog, &raw).unwrap();
        let decision = decide(&catalog, &request);
        aipdp::wire::decision_json(&catalog, &decision, &id, false)
    };
    // The request's owned strings and lists, the resolved request, the
    // decision's lists and the output buffer: the answer is
    // written straight from the decision, with reason messages and the
    // catalog's parts of it written without allocating. This is where the
    // HTTP path's allocations are (docs/BENCHMARKS.md).
    assert_eq!(allocations(answer), 16);
}
