//! aipdp: a policy decision point for AI deployment modes.
//!
//! Modules, and which may depend on which (data flows one way):
//!
//! - [`catalog`]: the catalog file format, validation and the compiled,
//!   immutable [`catalog::Catalog`]. Depends on nothing else here.
//! - [`engine`]: `decide()` and eligibility, pure functions over a catalog.
//!   Depends on `catalog` only; never on HTTP types or JSON values.
//! - [`check`]: runs a catalog's example decisions. Depends on `catalog`, `engine`.
//! - [`diff`]: what changed between two catalogs and whose decisions change.
//!   Depends on `catalog`, `engine`.
//! - [`wire`]: the JSON shapes of answers, shared by the HTTP API and the CLI.
//!   Depends on `catalog`, `engine`.
//! - [`http`]: router, handlers, the problem+json error contract.
//!   Depends on everything above; re-implements no rule.
//! - [`config`]: service settings. [`cli`]: the subcommands.

pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod diff;
pub mod engine;
pub mod http;
pub mod wire;
