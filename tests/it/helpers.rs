//! Test helpers: start the service on port 0 and talk to it.

use std::net::SocketAddr;

use aipdp::catalog::{BUILTIN_SOURCE, Catalog};
use aipdp::config::Settings;
use aipdp::http::{AppState, Application, LoadedCatalog};
use serde_json::Value;
use tokio::sync::oneshot;

/// A running service on loopback, stopped when dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    _stop: oneshot::Sender<()>,
}

/// Settings for tests: loopback, port 0, defaults otherwise. `env` pairs
/// are applied like `AIPDP_*` variables.
pub fn settings(env: &[(&str, &str)]) -> Settings {
    let mut pairs = vec![("AIPDP_LISTEN".to_owned(), "127.0.0.1:0".to_owned())];
    pairs.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Settings::load(None, pairs).expect("test settings are valid")
}

/// Starts the service on the built-in catalog.
pub async fn spawn_app() -> TestApp {
    spawn_with(settings(&[]), BUILTIN_SOURCE).await
}

/// Starts the service with these settings and catalog text.
pub async fn spawn_with(settings: Settings, catalog_toml: &str) -> TestApp {
    let catalog = Catalog::from_toml(catalog_toml).expect("test catalog is valid");
    let app = Application::build(settings, LoadedCatalog::new(catalog, "test"))
        .await
        .expect("bind loopback");
    let addr = app.local_addr().expect("local address");
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        state,
        _stop: stop,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs JSON and returns the status and the parsed body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string());
        parsed(request).await
    }

    /// GETs a path and returns the status and the parsed body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        parsed(self.client.get(self.url(path))).await
    }

    /// GETs a path and returns its body as text (asserting 200).
    pub async fn get_text(&self, path: &str) -> String {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.expect("body read")
    }

    /// POSTs a decision request and returns the decision (asserting 200).
    pub async fn decide(&self, request: Value) -> Value {
        let (status, body) = self.post("/v1/decisions", &request).await;
        assert_eq!(status, 200, "decision failed: {body}");
        body
    }
}

/// Sends a request; the status and the body, parsed as JSON when it is.
async fn parsed(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body read");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The value of one sample (`name{labels}`) in a metrics text, or 0 when
/// absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// The feature entry of a decision.
pub fn feature<'a>(decision: &'a Value, id: &str) -> &'a Value {
    decision["features"]
        .as_array()
        .and_then(|list| list.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no feature `{id}` in {decision}"))
}

/// The string ids of a JSON array.
pub fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The `code` of every `{code, message}` entry of a JSON array.
pub fn codes(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|a| a.iter().filter_map(|r| r["code"].as_str()).collect())
        .unwrap_or_default()
}

/// The pointer of every error of a problem body, in order.
pub fn pointers(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect()
}

/// The messages of the `{code, message}` entries of a JSON array that
/// have `code`.
pub fn messages<'a>(list: &'a Value, code: &str) -> Vec<&'a str> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["code"] == code)
                .filter_map(|r| r["message"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

/// The `aipdp` binary built for this test run.
pub fn aipdp() -> assert_cmd::Command {
    assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("aipdp"))
}

/// A temporary file holding `text`, removed when dropped.
pub fn file_with(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}
