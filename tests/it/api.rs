//! The HTTP contract over a real socket: shapes, status codes, headers and
//! the problem+json error contract.

use serde_json::{Value, json};

use crate::helpers::{codes, feature, ids, pointers, settings, spawn_app, spawn_with};

#[tokio::test]
async fn a_decision_has_every_contract_field() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/decisions"))
        .header("content-type", "application/json")
        .body(json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "private, max-age=300");
    let d: Value = response.json().await.unwrap();
    for field in [
        "decision_id",
        "catalog_version",
        "outcome",
        "mode",
        "default_mode",
        "recommended_mode",
        "eligible_modes",
        "providers",
        "features",
        "data_handling",
        "obligations",
        "reasons",
        "ttl_seconds",
    ] {
        assert!(d.get(field).is_some(), "missing `{field}` in {d}");
    }
    assert_eq!(d["catalog_version"], "2026-11-24.3");
    assert_eq!(d["ttl_seconds"], 300);
    assert_eq!(d["recommended_mode"], "zmo");
    assert!(d.get("trace").is_none(), "trace only with explain");
    let provider = &d["providers"][1];
    assert_eq!(provider["id"], "anthropic");
    assert_eq!(provider["processing_region"], "EU");
    assert_eq!(provider["platform"], "amazon_bedrock");
}

#[tokio::test]
async fn decision_ids_are_unique() {
    let app = spawn_app().await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..50 {
        let d = app
            .decide(json!({"tenant": {"region": "US"}, "features": ["meeting_summary"]}))
            .await;
        assert!(seen.insert(d["decision_id"].as_str().unwrap().to_owned()));
    }
}

#[tokio::test]
async fn explain_adds_a_step_by_step_trace() {
    let app = spawn_app().await;
    let d = app
        .decide(
            json!({"tenant": {"region": "SG"}, "features": ["meeting_summary"], "explain": true}),
        )
        .await;
    let trace = codes(&d["trace"]);
    assert_eq!(
        trace,
        [
            "mode_eligible",
            "mode_not_offered",
            "mode_not_offered",
            "eligible_modes",
            "default_mode",
            "feature_routed",
            "all_features_permitted"
        ]
    );
}

