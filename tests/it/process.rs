//! The `aipdp serve` process as an operator runs it: JSON logs with one
//! decision-log line per decision, reload on `SIGHUP`, and a clean exit 0
//! on `SIGTERM`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::catalog_edits::edited;
use crate::helpers::metric;

/// A running `aipdp serve` with its log lines, killed when dropped.
struct Served {
    child: Child,
    lines: mpsc::Receiver<String>,
    base: String,
    /// The `serving` log line.
    serving: Value,
    client: reqwest::Client,
}

impl Served {
    fn start(catalog: &Path, env: &[(&str, &str)]) -> Served {
        Served::start_as(Command::new(env!("CARGO_BIN_EXE_aipdp")), catalog, env)
    }

    /// As [`Served::start`], with `command` as the program to run (aipdp
    /// itself, or a launcher such as `taskset` given aipdp's path).
    fn start_as(mut command: Command, catalog: &Path, env: &[(&str, &str)]) -> Served {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--catalog"])
            .arg(catalog)
            .env("AIPDP_LOG__FORMAT", "json")
            .env("AIPDP_RELOAD__WATCH_INTERVAL_MS", "0")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut served = Served {
            child,
            lines,
            base: String::new(),
            serving: Value::Null,
            client: reqwest::Client::new(),
        };
        served.serving = served.wait_for_log(|l| l["fields"]["message"] == "serving");
        let addr = served.serving["fields"]["addr"].as_str().unwrap();
        served.base = format!("http://{addr}");
        served
    }

    /// The next JSON log line that satisfies `wanted`, skipping others.
    fn wait_for_log(&self, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .expect("the awaited log line never came");
            let parsed: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
            if wanted(&parsed) {
                return parsed;
            }
        }
    }

    async fn decide(&self, request_id: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/v1/decisions", self.base))
            .header("x-request-id", request_id)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-request-id"], request_id);
        response.json().await.unwrap()
    }

    /// The exit code once the process ends, which it must within 10 s;
    /// `stuck` says what went wrong otherwise.
    fn exit_code(&mut self, stuck: &str) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "{stuck}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, name: &str) {
        // The shell's own `kill`, so no separate package is needed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -s {name} {}", self.child.id())])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A copy of the shipped catalog in a directory of its own (removed when
/// the directory is dropped), for a process that may be made to reload it.
fn shipped_catalog_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.toml");
    std::fs::write(&path, aipdp::catalog::BUILTIN_SOURCE).unwrap();
    (dir, path)
}

fn is_decision(line: &Value) -> bool {
    line["target"] == "aipdp::decision"
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_are_logged_then_sighup_reloads_and_sigterm_exits_0() {
    let (_dir, path) = shipped_catalog_file();
    let mut served = Served::start(&path, &[]);
    // The serving line says the API is open and /admin is off.
    assert_eq!(served.serving["fields"]["api_tokens"], false);
    assert_eq!(served.serving["fields"]["admin"], false);
    let guarded = Served::start(
        &path,
        &[
            ("AIPDP_AUTH__API_TOKENS", "api-token-0123456789"),
            ("AIPDP_AUTH__ADMIN_TOKENS", "admin-token-0123456789"),
        ],
    );
    assert_eq!(guarded.serving["fields"]["api_tokens"], true);
    assert_eq!(guarded.serving["fields"]["admin"], true);
    drop(guarded);
    let one_core = std::thread::available_parallelism().unwrap().get() == 1;
    assert_eq!(
        served.serving["fields"]["runtime"],
        if one_core {
            "current_thread"
        } else {
            "multi_thread"
        }
    );

    let decision = served
        .decide(
            "req-from-gateway-7",
            json!({"tenant": {"id": "acme-eu", "region": "EU"}, "features": ["meeting_summary", "web_search_answers"]}),
        )
        .await;
    let line = served.wait_for_log(is_decision);
    let fields = &line["fields"];
    assert_eq!(fields["decision_id"], decision["decision_id"]);
    assert_eq!(fields["request_id"], "req-from-gateway-7");
    assert_eq!(fields["tenant_id"], "acme-eu");
    assert_eq!(fields["endpoint"], "decisions");
    assert_eq!(fields["features"], "meeting_summary,web_search_answers");
    assert_eq!(fields["outcome"], decision["outcome"]);
    assert_eq!(fields["mode"], decision["mode"]);
    assert_eq!(fields["catalog_version"], "2026-11-24.3");
    let reasons = fields["reasons"].as_str().unwrap();
    for reason in decision["reasons"].as_array().unwrap() {
        assert!(
            reasons.contains(reason["code"].as_str().unwrap()),
            "{reasons}"
        );
    }
    assert!(reasons.contains("feature_not_in_mode"), "{reasons}");
    assert!(fields["latency_us"].as_u64().is_some(), "{line}");
    assert!(line["timestamp"].is_string(), "{line}");
    assert_eq!(line["level"], "INFO", "{line}");
    // Ids and codes only: nothing else of the request.
    assert!(!line.to_string().contains("\"EU\""), "{line}");

    std::fs::write(
        &path,
        edited("version = \"2026-11-24.3\"", "version = \"2026-12-01.1\""),
    )
    .unwrap();
    served.signal("HUP");
    let reloaded = served.wait_for_log(|l| l["fields"]["message"] == "catalog reloaded");
    assert_eq!(reloaded["fields"]["to"], "2026-12-01.1");
    assert_eq!(reloaded["fields"]["trigger"], "signal");
    let again = served
        .decide(
            "second",
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}),
        )
        .await;
    assert_eq!(again["catalog_version"], "2026-12-01.1");

    served.signal("TERM");
    assert_eq!(served.exit_code("did not stop on SIGTERM"), Some(0));
}

