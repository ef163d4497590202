//! The `aipdp` binary: subcommands, output and exit codes.

use predicates::prelude::*;

use crate::catalog_edits::edited;
use crate::helpers::{aipdp, file_with};

#[test]
fn check_accepts_the_builtin_catalog_and_runs_its_examples() {
    aipdp()
        .arg("check")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("example decisions pass"));
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config/catalog.toml");
    aipdp().args(["check", shipped]).assert().code(0);
}

#[test]
fn check_refuses_a_bad_catalog_with_exit_3_naming_file_and_entry() {
    let bad = file_with(&edited(
        "default_mode = \"zm_plus\"   # EU accounts",
        "default_mode = \"turbo\" #",
    ));
    aipdp()
        .arg("check")
        .arg(bad.path())
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains(bad.path().display().to_string())
                .and(predicate::str::contains("regions[EU]")),
        );
    let syntax = file_with("version = \"1\"\nttl_seconds = [\n");
    aipdp()
        .arg("check")
        .arg(syntax.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains("line"));
    aipdp()
        .args(["check", "/nonexistent/catalog.toml"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cannot read"));
}

/// A catalog that is not TOML, empty, or too large is refused in one line
/// of bounded size, however large the file or its bad line.
#[test]
fn check_names_a_syntax_error_in_one_short_line_and_refuses_huge_files() {
    let long_line = format!("version = \"1\"\n{}\n", "a".repeat(1_000_000));
    let refused = |text: &str| {
        let file = file_with(text);
        let out = aipdp().arg("check").arg(file.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(3));
        String::from_utf8(out.stderr).unwrap()
    };
    let syntax = refused(&long_line);
    assert_eq!(syntax.lines().count(), 1, "{syntax}");
    assert!(syntax.len() < 600, "{} bytes", syntax.len());
    assert!(
        syntax.contains("line 2, column 1000001 (`...aaaaaaaaaaaaaaaa`): key with no value"),
        "{syntax}"
    );
    let empty = refused("\n  \n");
    assert!(
        empty.contains("the catalog is empty: it needs at least a `version`"),
        "{empty}"
    );

    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("catalog.toml");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(aipdp::catalog::MAX_FILE_BYTES + 1).unwrap();
    aipdp()
        .arg("check")
        .arg(&huge)
        .assert()
        .code(3)
        .stderr(predicate::str::contains(format!(
            "the file is over {} bytes, the most a catalog may be",
            aipdp::catalog::MAX_FILE_BYTES
        )));
}

#[test]
fn check_fails_on_a_failing_example() {
    let bad = file_with(&edited(
        "expect = { outcome = \"permit\", mode = \"zmo\", eligible_modes = [\"zmo\"], routes = { meeting_summary = \"zoom\" } }",
        "expect = { outcome = \"permit\", mode = \"zm_plus\" }",
    ));
    aipdp()
        .arg("check")
        .arg(bad.path())
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "expected mode `zm_plus`, got `zmo`",
        ));
}

#[test]
fn decide_reads_stdin_for_a_request_file_of_dash() {
    aipdp()
        .args(["decide", "--request", "-"])
        .write_stdin(r#"{"tenant": {"region": "EU"}, "features": ["meeting_summary"]}"#)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"mode\": \"zm_plus\""));
}

#[test]
fn serve_names_the_setting_of_a_catalog_it_cannot_read() {
    aipdp()
        .arg("serve")
        .env("AIPDP_CATALOG", "/nonexistent/catalog.toml")
        .env("AIPDP_LISTEN", "127.0.0.1:0")
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with(
            "aipdp: catalog (setting `catalog`): /nonexistent/catalog.toml: cannot read:",
        ));
    aipdp()
        .args([
            "serve",
            "--catalog",
            "/nonexistent/catalog.toml",
            "--listen",
            "127.0.0.1:0",
        ])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with(
            "aipdp: catalog (--catalog): /nonexistent/catalog.toml: cannot read:",
        ));
}

#[test]
fn check_names_an_expectation_that_could_never_be_met() {
    let original = "expect = { outcome = \"permit\", mode = \"zmo\", eligible_modes = [\"zmo\"], routes = { meeting_summary = \"zoom\" } }";
    for (expect, message) in [
        (
            "expect = { outcome = \"allow\" }",
            "expect.outcome: unknown outcome `allow`; valid: `permit`, `partial`, `deny`",
        ),
        (
            "expect = { outcome = \"permit\", mode = \"turbo\" }",
            "expect.mode: unknown mode `turbo`; valid: `zmo`, `zm_plus`, `federated`",
        ),
        (
            "expect = { outcome = \"permit\", eligible_modes = [\"zmo\", \"zmo_plus\"] }",
            "expect.eligible_modes: unknown mode `zmo_plus`",
        ),
        (
            "expect = { outcome = \"permit\", routes = { meeting_summary = \"zoom_ai\" } }",
            "expect.routes.meeting_summary: unknown provider `zoom_ai`",
        ),
    ] {
        let bad = file_with(&edited(original, expect));
        aipdp()
            .arg("check")
            .arg(bad.path())
            .assert()
            .code(3)
            .stderr(predicate::str::contains(message));
    }
}

