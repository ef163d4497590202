//! One test per fact of the domain, against the shipped catalog over HTTP.

use serde_json::json;

use crate::helpers::{codes, feature, ids, messages, spawn_app};

#[tokio::test]
async fn eu_defaults_to_zm_plus() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(d["outcome"], "permit");
    assert_eq!(d["mode"], "zm_plus");
    assert_eq!(d["default_mode"], "zm_plus");
    assert!(codes(&d["reasons"]).contains(&"default_mode"));
    let route = &feature(&d, "meeting_summary")["route"];
    assert_eq!(route["provider"], "anthropic");
    assert_eq!(route["platform"], "amazon_bedrock");
    assert_eq!(route["processing_region"], "EU");
    assert_eq!(d["data_handling"]["processing"], "in_region");
}

#[tokio::test]
async fn regions_outside_us_and_eu_offer_only_zmo() {
    let app = spawn_app().await;
    for region in ["SG", "KSA", "AU", "IN", "CA"] {
        for cluster in ["global", "local"] {
            let d = app
                .decide(json!({"tenant": {"region": region, "data_cluster": cluster, "residency": "none"}, "features": ["meeting_summary"]}))
                .await;
            assert_eq!(ids(&d["eligible_modes"]), ["zmo"], "{region}/{cluster}");
            assert_eq!(d["mode"], "zmo", "{region}");
            assert_eq!(d["default_mode"], "zmo", "{region}");
            assert_eq!(
                feature(&d, "meeting_summary")["route"]["processing_region"],
                region
            );
        }
    }
}

#[tokio::test]
async fn zm_plus_and_federated_are_offered_in_us_and_eu() {
    let app = spawn_app().await;
    for region in ["US", "EU"] {
        let d = app
            .decide(json!({"tenant": {"region": region, "data_cluster": "global", "residency": "none"}, "features": ["meeting_summary"]}))
            .await;
        assert_eq!(
            ids(&d["eligible_modes"]),
            ["zmo", "zm_plus", "federated"],
            "{region}"
        );
    }
}

#[tokio::test]
async fn zmo_serves_the_documented_features_with_vendor_models_only() {
    let app = spawn_app().await;
    let features = [
        "meeting_summary",
        "team_chat_compose",
        "whiteboard_content_generation",
        "docs_content_generation",
    ];
    let d = app
        .decide(json!({"tenant": {"region": "US", "selected_mode": "zmo"}, "features": features}))
        .await;
    assert_eq!(d["outcome"], "permit");
    for f in features {
        assert_eq!(feature(&d, f)["route"]["provider"], "zoom", "{f}");
    }
    assert_eq!(d["data_handling"]["third_party"], false);
    assert_eq!(
        ids(&json!(
            d["providers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].clone())
                .collect::<Vec<_>>()
        )),
        ["zoom"]
    );
}

#[tokio::test]
async fn third_party_features_are_not_available_under_zmo() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "US", "selected_mode": "zmo"}, "features": ["web_search_answers"]}))
        .await;
    assert_eq!(d["outcome"], "deny");
    assert_eq!(d["mode"], "zmo");
    let f = feature(&d, "web_search_answers");
    assert_eq!(f["permitted"], false);
    assert!(f.get("route").is_none());
    assert_eq!(codes(&f["reasons"]), ["feature_not_in_mode"]);
}

#[tokio::test]
async fn zm_plus_does_not_support_every_feature() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "EU", "data_cluster": "global"}, "features": ["meeting_summary", "web_search_answers"]}))
        .await;
    assert_eq!(d["mode"], "zm_plus");
    assert_eq!(d["outcome"], "partial");
    assert_eq!(feature(&d, "web_search_answers")["permitted"], false);
    assert_eq!(d["recommended_mode"], "federated");
    // On the local cluster no mode serves web answers in region.
    let local = app
        .decide(json!({"tenant": {"region": "EU", "data_cluster": "local"}, "features": ["meeting_summary", "web_search_answers"]}))
        .await;
    assert_eq!(local["recommended_mode"], serde_json::Value::Null);
}