/// A second SIGTERM while a request drains ends the process at once, with
/// exit 130, rather than after the grace period.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_sigterm_while_draining_exits_130_at_once() {
    let (_dir, path) = shipped_catalog_file();
    let mut served = Served::start(&path, &[("AIPDP_SHUTDOWN__GRACE_PERIOD_MS", "30000")]);
    served
        .decide(
            "before",
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}),
        )
        .await;
    // A request in flight: its body never comes.
    let mut held = std::net::TcpStream::connect(served.base.trim_start_matches("http://")).unwrap();
    held.write_all(
        b"POST /v1/decisions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    served.signal("TERM");
    served.wait_for_log(|l| {
        l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("stopping: finishing in-flight requests"))
    });
    served.signal("TERM");
    served.wait_for_log(|l| {
        l["fields"]["message"]
            == "second stop signal: exiting without waiting for in-flight requests"
    });
    // Well within the 30 s grace period.
    assert_eq!(
        served.exit_code("still draining after a second SIGTERM"),
        Some(130)
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread")]
async fn deny_only_logging_skips_permits() {
    let (_dir, path) = shipped_catalog_file();
    let served = Served::start(&path, &[("AIPDP_LOG__DECISIONS_DENY_ONLY", "true")]);
    let permit = served
        .decide(
            "p",
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}),
        )
        .await;
    assert_eq!(permit["outcome"], "permit");
    let deny = served
        .decide(
            "d",
            json!({"tenant": {"region": "SG", "selected_mode": "federated"}, "features": ["meeting_summary"]}),
        )
        .await;
    assert_eq!(deny["outcome"], "deny");
    // Lines arrive in order: the first decision line must be the deny's.
    let line = served.wait_for_log(is_decision);
    assert_eq!(line["fields"]["decision_id"], deny["decision_id"]);
    assert_eq!(line["fields"]["mode"], "none");
}

/// At `debug`, every request logs one line when answered, with its request
/// id, route template, status and latency.
#[tokio::test(flavor = "multi_thread")]
async fn at_debug_each_request_logs_its_answer() {
    let (_dir, path) = shipped_catalog_file();
    let served = Served::start(&path, &[("AIPDP_LOG__LEVEL", "debug")]);
    let unknown = served
        .client
        .get(format!("{}/v1/catalog/nothing", served.base))
        .header("x-request-id", "r-404")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    served
        .decide(
            "r-200",
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}),
        )
        .await;
    let answered = |l: &Value| l["fields"]["message"] == "answered";
    let first = served.wait_for_log(answered);
    let second = served.wait_for_log(answered);
    for (line, id, route, status) in [
        (&first, "r-404", "unmatched", 404),
        (&second, "r-200", "/v1/decisions", 200),
    ] {
        assert_eq!(line["level"], "DEBUG");
        assert_eq!(line["fields"]["request_id"], id);
        assert_eq!(line["fields"]["route"], route);
        assert_eq!(line["fields"]["status"], status);
        assert!(line["fields"]["latency_us"].is_u64(), "{line}");
    }
}

