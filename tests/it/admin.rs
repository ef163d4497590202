//! Admin portals: what-if across modes, the catalog diff and its impact,
//! the changelog, and the explorer's pages.

use aipdp::catalog::Catalog;
use aipdp::diff::{Change, diff};
use predicates::prelude::*;
use serde_json::{Value, json};

use crate::catalog_edits::{ZM_PLUS_REGIONS, edited};
use crate::helpers::{aipdp, codes, file_with, ids, settings, spawn_app, spawn_with};

fn rollout() -> String {
    edited(ZM_PLUS_REGIONS, "regions = [\"US\", \"EU\", \"SG\"]")
}

fn column<'a>(answer: &'a Value, mode: &str) -> &'a Value {
    answer["modes"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["mode"] == mode))
        .unwrap_or_else(|| panic!("no column `{mode}` in {answer}"))
}

fn summary<'a>(answer: &'a Value, mode: &str) -> &'a Value {
    answer["summary"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["mode"] == mode))
        .unwrap_or_else(|| panic!("no summary for `{mode}` in {answer}"))
}

fn feature<'a>(column: &'a Value, id: &str) -> &'a Value {
    column["features"]
        .as_array()
        .and_then(|l| l.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no feature `{id}` in {column}"))
}

// ---------------------------------------------------------------------------
// POST /v1/decisions/compare
// ---------------------------------------------------------------------------

#[tokio::test]
async fn compare_shows_every_mode_and_what_moving_gains_and_loses() {
    let app = spawn_app().await;
    let (status, a) = app
        .post(
            "/v1/decisions/compare",
            &json!({
                "tenant": {"region": "EU", "data_cluster": "global", "compliance": ["gdpr"],
                           "add_ons": ["custom_ai_companion"], "training_opt_out": true},
                "features": ["meeting_summary", "web_search_answers", "custom_ai_companion"]
            }),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["current_mode"], "zm_plus");
    assert_eq!(a["current_mode_source"], "decided");
    assert_eq!(a["default_mode"], "zm_plus");
    assert_eq!(a["recommended_mode"], "federated");
    assert_eq!(ids(&a["eligible_modes"]), ["zmo", "zm_plus", "federated"]);
    let order: Vec<&str> = a["modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["mode"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["zmo", "zm_plus", "federated"]);

    let zmo = column(&a, "zmo");
    assert_eq!(zmo["eligible"], true);
    assert_eq!(zmo["is_current"], false);
    assert_eq!(zmo["outcome"], "partial");
    assert_eq!(feature(zmo, "meeting_summary")["route"]["provider"], "zoom");
    assert_eq!(
        codes(&feature(zmo, "custom_ai_companion")["reasons"]),
        ["add_on_not_in_mode"]
    );
    assert_eq!(
        zmo["data_handling"],
        json!({"processing": "in_region", "third_party": false, "customer_content_training": false})
    );
    let zm_plus = column(&a, "zm_plus");
    assert_eq!(zm_plus["is_current"], true);
    assert_eq!(zm_plus["is_default"], true);
    assert_eq!(
        feature(zm_plus, "meeting_summary")["route"],
        json!({"provider": "anthropic", "model": "claude-sonnet-4-5", "processing_region": "EU", "platform": "amazon_bedrock",
               "endpoint": "bedrock-runtime.eu-central-1.amazonaws.com", "provider_model": "eu.anthropic.claude-sonnet-4-5",
               "params": {"aws_region": "eu-central-1"}})
    );
    let federated = column(&a, "federated");
    assert_eq!(federated["outcome"], "permit");
    assert_eq!(federated["data_handling"]["processing"], "global");
    assert!(codes(&federated["obligations"]).contains(&"gdpr_international_transfer"));

    // The summary has one entry per mode other than the current one.
    assert_eq!(a["summary"].as_array().unwrap().len(), 2);
    let to_zmo = summary(&a, "zmo");
    assert_eq!(ids(&to_zmo["gained_features"]), Vec::<&str>::new());
    assert_eq!(ids(&to_zmo["lost_features"]), ["custom_ai_companion"]);
    assert_eq!(to_zmo["third_party"], json!({"from": true, "to": false}));
    assert_eq!(to_zmo["rerouted_features"][0]["feature"], "meeting_summary");
    assert_eq!(
        to_zmo["rerouted_features"][0]["from"]["provider"],
        "anthropic"
    );
    assert_eq!(to_zmo["rerouted_features"][0]["to"]["provider"], "zoom");
    let to_federated = summary(&a, "federated");
    assert_eq!(
        ids(&to_federated["gained_features"]),
        ["web_search_answers"]
    );
    assert_eq!(ids(&to_federated["lost_features"]), Vec::<&str>::new());
    assert_eq!(
        to_federated["processing"],
        json!({"from": "in_region", "to": "global"})
    );
    assert_eq!(
        ids(&to_federated["obligations_added"]),
        [
            "outside_trust_boundary",
            "residency_preference_unmet",
            "gdpr_international_transfer"
        ]
    );
    assert!(
        to_federated["message"]
            .as_str()
            .unwrap()
            .contains("gains `web_search_answers`")
    );
}

#[tokio::test]
async fn compare_says_why_a_mode_is_not_eligible_for_each_feature() {
    let app = spawn_app().await;
    let (status, a) = app
        .post(
            "/v1/decisions/compare",
            &json!({"tenant": {"region": "SG", "residency": "strict"},
                    "features": ["meeting_summary"], "explain": true}),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["current_mode"], "zmo");
    for mode in ["zm_plus", "federated"] {
        let c = column(&a, mode);
        assert_eq!(c["eligible"], false);
        assert_eq!(c["outcome"], "deny");
        assert_eq!(codes(&c["reasons"]), ["mode_not_offered"]);
        assert_eq!(
            codes(&feature(c, "meeting_summary")["reasons"]),
            ["mode_not_offered"]
        );
        assert_eq!(c["data_handling"], Value::Null);
        assert!(codes(&c["trace"]).contains(&"selected_mode_not_eligible"));
        let s = summary(&a, mode);
        assert_eq!(s["eligible"], false);
        assert_eq!(ids(&s["lost_features"]), ["meeting_summary"]);
        assert_eq!(
            s["message"],
            format!(
                "`{mode}` is not eligible for this tenant: mode `{mode}` is not offered in region `SG` on the `local` cluster"
            )
        );
    }
    assert!(codes(&column(&a, "zmo")["trace"]).contains(&"feature_routed"));
}

#[tokio::test]
async fn compare_keeps_the_asked_order_and_a_selection_is_the_current_mode() {
    let app = spawn_app().await;
    let (status, a) = app
        .post(
            "/v1/decisions/compare",
            &json!({"tenant": {"region": "SG", "selected_mode": "federated"},
                    "features": ["meeting_summary"], "modes": ["zmo"]}),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    // The selection is where the tenant stands, even though it is not eligible.
    assert_eq!(a["current_mode"], "federated");
    assert_eq!(a["current_mode_source"], "selected");
    assert_eq!(a["modes"].as_array().unwrap().len(), 1);
    assert!(a["modes"][0].get("trace").is_none());
    let s = summary(&a, "zmo");
    assert_eq!(ids(&s["gained_features"]), ["meeting_summary"]);
    let (_, b) = app
        .post(
            "/v1/decisions/compare",
            &json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"],
                    "modes": ["federated", "zmo"]}),
        )
        .await;
    assert_eq!(b["modes"][0]["mode"], "federated");
    assert_eq!(b["modes"][1]["mode"], "zmo");
    // The current mode (zm_plus) is compared against though not shown.
    assert_eq!(
        summary(&b, "zmo")["rerouted_features"][0]["from"]["provider"],
        "anthropic"
    );
}

