//! Caddy `forward_auth` in front of an echo upstream, with aipdp deciding.

use super::{Gateway, echo_upstream, free_port, read, render};
use crate::helpers::{TestApp, settings, spawn_with};

/// Caddy with `deploy/caddy/Caddyfile`; no admin endpoint, no TLS, state
/// under a temp dir; a new port and directory when the port was taken.
async fn start_caddy(app: &TestApp, upstream: std::net::SocketAddr, token: &str) -> Gateway {
    let mut failures = Vec::new();
    for _ in 0..3 {
        match try_caddy(app, upstream, token).await {
            Ok(caddy) => return caddy,
            Err(log) => failures.push(log),
        }
    }
    panic!("caddy did not start:\n{}", failures.join("\n---\n"));
}

async fn try_caddy(
    app: &TestApp,
    upstream: std::net::SocketAddr,
    token: &str,
) -> Result<Gateway, String> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let port = free_port();
    let site = render(
        &read("deploy/caddy/Caddyfile"),
        &[
            ("SITE", &format!("http://127.0.0.1:{port}")),
            ("AIPDP", &app.addr.to_string()),
            ("UPSTREAM", &upstream.to_string()),
            ("AIPDP_TOKEN", token),
        ],
    );
    let global = format!(
        "{{\n\tadmin off\n\tauto_https off\n\tstorage file_system {}\n}}\n\n",
        root.join("data").display()
    );
    std::fs::write(root.join("Caddyfile"), global + &site).unwrap();
    let config = root.join("Caddyfile").display().to_string();
    let pidfile = root.join("caddy.pid");
    let pidfile_arg = pidfile.display().to_string();
    Gateway::start(
        "caddy",
        &[
            "run",
            "--adapter",
            "caddyfile",
            "--config",
            &config,
            "--pidfile",
            &pidfile_arg,
        ],
        &[
            ("HOME", &root),
            ("XDG_DATA_HOME", &root),
            ("XDG_CONFIG_HOME", &root),
        ],
        dir,
        port,
        &pidfile,
    )
    .await
}

async fn get(
    gateway: &Gateway,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = reqwest::Client::new().post(gateway.url("/v1/chat/completions?stream=true"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request
        .header("content-type", "application/json")
        .body(r#"{"messages": []}"#)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn caddy_forwards_allowed_requests_with_the_route_and_blocks_denied_ones() {
    let app = spawn_with(settings(&[]), aipdp::catalog::BUILTIN_SOURCE).await;
    let (upstream, seen) = echo_upstream().await;
    let caddy = start_caddy(&app, upstream, "").await;

    // Allowed: the decided route reaches the upstream and replaces the
    // client's own routing headers, including ones aipdp did not set.
    let (status, _, body) = get(
        &caddy,
        &[
            ("x-tenant-id", "lion-sg"),
            ("x-ai-feature", "meeting_summary"),
            ("x-ai-provider", "openai"),
            ("x-ai-platform", "azure"),
            ("x-ai-endpoint", "attacker.example"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}\n{}", caddy.log());
    assert_eq!(seen.count(), 1);
    let got = seen.last();
    assert_eq!(got["x-ai-provider"], "zoom", "{got:?}");
    assert_eq!(got["x-ai-model"], "zoom-summary-2");
    assert_eq!(got["x-ai-region"], "SG");
    assert_eq!(got["x-ai-mode"], "zmo");
    assert_eq!(got["x-decision-id"].len(), 36);
    assert!(!got.contains_key("x-ai-platform"), "{got:?}");
    assert!(!got.contains_key("x-ai-endpoint"), "{got:?}");

    let (status, _, _) = get(
        &caddy,
        &[
            ("x-tenant-id", "acme-eu"),
            ("x-ai-feature", "team_chat_compose"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let got = seen.last();
    assert_eq!(got["x-ai-provider"], "anthropic");
    assert_eq!(got["x-ai-model"], "claude-haiku-4-5");
    assert_eq!(got["x-ai-region"], "EU");
    assert_eq!(got["x-ai-fallback-chain"], "zoom");

    // Denied: Caddy returns aipdp's 403 with its reason and JSON body.
    let (status, headers, body) = get(
        &caddy,
        &[
            ("x-tenant-id", "mercy-health-us"),
            ("x-ai-feature", "web_search_answers"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(headers["x-ai-deny-reason"], "feature_not_in_mode");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["allow"], false);
    assert_eq!(body["reasons"][0]["code"], "feature_not_in_mode");
    assert_eq!(seen.count(), 2, "a denied request reached the upstream");

    // Bad headers: Caddy passes the 400 problem through.
    let (status, headers, body) = get(&caddy, &[("x-tenant-region", "EU")]).await;
    assert_eq!(status, 400);
    assert_eq!(headers["content-type"], "application/problem+json");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["pointer"], "/headers/x-ai-feature");
    assert_eq!(seen.count(), 2);
}

/// With API tokens on, the gateway sends aipdp its own token in place of
/// the client's Authorization, which still reaches the upstream; a wrong
/// token lets nothing through.
#[tokio::test]
async fn caddy_sends_aipdp_its_token_and_the_upstream_the_clients() {
    let token = "gateway-token-0123456789";
    let app = spawn_with(
        settings(&[("AIPDP_AUTH__API_TOKENS", token)]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let (upstream, seen) = echo_upstream().await;
    let client = [
        ("authorization", "Bearer sk-client-key"),
        ("x-tenant-id", "acme-eu"),
        ("x-ai-feature", "meeting_summary"),
    ];
    let gateway = start_caddy(&app, upstream, token).await;
    let (status, _, body) = get(&gateway, &client).await;
    assert_eq!(status, 200, "{body}\n{}", gateway.log());
    let got = seen.last();
    assert_eq!(got["authorization"], "Bearer sk-client-key", "{got:?}");
    assert_eq!(got["x-ai-provider"], "anthropic");
    drop(gateway);

    let wrong = start_caddy(&app, upstream, "not-the-token-0123456789").await;
    let (status, _, _) = get(&wrong, &client).await;
    assert_ne!(status, 200);
    assert_eq!(seen.count(), 1, "a request got through with a wrong token");
}