#[tokio::test]
async fn custom_ai_companion_is_not_available_under_zmo() {
    let app = spawn_app().await;
    let tenant =
        json!({"region": "EU", "selected_mode": "zmo", "add_ons": ["custom_ai_companion"]});
    let d = app
        .decide(json!({"tenant": tenant, "features": ["custom_ai_companion"]}))
        .await;
    assert_eq!(d["outcome"], "deny");
    assert_eq!(d["mode"], "zmo");
    assert_eq!(
        codes(&feature(&d, "custom_ai_companion")["reasons"]),
        ["add_on_not_in_mode"]
    );
    assert!(codes(&d["reasons"]).contains(&"add_on_unavailable"));
    assert_eq!(d["recommended_mode"], "zm_plus");
}

#[tokio::test]
async fn custom_ai_companion_works_under_zm_plus_with_the_add_on() {
    let app = spawn_app().await;
    let with = app
        .decide(json!({"tenant": {"region": "EU", "add_ons": ["custom_ai_companion"]}, "features": ["custom_ai_companion"]}))
        .await;
    assert_eq!(with["outcome"], "permit");
    assert_eq!(with["mode"], "zm_plus");
    let without = app
        .decide(json!({"tenant": {"region": "EU"}, "features": ["custom_ai_companion"]}))
        .await;
    assert_eq!(without["outcome"], "deny");
    assert_eq!(
        codes(&feature(&without, "custom_ai_companion")["reasons"]),
        ["add_on_required"]
    );
}

#[tokio::test]
async fn strict_residency_removes_global_cluster_federated() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "EU", "data_cluster": "global", "residency": "strict"}, "features": ["meeting_summary"], "explain": true}))
        .await;
    assert_eq!(ids(&d["eligible_modes"]), ["zmo", "zm_plus"]);
    assert!(codes(&d["trace"]).contains(&"residency_global_processing"));
    let selected = app
        .decide(json!({"tenant": {"region": "EU", "data_cluster": "global", "residency": "strict", "selected_mode": "federated"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(selected["outcome"], "deny");
    assert_eq!(selected["mode"], serde_json::Value::Null);
}

#[tokio::test]
async fn strict_residency_keeps_local_cluster_federated_in_region() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "EU", "data_cluster": "local", "residency": "strict", "selected_mode": "federated"},
                       "features": ["contact_center_virtual_agent", "meeting_summary", "web_search_answers"]}))
        .await;
    assert_eq!(ids(&d["eligible_modes"]), ["zmo", "zm_plus", "federated"]);
    assert_eq!(d["mode"], "federated");
    assert_eq!(d["data_handling"]["processing"], "in_region");
    let voice = &feature(&d, "contact_center_virtual_agent")["route"];
    assert_eq!(voice["provider"], "elevenlabs");
    assert_eq!(voice["processing_region"], "EU");
    // OpenAI is there for the contact-centre product only, and Perplexity not at all.
    assert_eq!(
        feature(&d, "meeting_summary")["route"]["provider"],
        "anthropic"
    );
    assert_eq!(
        codes(&feature(&d, "web_search_answers")["reasons"]),
        ["feature_not_offered_here"]
    );
}

#[tokio::test]
async fn global_federated_may_process_globally() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "US", "data_cluster": "global", "selected_mode": "federated"}, "features": ["web_search_answers"]}))
        .await;
    assert_eq!(d["outcome"], "permit");
    assert_eq!(d["data_handling"]["processing"], "global");
    assert_eq!(d["data_handling"]["third_party"], true);
    assert_eq!(
        feature(&d, "web_search_answers")["route"]["provider"],
        "perplexity"
    );
    assert_eq!(
        feature(&d, "web_search_answers")["route"]["processing_region"],
        "global"
    );
}

#[tokio::test]
async fn trust_boundary_leaves_zmo_only() {
    let app = spawn_app().await;
    for (region, cluster) in [("US", "global"), ("EU", "global"), ("EU", "local")] {
        let d = app
            .decide(json!({"tenant": {"region": region, "data_cluster": cluster, "residency": "trust_boundary"}, "features": ["meeting_summary"]}))
            .await;
        assert_eq!(ids(&d["eligible_modes"]), ["zmo"], "{region}/{cluster}");
        assert_eq!(d["mode"], "zmo");
        assert_eq!(d["data_handling"]["third_party"], false);
    }
}