#[tokio::test]
async fn compare_refuses_bad_input_like_decisions_do() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"], "modes": ["zmo", "turbo"]}),
            vec!["/modes/1"],
            "unknown mode `turbo`; valid: `zmo`, `zm_plus`, `federated`",
        ),
        (
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"], "modes": ["zmo", "zmo"]}),
            vec!["/modes/1"],
            "mode `zmo` is listed twice",
        ),
        (
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"], "modes": []}),
            vec!["/modes"],
            "list at least one mode",
        ),
        (
            json!({"tenant": {"region": "MARS"}, "features": ["nope"], "modes": ["turbo"]}),
            vec!["/tenant/region", "/features/0", "/modes/0"],
            "unknown region `MARS`",
        ),
        (
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"], "mode": ["zmo"]}),
            vec!["/mode"],
            "unknown field `mode`",
        ),
        (
            json!({"tenant": {"region": "EU"}}),
            vec!["/features"],
            "missing field `features`",
        ),
    ];
    for (body, pointers, words) in cases {
        let (status, p) = app.post("/v1/decisions/compare", &body).await;
        assert_eq!(status, 400, "{body} -> {p}");
        assert_eq!(p["type"], "urn:aipdp:problem:invalid-request", "{p}");
        assert_eq!(crate::helpers::pointers(&p), pointers, "{p}");
        assert!(p.to_string().contains(words), "{words:?} not in {p}");
    }
    let response = app
        .client
        .post(app.url("/v1/decisions/compare"))
        .header("content-type", "application/json")
        .body("{\"tenant\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let p: Value = response.json().await.unwrap();
    assert_eq!(p["type"], "urn:aipdp:problem:malformed-json");
    let response = app
        .client
        .post(app.url("/v1/decisions/compare"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
}

// ---------------------------------------------------------------------------
// Catalog diff
// ---------------------------------------------------------------------------

/// The rollout the vendor is making: SG tenants gain zm_plus, nothing else moves.
#[test]
fn rolling_zm_plus_out_to_sg_changes_only_sg_decisions_which_gain_zm_plus() {
    let old = Catalog::builtin().unwrap();
    let new = Catalog::from_toml(&rollout()).unwrap();
    let d = diff(&old, &new);
    assert_eq!(
        d.changes,
        [Change {
            kind: "mode_region_added",
            entry: "modes[zm_plus]".into(),
            message: "`zm_plus` is now offered in `SG` on the `global`, `local` cluster(s)".into(),
            old: Some(String::new()),
            new: Some("global, local".into()),
        }]
    );
    assert!(d.changes_decisions());
    let mut profiles = Vec::new();
    for s in &d.impact.changed {
        let (a, b) = (s.old.as_ref().unwrap(), s.new.as_ref().unwrap());
        assert_eq!(s.scenario.region, "SG", "{s:?}");
        assert_ne!(s.scenario.residency.as_str(), "trust_boundary");
        assert!(!a.eligible_modes.contains(&"zm_plus".to_owned()));
        let mut gained = b.eligible_modes.clone();
        gained.retain(|m| m != "zm_plus");
        assert_eq!(gained, a.eligible_modes, "only zm_plus is gained: {s:?}");
        assert_eq!(b.eligible_modes.len(), a.eligible_modes.len() + 1);
        if s.scenario.selected_mode.as_deref() == Some("zm_plus") {
            // Selecting zm_plus was a deny; now it decides, in region.
            assert_eq!((a.outcome, a.mode.as_deref()), ("deny", None));
            assert_eq!((b.outcome, b.mode.as_deref()), ("partial", Some("zm_plus")));
            assert_eq!(
                s.differs,
                [
                    "outcome",
                    "mode",
                    "eligible_modes",
                    "routes",
                    "processing",
                    "third_party"
                ]
            );
            let summary = b
                .routes
                .iter()
                .find(|r| r.feature == "meeting_summary")
                .unwrap();
            assert_eq!(summary.provider.as_deref(), Some("anthropic"));
            assert_eq!(summary.processing_region.as_deref(), Some("SG"));
            assert_eq!(b.processing, Some("in_region"));
        } else {
            // Any other tenant keeps its mode, routes and obligations.
            assert_eq!(s.differs, ["eligible_modes"], "{s:?}");
        }
        profiles.extend(s.scenario.profile.clone());
    }
    assert_eq!(profiles, ["lion-sg"]);
    // SG x {global, local} x {none, preferred, strict} x {no selection,
    // zmo, zm_plus, federated}, and the lion-sg profile.
    assert_eq!(d.impact.changed.len(), 2 * 3 * 4 + 1);
}

#[test]
fn diff_exits_1_when_decisions_change_and_0_when_none_do() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config/catalog.toml");
    let rollout = file_with(&rollout());
    aipdp()
        .args(["diff", shipped])
        .arg(rollout.path())
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains(
                "mode_region_added modes[zm_plus]: `zm_plus` is now offered in `SG`",
            )
            .and(predicate::str::contains(
                "impact: 25 of 228 decisions change",
            ))
            .and(predicate::str::contains(
                "profile lion-sg (SG local strict, no selection) [eligible_modes]",
            ))
            .and(predicate::str::contains(
                "eligible_modes: [zmo] -> [zmo, zm_plus]",
            )),
        );
    let output = aipdp()
        .args(["diff", "--format", "json", shipped])
        .arg(rollout.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let json: Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(json["changes"][0]["kind"], "mode_region_added");
    assert_eq!(json["impact"]["scenarios"], 228);
    assert_eq!(json["impact"]["changed"].as_array().unwrap().len(), 25);

    // A change that moves no decision: a new changelog entry.
    let reworded = file_with(&edited(
        "summary = \"First aipdp catalog: modes, providers and example features, routes and tenant profiles.\"",
        "summary = \"First aipdp catalog: modes, providers and example features, routes and tenant profiles.\"\n\n[[changelog]]\nversion = \"2026-11-02.1\"\ndate = \"2026-11-02\"\nsummary = \"Wording only.\"",
    ));
    aipdp()
        .args(["diff", shipped])
        .arg(reworded.path())
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("changelog_added changelog[2026-11-02.1]").and(
                predicate::str::contains("impact: 0 of 228 decisions change"),
            ),
        );
}

