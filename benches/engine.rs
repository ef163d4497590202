//! In-process costs: `decide()`, the eligibility grid and profile lookup.
//!
//! Run with `cargo bench --bench engine`; docs/BENCHMARKS.md has the figures.

// Benches set up known-good inputs; a failure there is a broken bench.
#![allow(clippy::unwrap_used)]

mod support;

use std::hint::black_box;

use aipdp::catalog::format::{RawDecisionRequest, RawTenant};
use aipdp::catalog::{Catalog, FeatureId};
use aipdp::engine::{decide, eligibility, resolve_request, resolve_tenant};
use aipdp::http::error::parse_json;
use aipdp::wire::{DecisionBody, decision_json};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn decision(c: &mut Criterion) {
    let catalog = Catalog::builtin().unwrap();
    let raw: RawDecisionRequest = serde_json::from_str(support::DECISION_BODY).unwrap();
    let request = resolve_request(&catalog, &raw).unwrap();
    assert_eq!(request.features.len(), 5);

    let mut group = c.benchmark_group("decide");
    // The engine alone: a resolved request in, a decision out.
    group.bench_function("five_features", |b| {
        b.iter(|| decide(&catalog, black_box(&request)))
    });
    // What a request costs in process: ids resolved, decided, the answer
    // written to JSON bytes as the service writes it (everything but the
    // socket and the decision log).
    let id = aipdp::wire::DecisionIds::new().next_id();
    group.bench_function("five_features_resolved_to_json", |b| {
        b.iter(|| {
            let raw: RawDecisionRequest =
                parse_json(black_box(support::DECISION_BODY.as_bytes()), "").unwrap();
            let request = resolve_request(&catalog, &raw).unwrap();
            let decision = decide(&catalog, &request);
            decision_json(&catalog, &decision, &id, false)
        })
    });
    // The same answer through serde_json and the wire structs, which the
    // service used before it wrote answers itself.
    group.bench_function("five_features_resolved_to_json_via_serde", |b| {
        b.iter(|| {
            let raw: RawDecisionRequest =
                parse_json(black_box(support::DECISION_BODY.as_bytes()), "").unwrap();
            let request = resolve_request(&catalog, &raw).unwrap();
            let decision = decide(&catalog, &request);
            let body = DecisionBody::new(&catalog, &decision, String::new(), false);
            serde_json::to_vec(&body).unwrap()
        })
    });
    group.finish();
}

fn region_grid(c: &mut Criterion) {
    let catalog = Catalog::builtin().unwrap();
    let raw = RawTenant {
        region: Some("EU".into()),
        ..RawTenant::default()
    };
    let tenant = resolve_tenant(&catalog, &raw, "").unwrap().tenant;
    let features: Vec<FeatureId> = (0..catalog.features.len())
        .map(|i| FeatureId(i as u16))
        .collect();
    c.bench_function("eligibility/region_grid", |b| {
        b.iter(|| eligibility(&catalog, black_box(&tenant), black_box(&features)))
    });
}

fn profile_lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("profile_lookup");
    for count in [10, support::large_profile_count()] {
        let catalog = Catalog::from_toml(&support::catalog_with_profiles(count)).unwrap();
        // Ids spread over the whole table, so the large one is not served
        // from a single warm cache line.
        let ids: Vec<String> = (0..1024)
            .map(|i| support::profile_id(i * 7919 % count))
            .collect();
        let mut next = 0;
        group.bench_with_input(
            BenchmarkId::new("profiles", count),
            &catalog,
            |b, catalog| {
                b.iter(|| {
                    next = (next + 1) % ids.len();
                    catalog.tenant_profile(black_box(&ids[next])).is_some()
                })
            },
        );
        // One tenant asked for again and again, as during a tenant's burst:
        // the probe itself, without cache misses.
        let same = support::profile_id(count / 2);
        group.bench_with_input(
            BenchmarkId::new("same_id", count),
            &catalog,
            |b, catalog| b.iter(|| catalog.tenant_profile(black_box(&same)).is_some()),
        );
    }
    group.finish();
}

criterion_group!(benches, decision, region_grid, profile_lookup);
criterion_main!(benches);
