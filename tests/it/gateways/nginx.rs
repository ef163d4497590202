//! nginx `auth_request` in front of an echo upstream, with aipdp deciding.

use std::time::Duration;

use super::{Gateway, catalog_with_ttl, echo_upstream, free_port, read, render, running_as_root};
use crate::helpers::{TestApp, settings, spawn_with};

/// nginx with `deploy/nginx/aipdp-authz.conf`, everything under a temp
/// dir; a new port and directory when the port was taken meanwhile.
async fn start_nginx(app: &TestApp, upstream: std::net::SocketAddr, token: &str) -> Gateway {
    let mut failures = Vec::new();
    for _ in 0..3 {
        match try_nginx(app, upstream, token).await {
            Ok(nginx) => return nginx,
            Err(log) => failures.push(log),
        }
    }
    panic!("nginx did not start:\n{}", failures.join("\n---\n"));
}

async fn try_nginx(
    app: &TestApp,
    upstream: std::net::SocketAddr,
    token: &str,
) -> Result<Gateway, String> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let port = free_port();
    let site = render(
        &read("deploy/nginx/aipdp-authz.conf"),
        &[
            ("AIPDP", &app.addr.to_string()),
            ("UPSTREAM", &upstream.to_string()),
            ("LISTEN", &format!("127.0.0.1:{port}")),
            ("CACHE_DIR", &format!("{root}/cache")),
            ("AIPDP_TOKEN", token),
        ],
    );
    std::fs::write(dir.path().join("aipdp-authz.conf"), site).unwrap();
    // Workers must reach the private temp dir: as root, they run as root.
    let user = if running_as_root(dir.path()) {
        "user root;"
    } else {
        ""
    };
    let main = format!(
        "{user}
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy_temp;
    fastcgi_temp_path {root}/fastcgi_temp;
    uwsgi_temp_path {root}/uwsgi_temp;
    scgi_temp_path {root}/scgi_temp;
    include {root}/aipdp-authz.conf;
}}
"
    );
    std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
    let conf = format!("{root}/nginx.conf");
    let log = format!("{root}/error.log");
    let pidfile = dir.path().join("nginx.pid");
    Gateway::start(
        "nginx",
        &["-p", &root, "-c", &conf, "-e", &log],
        &[],
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
    let mut request = reqwest::Client::new().get(gateway.url("/v1/chat/completions"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn nginx_forwards_allowed_requests_with_the_route_and_blocks_denied_ones() {
    let app = spawn_with(settings(&[]), aipdp::catalog::BUILTIN_SOURCE).await;
    let (upstream, seen) = echo_upstream().await;
    let nginx = start_nginx(&app, upstream, "").await;

    // Allowed: the upstream gets the decided route; the client's own
    // x-ai-provider is replaced.
    let (status, _, body) = get(
        &nginx,
        &[
            ("x-tenant-id", "acme-eu"),
            ("x-ai-feature", "meeting_summary"),
            ("x-ai-provider", "openai"),
            ("x-ai-model", "gpt-5"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}\n{}", nginx.log());
    assert_eq!(seen.count(), 1);
    let got = seen.last();
    assert_eq!(got["x-ai-provider"], "anthropic");
    assert_eq!(got["x-ai-model"], "claude-sonnet-4-5");
    assert_eq!(got["x-ai-region"], "EU");
    assert_eq!(got["x-ai-mode"], "zm_plus");
    assert_eq!(got["x-ai-platform"], "amazon_bedrock");
    assert_eq!(got["x-ai-provider-model"], "eu.anthropic.claude-sonnet-4-5");
    assert_eq!(got["x-ai-fallback-chain"], "zoom");
    assert_eq!(got["x-decision-id"].len(), 36, "{got:?}");

    // Denied: 403 with the reason, and the upstream never sees it.
    let (status, headers, _) = get(
        &nginx,
        &[
            ("x-tenant-region", "SG"),
            ("x-ai-feature", "web_search_answers"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(headers["x-ai-deny-reason"], "feature_not_in_mode");
    assert_eq!(seen.count(), 1, "a denied request reached the upstream");

    // Bad headers: nginx turns aipdp's 400 into a 500 of its own. An
    // unknown tenant without a region is one (the region is required):
    // never decided from defaults.
    for bad in [
        ("x-tenant-region", "MARS"),
        ("x-tenant-id", "no-such-tenant"),
    ] {
        let (status, _, _) = get(&nginx, &[bad, ("x-ai-feature", "meeting_summary")]).await;
        assert_eq!(status, 500, "{bad:?}");
        assert_eq!(seen.count(), 1, "{bad:?} reached the upstream");
    }
    assert!(
        nginx.log().contains("auth request unexpected status: 400"),
        "{}",
        nginx.log()
    );
}

#[tokio::test]
async fn nginx_shows_bad_headers_as_403_when_configured() {
    let app = spawn_with(
        settings(&[("AIPDP_AUTHZ__INVALID_STATUS", "403")]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let (upstream, seen) = echo_upstream().await;
    let nginx = start_nginx(&app, upstream, "").await;
    let (status, headers, _) = get(
        &nginx,
        &[
            ("x-tenant-region", "MARS"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(headers["x-ai-deny-reason"], "invalid_request");
    let (status, headers, _) = get(
        &nginx,
        &[
            ("x-tenant-id", "no-such-tenant"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(headers["x-ai-deny-reason"], "invalid_request");
    assert_eq!(seen.count(), 0);
}

#[tokio::test]
async fn nginx_caches_decisions_per_tenant_until_the_ttl() {
    let ttl = 3;
    let app = spawn_with(settings(&[]), &catalog_with_ttl(ttl)).await;
    let (upstream, seen) = echo_upstream().await;
    let nginx = start_nginx(&app, upstream, "").await;
    let eu = [
        ("x-tenant-region", "EU"),
        ("x-ai-feature", "meeting_summary"),
    ];
    let eu_boundary = [
        ("x-tenant-region", "EU"),
        ("x-tenant-residency", "trust_boundary"),
        ("x-ai-feature", "meeting_summary"),
    ];
    let us = [
        ("x-tenant-id", "globex-us"),
        ("x-ai-feature", "meeting_summary"),
    ];

    let (status, _, _) = get(&nginx, &eu).await;
    assert_eq!(status, 200, "{}", nginx.log());
    let first = seen.last();
    // A repeat within the TTL is answered from nginx's cache: same decision.
    let (status, _, _) = get(&nginx, &eu).await;
    assert_eq!(status, 200);
    assert_eq!(seen.last()["x-decision-id"], first["x-decision-id"]);

    // Other tenants never get that answer: the key holds their headers.
    get(&nginx, &eu_boundary).await;
    let boundary = seen.last();
    assert_ne!(boundary["x-decision-id"], first["x-decision-id"]);
    assert_eq!(boundary["x-ai-provider"], "zoom");
    assert_eq!(boundary["x-ai-mode"], "zmo");
    get(&nginx, &us).await;
    let us_answer = seen.last();
    assert_ne!(us_answer["x-decision-id"], first["x-decision-id"]);
    assert_eq!(us_answer["x-ai-mode"], "federated");
    assert_eq!(first["x-ai-provider"], "anthropic");
    assert_eq!(first["x-ai-mode"], "zm_plus");

    // Denials are cached per tenant too, and stay denials.
    let sg = [
        ("x-tenant-region", "SG"),
        ("x-ai-feature", "web_search_answers"),
    ];
    let (status, a, _) = get(&nginx, &sg).await;
    let (status2, b, _) = get(&nginx, &sg).await;
    assert_eq!((status, status2), (403, 403));
    assert_eq!(a["x-decision-id"], b["x-decision-id"]);

    // After the TTL, aipdp decides again.
    tokio::time::sleep(Duration::from_millis(u64::from(ttl) * 1000 + 1200)).await;
    get(&nginx, &eu).await;
    let later = seen.last();
    assert_ne!(later["x-decision-id"], first["x-decision-id"]);
    assert_eq!(later["x-ai-provider"], "anthropic");
}

/// With API tokens on, the gateway sends aipdp its own token in place of
/// the client's Authorization, which still reaches the upstream; a wrong
/// token lets nothing through.
#[tokio::test]
async fn nginx_sends_aipdp_its_token_and_the_upstream_the_clients() {
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
    let gateway = start_nginx(&app, upstream, token).await;
    let (status, _, body) = get(&gateway, &client).await;
    assert_eq!(status, 200, "{body}\n{}", gateway.log());
    let got = seen.last();
    assert_eq!(got["authorization"], "Bearer sk-client-key", "{got:?}");
    assert_eq!(got["x-ai-provider"], "anthropic");
    drop(gateway);

    let wrong = start_nginx(&app, upstream, "not-the-token-0123456789").await;
    let (status, _, _) = get(&wrong, &client).await;
    assert_ne!(status, 200);
    assert_eq!(seen.count(), 1, "a request got through with a wrong token");
}
