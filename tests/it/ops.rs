//! Running it in production: tokens, limits, metrics, status, readiness,
//! request ids, CORS, header-read timeout and graceful shutdown, each over
//! a real socket.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use aipdp::catalog::{BUILTIN_SOURCE, Catalog};
use aipdp::config::Settings;
use aipdp::http::{Application, LoadedCatalog};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::catalog_edits::edited;
use crate::helpers::{TestApp, metric, settings, spawn_app, spawn_with};

const API_TOKEN: &str = "api-token-0123456789abcdef";
const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";

fn eu_request() -> Value {
    json!({"tenant": {"id": "acme-eu", "region": "EU"}, "features": ["meeting_summary"]})
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    request.send().await.unwrap()
}

async fn with_tokens() -> TestApp {
    spawn_with(
        settings(&[
            ("AIPDP_AUTH__API_TOKENS", API_TOKEN),
            ("AIPDP_AUTH__ADMIN_TOKENS", ADMIN_TOKEN),
        ]),
        BUILTIN_SOURCE,
    )
    .await
}

#[tokio::test]
async fn api_tokens_refuse_missing_with_401_and_wrong_with_403() {
    let app = with_tokens().await;
    let post = reqwest::Method::POST;
    let body = eu_request();

    let missing = send(&app, post.clone(), "/v1/decisions", None, Some(&body)).await;
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"aipdp\""
    );
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = missing.json().await.unwrap();
    assert_eq!(problem["type"], "urn:aipdp:problem:unauthenticated");
    assert_eq!(problem["status"], 401);
    // The problem names the header at fault.
    assert_eq!(
        problem["errors"],
        json!([{"pointer": "/headers/authorization", "message": "send a bearer token: `Authorization: Bearer <token>`"}])
    );

    // An unknown token and the admin token on an API path get the same
    // answer: nothing says which list a token missed.
    let unknown = send(
        &app,
        post.clone(),
        "/v1/decisions",
        Some("not-a-configured-token-000"),
        Some(&body),
    )
    .await;
    assert_eq!(unknown.status(), 403);
    let unknown: Value = unknown.json().await.unwrap();
    let admin_on_api = send(
        &app,
        post.clone(),
        "/v1/decisions",
        Some(ADMIN_TOKEN),
        Some(&body),
    )
    .await;
    assert_eq!(admin_on_api.status(), 403);
    let admin_on_api: Value = admin_on_api.json().await.unwrap();
    assert_eq!(unknown, admin_on_api);
    assert_eq!(unknown["type"], "urn:aipdp:problem:forbidden");
    assert_eq!(unknown["errors"][0]["pointer"], "/headers/authorization");
    assert!(!unknown.to_string().contains("not-a-configured-token"));

    // A token in a non-bearer scheme is a missing token.
    let basic = app
        .client
        .get(app.url("/v1/catalog"))
        .header("authorization", format!("Basic {API_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);

    // Two credentials are refused whichever comes first, not one picked.
    for pair in [
        [API_TOKEN, "wrong-token-0000"],
        ["wrong-token-0000", API_TOKEN],
    ] {
        let mut request = app.client.get(app.url("/v1/catalog"));
        for token in pair {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let twice = request.send().await.unwrap();
        assert_eq!(twice.status(), 401);
        let problem: Value = twice.json().await.unwrap();
        assert_eq!(
            problem["detail"],
            "send one `Authorization` header, not several"
        );
    }

    let ok = send(&app, post, "/v1/decisions", Some(API_TOKEN), Some(&body)).await;
    assert_eq!(ok.status(), 200);
    let ok = send(
        &app,
        reqwest::Method::GET,
        "/v1/eligibility?region=EU",
        Some(API_TOKEN),
        None,
    )
    .await;
    assert_eq!(ok.status(), 200);
    let refused = send(
        &app,
        reqwest::Method::GET,
        "/v1/eligibility?region=EU",
        None,
        None,
    )
    .await;
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn probes_metrics_the_spec_and_the_static_pages_stay_open_with_tokens_configured() {
    let app = with_tokens().await;
    let pages = [
        "/ui",
        "/ui/",
        "/ui/app.js",
        "/ui/style.css",
        "/ui/api",
        "/ui/api.js",
    ];
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"]
        .into_iter()
        .chain(pages)
    {
        let response = send(&app, reqwest::Method::GET, path, None, None).await;
        assert_eq!(response.status(), 200, "{path}");
    }
    // Only those exact paths: the API the pages call stays guarded.
    for path in ["/v1/catalog", "/ui/../v1/catalog", "/ui/other"] {
        let response = send(&app, reqwest::Method::GET, path, None, None).await;
        assert_ne!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn admin_needs_the_admin_token() {
    let app = with_tokens().await;
    let get = reqwest::Method::GET;
    let none = send(&app, get.clone(), "/admin/status", None, None).await;
    assert_eq!(none.status(), 401);
    let api = send(&app, get.clone(), "/admin/status", Some(API_TOKEN), None).await;
    assert_eq!(api.status(), 403);
    let admin = send(&app, get, "/admin/status", Some(ADMIN_TOKEN), None).await;
    assert_eq!(admin.status(), 200);
}

#[tokio::test]
async fn admin_does_not_exist_without_an_admin_token() {
    let app = spawn_with(
        settings(&[("AIPDP_AUTH__API_TOKENS", API_TOKEN)]),
        BUILTIN_SOURCE,
    )
    .await;
    for (method, path) in [
        (reqwest::Method::GET, "/admin/status"),
        (reqwest::Method::POST, "/admin/reload"),
    ] {
        for token in [None, Some(API_TOKEN), Some(ADMIN_TOKEN)] {
            let response = send(&app, method.clone(), path, token, None).await;
            assert_eq!(response.status(), 404, "{method} {path} {token:?}");
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["type"], "urn:aipdp:problem:not-found");
        }
    }
    // And the API itself is open when no API token is configured.
    let open = spawn_app().await;
    let response = send(
        &open,
        reqwest::Method::POST,
        "/v1/decisions",
        None,
        Some(&eu_request()),
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn tokens_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(
        &file,
        format!("# API tokens\n\n{API_TOKEN}\nsecond-token-0123456789abcdef\n"),
    )
    .unwrap();
    let app = spawn_with(
        settings(&[("AIPDP_AUTH__API_TOKENS_FILE", file.to_str().unwrap())]),
        BUILTIN_SOURCE,
    )
    .await;
    for (token, status) in [
        (Some("second-token-0123456789abcdef"), 200),
        (Some(API_TOKEN), 200),
        (Some("# API tokens"), 403),
        (None, 401),
    ] {
        let response = send(
            &app,
            reqwest::Method::POST,
            "/v1/decisions",
            token,
            Some(&eu_request()),
        )
        .await;
        assert_eq!(response.status(), status, "{token:?}");
    }
}

#[test]
fn unusable_token_settings_name_the_key_and_never_the_token() {
    let env = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    let short = Settings::load(None, env(&[("AIPDP_AUTH__API_TOKENS", "short-secret")]))
        .err()
        .unwrap()
        .to_string();
    assert!(short.contains("auth.api_tokens"), "{short}");
    assert!(!short.contains("short-secret"), "{short}");
    let missing = Settings::load(
        None,
        env(&[("AIPDP_AUTH__ADMIN_TOKENS_FILE", "/nonexistent/tokens")]),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(missing.contains("auth.admin_tokens_file"), "{missing}");
    let loaded = Settings::load(None, env(&[("AIPDP_AUTH__API_TOKENS", API_TOKEN)])).unwrap();
    assert!(!format!("{loaded:?}").contains(API_TOKEN));
}

#[tokio::test]
async fn request_ids_are_honoured_or_made_and_always_returned() {
    let app = spawn_app().await;
    let given = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-me-42");
    let made = app.client.get(app.url("/healthz")).send().await.unwrap();
    let made = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 36, "{made}");
    let again = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(again.status(), 404);
    assert_ne!(again.headers()["x-request-id"].to_str().unwrap(), made);
    // The longest kept id, then ids that are replaced: empty, too long,
    // or with bytes a log line could not show.
    let longest = "x".repeat(128);
    let kept = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", &longest)
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], longest.as_str());
    for bad in [
        reqwest::header::HeaderValue::from_static(""),
        reqwest::header::HeaderValue::from_str(&"x".repeat(129)).unwrap(),
        reqwest::header::HeaderValue::from_static("has space"),
        reqwest::header::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
    ] {
        let replaced = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", bad.clone())
            .send()
            .await
            .unwrap();
        let id = replaced.headers()["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 36, "{bad:?} -> {id}");
    }
}

/// The value of one sample of the service's metrics, or 0 when absent.
async fn sample(app: &TestApp, series: &str) -> f64 {
    metric(&app.get_text("/metrics").await, series)
}

#[tokio::test]
async fn metrics_are_named_and_move() {
    let app = spawn_app().await;
    let permits =
        "aipdp_decisions_total{endpoint=\"decisions\",mode=\"zm_plus\",outcome=\"permit\"}";
    let denies = "aipdp_decisions_total{endpoint=\"route\",mode=\"none\",outcome=\"deny\"}";
    assert_eq!(sample(&app, permits).await, 0.0);
    app.decide(json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}))
        .await;
    app.decide(json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(sample(&app, permits).await, 2.0);
    // A selected mode that is not offered in the region: deny, no mode.
    let (status, body) = app
        .post(
            "/v1/route",
            &json!({"tenant": {"region": "SG", "selected_mode": "federated"}, "feature": "meeting_summary"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["allow"], &body["mode"]),
        (&json!(false), &Value::Null),
        "{body}"
    );
    assert_eq!(sample(&app, denies).await, 1.0);

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    for name in [
        "# TYPE aipdp_decisions_total counter",
        "# TYPE aipdp_http_request_duration_seconds histogram",
        "# TYPE aipdp_http_requests_in_flight gauge",
        "# TYPE aipdp_http_requests_shed_total counter",
        "# TYPE aipdp_catalog_info gauge",
        "# TYPE aipdp_catalog_loaded_timestamp_seconds gauge",
        "# TYPE aipdp_catalog_reloads_total counter",
        "# TYPE aipdp_catalog_reload_failing gauge",
    ] {
        assert!(text.contains(name), "missing `{name}` in\n{text}");
    }
    let digest = app.state.catalog().catalog.digest.to_string();
    let info = format!("aipdp_catalog_info{{digest=\"{digest}\",version=\"2026-11-24.3\"}}");
    assert_eq!(sample(&app, &info).await, 1.0);
    assert_eq!(
        sample(&app, "aipdp_catalog_reloads_total{result=\"failure\"}").await,
        0.0
    );

    let latency = "aipdp_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/decisions\",status=\"200\"}";
    assert_eq!(sample(&app, latency).await, 2.0);
    // Routes are labelled by template, never by raw path; other paths are
    // one `unmatched` series.
    for path in [
        "/v1/authz/v1/chat/completions",
        "/v1/authz/other",
        "/nope/1",
        "/nope/2",
    ] {
        app.client.get(app.url(path)).send().await.unwrap();
    }
    let authz = "aipdp_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/authz/{*rest}\",status=\"400\"}";
    assert_eq!(sample(&app, authz).await, 2.0);
    let unmatched = "aipdp_http_request_duration_seconds_count{method=\"GET\",route=\"unmatched\",status=\"404\"}";
    assert_eq!(sample(&app, unmatched).await, 2.0);
    // The authoriser's usual answers: allowed (200) and denied (403).
    for (region, feature) in [
        ("EU", "meeting_summary"),
        ("EU", "meeting_summary"),
        ("SG", "custom_ai_companion"),
    ] {
        app.client
            .post(app.url("/v1/authz/v1/chat/completions"))
            .header("x-tenant-region", region)
            .header("x-ai-feature", feature)
            .send()
            .await
            .unwrap();
    }
    let allowed = "aipdp_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/authz/{*rest}\",status=\"200\"}";
    assert_eq!(sample(&app, allowed).await, 2.0);
    let denied = "aipdp_http_request_duration_seconds_count{method=\"POST\",route=\"/v1/authz/{*rest}\",status=\"403\"}";
    assert_eq!(sample(&app, denied).await, 1.0);
    let authz_denies = "aipdp_decisions_total{endpoint=\"authz\",mode=\"zmo\",outcome=\"deny\"}";
    assert_eq!(sample(&app, authz_denies).await, 1.0);
    // Extension methods are labelled `other`: a client cannot add series
    // by making methods up.
    for (method, path) in [
        ("PROPFIND", "/v1/authz/x"),
        ("PURGE", "/v1/authz/x"),
        ("MADEUP1", "/nope"),
        ("MADEUP2", "/nope"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.client
            .request(method, app.url(path))
            .header("x-tenant-region", "EU")
            .header("x-ai-feature", "meeting_summary")
            .send()
            .await
            .unwrap();
    }
    let other = "aipdp_http_request_duration_seconds_count{method=\"other\",route=\"/v1/authz/{*rest}\",status=\"405\"}";
    assert_eq!(sample(&app, other).await, 2.0);
    let other = "aipdp_http_request_duration_seconds_count{method=\"other\",route=\"unmatched\",status=\"404\"}";
    assert_eq!(sample(&app, other).await, 2.0);
    let text = app.get_text("/metrics").await;
    assert!(
        !text.contains("PROPFIND") && !text.contains("MADEUP"),
        "{text}"
    );
    // The scrape being served is not counted as in flight.
    assert_eq!(sample(&app, "aipdp_http_requests_in_flight").await, 0.0);
}

#[tokio::test]
async fn decisions_are_counted_under_the_mode_ids_of_the_catalog_in_force() {
    let app = spawn_app().await;
    let request = json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]});
    app.decide(request.clone()).await;
    let renamed = Catalog::from_toml(&BUILTIN_SOURCE.replace("zm_plus", "zm_bedrock")).unwrap();
    app.state
        .swap_catalog(LoadedCatalog::new(renamed, "renamed"));
    assert_eq!(app.decide(request.clone()).await["mode"], "zm_bedrock");
    app.decide(request).await;
    let permits = |mode: &str| {
        format!(
            "aipdp_decisions_total{{endpoint=\"decisions\",mode=\"{mode}\",outcome=\"permit\"}}"
        )
    };
    assert_eq!(sample(&app, &permits("zm_plus")).await, 1.0);
    assert_eq!(sample(&app, &permits("zm_bedrock")).await, 2.0);
}

#[tokio::test]
async fn batch_decisions_are_counted_one_by_one() {
    let app = spawn_app().await;
    let item = json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]});
    let (status, _) = app
        .post(
            "/v1/decisions/batch",
            &json!({"requests": [item, item, {"tenant": {"region": "MARS"}, "features": []}]}),
        )
        .await;
    assert_eq!(status, 200);
    let permits = "aipdp_decisions_total{endpoint=\"batch\",mode=\"zm_plus\",outcome=\"permit\"}";
    assert_eq!(sample(&app, permits).await, 2.0);
}

