//! The HTTP floor that scripts/bench-http.sh measures aipdp against.
//!
//! The least a JSON decision service can do: axum on the same runtime
//! (tokio's, chosen by the same rule: current-thread on one core),
//! parse the request into the same serde types aipdp parses (for the
//! authoriser, copy out the same request headers), and answer with a fixed
//! status, headers and body, the same bytes as aipdp's answer (the script
//! captures aipdp's answer and hands it over). No catalog, no decision.
//! Built with the release profile like aipdp:
//! `cargo build --release --example floor`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aipdp::catalog::format::{RawDecisionRequest, RawTenant};
use aipdp::http::authz::request;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
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
    /// `PATH=FILE`: answer requests to PATH with the status and headers of
    /// FILE, a response head as `curl --dump-header` writes it (without
    /// one, 200 with a JSON content type).
    #[arg(long = "head", value_parser = parse_answer)]
    heads: Vec<(String, String)>,
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

/// A fixed answer: status, headers and body.
#[derive(Clone)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

type Answers = Arc<HashMap<String, Answer>>;

fn answer(answers: &Answers, path: &str) -> Response {
    match answers.get(path) {
        Some(answer) => {
            let mut response = Response::new(Body::from(answer.body.clone()));
            *response.status_mut() = answer.status;
            *response.headers_mut() = answer.headers.clone();
            response
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The status and headers of a response head, leaving out those hyper
/// writes itself.
fn parse_head(text: &str) -> Result<(StatusCode, HeaderMap), String> {
    let mut lines = text.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse::<StatusCode>().ok())
        .ok_or("the head does not start with an HTTP status line")?;
    let mut headers = HeaderMap::new();
    for line in lines.filter(|line| !line.trim().is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("not a header line: `{line}`"))?;
        let name = HeaderName::try_from(name.trim()).map_err(|e| e.to_string())?;
        if [
            header::CONTENT_LENGTH,
            header::DATE,
            header::TRANSFER_ENCODING,
        ]
        .contains(&name)
        {
            continue;
        }
        let value = HeaderValue::try_from(value.trim()).map_err(|e| e.to_string())?;
        headers.append(name, value);
    }
    Ok((status, headers))
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

/// Paths answered from headers alone (such as external authorisation):
/// the headers aipdp's authoriser reads are copied out as text.
async fn other(State(answers): State<Answers>, uri: Uri, headers: HeaderMap) -> Response {
    let read = request::ALL.map(|name| {
        let value = headers.get(name)?.to_str().ok()?;
        Some(value.trim().to_owned())
    });
    std::hint::black_box(read);
    answer(&answers, uri.path())
}

fn main() -> std::io::Result<()> {
    let (_, mut runtime) = aipdp::cli::runtime_builder();
    runtime.enable_all().build()?.block_on(serve(Args::parse()))
}

async fn serve(args: Args) -> std::io::Result<()> {
    let mut heads = HashMap::new();
    for (path, file) in args.heads {
        let head = parse_head(&std::fs::read_to_string(&file)?)
            .map_err(|e| std::io::Error::other(format!("{file}: {e}")))?;
        heads.insert(path, head);
    }
    let mut answers = HashMap::new();
    for (path, file) in args.answers {
        let (status, headers) = heads.remove(&path).unwrap_or_else(|| {
            let json = HeaderValue::from_static("application/json");
            (
                StatusCode::OK,
                HeaderMap::from_iter([(header::CONTENT_TYPE, json)]),
            )
        });
        let body = Bytes::from(std::fs::read(file)?);
        answers.insert(
            path,
            Answer {
                status,
                headers,
                body,
            },
        );
    }
    if let Some(path) = heads.keys().next() {
        return Err(std::io::Error::other(format!(
            "--head {path} has no --answer"
        )));
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
