//! Gateways: the external authoriser behind real nginx and Caddy, the
//! request shape Envoy sends, AuthZEN, executable routes, cache hints, and
//! tenant profiles at scale.
//!
//! nginx and Caddy run from the templates in `deploy/` (the same text as
//! `docs/gateways.md`), rendered into a temporary directory, on loopback
//! ports, in the foreground, and are killed when the test ends.

mod authz;
mod authzen;
mod caddy;
mod nginx;
mod profiles;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the repository as text.
pub fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A template with every `{{NAME}}` replaced; fails on a placeholder left.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    assert!(!out.contains("{{"), "placeholder left in:\n{out}");
    out
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// What the echo upstream saw: the headers of every request it received.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<HashMap<String, String>>>>);

impl Seen {
    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn last(&self) -> HashMap<String, String> {
        self.0.lock().unwrap().last().cloned().unwrap_or_default()
    }
}

/// A tiny upstream on loopback that records and echoes the headers it got.
pub async fn echo_upstream() -> (SocketAddr, Seen) {
    async fn echo(
        State(seen): State<Seen>,
        headers: HeaderMap,
    ) -> axum::Json<HashMap<String, String>> {
        let map: HashMap<String, String> = headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        seen.0.lock().unwrap().push(map.clone());
        axum::Json(map)
    }
    let seen = Seen::default();
    let app = axum::Router::new().fallback(echo).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

/// A gateway process, killed (by its own id) when dropped.
pub struct Gateway {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    log: PathBuf,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    /// Starts `program` with `args` in `dir`, then waits until it has
    /// written its own process id to `pidfile` (it does so once its
    /// listeners are bound) and `port` accepts connections. Output goes to
    /// a log file in the directory.
    ///
    /// # Errors
    /// The process's output when it exits or does not come up: the port
    /// may have been taken meanwhile, and the caller may retry.
    pub async fn start(
        program: &str,
        args: &[&str],
        env: &[(&str, &Path)],
        dir: tempfile::TempDir,
        port: u16,
        pidfile: &Path,
    ) -> Result<Gateway, String> {
        let log = dir.path().join(format!("{program}.out"));
        let out = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot start `{program}` (scripts/install-deps.sh installs it): {e}")
        });
        let pid = child.id().to_string();
        let mut gateway = Gateway {
            child,
            port,
            dir,
            log,
        };
        for _ in 0..200 {
            if let Ok(Some(status)) = gateway.child.try_wait() {
                return Err(format!(
                    "`{program}` exited with {status}:\n{}",
                    gateway.log()
                ));
            }
            let ours = std::fs::read_to_string(pidfile).is_ok_and(|text| text.trim() == pid);
            if ours
                && tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
            {
                return Ok(gateway);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "`{program}` did not listen on {port}:\n{}",
            gateway.log()
        ))
    }

    /// Everything the process and its log files wrote so far.
    pub fn log(&self) -> String {
        let mut text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let errors = self.dir.path().join("error.log");
        text.push_str(&std::fs::read_to_string(errors).unwrap_or_default());
        text
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// Whether this process runs as root (then nginx needs `user root;` to
/// reach its private temporary directory).
pub fn running_as_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir)
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// The catalog shipped, with another cache lifetime.
pub fn catalog_with_ttl(ttl: u32) -> String {
    let text = aipdp::catalog::BUILTIN_SOURCE
        .replace("ttl_seconds = 300", &format!("ttl_seconds = {ttl}"));
    assert!(text.contains(&format!("ttl_seconds = {ttl}")));
    text
}

#[test]
fn docs_show_the_tested_gateway_configs() {
    let docs = read("docs/gateways.md");
    for file in [
        "deploy/nginx/aipdp-authz.conf",
        "deploy/caddy/Caddyfile",
        "deploy/envoy/envoy.yaml",
        "deploy/envoy-gateway/security-policy.yaml",
    ] {
        let text = read(file);
        assert!(
            docs.contains(text.trim_end()),
            "docs/gateways.md does not show {file} as it is; paste the file again"
        );
    }
    assert!(read("README.md").contains("docs/gateways.md"));
}