#[tokio::test]
async fn status_shows_the_catalog_in_force_and_reload_needs_a_file() {
    let app = spawn_with(
        settings(&[("AIPDP_AUTH__ADMIN_TOKENS", ADMIN_TOKEN)]),
        BUILTIN_SOURCE,
    )
    .await;
    let status: Value = send(
        &app,
        reqwest::Method::GET,
        "/admin/status",
        Some(ADMIN_TOKEN),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let loaded = app.state.catalog();
    assert_eq!(status["catalog"]["version"], "2026-11-24.3");
    assert_eq!(status["catalog"]["source"], "test");
    // The catalog's timeline, for a portal to draw.
    let changelog = status["catalog"]["changelog"].as_array().unwrap();
    assert_eq!(changelog.len(), 5);
    assert_eq!(changelog[1]["version"], "2026-11-01.1");
    assert_eq!(changelog[1]["date"], "2026-11-01");
    assert_eq!(changelog[4]["version"], "2026-11-24.3");
    assert_eq!(status["catalog"]["digest"], &*loaded.catalog.digest);
    assert_eq!(
        status["catalog"]["changelog"].as_array().unwrap().len(),
        loaded.catalog.raw.changelog.len()
    );
    assert!(
        status["catalog"]["loaded_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(status["last_reload"], Value::Null);
    assert_eq!(status["ready"], true);

    let reload = send(
        &app,
        reqwest::Method::POST,
        "/admin/reload",
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(reload.status(), 409);
    let problem: Value = reload.json().await.unwrap();
    assert_eq!(problem["type"], "urn:aipdp:problem:no-catalog-file");
}

#[tokio::test]
async fn a_failed_reload_keeps_the_last_good_catalog_and_can_make_it_unready() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.toml");
    std::fs::write(&path, BUILTIN_SOURCE).unwrap();
    let app = spawn_with(
        settings(&[
            ("AIPDP_CATALOG", path.to_str().unwrap()),
            ("AIPDP_RELOAD__WATCH_INTERVAL_MS", "0"),
            ("AIPDP_RELOAD__UNREADY_ON_FAILED_RELOAD", "true"),
            ("AIPDP_AUTH__ADMIN_TOKENS", ADMIN_TOKEN),
        ]),
        BUILTIN_SOURCE,
    )
    .await;
    let reload = || {
        send(
            &app,
            reqwest::Method::POST,
            "/admin/reload",
            Some(ADMIN_TOKEN),
            None,
        )
    };

    std::fs::write(
        &path,
        edited(
            "default_mode = \"zm_plus\"   # EU accounts",
            "default_mode = \"turbo\" #",
        ),
    )
    .unwrap();
    let refused = reload().await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("regions[EU]") && detail.contains("unknown mode `turbo`"),
        "{detail}"
    );
    assert!(
        detail.ends_with("catalog 2026-11-24.3 keeps serving"),
        "{detail}"
    );

    let (ready, body) = app.get("/readyz").await;
    assert_eq!((ready, &body["status"]), (503, &json!("reload_failed")));
    let d = app.decide(eu_request()).await;
    assert_eq!(d["catalog_version"], "2026-11-24.3");
    let status: Value = send(
        &app,
        reqwest::Method::GET,
        "/admin/status",
        Some(ADMIN_TOKEN),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(status["last_reload"]["result"], "failed");
    assert_eq!(status["last_reload"]["trigger"], "admin");
    assert!(
        status["last_reload"]["error"]
            .as_str()
            .unwrap()
            .contains("unknown mode `turbo`")
    );
    assert_eq!(status["ready"], false);
    assert_eq!(
        sample(&app, "aipdp_catalog_reloads_total{result=\"failure\"}").await,
        1.0
    );
    assert_eq!(sample(&app, "aipdp_catalog_reload_failing").await, 1.0);

    // A valid edit under the same version is refused too: decisions are
    // deterministic for a catalog version.
    std::fs::write(&path, edited("ttl_seconds = 300", "ttl_seconds = 60")).unwrap();
    let refused = reload().await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(
            "the catalog changed but its version `2026-11-24.3` did not; give the edited catalog a new `version`"
        ),
        "{detail}"
    );
    assert_eq!(app.decide(eu_request()).await["ttl_seconds"], 300);
    assert_eq!(
        sample(&app, "aipdp_catalog_reloads_total{result=\"failure\"}").await,
        2.0
    );

    std::fs::write(
        &path,
        edited("version = \"2026-11-24.3\"", "version = \"2026-12-01.1\""),
    )
    .unwrap();
    let accepted = reload().await;
    assert_eq!(accepted.status(), 200);
    let body: Value = accepted.json().await.unwrap();
    assert_eq!(
        body,
        json!({"result": "reloaded", "previous_version": "2026-11-24.3", "catalog_version": "2026-12-01.1"})
    );
    let (ready, _) = app.get("/readyz").await;
    assert_eq!(ready, 200);
    assert_eq!(
        app.decide(eu_request()).await["catalog_version"],
        "2026-12-01.1"
    );
    assert_eq!(
        sample(&app, "aipdp_catalog_reloads_total{result=\"success\"}").await,
        1.0
    );
    assert_eq!(sample(&app, "aipdp_catalog_reload_failing").await, 0.0);
    let again: Value = reload().await.json().await.unwrap();
    assert_eq!(again["result"], "unchanged");
}

#[tokio::test]
async fn cors_is_off_by_default_and_allows_only_configured_origins() {
    let preflight = |app: &TestApp, origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/v1/eligibility"))
            .header("origin", origin.to_owned())
            .header("access-control-request-method", "GET")
            .send()
    };
    let off = spawn_app().await;
    let response = preflight(&off, "https://portal.example.com").await.unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    let on = spawn_with(
        settings(&[
            ("AIPDP_CORS__ALLOWED_ORIGINS", "https://portal.example.com"),
            ("AIPDP_AUTH__API_TOKENS", API_TOKEN),
        ]),
        BUILTIN_SOURCE,
    )
    .await;
    // The browser's preflight carries no token and must still pass.
    let response = preflight(&on, "https://portal.example.com").await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://portal.example.com"
    );
    let other = preflight(&on, "https://evil.example.com").await.unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));

    // The authoriser is not for browsers: an OPTIONS sent to it (a gateway
    // forwards the client's method) is decided, never answered 200 by the
    // CORS layer, with or without an origin.
    let without_token = spawn_with(
        settings(&[("AIPDP_CORS__ALLOWED_ORIGINS", "https://portal.example.com")]),
        BUILTIN_SOURCE,
    )
    .await;
    for path in ["/v1/authz", "/v1/authz/", "/v1/authz/v1/chat/completions"] {
        for origin in [None, Some("https://portal.example.com")] {
            let mut request = without_token
                .client
                .request(reqwest::Method::OPTIONS, without_token.url(path))
                .header("x-tenant-region", "EU")
                .header("x-ai-feature", "web_search_answers");
            if let Some(origin) = origin {
                request = request
                    .header("origin", origin)
                    .header("access-control-request-method", "POST");
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 403, "{path} {origin:?}");
            assert_eq!(
                response.headers()["x-ai-deny-reason"],
                "feature_not_in_mode",
                "{path} {origin:?}"
            );
        }
    }
    // Paths that only begin alike keep CORS.
    let response = without_token
        .client
        .request(reqwest::Method::OPTIONS, without_token.url("/v1/authzen"))
        .header("origin", "https://portal.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://portal.example.com"
    );
}