#[test]
fn diff_refuses_an_invalid_catalog_with_3_and_bad_usage_with_64() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config/catalog.toml");
    let bad = file_with(&edited(
        "default_mode = \"zm_plus\"   # EU accounts",
        "default_mode = \"turbo\" #",
    ));
    aipdp()
        .args(["diff", shipped])
        .arg(bad.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains("regions[EU]"));
    aipdp()
        .args(["diff", "/nonexistent.toml", shipped])
        .assert()
        .code(3);
    aipdp().args(["diff", shipped]).assert().code(64);
    aipdp()
        .args(["diff", "--format", "yaml", shipped, shipped])
        .assert()
        .code(64);
}

// ---------------------------------------------------------------------------
// Changelog and the explorer
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_changelog_is_a_catalog_sub_resource_with_etags() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/v1/catalog/changelog"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["catalog_version"], "2026-11-24.3");
    let versions: Vec<&str> = body["changelog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        [
            "2025-10-16",
            "2026-11-01.1",
            "2026-11-24.1",
            "2026-11-24.2",
            "2026-11-24.3"
        ]
    );
    assert_eq!(body["changelog"][1]["date"], "2026-11-01");
    assert_eq!(body["changelog"][2]["date"], "2026-11-24");
    let cached = app
        .client
        .get(app.url("/v1/catalog/changelog"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let (_, doc) = app.get("/openapi.json").await;
    for path in ["/v1/decisions/compare", "/v1/catalog/changelog"] {
        assert!(doc["paths"].get(path).is_some(), "{path} not in the spec");
    }
}

#[tokio::test]
async fn the_explorer_is_served_from_the_binary_and_stays_on_its_origin() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/ui", "text/html"),
        ("/ui/", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/style.css", "text/css"),
        ("/ui/api", "text/html"),
        ("/ui/api.js", "text/javascript"),
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        let text = response.text().await.unwrap();
        assert!(text.len() > 200, "{path} is empty");
        // Nothing is loaded from elsewhere.
        for word in ["http://", "https://", "//cdn", "@import"] {
            assert!(!text.contains(word), "{path} mentions {word}");
        }
    }
    assert_eq!(app.get("/ui/missing.js").await.0, 404);
}