#[tokio::test]
async fn an_ineligible_selected_mode_is_a_deny_naming_the_eligible_modes() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "SG", "selected_mode": "zm_plus"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(d["outcome"], "deny");
    assert_eq!(d["mode"], serde_json::Value::Null);
    assert_eq!(ids(&d["eligible_modes"]), ["zmo"]);
    let reason = d["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "selected_mode_not_eligible")
        .unwrap();
    assert!(
        reason["message"].as_str().unwrap().contains("`zmo`"),
        "{reason}"
    );
    assert_eq!(feature(&d, "meeting_summary")["permitted"], false);
}

#[tokio::test]
async fn a_denied_provider_is_never_routed_to() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "US", "data_cluster": "global", "selected_mode": "federated", "denied_providers": ["anthropic"]},
                       "features": ["meeting_summary", "docs_content_generation"]}))
        .await;
    for f in ["meeting_summary", "docs_content_generation"] {
        let entry = feature(&d, f);
        assert_eq!(entry["route"]["provider"], "openai");
        assert!(
            entry["fallbacks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["provider"] != "anthropic")
        );
    }
    assert!(
        d["providers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] != "anthropic")
    );
}

#[tokio::test]
async fn an_allow_list_limits_the_providers() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "EU", "allowed_providers": ["zoom"]}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(d["mode"], "zm_plus");
    assert_eq!(feature(&d, "meeting_summary")["route"]["provider"], "zoom");
    assert_eq!(d["data_handling"]["third_party"], false);
    let only_denied = app
        .decide(json!({"tenant": {"region": "EU", "allowed_providers": ["perplexity"], "selected_mode": "zmo"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(only_denied["outcome"], "deny");
    assert!(codes(&only_denied["reasons"]).contains(&"selected_mode_not_eligible"));
}

#[tokio::test]
async fn a_profile_is_only_tightened_by_a_request() {
    let app = spawn_app().await;
    // lion-sg is strict; asking for `none` and another region is ignored.
    let d = app
        .decide(json!({"tenant": {"id": "lion-sg", "residency": "none", "region": "US"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(d["tenant"]["residency"], "strict");
    assert_eq!(d["tenant"]["region"], "SG");
    let reasons = &d["reasons"];
    assert!(codes(reasons).contains(&"profile_applied"));
    let ignored = messages(reasons, "profile_loosening_ignored");
    assert_eq!(ignored.len(), 2, "{reasons}");
    // acme-eu is strict on the local cluster; trust_boundary tightens it.
    let tightened = app
        .decide(json!({"tenant": {"id": "acme-eu", "residency": "trust_boundary"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(tightened["tenant"]["residency"], "trust_boundary");
    assert_eq!(ids(&tightened["eligible_modes"]), ["zmo"]);
    // A provider outside the profile's allow list cannot be added back.
    let d = app
        .decide(json!({"tenant": {"id": "acme-eu", "denied_providers": ["anthropic"], "add_ons": []}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(feature(&d, "meeting_summary")["route"]["provider"], "zoom");
    // A list is narrowed to the profile's: the extra entries are ignored,
    // and the reason says so rather than that the whole list was.
    let d = app
        .decide(json!({"tenant": {"id": "lion-sg", "add_ons": ["custom_ai_companion"]}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(
        messages(&d["reasons"], "profile_loosening_ignored"),
        [
            "`add_ons` in the request names some the tenant profile does not have; those were ignored and the rest applied"
        ]
    );
}

#[tokio::test]
async fn an_unknown_region_is_a_400_listing_the_valid_ones() {
    let app = spawn_app().await;
    let (status, body) = app
        .post(
            "/v1/decisions",
            &json!({"tenant": {"region": "MARS"}, "features": ["meeting_summary"]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["status"], 400);
    let error = &body["errors"][0];
    assert_eq!(error["pointer"], "/tenant/region");
    let message = error["message"].as_str().unwrap();
    for region in ["US", "EU", "SG", "KSA", "AU", "IN", "CA"] {
        assert!(message.contains(&format!("`{region}`")), "{message}");
    }
}

#[tokio::test]
async fn every_answer_says_customer_content_is_not_used_for_training() {
    let app = spawn_app().await;
    for tenant in [
        json!({"region": "US"}),
        json!({"region": "EU", "selected_mode": "federated"}),
        json!({"region": "SG", "selected_mode": "federated"}),
    ] {
        let d = app
            .decide(json!({"tenant": tenant, "features": ["meeting_summary"]}))
            .await;
        assert_eq!(
            d["data_handling"]["customer_content_training"], false,
            "{tenant}"
        );
    }
}

#[tokio::test]
async fn hipaa_raises_a_baa_obligation() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "US", "compliance": ["hipaa"], "training_opt_out": true}, "features": ["meeting_summary"]}))
        .await;
    let codes = codes(&d["obligations"]);
    assert!(codes.contains(&"hipaa_baa_required"), "{codes:?}");
    let baa = d["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["code"] == "hipaa_baa_required")
        .unwrap();
    assert!(
        baa["message"]
            .as_str()
            .unwrap()
            .contains("Business Associate Agreement")
    );
}

#[tokio::test]
async fn each_regulatory_hook_of_the_sources_adds_its_obligation() {
    let app = spawn_app().await;
    for (regime, code) in [
        ("gdpr", "gdpr_legal_basis"),
        ("ccpa", "ccpa_training_rights"),
        ("eu_ai_act", "eu_ai_act_classification"),
        ("bipa", "bipa_biometric_consent"),
        ("hipaa", "hipaa_baa_required"),
        ("ftc", "ftc_training_representations"),
    ] {
        let d = app
            .decide(json!({"tenant": {"region": "US", "compliance": [regime], "training_opt_out": true}, "features": ["meeting_summary"]}))
            .await;
        assert!(
            codes(&d["obligations"]).contains(&code),
            "{regime}: {}",
            d["obligations"]
        );
    }
}

/// zm_plus runs Anthropic on Amazon Bedrock: a third party processes the
/// data, but no content reaches Anthropic itself.
#[tokio::test]
async fn under_zm_plus_hipaa_warns_of_third_party_processing_not_of_the_provider_itself() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "US", "selected_mode": "zm_plus", "compliance": ["hipaa"], "training_opt_out": true}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(d["mode"], "zm_plus");
    let [message] = messages(&d["obligations"], "hipaa_third_party_processing")[..] else {
        panic!("one HIPAA third-party warning: {}", d["obligations"]);
    };
    assert!(!message.contains("provider"), "{message}");
    assert!(
        !codes(&d["obligations"]).contains(&"outside_trust_boundary"),
        "{}",
        d["obligations"]
    );
}

#[tokio::test]
async fn not_opting_out_of_training_raises_the_consent_warning() {
    let app = spawn_app().await;
    let warned = app
        .decide(json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}))
        .await;
    assert!(codes(&warned["obligations"]).contains(&"training_consent_warning"));
    let opted_out = app
        .decide(json!({"tenant": {"region": "EU", "training_opt_out": true}, "features": ["meeting_summary"]}))
        .await;
    assert!(!codes(&opted_out["obligations"]).contains(&"training_consent_warning"));
}

#[tokio::test]
async fn gdpr_warns_of_transfers_only_under_global_processing() {
    let app = spawn_app().await;
    let tenant = |mode: &str| json!({"region": "EU", "data_cluster": "global", "residency": "none", "compliance": ["gdpr"], "training_opt_out": true, "selected_mode": mode});
    let local = app
        .decide(json!({"tenant": tenant("zm_plus"), "features": ["meeting_summary"]}))
        .await;
    assert_eq!(codes(&local["obligations"]), ["gdpr_legal_basis"]);
    let global = app
        .decide(json!({"tenant": tenant("federated"), "features": ["meeting_summary"]}))
        .await;
    assert_eq!(
        codes(&global["obligations"]),
        [
            "outside_trust_boundary",
            "gdpr_legal_basis",
            "gdpr_international_transfer"
        ]
    );
}

/// Federated calls third-party providers directly, outside the vendor's
/// trust boundary, on either cluster; zm_plus reaches Anthropic on Amazon
/// Bedrock, which sends no content to Anthropic itself.
#[tokio::test]
async fn data_sent_to_a_provider_itself_is_warned_not_data_sent_through_bedrock() {
    let app = spawn_app().await;
    let obligations = |cluster: &str, mode: &str, denied: &[&str]| {
        let body = json!({"tenant": {"region": "EU", "data_cluster": cluster, "residency": "none", "training_opt_out": true, "selected_mode": mode, "denied_providers": denied}, "features": ["meeting_summary"]});
        let app = &app;
        async move {
            codes(&app.decide(body).await["obligations"])
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
        }
    };
    let warned = ["outside_trust_boundary"];
    assert_eq!(obligations("global", "federated", &[]).await, warned);
    assert_eq!(obligations("local", "federated", &[]).await, warned);
    assert!(obligations("global", "zm_plus", &[]).await.is_empty());
    assert!(obligations("global", "zmo", &[]).await.is_empty());
    // Without a third party left to call, there is no one to warn about.
    let message = app
        .decide(json!({"tenant": {"region": "EU", "data_cluster": "global", "residency": "none", "training_opt_out": true, "selected_mode": "federated"}, "features": ["meeting_summary"]}))
        .await["obligations"][0]["message"]
        .clone();
    assert_eq!(
        message,
        "The decided mode may send data to third-party model providers directly, outside the vendor's infrastructure: what those providers receive is under their own terms and data handling."
    );
    assert!(
        obligations(
            "global",
            "federated",
            &["anthropic", "openai", "perplexity", "elevenlabs"]
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn high_exposure_sectors_raise_a_warning() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "US", "residency": "none", "sector": "healthcare", "training_opt_out": true, "selected_mode": "zmo"}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(codes(&d["obligations"]), ["high_exposure_sector"]);
}

#[tokio::test]
async fn preferred_residency_is_warned_when_processing_may_leave_the_region() {
    let app = spawn_app().await;
    let obligations = |residency: &str, mode: &str| {
        let app = &app;
        let body = json!({"tenant": {"region": "EU", "data_cluster": "global", "residency": residency, "training_opt_out": true, "selected_mode": mode}, "features": ["meeting_summary"]});
        async move { app.decide(body).await["obligations"].clone() }
    };
    // `preferred` removes no mode: federated is decided, with the warning
    // (and federated's own, of providers called directly).
    let warned = obligations("preferred", "federated").await;
    assert_eq!(
        codes(&warned),
        ["outside_trust_boundary", "residency_preference_unmet"]
    );
    assert_eq!(
        warned[1]["message"],
        "The tenant prefers in-region processing, but the decided mode may process data outside the region: choose a mode that keeps processing in region, or require it with residency `strict`."
    );
    assert_eq!(warned[1]["kind"], "warning");
    // In-region processing meets the preference; `none` states none.
    assert!(codes(&obligations("preferred", "zm_plus").await).is_empty());
    assert_eq!(
        codes(&obligations("none", "federated").await),
        ["outside_trust_boundary"]
    );
    // Residency defaults to `preferred`.
    let default = app
        .decide(json!({"tenant": {"region": "US", "training_opt_out": true}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(default["mode"], "federated");
    assert_eq!(
        codes(&default["obligations"]),
        ["outside_trust_boundary", "residency_preference_unmet"]
    );
}

#[tokio::test]
async fn without_an_eligible_mode_the_answer_is_a_deny_with_no_mode() {
    let app = spawn_app().await;
    let d = app
        .decide(json!({"tenant": {"region": "SG", "denied_providers": ["zoom"]}, "features": ["meeting_summary"]}))
        .await;
    assert_eq!(d["outcome"], "deny");
    assert_eq!(d["mode"], serde_json::Value::Null);
    assert_eq!(d["recommended_mode"], serde_json::Value::Null);
    assert_eq!(ids(&d["eligible_modes"]), Vec::<&str>::new());
    assert!(codes(&d["reasons"]).contains(&"no_eligible_mode"));
}