#[test]
fn decide_reads_stdin_and_exits_by_outcome() {
    aipdp()
        .arg("decide")
        .write_stdin(r#"{"tenant": {"region": "EU"}, "features": ["meeting_summary"]}"#)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"mode\": \"zm_plus\""));
    aipdp()
        .arg("decide")
        .write_stdin(r#"{"tenant": {"region": "SG", "selected_mode": "federated"}, "features": ["meeting_summary"]}"#)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("\"outcome\": \"deny\""));
    aipdp()
        .arg("decide")
        .write_stdin(r#"{"tenant": {"region": "EU"}, "features": ["meeting_summary", "web_search_answers"]}"#)
        .assert()
        .code(1);
}

#[test]
fn decide_reads_a_request_file_and_refuses_bad_requests() {
    let request =
        file_with(r#"{"tenant": {"region": "KSA"}, "features": ["docs_content_generation"]}"#);
    aipdp()
        .args(["decide", "--request"])
        .arg(request.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"processing_region\": \"KSA\""));
    aipdp()
        .arg("decide")
        .write_stdin(r#"{"tenant": {"region": "MARS"}, "features": ["meeting_summary"]}"#)
        .assert()
        .code(64)
        .stderr(predicate::str::contains("/tenant/region").and(predicate::str::contains("`EU`")));
    aipdp()
        .arg("decide")
        .write_stdin("{not json")
        .assert()
        .code(64);
    aipdp()
        .args(["decide", "--request", "/no/such/request.json"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains(
            "cannot read the request from `/no/such/request.json`",
        ));
}

#[test]
fn openapi_prints_the_document() {
    aipdp()
        .arg("openapi")
        .assert()
        .code(0)
        .stdout(aipdp::http::openapi_json());
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    aipdp().arg("frobnicate").assert().code(64);
    aipdp()
        .args(["serve", "--listen", "not-an-address"])
        .assert()
        .code(64);
    aipdp()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("serve").and(predicate::str::contains("Exit codes")));
}

#[test]
fn serve_refuses_an_invalid_catalog_with_exit_3() {
    let bad = file_with("version = \"x\"\n");
    aipdp()
        .args(["serve", "--listen", "127.0.0.1:0", "--catalog"])
        .arg(bad.path())
        .assert()
        .code(3);
}

#[test]
fn serve_refuses_invalid_settings_with_exit_64() {
    aipdp()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("AIPDP_LIMITS__MAX_BATCH", "0")
        .assert()
        .code(64)
        .stderr(predicate::str::contains("limits.max_batch"));
}

/// tokio panics on a worker count it cannot use; the service refuses it
/// first, as it does bad settings.
#[test]
fn serve_refuses_a_bad_worker_count_with_exit_64() {
    for value in ["0", "abc", "-1", "100000"] {
        aipdp()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("TOKIO_WORKER_THREADS", value)
            .assert()
            .code(64)
            .stderr(predicate::str::contains(format!(
                "TOKIO_WORKER_THREADS must be a whole number from 1 to 1024, got `{value}`"
            )));
    }
}

/// Without `--url`, the health check asks where `serve` would listen under
/// the same settings, on loopback when that is every interface.
#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_without_a_url_probes_the_listen_setting() {
    let app = crate::helpers::spawn_app().await;
    let port = app.addr.port();
    let probe = move |listen: String| {
        aipdp()
            .arg("healthcheck")
            .env("AIPDP_LISTEN", listen)
            .output()
            .unwrap()
            .status
            .code()
    };
    let every_interface = format!("0.0.0.0:{port}");
    let code = tokio::task::spawn_blocking(move || probe(every_interface))
        .await
        .unwrap();
    assert_eq!(code, Some(0));
    let code = tokio::task::spawn_blocking(move || probe("127.0.0.1:9".to_owned()))
        .await
        .unwrap();
    assert_eq!(code, Some(69));
}

#[test]
fn healthcheck_reports_an_unreachable_service() {
    aipdp()
        .args(["healthcheck", "--url", "http://127.0.0.1:9"])
        .assert()
        .code(69);
}

/// A standard error that cannot be written (a full disk) loses the
/// message, not the exit code: no panic's 101.
#[test]
fn an_unwritable_standard_error_keeps_the_exit_code() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let code = std::process::Command::new(env!("CARGO_BIN_EXE_aipdp"))
        .args(["check", "/nonexistent/catalog.toml"])
        .stderr(full())
        .status()
        .unwrap()
        .code();
    assert_eq!(code, Some(3));
    let code = std::process::Command::new(env!("CARGO_BIN_EXE_aipdp"))
        .args(["serve", "--listen", "not-an-address"])
        .stderr(full())
        .status()
        .unwrap()
        .code();
    assert_eq!(code, Some(64));
}