#[tokio::test]
async fn admin_catalog_diff_compares_an_upload_with_the_catalog_in_force() {
    let token = "diff-admin-token";
    let app = spawn_with(
        settings(&[("AIPDP_AUTH__ADMIN_TOKENS", token)]),
        aipdp::catalog::BUILTIN_SOURCE,
    )
    .await;
    let post = |body: String, content_type: &'static str, bearer: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url("/admin/catalog/diff"))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = bearer {
            request = request.bearer_auth(t);
        }
        request.send()
    };

    let response = post(rollout(), "application/toml", Some(token))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let diff: serde_json::Value = response.json().await.unwrap();
    assert_eq!(diff["changes"].as_array().unwrap().len(), 1);
    assert_eq!(diff["changes"][0]["kind"], "mode_region_added");
    assert_eq!(diff["changes"][0]["entry"], "modes[zm_plus]");
    let changed = diff["impact"]["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 25);
    assert!(
        changed
            .iter()
            .all(|c| c["scenario"].to_string().contains("SG"))
    );

    let same = post(
        aipdp::catalog::BUILTIN_SOURCE.to_owned(),
        "text/plain",
        Some(token),
    )
    .await
    .unwrap();
    let same: serde_json::Value = same.json().await.unwrap();
    assert!(same["changes"].as_array().unwrap().is_empty());
    assert!(same["impact"]["changed"].as_array().unwrap().is_empty());

    let broken = crate::catalog_edits::edited(
        "default_mode = \"zm_plus\"   # EU accounts",
        "default_mode = \"turbo\" #",
    );
    let response = post(broken, "application/toml", Some(token)).await.unwrap();
    assert_eq!(response.status(), 422);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("regions[EU]"),
        "{problem}"
    );

    let response = post(rollout(), "application/json", Some(token))
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let response = post(rollout(), "application/toml", None).await.unwrap();
    assert_eq!(response.status(), 401);
    let response = post(rollout(), "application/toml", Some("wrong"))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn admin_catalog_diff_is_off_without_an_admin_token() {
    let app = crate::helpers::spawn_app().await;
    let response = app
        .client
        .post(app.url("/admin/catalog/diff"))
        .header("content-type", "application/toml")
        .body(rollout())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
