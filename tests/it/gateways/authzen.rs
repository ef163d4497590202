//! The AuthZEN Authorization API 1.0 endpoints over a real socket.

use serde_json::{Value, json};

use crate::helpers::{codes, metric, settings, spawn_app, spawn_with};

fn subject(id: &str) -> Value {
    json!({"type": "tenant", "id": id})
}

fn resource() -> Value {
    json!({"type": "ai_deployment", "id": "assistant-gateway"})
}

#[tokio::test]
async fn an_evaluation_maps_tenant_feature_and_deployment() {
    let app = spawn_app().await;
    let (status, body) = app
        .post(
            "/access/v1/evaluation",
            &json!({
                "subject": subject("acme-eu"),
                "action": {"name": "meeting_summary"},
                "resource": resource(),
                "context": {"time": "2026-11-23T10:00:00Z"}
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decision"], true);
    let context = &body["context"];
    assert_eq!(context["mode"], "zm_plus");
    assert_eq!(context["route"]["provider"], "anthropic");
    assert_eq!(
        context["route"]["provider_model"],
        "eu.anthropic.claude-sonnet-4-5"
    );
    assert_eq!(context["fallbacks"][0]["provider"], "zoom");
    assert_eq!(
        codes(&context["reasons"]),
        ["profile_applied", "default_mode", "all_features_permitted"]
    );

    // The deployment's properties tighten the tenant.
    let (_, body) = app
        .post(
            "/access/v1/evaluation",
            &json!({
                "subject": subject("acme-eu"),
                "action": {"name": "meeting_summary"},
                "resource": {"type": "ai_deployment", "id": "on-prem",
                             "properties": {"residency": "trust_boundary"}}
            }),
        )
        .await;
    assert_eq!(body["decision"], true);
    assert_eq!(body["context"]["mode"], "zmo");
    assert_eq!(body["context"]["route"]["provider"], "zoom");

    // A deny is `decision: false` with the reason codes.
    let (status, body) = app
        .post(
            "/access/v1/evaluation",
            &json!({
                "subject": {"type": "tenant", "id": "walk-in", "properties": {"region": "SG"}},
                "action": {"name": "web_search_answers"},
                "resource": resource()
            }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["decision"], false);
    assert_eq!(body["context"]["reasons"][0]["code"], "feature_not_in_mode");

    // An unknown tenant without a region is refused, never defaulted.
    let (status, body) = app
        .post(
            "/access/v1/evaluation",
            &json!({"subject": subject("initech"), "action": {"name": "meeting_summary"}, "resource": resource()}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["decision"], false);
    assert_eq!(codes(&body["context"]["reasons"]), ["unknown_tenant"]);
}

#[tokio::test]
async fn evaluation_errors_are_problems() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"subject": {"type": "user", "id": "alice"}, "action": {"name": "meeting_summary"}, "resource": resource()}),
            "/subject/type",
            "unknown subject type `user`; valid: `tenant`",
        ),
        (
            json!({"subject": subject("acme-eu"), "action": {"name": "teleport"}, "resource": resource()}),
            "/action/name",
            "unknown feature `teleport`; valid: `meeting_summary`, `meeting_questions`, `team_chat_compose`, `whiteboard_content_generation`, `docs_content_generation`, `mail_compose`, `web_search_answers`, `contact_center_virtual_agent`, `custom_ai_companion`",
        ),
        (
            json!({"subject": {"type": "tenant", "id": "x", "properties": {"region": "MARS"}}, "action": {"name": "meeting_summary"}, "resource": resource()}),
            "/subject/properties/region",
            "unknown region `MARS`; valid: `US`, `EU`, `SG`, `KSA`, `AU`, `IN`, `CA`",
        ),
        (
            json!({"subject": subject("acme-eu"), "action": {"name": "meeting_summary"}, "resource": {"type": "document", "id": "1"}}),
            "/resource/type",
            "unknown resource type `document`; valid: `ai_deployment`",
        ),
        (
            json!({"subject": subject("acme-eu"), "action": {"name": "meeting_summary"}}),
            "/resource",
            "missing field `resource`",
        ),
    ];
    for (request, pointer, message) in cases {
        let (status, body) = app.post("/access/v1/evaluation", &request).await;
        assert_eq!(status, 400, "{request}: {body}");
        assert_eq!(
            body["errors"],
            json!([{"pointer": pointer, "message": message}]),
            "{request}"
        );
    }
}

