//! Live reload under load: while clients keep asking for decisions, the
//! catalog file is replaced several times, in place and by the symlink swap
//! Kubernetes uses for a mounted ConfigMap, with valid and invalid
//! versions. No request may fail, every answer must come from one of the
//! valid catalogs and agree with it, and the invalid one is never served.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::catalog_edits::edited;
use crate::helpers::{TestApp, settings, spawn_with};

const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";
const US_DEFAULT: &str =
    "default_mode = \"federated\" # [example] the sources do not state the US default";

/// A catalog with this version whose US default mode is `mode`, so an
/// answer shows which catalog made it.
fn catalog(version: &str, us_default: &str) -> String {
    edited(
        "version = \"2026-11-24.3\"",
        &format!("version = \"{version}\""),
    )
    .replacen(US_DEFAULT, &format!("default_mode = \"{us_default}\""), 1)
}

/// Mounted like a ConfigMap: `catalog.toml -> ..data/catalog.toml`,
/// `..data -> ..<generation>`; an update writes a new generation directory
/// and renames a new `..data` link over the old one, atomically.
struct ConfigMapDir {
    root: PathBuf,
    generation: u32,
}

impl ConfigMapDir {
    fn new(root: &Path, text: &str) -> ConfigMapDir {
        let mut dir = ConfigMapDir {
            root: root.to_owned(),
            generation: 0,
        };
        dir.swap_in(text);
        std::os::unix::fs::symlink("..data/catalog.toml", root.join("catalog.toml")).unwrap();
        dir
    }

    fn path(&self) -> PathBuf {
        self.root.join("catalog.toml")
    }

    /// The atomic symlink swap.
    fn swap_in(&mut self, text: &str) {
        self.generation += 1;
        let name = format!("..2026_11_23_{:04}", self.generation);
        std::fs::create_dir(self.root.join(&name)).unwrap();
        std::fs::write(self.root.join(&name).join("catalog.toml"), text).unwrap();
        let tmp = self.root.join("..data_tmp");
        std::os::unix::fs::symlink(&name, &tmp).unwrap();
        std::fs::rename(&tmp, self.root.join("..data")).unwrap();
    }

    /// A plain rewrite of the file the link points to now, as an editor or
    /// `kubectl cp` would do: truncated, then written.
    fn write_in_place(&self, text: &str) {
        std::fs::write(self.path(), text).unwrap();
    }
}

