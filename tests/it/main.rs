//! The integration suite: one binary, one module per area.
//!
//! `helpers` starts the real service on an ephemeral loopback port; the
//! other modules call it over a real socket or run the `aipdp` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod api;
mod catalog_edits;
mod cli;
mod deadline;
mod gateways;
mod helpers;
mod hostile;
mod openapi;
mod ops;
mod process;
mod properties;
mod reload;
mod scenarios;
