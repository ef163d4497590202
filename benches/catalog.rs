//! Catalog load: parse, validate and compile, with 100,000 tenant profiles.
//!
//! Run with `cargo bench --bench catalog`; docs/BENCHMARKS.md has the figures.

// Benches set up known-good inputs; a failure there is a broken bench.
#![allow(clippy::unwrap_used)]

mod support;

use std::hint::black_box;
use std::time::Duration;

use aipdp::catalog::{BUILTIN_SOURCE, Catalog};
use criterion::{Criterion, criterion_group, criterion_main};

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("catalog_load");
    group.bench_function("shipped", |b| {
        b.iter(|| Catalog::from_toml(black_box(BUILTIN_SOURCE)).unwrap())
    });
    let count = support::large_profile_count();
    let large = support::catalog_with_profiles(count);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function(format!("profiles_{count}"), |b| {
        b.iter(|| Catalog::from_toml(black_box(&large)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