/// Starts a service whose shutdown the test fires, returning its address,
/// the trigger, the running server and a way to wait for a request to be
/// in flight.
async fn spawn_stoppable(
    env: &[(&str, &str)],
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
    InFlight,
) {
    let catalog = Catalog::from_toml(BUILTIN_SOURCE).unwrap();
    let app = Application::build(settings(env), LoadedCatalog::new(catalog, "test"))
        .await
        .unwrap();
    let addr = app.local_addr().unwrap();
    let in_flight = InFlight(app.state().clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    (addr, stop, server, in_flight)
}

struct InFlight(aipdp::http::AppState);

impl InFlight {
    /// Waits until the service is handling one request.
    async fn one(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self
            .0
            .metrics()
            .render()
            .contains("aipdp_http_requests_in_flight 1\n")
        {
            assert!(Instant::now() < deadline, "the slow request never got in");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A decision request whose body is sent in two halves: the request is in
/// flight (headers read, handler waiting for the body) between them.
struct SlowRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl SlowRequest {
    fn start(addr: SocketAddr) -> SlowRequest {
        let body = eu_request().to_string().into_bytes();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "POST /v1/decisions HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        let (first, rest) = body.split_at(body.len() / 2);
        stream.write_all(first).unwrap();
        stream.flush().unwrap();
        SlowRequest {
            stream,
            rest: rest.to_vec(),
        }
    }

    /// Sends the rest of the body and returns the status line.
    fn finish(mut self) -> String {
        self.stream.write_all(&self.rest).unwrap();
        let mut response = Vec::new();
        let mut buffer = [0u8; 4096];
        while !response.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = self.stream.read(&mut buffer).unwrap();
            assert!(n > 0, "connection closed before an answer");
            response.extend_from_slice(&buffer[..n]);
        }
        String::from_utf8_lossy(&response)
            .lines()
            .next()
            .unwrap()
            .to_owned()
    }
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_and_refuses_new_ones() {
    let (addr, stop, server, in_flight) = spawn_stoppable(&[]).await;
    let slow = tokio::task::spawn_blocking(move || SlowRequest::start(addr))
        .await
        .unwrap();
    in_flight.one().await;
    stop.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting after the stop signal"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!server.is_finished(), "stopped with a request in flight");
    let status = tokio::task::spawn_blocking(move || slow.finish())
        .await
        .unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
}

#[tokio::test]
async fn shutdown_gives_up_on_a_stuck_request_after_the_grace_period() {
    let (addr, stop, server, in_flight) =
        spawn_stoppable(&[("AIPDP_SHUTDOWN__GRACE_PERIOD_MS", "300")]).await;
    let _stuck = tokio::task::spawn_blocking(move || SlowRequest::start(addr))
        .await
        .unwrap();
    in_flight.one().await;
    let started = Instant::now();
    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn over_the_concurrency_limit_requests_are_shed_with_503_and_retry_after() {
    let app = spawn_with(
        settings(&[
            ("AIPDP_LIMITS__MAX_CONCURRENT_REQUESTS", "1"),
            ("AIPDP_LIMITS__RETRY_AFTER_SECONDS", "2"),
        ]),
        BUILTIN_SOURCE,
    )
    .await;
    let addr = app.addr;
    let holder = tokio::task::spawn_blocking(move || SlowRequest::start(addr))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while sample(&app, "aipdp_http_requests_in_flight").await != 1.0 {
        assert!(Instant::now() < deadline, "the slow request never got in");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let shed = send(
        &app,
        reqwest::Method::POST,
        "/v1/decisions",
        None,
        Some(&eu_request()),
    )
    .await;
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "2");
    assert_eq!(shed.headers()["content-type"], "application/problem+json");
    // Its body was left unread, so its connection cannot serve another
    // request, and the answer says so.
    assert_eq!(shed.headers()["connection"], "close");
    let problem: Value = shed.json().await.unwrap();
    assert_eq!(problem["type"], "urn:aipdp:problem:overloaded");
    // A shed request without a body leaves its connection usable.
    let shed = send(&app, reqwest::Method::GET, "/v1/catalog", None, None).await;
    assert_eq!(shed.status(), 503);
    assert!(shed.headers().get("connection").is_none());
    // Probes are never shed.
    let (ready, _) = app.get("/readyz").await;
    assert_eq!(ready, 200);

    let status = tokio::task::spawn_blocking(move || holder.finish())
        .await
        .unwrap();
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(sample(&app, "aipdp_http_requests_shed_total").await, 2.0);
    app.decide(eu_request()).await;
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let app = spawn_with(
        settings(&[("AIPDP_LIMITS__HEADER_READ_TIMEOUT_MS", "400")]),
        BUILTIN_SOURCE,
    )
    .await;
    let addr = app.addr;
    let outcome = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let started = Instant::now();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nx-slow: ")
            .unwrap();
        // One byte every 50 ms: each arrives well within any per-read
        // timeout, but the headers never complete.
        while started.elapsed() < Duration::from_secs(5) {
            if stream.write_all(b"a").is_err() {
                return started.elapsed();
            }
            let mut buffer = [0u8; 256];
            match stream.read(&mut buffer) {
                Ok(0) => return started.elapsed(),
                Ok(_) => return started.elapsed(),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return started.elapsed(),
            }
        }
        started.elapsed()
    })
    .await
    .unwrap();
    assert!(
        outcome >= Duration::from_millis(350) && outcome < Duration::from_secs(2),
        "the trickling client was cut off after {outcome:?}"
    );
    // Other clients are served as usual.
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, 200);
}