#[tokio::test]
async fn evaluations_honour_the_semantic() {
    let app = spawn_app().await;
    let batch = |semantic: Option<&str>| {
        let mut request = json!({
            "subject": subject("acme-eu"),
            "resource": resource(),
            "evaluations": [
                {"action": {"name": "meeting_summary"}},
                {"action": {"name": "web_search_answers"}},
                {"action": {"name": "teleport"}},
                {"action": {"name": "mail_compose"}},
                {"subject": subject("lion-sg"), "action": {"name": "meeting_summary"}}
            ]
        });
        if let Some(s) = semantic {
            request["options"] = json!({"evaluations_semantic": s});
        }
        request
    };
    let decisions = |body: &Value| -> Vec<bool> {
        body["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["decision"].as_bool().unwrap())
            .collect()
    };
    let (status, all) = app.post("/access/v1/evaluations", &batch(None)).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(decisions(&all), [true, false, false, true, true]);
    assert_eq!(
        all["evaluations"][4]["context"]["route"]["processing_region"],
        "SG"
    );
    // The bad item is a deny carrying its problem; the batch still answers.
    let error = &all["evaluations"][2]["context"]["error"];
    assert_eq!(error["status"], 400);
    assert_eq!(error["errors"][0]["pointer"], "/evaluations/2/action/name");

    let (_, same) = app
        .post("/access/v1/evaluations", &batch(Some("execute_all")))
        .await;
    assert_eq!(decisions(&same), [true, false, false, true, true]);
    let (_, deny_first) = app
        .post("/access/v1/evaluations", &batch(Some("deny_on_first_deny")))
        .await;
    assert_eq!(decisions(&deny_first), [true, false]);
    let (_, permit_first) = app
        .post(
            "/access/v1/evaluations",
            &batch(Some("permit_on_first_permit")),
        )
        .await;
    assert_eq!(decisions(&permit_first), [true]);

    let (status, body) = app
        .post("/access/v1/evaluations", &batch(Some("whatever")))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0]["pointer"],
        "/options/evaluations_semantic"
    );

    // Without `evaluations`, it is one evaluation.
    let (status, one) = app
        .post(
            "/access/v1/evaluations",
            &json!({"subject": subject("lion-sg"), "action": {"name": "meeting_summary"}, "resource": resource()}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["decision"], true);

    // An item with no subject anywhere is a deny with its problem.
    let (_, body) = app
        .post(
            "/access/v1/evaluations",
            &json!({"action": {"name": "meeting_summary"}, "resource": resource(), "evaluations": [{}]}),
        )
        .await;
    assert_eq!(body["evaluations"][0]["decision"], false);
    assert_eq!(
        body["evaluations"][0]["context"]["error"]["errors"][0]["pointer"],
        "/evaluations/0/subject"
    );

    // A residency outside the four values is refused with the request,
    // as the schema says; an unknown region fails its own item only.
    let two_tenants = |residency: &str| {
        json!({
            "action": {"name": "meeting_summary"},
            "resource": resource(),
            "evaluations": [
                {"subject": {"type": "tenant", "id": "t1", "properties": {"region": "MARS"}}},
                {"subject": {"type": "tenant", "id": "t2", "properties": {"region": "EU", "residency": residency}}}
            ]
        })
    };
    let (status, body) = app
        .post("/access/v1/evaluations", &two_tenants("lax"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"],
        json!([{
            "pointer": "/evaluations/1/subject/properties/residency",
            "message": "unknown residency `lax`; valid: `none`, `preferred`, `strict`, `trust_boundary`"
        }])
    );
    let (status, body) = app
        .post(
            "/access/v1/evaluations",
            &json!({
                "subject": {"type": "tenant", "id": "t3", "properties": {"region": "EU", "residency": "lax"}},
                "action": {"name": "meeting_summary"},
                "resource": resource(),
                "evaluations": [{}]
            }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"][0]["pointer"],
        "/subject/properties/residency"
    );
    let (status, body) = app
        .post("/access/v1/evaluations", &two_tenants("strict"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["evaluations"][0]["context"]["error"]["errors"][0]["pointer"],
        "/evaluations/0/subject/properties/region"
    );
    assert_eq!(body["evaluations"][1]["decision"], true);

    let small = spawn_with(
        settings(&[("AIPDP_LIMITS__MAX_BATCH", "2")]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let (status, body) = small.post("/access/v1/evaluations", &batch(None)).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["pointer"], "/evaluations");
}

#[tokio::test]
async fn action_search_lists_the_features_a_tenant_may_use() {
    let app = spawn_app().await;
    let names = |body: &Value| -> Vec<String> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, body) = app
        .post(
            "/access/v1/search/action",
            &json!({"subject": subject("lion-sg"), "resource": resource()}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        names(&body),
        [
            "meeting_summary",
            "meeting_questions",
            "team_chat_compose",
            "whiteboard_content_generation",
            "docs_content_generation",
            "mail_compose",
            "contact_center_virtual_agent"
        ]
    );
    assert_eq!(body["context"]["mode"], "zmo");
    assert_eq!(body["page"]["next_token"], "");

    let (_, body) = app
        .post(
            "/access/v1/search/action",
            &json!({"subject": subject("globex-us"), "resource": resource()}),
        )
        .await;
    assert!(names(&body).contains(&"web_search_answers".to_owned()));
    assert!(!names(&body).contains(&"custom_ai_companion".to_owned()));

    // An unknown tenant is refused, and the refusal counted like any
    // decision that carries a decision id.
    let denies = r#"aipdp_decisions_total{endpoint="authzen",mode="none",outcome="deny"}"#;
    let before = metric(&app.get_text("/metrics").await, denies);
    let (status, body) = app
        .post(
            "/access/v1/search/action",
            &json!({"subject": subject("initech"), "resource": resource()}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["results"], json!([]));
    assert_eq!(codes(&body["context"]["reasons"]), ["unknown_tenant"]);
    assert_eq!(
        metric(&app.get_text("/metrics").await, denies),
        before + 1.0
    );
}

#[tokio::test]
async fn the_metadata_names_the_endpoints() {
    let app = spawn_app().await;
    let (status, body) = app.get("/.well-known/authzen-configuration").await;
    assert_eq!(status, 200);
    let base = format!("http://{}", app.addr);
    assert_eq!(
        body,
        json!({
            "policy_decision_point": base,
            "access_evaluation_endpoint": format!("{base}/access/v1/evaluation"),
            "access_evaluations_endpoint": format!("{base}/access/v1/evaluations"),
            "search_action_endpoint": format!("{base}/access/v1/search/action"),
        })
    );
    let configured = spawn_with(
        settings(&[("AIPDP_AUTHZ__PUBLIC_URL", "https://pdp.example.internal/")]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let (_, body) = configured.get("/.well-known/authzen-configuration").await;
    assert_eq!(
        body["policy_decision_point"],
        "https://pdp.example.internal"
    );
    assert_eq!(
        body["access_evaluation_endpoint"],
        "https://pdp.example.internal/access/v1/evaluation"
    );
}