/// A gateway's refusal of a tenant the catalog does not know carries a
/// decision id, and has its decision-log line like any decision.
#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_tenant_refusal_is_logged() {
    let (_dir, path) = shipped_catalog_file();
    let served = Served::start(&path, &[("AIPDP_AUTHZ__REQUIRE_KNOWN_TENANT", "true")]);
    let response = served
        .client
        .get(format!("{}/v1/authz", served.base))
        .header("x-tenant-id", "initech")
        .header("x-tenant-region", "EU")
        .header("x-ai-feature", "meeting_summary")
        .header("x-request-id", "refused-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let decision_id = response.headers()["x-decision-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let line = served.wait_for_log(is_decision);
    let fields = &line["fields"];
    assert_eq!(fields["decision_id"], decision_id.as_str());
    assert_eq!(fields["request_id"], "refused-1");
    assert_eq!(fields["tenant_id"], "initech");
    assert_eq!(fields["endpoint"], "authz");
    assert_eq!(fields["outcome"], "deny");
    assert_eq!(fields["mode"], "none");
    assert_eq!(fields["features"], "meeting_summary");
    assert_eq!(fields["reasons"], "unknown_tenant");
}

/// With SIGHUP reloads switched off, a SIGHUP is logged and ignored: it
/// neither reloads nor ends the process (the signal's default action).
#[tokio::test(flavor = "multi_thread")]
async fn with_sighup_reloads_off_a_sighup_is_ignored() {
    let (_dir, path) = shipped_catalog_file();
    let mut served = Served::start(&path, &[("AIPDP_RELOAD__ON_SIGHUP", "false")]);
    std::fs::write(
        &path,
        aipdp::catalog::BUILTIN_SOURCE.replacen(
            "version = \"2026-11-24.3\"",
            "version = \"2026-12-01.1\"",
            1,
        ),
    )
    .unwrap();
    served.signal("HUP");
    let line = served.wait_for_log(|l| l["level"] == "WARN");
    assert_eq!(
        line["fields"]["message"],
        "SIGHUP ignored: reload.on_sighup is false"
    );
    let d = served
        .decide(
            "after-hup",
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}),
        )
        .await;
    assert_eq!(d["catalog_version"], "2026-11-24.3");
    assert!(served.child.try_wait().unwrap().is_none());
}

/// Confined to one core (`taskset`, as a container limited to one CPU
/// would be), the service runs on tokio's current-thread runtime, says so
/// in its `serving` line, and answers as on many cores.
#[tokio::test(flavor = "multi_thread")]
async fn on_one_core_it_serves_on_the_current_thread_runtime() {
    let (_dir, path) = shipped_catalog_file();
    let served = Served::start_as(on_one_core(), &path, &[]);
    assert_eq!(served.serving["fields"]["runtime"], "current_thread");
    let decision = served
        .decide(
            "one-core",
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}),
        )
        .await;
    assert_eq!(decision["outcome"], "permit");
    let line = served.wait_for_log(is_decision);
    assert_eq!(line["fields"]["request_id"], "one-core");

    // The same service with the multi-thread runtime asked for.
    let asked = Served::start_as(on_one_core(), &path, &[("TOKIO_WORKER_THREADS", "2")]);
    assert_eq!(asked.serving["fields"]["runtime"], "multi_thread");
}