#[tokio::test]
async fn a_batch_answers_in_order_and_isolates_bad_items() {
    let app = spawn_app().await;
    let (status, body) = app
        .post(
            "/v1/decisions/batch",
            &json!({"requests": [
                {"tenant": {"region": "EU"}, "features": ["meeting_summary"]},
                {"tenant": {"region": "XX"}, "features": ["meeting_summary"]},
                {"tenant": {"region": "SG"}, "features": ["meeting_summary"], "bogus": 1},
                {"tenant": {"region": "SG"}, "features": ["meeting_summary"]}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["mode"], "zm_plus");
    assert_eq!(results[1]["status"], 400);
    assert_eq!(results[1]["type"], "urn:aipdp:problem:invalid-request");
    assert!(results[1].get("decision_id").is_none());
    assert_eq!(
        results[1]["errors"][0]["pointer"],
        "/requests/1/tenant/region"
    );
    assert_eq!(results[2]["errors"][0]["pointer"], "/requests/2/bogus");
    assert_eq!(results[3]["mode"], "zmo");
}

#[tokio::test]
async fn a_batch_over_its_limit_is_refused() {
    let app = spawn_with(
        settings(&[("AIPDP_LIMITS__MAX_BATCH", "3")]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let item = json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]});
    let (status, body) = app
        .post(
            "/v1/decisions/batch",
            &json!({"requests": [item, item, item, item]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["pointer"], "/requests");
    let (status, _) = app
        .post("/v1/decisions/batch", &json!({"requests": []}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .post(
            "/v1/decisions/batch",
            &json!({"requests": [item, item, item]}),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn route_allows_with_a_route_and_denies_with_reasons() {
    let app = spawn_app().await;
    let (status, allowed) = app
        .post(
            "/v1/route",
            &json!({"tenant": {"region": "EU"}, "feature": "meeting_summary"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(allowed["allow"], true);
    assert_eq!(allowed["mode"], "zm_plus");
    assert_eq!(allowed["feature"], "meeting_summary");
    assert_eq!(allowed["route"]["provider"], "anthropic");
    assert_eq!(allowed["fallbacks"][0]["provider"], "zoom");
    assert!(allowed["decision_id"].is_string() && allowed["ttl_seconds"] == 300);

    let (status, denied) = app
        .post(
            "/v1/route",
            &json!({"tenant": {"region": "SG"}, "feature": "web_search_answers"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(denied["allow"], false);
    assert_eq!(denied["route"], Value::Null);
    assert_eq!(codes(&denied["reasons"])[0], "feature_not_in_mode");

    let (status, bad) = app
        .post(
            "/v1/route",
            &json!({"tenant": {"region": "EU"}, "feature": "teleport"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(bad["errors"][0]["pointer"], "/feature");
}

#[tokio::test]
async fn eligibility_draws_the_whole_grid() {
    let app = spawn_app().await;
    let (status, grid) = app
        .get("/v1/eligibility?region=SG&residency=strict&feature=meeting_summary&feature=custom_ai_companion")
        .await;
    assert_eq!(status, 200, "{grid}");
    assert_eq!(grid["region"], "SG");
    let modes = grid["modes"].as_array().unwrap();
    assert_eq!(
        modes
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["zmo", "zm_plus", "federated"]
    );
    assert_eq!(modes[0]["eligible"], true);
    assert_eq!(modes[0]["is_default"], true);
    assert_eq!(modes[1]["eligible"], false);
    assert_eq!(codes(&modes[1]["reasons"]), ["mode_not_offered"]);
    assert_eq!(modes[0]["features"][0]["supported"], true);
    assert_eq!(modes[0]["features"][1]["supported"], false);
    assert_eq!(
        codes(&modes[0]["features"][1]["reasons"]),
        ["add_on_not_in_mode"]
    );

    let (_, eu) = app
        .get("/v1/eligibility?region=EU&data_cluster=global&residency=strict&denied_provider=anthropic&add_on=custom_ai_companion&feature=custom_ai_companion")
        .await;
    let zm_plus = &eu["modes"][1];
    assert_eq!(zm_plus["eligible"], true);
    assert_eq!(zm_plus["is_default"], true);
    assert_eq!(zm_plus["features"][0]["route"]["provider"], "zoom");
    assert_eq!(eu["modes"][2]["eligible"], false);
    assert_eq!(
        codes(&eu["modes"][2]["reasons"]),
        ["residency_global_processing"]
    );

    let (_, all) = app.get("/v1/eligibility?region=US").await;
    assert_eq!(all["modes"][0]["features"].as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn eligibility_rejects_bad_queries_precisely() {
    let app = spawn_app().await;
    let (status, body) = app.get("/v1/eligibility").await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["pointer"], "/region");
    let (status, body) = app
        .get("/v1/eligibility?region=EU&residency=lax&feature=nope&denied_provider=acme&colour=red")
        .await;
    assert_eq!(status, 400);
    let pointers = pointers(&body);
    for p in ["/colour", "/residency", "/denied_provider/0", "/feature/0"] {
        assert!(pointers.contains(&p), "{p} not in {pointers:?}");
    }
}

#[tokio::test]
async fn catalog_supports_etags() {
    let app = spawn_app().await;
    for path in [
        "/v1/catalog",
        "/v1/catalog/regions",
        "/v1/catalog/modes",
        "/v1/catalog/providers",
        "/v1/catalog/features",
    ] {
        let first = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(first.status(), 200, "{path}");
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let body: Value = first.json().await.unwrap();
        assert!(
            body.get("version")
                .or(body.get("catalog_version"))
                .is_some(),
            "{path}"
        );
        let again = app
            .client
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"], etag.as_str());
        let stale = app
            .client
            .get(app.url(path))
            .header("if-none-match", "\"other\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 200, "{path}");
    }
    let (_, modes) = app.get("/v1/catalog/modes").await;
    assert_eq!(
        ids(&json!(
            modes["modes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].clone())
                .collect::<Vec<_>>()
        )),
        ["zmo", "zm_plus", "federated"]
    );
    let (_, catalog) = app.get("/v1/catalog").await;
    assert_eq!(catalog["version"], "2026-11-24.3");
    assert!(catalog["digest"].as_str().unwrap().len() == 64);
}

#[tokio::test]
async fn malformed_json_is_a_problem() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/decisions"))
        .header("content-type", "application/json")
        .body("{\"tenant\": {\"region\": \"EU\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    for field in ["type", "title", "status", "detail", "errors"] {
        assert!(body.get(field).is_some(), "{field}");
    }
    assert_eq!(body["title"], "Malformed JSON");
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_named() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"tenant": {"region": "EU", "colour": "red"}, "features": ["meeting_summary"]}),
            "/tenant/colour",
        ),
        (
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"], "extra": true}),
            "/extra",
        ),
        (
            json!({"tenant": {"region": 7}, "features": ["meeting_summary"]}),
            "/tenant/region",
        ),
        (json!({"tenant": {"region": "EU"}}), "/features"),
        (
            json!({"tenant": {"region": "EU", "residency": "lax"}, "features": ["meeting_summary"]}),
            "/tenant/residency",
        ),
        (
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary", "meeting_summary"]}),
            "/features/1",
        ),
        (
            json!({"tenant": {"region": "EU"}, "features": []}),
            "/features",
        ),
        (
            json!({"tenant": {"region": "EU", "selected_mode": "max"}, "features": ["meeting_summary"]}),
            "/tenant/selected_mode",
        ),
        (
            json!({"tenant": {"region": "EU", "denied_providers": ["zoom", "acme"]}, "features": ["meeting_summary"]}),
            "/tenant/denied_providers/1",
        ),
        (
            json!({"tenant": {"region": "EU", "compliance": ["sox"]}, "features": ["meeting_summary"]}),
            "/tenant/compliance/0",
        ),
        (
            json!({"tenant": {"id": "nobody"}, "features": ["meeting_summary"]}),
            "/tenant/region",
        ),
    ];
    for (request, pointer) in cases {
        let (status, body) = app.post("/v1/decisions", &request).await;
        assert_eq!(status, 400, "{request}");
        assert_eq!(body["errors"][0]["pointer"], pointer, "{request}: {body}");
    }
}

#[tokio::test]
async fn every_bad_value_in_one_request_is_named() {
    let app = spawn_app().await;
    let request = json!({
        "tenant": {
            "region": "XX",
            "data_cluster": "mars",
            "residency": "lax",
            "selected_mode": "max",
            "allowed_providers": ["acme"],
            "compliance": ["sox"]
        },
        "features": ["meeting_summary", "nope"]
    });
    let (status, body) = app.post("/v1/decisions", &request).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["detail"], "7 fields are invalid");
    let errors: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap(),
                e["message"].as_str().unwrap(),
            )
        })
        .collect();
    let pointers: Vec<&str> = errors.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        pointers,
        [
            "/tenant/region",
            "/tenant/data_cluster",
            "/tenant/selected_mode",
            "/tenant/allowed_providers/0",
            "/tenant/compliance/0",
            "/tenant/residency",
            "/features/1",
        ]
    );
    assert_eq!(
        errors[5].1,
        "unknown residency `lax`; valid: `none`, `preferred`, `strict`, `trust_boundary`"
    );
    assert!(errors[0].1.contains("valid: `US`, `EU`"), "{}", errors[0].1);
}

#[tokio::test]
async fn wrong_content_type_is_415_and_oversized_body_is_413() {
    let app = spawn_with(
        settings(&[("AIPDP_LIMITS__MAX_BODY_BYTES", "2048")]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let response = app
        .client
        .post(app.url("/v1/decisions"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let huge = json!({"tenant": {"region": "EU", "id": "x".repeat(4096)}, "features": ["meeting_summary"]});
    let (status, body) = app.post("/v1/decisions", &huge).await;
    assert_eq!(status, 413);
    assert_eq!(body["status"], 413);
    // The service still answers afterwards.
    let d = app
        .decide(json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(d["mode"], "zm_plus");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let app = spawn_app().await;
    let (status, body) = app.get("/v2/nothing").await;
    assert_eq!(status, 404);
    assert_eq!(body["status"], 404);
    let response = app
        .client
        .delete(app.url("/v1/decisions"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(body["catalog_version"], "2026-11-24.3");
}

#[tokio::test]
async fn profile_decisions_report_the_profile_tenant() {
    let app = spawn_app().await;
    let d = app.decide(json!({"tenant": {"id": "mercy-health-us"}, "features": ["meeting_summary", "web_search_answers"]})).await;
    assert_eq!(d["tenant"]["id"], "mercy-health-us");
    assert_eq!(d["mode"], "zmo");
    assert_eq!(d["outcome"], "partial");
    assert_eq!(feature(&d, "meeting_summary")["route"]["provider"], "zoom");
    let codes = codes(&d["obligations"]);
    assert!(
        codes.contains(&"hipaa_baa_required") && codes.contains(&"high_exposure_sector"),
        "{codes:?}"
    );
}

#[tokio::test]
async fn a_swapped_catalog_decides_from_then_on() {
    let app = spawn_app().await;
    let text =
        crate::catalog_edits::edited("version = \"2026-11-24.3\"", "version = \"2026-12-01.1\"");
    let next = aipdp::catalog::Catalog::from_toml(&text).unwrap();
    app.state
        .swap_catalog(aipdp::http::LoadedCatalog::new(next, "test"));
    let d = app
        .decide(json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(d["catalog_version"], "2026-12-01.1");
    let (_, ready) = app.get("/readyz").await;
    assert_eq!(ready["catalog_version"], "2026-12-01.1");
}