/// Waits until `check` holds on the service, or fails the test.
async fn wait_for(app: &TestApp, what: &str, check: impl Fn(&TestApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check(app) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn version(app: &TestApp) -> String {
    app.state.catalog().catalog.version.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reload_under_load_never_fails_a_request_nor_serves_an_invalid_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let mut mount = ConfigMapDir::new(dir.path(), &catalog("v1", "federated"));
    let app = spawn_with(
        settings(&[
            ("AIPDP_CATALOG", mount.path().to_str().unwrap()),
            ("AIPDP_RELOAD__WATCH_INTERVAL_MS", "50"),
            ("AIPDP_AUTH__ADMIN_TOKENS", ADMIN_TOKEN),
        ]),
        &catalog("v1", "federated"),
    )
    .await;
    let app = Arc::new(app);
    // What each valid catalog answers for a US tenant with no selection.
    let expected: BTreeMap<&str, &str> = [
        ("v1", "federated"),
        ("v2", "zmo"),
        ("v3", "zm_plus"),
        ("v4", "zmo"),
        ("v5", "federated"),
    ]
    .into();
    let invalid = edited(
        "default_mode = \"zm_plus\"   # EU accounts",
        "default_mode = \"turbo\" #",
    )
    .replacen("version = \"2026-11-24.3\"", "version = \"bad\"", 1);

    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let app = app.clone();
        let stop = stop.clone();
        clients.push(tokio::spawn(async move {
            let mut answers: Vec<(u16, Value)> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let answer = app
                    .post(
                        "/v1/decisions",
                        &json!({"tenant": {"region": "US"}, "features": ["meeting_summary"]}),
                    )
                    .await;
                answers.push(answer);
            }
            answers
        }));
    }
    let pause = || tokio::time::sleep(Duration::from_millis(150));

    pause().await;
    // 1. Symlink swap to a valid catalog.
    mount.swap_in(&catalog("v2", "zmo"));
    wait_for(&app, "v2 by symlink swap", |a| version(a) == "v2").await;
    pause().await;
    // 2. Symlink swap to an invalid one: refused, v2 keeps serving.
    mount.swap_in(&invalid);
    wait_for(&app, "the invalid catalog to be refused", |a| {
        a.state
            .metrics()
            .render()
            .contains("aipdp_catalog_reload_failing 1")
    })
    .await;
    pause().await;
    assert_eq!(version(&app), "v2");
    // 3. In-place rewrite of the file behind the link.
    mount.write_in_place(&catalog("v3", "zm_plus"));
    wait_for(&app, "v3 written in place", |a| version(a) == "v3").await;
    pause().await;
    // 4. Invalid in place, then valid by symlink swap.
    mount.write_in_place(&invalid);
    pause().await;
    assert_eq!(version(&app), "v3");
    mount.swap_in(&catalog("v4", "zmo"));
    wait_for(&app, "v4 by symlink swap", |a| version(a) == "v4").await;
    pause().await;
    // 5. The admin endpoint, racing the watch: either may win, the result
    // is the same catalog.
    mount.swap_in(&catalog("v5", "federated"));
    let reload = app
        .client
        .post(app.url("/admin/reload"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 200);
    wait_for(&app, "v5", |a| version(a) == "v5").await;
    pause().await;

    stop.store(true, Ordering::Relaxed);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for client in clients {
        for (status, answer) in client.await.unwrap() {
            total += 1;
            assert_eq!(status, 200, "a request failed during reload: {answer}");
            let version = answer["catalog_version"].as_str().unwrap();
            let Some(mode) = expected.get(version) else {
                panic!("answered from catalog `{version}`, which is not a valid one: {answer}");
            };
            assert_eq!(
                answer["mode"], *mode,
                "catalog {version} answered inconsistently: {answer}"
            );
            *seen.entry(version.to_owned()).or_default() += 1;
        }
    }
    assert!(
        seen.len() >= 4,
        "too few catalogs seen under load: {seen:?}"
    );
    assert!(total > 100, "too little load: {total} requests");
    assert!(!seen.contains_key("bad"));
    let metrics = app.state.metrics().render();
    assert!(metrics.contains("aipdp_catalog_info{digest="), "{metrics}");
    assert!(metrics.contains("version=\"v5\"} 1"), "{metrics}");
    assert!(!metrics.contains("version=\"v4\""), "{metrics}");
}

#[tokio::test]
async fn the_watch_outlives_a_missing_file_and_reports_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.toml");
    std::fs::write(&path, catalog("v1", "federated")).unwrap();
    let app = spawn_with(
        settings(&[
            ("AIPDP_CATALOG", path.to_str().unwrap()),
            ("AIPDP_RELOAD__WATCH_INTERVAL_MS", "20"),
        ]),
        &catalog("v1", "federated"),
    )
    .await;
    let failures = |a: &TestApp| {
        a.state
            .metrics()
            .render()
            .lines()
            .find_map(|l| l.strip_prefix("aipdp_catalog_reloads_total{result=\"failure\"} "))
            .map(str::to_owned)
    };
    std::fs::remove_file(&path).unwrap();
    wait_for(&app, "the missing file to be reported", |a| {
        failures(a).as_deref() == Some("1")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        failures(&app).as_deref(),
        Some("1"),
        "reported at every tick"
    );
    assert_eq!(version(&app), "v1");
    let (status, _) = app.get("/readyz").await;
    assert_eq!(
        status, 200,
        "a failed reload keeps the service ready by default"
    );

    std::fs::write(&path, catalog("v2", "zmo")).unwrap();
    wait_for(&app, "v2 after the file came back", |a| version(a) == "v2").await;
    assert_eq!(failures(&app).as_deref(), Some("1"));
}
