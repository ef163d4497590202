//! `/v1/authz/...` over a real socket: the request shape Envoy's ext_authz
//! HTTP service sends, the answers, bad headers, unknown tenants and the
//! cache hints.

use aipdp::http::authz::{request, response};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::read;
use crate::helpers::{TestApp, codes, pointers, settings, spawn_app, spawn_with};

/// Sends an authz request with exactly these headers and no body.
async fn authz(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, HeaderMap, String) {
    let mut request = app.client.request(method, app.url(path));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no `{name}` in {headers:?}"))
}

#[tokio::test]
async fn envoy_check_requests_are_answered_for_any_method_and_path() {
    let app = spawn_app().await;
    // Envoy: original method, path_prefix + original path and query, only
    // the allowed headers, no body.
    for method in [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::HEAD,
        Method::TRACE,
    ] {
        let (status, headers, body) = authz(
            &app,
            method.clone(),
            "/v1/authz/openai/v1/chat/completions?stream=true",
            &[
                ("x-tenant-id", "acme-eu"),
                ("x-ai-feature", "meeting_summary"),
                ("content-length", "0"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{method}: {body}");
        assert_eq!(header(&headers, "x-ai-mode"), "zm_plus");
        assert_eq!(header(&headers, "x-ai-provider"), "anthropic");
        assert_eq!(header(&headers, "x-ai-model"), "claude-sonnet-4-5");
        assert_eq!(header(&headers, "x-ai-region"), "EU");
        assert_eq!(header(&headers, "x-ai-platform"), "amazon_bedrock");
        assert_eq!(
            header(&headers, "x-ai-endpoint"),
            "bedrock-runtime.eu-central-1.amazonaws.com"
        );
        assert_eq!(
            header(&headers, "x-ai-provider-model"),
            "eu.anthropic.claude-sonnet-4-5"
        );
        assert_eq!(header(&headers, "x-ai-fallback-chain"), "zoom");
        assert_eq!(header(&headers, "x-decision-id").len(), 36);
        // Every routing header is set, so there is nothing to strip.
        assert!(headers.get(response::HEADERS_TO_REMOVE).is_none());
        if method != Method::HEAD {
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["decision_id"], header(&headers, "x-decision-id"));
            assert_eq!(body["allow"], true);
        }
    }
    // The bare prefix works too (Caddy's `uri /v1/authz`), and so does the
    // prefix with its slash (Envoy's path for an original path of `/`).
    for (method, path) in [
        (Method::GET, "/v1/authz"),
        (Method::GET, "/v1/authz/"),
        (Method::POST, "/v1/authz/?stream=true"),
        (Method::HEAD, "/v1/authz/"),
    ] {
        let (status, headers, _) = authz(
            &app,
            method.clone(),
            path,
            &[
                ("x-tenant-id", "acme-eu"),
                ("x-ai-feature", "meeting_summary"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{method} {path}");
        assert_eq!(header(&headers, "x-ai-provider"), "anthropic");
    }
    // Extension methods, which the OpenAPI document cannot list, are not
    // allowed, and the answer says which methods are.
    for method in ["PURGE", "QUERY"] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, headers, _) = authz(
            &app,
            method.clone(),
            "/v1/authz/x",
            &[
                ("x-tenant-id", "acme-eu"),
                ("x-ai-feature", "meeting_summary"),
            ],
        )
        .await;
        assert_eq!(status, 405, "{method}");
        assert_eq!(
            header(&headers, "allow"),
            "GET,HEAD,POST,PUT,DELETE,PATCH,OPTIONS,TRACE"
        );
    }
}

#[tokio::test]
async fn envoy_is_told_to_strip_routing_headers_aipdp_did_not_set() {
    let app = spawn_app().await;
    let (status, headers, _) = authz(
        &app,
        Method::POST,
        "/v1/authz/v1/chat/completions",
        &[
            ("x-tenant-id", "lion-sg"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-ai-provider"), "zoom");
    assert_eq!(header(&headers, "x-ai-fallback-chain"), "");
    assert_eq!(
        header(&headers, response::HEADERS_TO_REMOVE),
        "x-ai-platform,x-ai-endpoint,x-ai-provider-model"
    );
}

#[tokio::test]
async fn the_envoy_examples_pass_and_accept_exactly_the_authz_headers() {
    let envoy = read("deploy/envoy/envoy.yaml");
    let gateway = read("deploy/envoy-gateway/security-policy.yaml");
    assert!(envoy.contains("path_prefix: /v1/authz\n"));
    assert!(envoy.contains("failure_mode_allow: false"));
    assert!(gateway.contains("path: /v1/authz\n"));
    let (ask, answer) = envoy
        .split_once("authorization_response:")
        .expect("an authorization_response section");
    for name in request::ALL {
        assert!(ask.contains(&format!("- exact: {name}\n")), "envoy: {name}");
        assert!(
            gateway.contains(&format!("    - {name}\n")),
            "gateway: {name}"
        );
    }
    for name in response::ROUTING
        .iter()
        .copied()
        .chain(["x-ai-fallback-chain"])
    {
        assert!(
            answer.contains(&format!("- exact: {name}\n")),
            "envoy: {name}"
        );
        assert!(
            gateway.contains(&format!("      - {name}\n")),
            "gateway: {name}"
        );
    }
}

#[tokio::test]
async fn a_deny_is_a_403_with_the_reason_and_a_json_body() {
    let app = spawn_app().await;
    let (status, headers, body) = authz(
        &app,
        Method::GET,
        "/v1/authz/x",
        &[
            ("x-tenant-region", "SG"),
            ("x-tenant-mode", "federated"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        header(&headers, response::DENY_REASON),
        "selected_mode_not_eligible"
    );
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "cache-control"), "private, max-age=300");
    assert_eq!(header(&headers, response::ACCEL_EXPIRES), "300");
    assert!(headers.get("x-ai-provider").is_none());
    assert!(headers.get(response::HEADERS_TO_REMOVE).is_none());
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["allow"], false);
    assert_eq!(body["decision_id"], header(&headers, "x-decision-id"));
    assert_eq!(
        codes(&body["reasons"]),
        [
            "no_mode",
            "selected_mode_not_eligible",
            "no_feature_permitted"
        ]
    );

    let (status, headers, _) = authz(
        &app,
        Method::GET,
        "/v1/authz",
        &[
            ("x-tenant-id", "acme-eu"),
            ("x-tenant-denied-providers", "anthropic, zoom"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    // Only federated's contact-centre providers are left, which cannot
    // serve summaries.
    assert_eq!(
        header(&headers, response::DENY_REASON),
        "providers_excluded"
    );
}

#[tokio::test]
async fn headers_only_tighten_a_profile() {
    let app = spawn_app().await;
    // Loosening is ignored and reported.
    let (status, headers, body) = authz(
        &app,
        Method::GET,
        "/v1/authz",
        &[
            ("x-tenant-id", "acme-eu"),
            ("x-tenant-residency", "none"),
            ("x-tenant-region", "US"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-ai-region"), "EU");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        codes(&body["reasons"]),
        [
            "profile_applied",
            "profile_loosening_ignored",
            "profile_loosening_ignored",
            "default_mode",
            "all_features_permitted"
        ]
    );
    // Tightening applies.
    let (status, headers, _) = authz(
        &app,
        Method::GET,
        "/v1/authz",
        &[
            ("x-tenant-id", "acme-eu"),
            ("x-tenant-residency", "trust_boundary"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-ai-mode"), "zmo");
    assert_eq!(header(&headers, "x-ai-provider"), "zoom");
}

#[tokio::test]
async fn an_unknown_tenant_needs_a_region_and_may_be_refused() {
    let app = spawn_app().await;
    // Without a region it is a bad request, as `POST /v1/route` answers
    // it: the region is required unless the id names a profile.
    let (status, headers, body) = authz(
        &app,
        Method::GET,
        "/v1/authz",
        &[
            ("x-tenant-id", "initech"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(header(&headers, response::DENY_REASON), "invalid_request");
    assert!(headers.get(response::MODE).is_none());
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["pointer"], "/headers/x-tenant-region");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("`initech` is not a tenant profile"),
        "{message}"
    );

    // With a region it is an ad-hoc tenant, decided like any request.
    let with_region = [
        ("x-tenant-id", "initech"),
        ("x-tenant-region", "SG"),
        ("x-ai-feature", "meeting_summary"),
    ];
    let (status, headers, _) = authz(&app, Method::GET, "/v1/authz", &with_region).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-ai-region"), "SG");

    // Unless known tenants are required.
    let strict = spawn_with(
        settings(&[("AIPDP_AUTHZ__REQUIRE_KNOWN_TENANT", "true")]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let (status, headers, body) = authz(&strict, Method::GET, "/v1/authz", &with_region).await;
    assert_eq!(status, 403);
    assert_eq!(header(&headers, response::DENY_REASON), "unknown_tenant");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(codes(&body["reasons"]), ["unknown_tenant"]);
    assert_eq!(body["route"], Value::Null);
    // There, a request without a tenant id is refused too.
    let (status, headers, body) = authz(
        &strict,
        Method::GET,
        "/v1/authz",
        &[
            ("x-tenant-region", "EU"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(header(&headers, response::DENY_REASON), "unknown_tenant");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["reasons"][0]["message"],
        "no tenant id was sent, and only the tenant profiles of catalog `2026-11-24.3` are served"
    );
    // Refusals are decisions of the audit trail: counted as denies under
    // no mode (the two above).
    let metrics = strict.get_text("/metrics").await;
    assert_eq!(
        crate::helpers::metric(
            &metrics,
            "aipdp_decisions_total{endpoint=\"authz\",mode=\"none\",outcome=\"deny\"}"
        ),
        2.0,
        "{metrics}"
    );
    // There, without a region too.
    let (status, headers, _) = authz(
        &strict,
        Method::GET,
        "/v1/authz",
        &[
            ("x-tenant-id", "initech"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(header(&headers, response::DENY_REASON), "unknown_tenant");
    // Profiles still work there.
    let (status, _, _) = authz(
        &strict,
        Method::GET,
        "/v1/authz",
        &[
            ("x-tenant-id", "lion-sg"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    // A bad feature is a client error before any refusal, reported with
    // the missing region.
    let (status, _, body) = authz(
        &strict,
        Method::GET,
        "/v1/authz",
        &[("x-tenant-id", "initech"), ("x-ai-feature", "teleport")],
    )
    .await;
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["pointer"], "/headers/x-ai-feature");
    let (status, _, body) = authz(
        &app,
        Method::GET,
        "/v1/authz",
        &[("x-tenant-id", "initech"), ("x-ai-feature", "teleport")],
    )
    .await;
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        pointers(&body),
        ["/headers/x-tenant-region", "/headers/x-ai-feature"]
    );
}

async fn problem(app: &TestApp, headers: &[(&str, &[u8])]) -> (u16, HeaderMap, Value) {
    let mut request = app.client.get(app.url("/v1/authz/any"));
    for (k, v) in headers {
        request = request.header(*k, HeaderValue::from_bytes(v).unwrap());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

#[tokio::test]
async fn bad_headers_are_precise_problems() {
    let app = spawn_app().await;
    let long = vec![b'a'; 1025];
    // Headers sent, and the one error expected: pointer and message.
    type Case<'a> = (Vec<(&'a str, &'a [u8])>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("x-tenant-id", b"acme-eu")],
            "/headers/x-ai-feature",
            "the feature header is required",
        ),
        (
            vec![("x-ai-feature", b"meeting_summary")],
            "/headers/x-tenant-id",
            "send `x-tenant-id` naming a tenant profile, or `x-tenant-region`",
        ),
        (
            vec![
                ("x-tenant-region", b"MARS"),
                ("x-ai-feature", b"meeting_summary"),
            ],
            "/headers/x-tenant-region",
            "unknown region `MARS`; valid: `US`, `EU`, `SG`, `KSA`, `AU`, `IN`, `CA`",
        ),
        (
            vec![
                ("x-tenant-region", b"EU"),
                ("x-tenant-residency", b"lax"),
                ("x-ai-feature", b"meeting_summary"),
            ],
            "/headers/x-tenant-residency",
            "unknown residency `lax`; valid: `none`, `preferred`, `strict`, `trust_boundary`",
        ),
        (
            vec![
                ("x-tenant-region", b"EU"),
                ("x-tenant-mode", b"turbo"),
                ("x-ai-feature", b"meeting_summary"),
            ],
            "/headers/x-tenant-mode",
            "unknown mode `turbo`; valid: `zmo`, `zm_plus`, `federated`",
        ),
        (
            vec![
                ("x-tenant-region", b"EU"),
                ("x-tenant-denied-providers", b"openai,,zoom"),
                ("x-ai-feature", b"meeting_summary"),
            ],
            "/headers/x-tenant-denied-providers",
            "a comma-separated list of ids, without empty entries",
        ),
        (
            vec![
                ("x-tenant-region", b"EU"),
                ("x-tenant-allowed-providers", b"zoom,acme"),
                ("x-ai-feature", b"meeting_summary"),
            ],
            "/headers/x-tenant-allowed-providers/1",
            "unknown provider `acme`; valid: `zoom`, `anthropic`, `openai`, `perplexity`, `elevenlabs`",
        ),
        (
            vec![
                ("x-tenant-id", b"acme\xff\xfe"),
                ("x-ai-feature", b"meeting_summary"),
            ],
            "/headers/x-tenant-id",
            "not valid UTF-8",
        ),
        (
            vec![("x-tenant-id", &long), ("x-ai-feature", b"meeting_summary")],
            "/headers/x-tenant-id",
            "longer than 1024 bytes",
        ),
        (
            vec![("x-tenant-region", b"EU"), ("x-ai-feature", b"   ")],
            "/headers/x-ai-feature",
            "must not be empty",
        ),
        (
            vec![
                ("x-tenant-region", b"EU"),
                ("x-ai-feature", b"meeting_summary"),
                ("x-ai-feature", b"mail_compose"),
            ],
            "/headers/x-ai-feature",
            "send this header once",
        ),
    ];
    let (status, _, body) = problem(&app, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!([
            {"pointer": "/headers/x-ai-feature", "message": "the feature header is required"},
            {"pointer": "/headers/x-tenant-id", "message": "send `x-tenant-id` naming a tenant profile, or `x-tenant-region`"}
        ])
    );
    for (headers, pointer, message) in cases {
        let (status, answer, body) = problem(&app, &headers).await;
        assert_eq!(status, 400, "{headers:?}: {body}");
        assert_eq!(header(&answer, "content-type"), "application/problem+json");
        assert_eq!(header(&answer, "cache-control"), "no-store");
        assert_eq!(header(&answer, response::DENY_REASON), "invalid_request");
        assert_eq!(body["status"], 400);
        assert_eq!(
            body["errors"],
            json!([{"pointer": pointer, "message": message}]),
            "{headers:?}"
        );
    }

    // For nginx, the same problems can be 403s.
    let nginx = spawn_with(
        settings(&[("AIPDP_AUTHZ__INVALID_STATUS", "403")]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let (status, answer, body) = problem(&nginx, &[("x-tenant-region", b"MARS")]).await;
    assert_eq!(status, 403);
    assert_eq!(header(&answer, response::DENY_REASON), "invalid_request");
    assert_eq!(body["status"], 403);
    assert_eq!(body["type"], "urn:aipdp:problem:invalid-request");
}

#[tokio::test]
async fn the_fallback_chain_header_name_is_a_setting() {
    let app = spawn_with(
        settings(&[("AIPDP_AUTHZ__FALLBACK_HEADER", "x-ai-eg-fallback-chain")]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let (status, headers, _) = authz(
        &app,
        Method::GET,
        "/v1/authz",
        &[
            ("x-tenant-id", "globex-us"),
            ("x-ai-feature", "meeting_summary"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-ai-provider"), "anthropic");
    assert_eq!(header(&headers, "x-ai-region"), "global");
    assert_eq!(header(&headers, "x-ai-eg-fallback-chain"), "openai,zoom");
    assert!(headers.get("x-ai-fallback-chain").is_none());
    assert_eq!(
        header(&headers, response::HEADERS_TO_REMOVE),
        "x-ai-platform,x-ai-endpoint,x-ai-provider-model"
    );
}

#[tokio::test]
async fn answers_carry_cache_hints_keyed_on_the_normalised_request() {
    let app = spawn_app().await;
    let ask = |headers: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move { authz(app, Method::GET, "/v1/authz/a", &headers).await.1 }
    };
    let a = ask(vec![
        ("x-tenant-region", "EU"),
        ("x-tenant-denied-providers", "openai, perplexity"),
        ("x-ai-feature", "meeting_summary"),
    ])
    .await;
    assert_eq!(header(&a, "cache-control"), "private, max-age=300");
    assert_eq!(header(&a, "x-accel-expires"), "300");
    let tag = header(&a, "etag");
    assert!(tag.starts_with("W/\"2026-11-24.3-"), "{tag}");
    // The same request, spelled differently: the same tag.
    let b = ask(vec![
        ("x-ai-feature", " meeting_summary"),
        ("x-tenant-denied-providers", "openai,perplexity"),
        ("x-tenant-region", "EU"),
    ])
    .await;
    assert_eq!(header(&b, "etag"), tag);
    assert_ne!(header(&b, "x-decision-id"), header(&a, "x-decision-id"));
    // Another tenant or feature: another tag.
    for other in [
        vec![
            ("x-tenant-region", "US"),
            ("x-ai-feature", "meeting_summary"),
        ],
        vec![
            ("x-tenant-region", "EU"),
            ("x-ai-feature", "meeting_summary"),
        ],
        vec![
            ("x-tenant-region", "EU"),
            ("x-tenant-denied-providers", "openai, perplexity"),
            ("x-ai-feature", "mail_compose"),
        ],
    ] {
        assert_ne!(header(&ask(other).await, "etag"), tag);
    }
    // Denials are cacheable answers too.
    let denied = ask(vec![
        ("x-tenant-region", "SG"),
        ("x-ai-feature", "custom_ai_companion"),
    ])
    .await;
    assert_eq!(header(&denied, "cache-control"), "private, max-age=300");

    // Decisions and routes: the same JSON in another order or spacing has
    // the same tag.
    let post = |body: &'static str, path: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(app.url(path))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .headers()
                .clone()
        }
    };
    let one = post(
        r#"{"tenant": {"region": "EU"}, "feature": "meeting_summary"}"#,
        "/v1/route",
    )
    .await;
    let two = post(
        r#"{"feature":"meeting_summary","tenant":{"region":"EU"}}"#,
        "/v1/route",
    )
    .await;
    let three = post(
        r#"{"feature":"meeting_summary","tenant":{"region":"US"}}"#,
        "/v1/route",
    )
    .await;
    assert_eq!(header(&one, "cache-control"), "private, max-age=300");
    assert_eq!(header(&one, "etag"), header(&two, "etag"));
    assert_ne!(header(&one, "etag"), header(&three, "etag"));
    let d1 = post(
        r#"{"tenant": {"region": "EU"}, "features": ["meeting_summary"]}"#,
        "/v1/decisions",
    )
    .await;
    let d2 = post(
        r#"{"features":["meeting_summary"], "tenant":{"region":"EU"}}"#,
        "/v1/decisions",
    )
    .await;
    let d3 = post(
        r#"{"features":["mail_compose"], "tenant":{"region":"EU"}}"#,
        "/v1/decisions",
    )
    .await;
    assert_eq!(header(&d1, "etag"), header(&d2, "etag"));
    assert_ne!(header(&d1, "etag"), header(&d3, "etag"));
    let b1 = post(
        r#"{"requests": [{"tenant": {"region": "EU"}, "features": ["meeting_summary"]}]}"#,
        "/v1/decisions/batch",
    )
    .await;
    let b2 = post(
        r#"{"requests":[{"features":["meeting_summary"],"tenant":{"region":"EU"}}]}"#,
        "/v1/decisions/batch",
    )
    .await;
    let b3 = post(
        r#"{"requests":[{"features":["meeting_summary"],"tenant":{"region":"US"}}]}"#,
        "/v1/decisions/batch",
    )
    .await;
    assert_eq!(header(&b1, "cache-control"), "private, max-age=300");
    assert_eq!(header(&b1, "etag"), header(&b2, "etag"));
    assert_ne!(header(&b1, "etag"), header(&b3, "etag"));
}

#[test]
fn the_openapi_document_describes_the_gateway_endpoints() {
    let doc: Value = serde_json::from_str(&aipdp::http::openapi_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        (
            "/v1/authz",
            &[
                "get", "post", "put", "delete", "patch", "head", "options", "trace",
            ][..],
        ),
        (
            "/v1/authz/",
            &[
                "get", "post", "put", "delete", "patch", "head", "options", "trace",
            ][..],
        ),
        (
            "/v1/authz/{rest}",
            &[
                "get", "post", "put", "delete", "patch", "head", "options", "trace",
            ][..],
        ),
        ("/access/v1/evaluation", &["post"][..]),
        ("/access/v1/evaluations", &["post"][..]),
        ("/access/v1/search/action", &["post"][..]),
        ("/.well-known/authzen-configuration", &["get"][..]),
    ] {
        let item = paths.get(path).unwrap_or_else(|| panic!("no {path}"));
        for method in methods {
            assert!(item.get(*method).is_some(), "{path} {method}");
        }
    }
    let authz = &paths["/v1/authz/{rest}"]["get"];
    assert!(authz["responses"].get("403").is_some());
    assert_eq!(
        authz["responses"]["400"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["application/problem+json"]
    );
    // Every operation has an id of its own.
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count);
}

#[tokio::test]
async fn add_ons_come_from_a_header_and_only_tighten_a_profile() {
    let app = spawn_app().await;
    let ask = |headers: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move { authz(app, Method::GET, "/v1/authz", &headers).await }
    };
    // An ad-hoc EU tenant needs the add-on for custom agents.
    let (status, headers, _) = ask(vec![
        ("x-tenant-region", "EU"),
        ("x-ai-feature", "custom_ai_companion"),
    ])
    .await;
    assert_eq!(status, 403);
    assert_eq!(header(&headers, response::DENY_REASON), "add_on_required");
    let (status, headers, _) = ask(vec![
        ("x-tenant-region", "EU"),
        ("x-tenant-add-ons", "custom_ai_companion"),
        ("x-ai-feature", "custom_ai_companion"),
    ])
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-ai-provider"), "anthropic");
    // A profile without the add-on does not gain it from a header.
    let (status, headers, body) = ask(vec![
        ("x-tenant-id", "lion-sg"),
        ("x-tenant-add-ons", "custom_ai_companion"),
        ("x-ai-feature", "custom_ai_companion"),
    ])
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        header(&headers, response::DENY_REASON),
        "add_on_not_in_mode"
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(codes(&body["reasons"]).contains(&"profile_loosening_ignored"));
}
