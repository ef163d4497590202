//! The HTTP floor that scripts/bench-http.sh measures aipdp against.
//!
//! The least a JSON decision service can do: axum on the same runtime,
//! parse the request body into the same serde types aipdp parses, and answer
//! with a fixed, already serialised body of the same size as aipdp's answer
//! (the script captures aipdp's answer and hands it over). No catalog, no
//! decision. Built with the release profile like aipdp:
//! `cargo build --release --example floor`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aipdp::catalog::format::{RawDecisionRequest, RawTenant};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use clap::Parser;
use serde::Deserialize;

#[derive(Parser)]
struct Args {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// `PATH=FILE`: answer requests to PATH with the bytes of FILE. Repeat
    /// once per path.
    #[arg(long = "answer", value_parser = parse_answer)]
    answers: Vec<(String, String)>,
}

fn parse_answer(arg: &str) -> Result<(String, String), String> {
    arg.split_once('=')
        .map(|(path, file)| (path.to_owned(), file.to_owned()))
        .ok_or_else(|| format!("expected PATH=FILE, got `{arg}`"))
}

/// The shape of aipdp's route request (that type is private to its HTTP layer).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RouteRequest {
    tenant: RawTenant,
    feature: String,
}

type Answers = Arc<HashMap<String, Bytes>>;

const HEADERS: [(header::HeaderName, &str); 2] = [
    (header::CONTENT_TYPE, "application/json"),
    (header::CACHE_CONTROL, "private, max-age=300"),
];

fn answer(answers: &Answers, path: &str) -> Response {
    match answers.get(path) {
        Some(body) => (HEADERS, body.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn decision(
    State(answers): State<Answers>,
    Json(request): Json<RawDecisionRequest>,
) -> Response {
    std::hint::black_box(request);
    answer(&answers, "/v1/decisions")
}

async fn route(State(answers): State<Answers>, Json(request): Json<RouteRequest>) -> Response {
    std::hint::black_box(request);
    answer(&answers, "/v1/route")
}

/// Paths answered from headers alone (such as external authorisation).
async fn other(State(answers): State<Answers>, uri: Uri) -> Response {
    answer(&answers, uri.path())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut answers = HashMap::new();
    for (path, file) in args.answers {
        answers.insert(path, Bytes::from(std::fs::read(file)?));
    }
    let app = Router::new()
        .route("/v1/decisions", post(decision))
        .route("/v1/route", post(route))
        .route("/readyz", axum::routing::get(|| async { "ready" }))
        .fallback(other)
        .with_state(Arc::new(answers));
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    axum::serve(listener, app).await
}