/// The answers of a turn are written together (`batch_writes`, on by
/// default), on either runtime: many connections at once, each of several
/// requests, all get their own answer within the time limit. Switched off,
/// the `serving` line says so and answers still arrive.
#[tokio::test(flavor = "multi_thread")]
async fn answers_written_together_all_arrive_on_either_runtime() {
    let (_dir, path) = shipped_catalog_file();
    for (served, runtime) in [
        (
            Served::start_as(on_one_core(), &path, &[]),
            "current_thread",
        ),
        (
            Served::start(&path, &[("TOKIO_WORKER_THREADS", "2")]),
            "multi_thread",
        ),
    ] {
        assert_eq!(served.serving["fields"]["runtime"], runtime);
        assert_eq!(served.serving["fields"]["batch_writes"], true);
        let connections: Vec<_> = (0..96)
            .map(|c| {
                let base = served.base.clone();
                tokio::spawn(async move {
                    // A client of its own: one keep-alive connection each.
                    let client = reqwest::Client::new();
                    for r in 0..4 {
                        let id = format!("batched-{c}-{r}");
                        let response = client
                            .post(format!("{base}/v1/route"))
                            .header("x-request-id", &id)
                            .json(
                                &json!({"tenant": {"region": "EU"}, "feature": "meeting_summary"}),
                            )
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(response.status(), 200);
                        assert_eq!(response.headers()["x-request-id"], id.as_str());
                        let answer: Value = response.json().await.unwrap();
                        assert_eq!(answer["allow"], true);
                    }
                })
            })
            .collect();
        let all = async {
            for connection in connections {
                connection.await.unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(20), all)
            .await
            .expect("every answer within 20 s");
    }

    let off = Served::start(&path, &[("AIPDP_BATCH_WRITES", "false")]);
    assert_eq!(off.serving["fields"]["batch_writes"], false);
    let decision = off
        .decide(
            "unbatched",
            json!({"tenant": {"region": "EU"}, "features": ["meeting_summary"]}),
        )
        .await;
    assert_eq!(decision["outcome"], "permit");
}

/// aipdp under `taskset`, confined to the first core.
fn on_one_core() -> Command {
    let mut command = Command::new("taskset");
    command.args(["-c", "0", env!("CARGO_BIN_EXE_aipdp")]);
    command
}

#[test]
fn bad_operations_settings_stop_the_start_with_exit_64_naming_the_key() {
    for (var, value, key) in [
        (
            "AIPDP_LIMITS__MAX_CONCURRENT_REQUESTS",
            "0",
            "limits.max_concurrent_requests",
        ),
        (
            "AIPDP_LOG__DECISION_SAMPLE_RATE",
            "2.5",
            "log.decision_sample_rate",
        ),
        (
            "AIPDP_AUTH__API_TOKENS_FILE",
            "/nonexistent/aipdp-tokens",
            "auth.api_tokens_file",
        ),
        ("AIPDP_RELOAD__WATCH_INTERVAL_MS", "-1", "watch_interval_ms"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_aipdp"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env(var, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(64), "{var}={value}: {stderr}");
        assert!(stderr.contains(key), "{var}={value}: {stderr}");
    }
}

/// Standard error that nobody reads (a stuck log collector) does not hold
/// answers up: the decision log's bounded buffer fills, further lines are
/// dropped and counted, and every decision is still answered.
#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_log_reader_drops_counted_lines_and_answers_go_on() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aipdp"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("AIPDP_LOG__FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read up to the line that gives the address, then never again.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert_ne!(stderr.read_line(&mut line).unwrap(), 0, "no serving line");
        let parsed: Value = serde_json::from_str(&line).unwrap();
        if parsed["fields"]["message"] == "serving" {
            break format!("http://{}", parsed["fields"]["addr"].as_str().unwrap());
        }
    };
    // The longest ids a request may bring (a request id of 128 bytes, an
    // ad-hoc tenant's id of 256) and eight features make lines of about
    // 1 KB, so the 4 MiB bound (and the 4 MiB the writer holds while it
    // waits on the pipe) fill after about 9,000 decisions.
    const WORKERS: usize = 16;
    const PER_WORKER: usize = 750;
    let request_id = "r".repeat(110);
    let client = reqwest::Client::new();
    let body = json!({
        "tenant": {"id": "t".repeat(256), "region": "EU"},
        "features": [
            "meeting_summary", "team_chat_compose", "whiteboard_content_generation",
            "docs_content_generation", "custom_ai_companion", "web_search_answers",
            "mail_compose", "contact_center_virtual_agent"
        ]
    });
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let (client, base, body, request_id) = (
            client.clone(),
            base.clone(),
            body.clone(),
            request_id.clone(),
        );
        tasks.spawn(async move {
            for n in 0..PER_WORKER {
                let response = client
                    .post(format!("{base}/v1/decisions"))
                    .header("x-request-id", format!("{request_id}-{worker}-{n}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let answered =
        "aipdp_decisions_total{endpoint=\"decisions\",mode=\"zm_plus\",outcome=\"partial\"}";
    let total = (WORKERS * PER_WORKER) as f64;
    assert_eq!(metric(&metrics, answered), total, "{metrics}");
    let dropped = metric(&metrics, "aipdp_decision_log_dropped_total");
    assert!(dropped > 0.0 && dropped < total, "dropped {dropped}");
    let _ = child.kill();
    let _ = child.wait();
}
