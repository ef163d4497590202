//! Runs the example decisions a catalog carries, as `aipdp check` does.

use crate::catalog::format::{RawExample, RawExpectation};
use crate::catalog::{Catalog, list_ids};
use crate::engine::{decide, resolve_request};

/// An example whose decision differs from what it expects.
#[derive(Debug, thiserror::Error)]
#[error("examples[{index}] `{name}`: {problem}")]
pub struct ExampleFailure {
    pub index: usize,
    pub name: String,
    pub problem: String,
}

/// Runs every example of the catalog, in order.
///
/// # Errors
/// The first example that fails, with what was expected and what came.
pub fn run_examples(catalog: &Catalog) -> Result<usize, ExampleFailure> {
    for (index, example) in catalog.raw.examples.iter().enumerate() {
        check_example(catalog, example).map_err(|problem| ExampleFailure {
            index,
            name: example.name.clone(),
            problem,
        })?;
    }
    Ok(catalog.raw.examples.len())
}

fn check_example(catalog: &Catalog, example: &RawExample) -> Result<(), String> {
    let request = resolve_request(catalog, &example.request).map_err(|errors| {
        let list: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.pointer, e.message))
            .collect();
        format!("invalid request: {}", list.join("; "))
    })?;
    let expect = &example.expect;
    check_expectation(catalog, expect)?;
    let decision = decide(catalog, &request);
    let outcome = decision.outcome.as_str();
    if outcome != expect.outcome {
        return Err(format!(
            "expected outcome `{}`, got `{outcome}`",
            expect.outcome
        ));
    }
    let mode = decision.mode.map(|m| &*catalog.mode(m).id);
    if let Some(want) = &expect.mode
        && mode != Some(want.as_str())
    {
        return Err(format!(
            "expected mode `{want}`, got `{}`",
            mode.unwrap_or("null")
        ));
    }
    if let Some(want) = &expect.eligible_modes {
        let got: Vec<&str> = decision
            .eligible_modes
            .iter()
            .map(|m| &*catalog.modes[m].id)
            .collect();
        if got != want.iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(format!("expected eligible modes {want:?}, got {got:?}"));
        }
    }
    for (feature, want) in &expect.routes {
        let Some(outcome) = decision
            .features
            .iter()
            .find(|f| &*catalog.feature(f.feature).id == feature.as_str())
        else {
            return Err(format!(
                "`routes` names `{feature}`, which the request does not ask for"
            ));
        };
        let got = outcome
            .route()
            .map_or("none", |r| &*catalog.provider(r.provider).id);
        if got != want {
            return Err(format!(
                "expected `{feature}` routed to `{want}`, got `{got}`"
            ));
        }
    }
    Ok(())
}

/// An expectation naming an outcome, mode or provider that does not
/// exist could never be met; it is refused as such, not reported as a
/// decision that differs.
fn check_expectation(catalog: &Catalog, expect: &RawExpectation) -> Result<(), String> {
    const OUTCOMES: [&str; 3] = ["permit", "partial", "deny"];
    if !OUTCOMES.contains(&expect.outcome.as_str()) {
        return Err(format!(
            "expect.outcome: unknown outcome `{}`; valid: {}",
            expect.outcome,
            list_ids(OUTCOMES)
        ));
    }
    let modes = || list_ids(catalog.modes.iter().map(|m| &*m.id));
    let named_modes = expect.mode.iter().map(|m| ("expect.mode", m));
    let listed_modes = expect
        .eligible_modes
        .iter()
        .flatten()
        .map(|m| ("expect.eligible_modes", m));
    for (field, mode) in named_modes.chain(listed_modes) {
        if catalog.mode_id(mode).is_none() {
            return Err(format!(
                "{field}: unknown mode `{mode}`; valid: {}",
                modes()
            ));
        }
    }
    for (feature, provider) in &expect.routes {
        if provider != "none" && catalog.provider_id(provider).is_none() {
            return Err(format!(
                "expect.routes.{feature}: unknown provider `{provider}`; valid: {}, or `none`",
                list_ids(catalog.providers.iter().map(|p| &*p.id))
            ));
        }
    }
    Ok(())
}
