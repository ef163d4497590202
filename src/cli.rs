//! The `aipdp` command line: serve, check, decide, openapi, healthcheck.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::catalog::format::RawDecisionRequest;
use crate::catalog::{BUILTIN_NAME, Catalog, LoadError};
use crate::config::Settings;
use crate::engine::{Outcome, decide, resolve_request};
use crate::http::{Application, LoadedCatalog};
use crate::wire::{DecisionBody, DecisionIds};

/// `eprintln!` that cannot panic: a message standard error cannot take (a
/// full disk, a closed descriptor) is lost, and the exit code still says
/// what happened.
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Exit codes: distinct so scripts can tell outcomes apart.
pub mod exit {
    /// Success, or a decision that permits every requested feature.
    pub const OK: u8 = 0;
    /// A decision that permits some, not all, requested features.
    pub const PARTIAL: u8 = 1;
    /// `diff`: the new catalog changes at least one decision.
    pub const DECISIONS_CHANGE: u8 = 1;
    /// A decision that denies.
    pub const DENY: u8 = 2;
    /// The catalog is invalid or one of its examples fails.
    pub const INVALID_CATALOG: u8 = 3;
    /// Bad usage: unknown flags, an invalid request or bad settings.
    pub const USAGE: u8 = 64;
    /// The service could not start or failed while running.
    pub const SOFTWARE: u8 = 70;
    /// `healthcheck` found the service unhealthy.
    pub const UNHEALTHY: u8 = 69;
    /// `serve`: a second SIGINT or SIGTERM ended the drain early (128 +
    /// SIGINT's number, as shells report an interrupted program).
    pub const STOPPED_EARLY: u8 = 130;
}

/// aipdp: a policy decision point for AI deployments.
///
/// Decides which deployment mode, providers and routes a tenant may use for
/// its AI features, with obligations and reasons.
#[derive(Debug, Parser)]
#[command(name = "aipdp", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 ok or permit, 1 partial (diff: decisions change), 2 deny, 3 invalid catalog, 64 usage error or invalid request, 69 unhealthy, 70 service failure, 130 serve stopped by a second signal while draining.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (default 127.0.0.1:8080, built-in catalog).
    Serve {
        /// Catalog file to serve instead of the built-in one.
        #[arg(long, value_name = "FILE")]
        catalog: Option<PathBuf>,
        /// Address to listen on, such as 127.0.0.1:8080 or 0.0.0.0:8080.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Service settings file layered over the built-in config/aipdp.toml.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Validate a catalog and run the example decisions it carries.
    Check {
        /// Catalog file; the built-in catalog when omitted.
        file: Option<PathBuf>,
    },
    /// Decide one request (JSON, as for POST /v1/decisions) without a server.
    Decide {
        /// Read the request from this file instead of standard input (`-`
        /// is standard input).
        #[arg(long, value_name = "FILE")]
        request: Option<PathBuf>,
        /// Catalog file; the built-in catalog when omitted.
        #[arg(long, value_name = "FILE")]
        catalog: Option<PathBuf>,
    },
    /// Compare two catalogs: what changed, and whose decisions change.
    ///
    /// Exits 0 when no decision changes, 1 when some do, 3 when a catalog
    /// is invalid.
    Diff {
        /// The catalog in force (or the one before the edit).
        old: PathBuf,
        /// The edited catalog.
        new: PathBuf,
        /// `text` for people, `json` for pipelines.
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Ask a running service whether it is ready (for container health checks).
    Healthcheck {
        /// Base URL of the service; by default the address `serve` would
        /// listen on with the same settings (`AIPDP_LISTEN`, `--config`),
        /// on loopback when that is every interface.
        #[arg(long)]
        url: Option<String>,
        /// Service settings file, as given to `serve`.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Output of `aipdp diff`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
}

/// Parses the command line and runs it; the exit code says how it went.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(match err.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                _ => exit::USAGE,
            });
        }
    };
    ExitCode::from(run(cli.command))
}

fn run(command: Command) -> u8 {
    match command {
        Command::Serve {
            catalog,
            listen,
            config,
        } => serve(catalog, listen, config.as_deref()),
        Command::Check { file } => check(file.as_deref()),
        Command::Decide { request, catalog } => decide_once(request.as_deref(), catalog.as_deref()),
        Command::Diff { old, new, format } => diff(&old, &new, format),
        Command::Openapi => {
            if !write_stdout("openapi", &crate::http::openapi_json()) {
                return exit::SOFTWARE;
            }
            exit::OK
        }
        Command::Healthcheck { url, config } => {
            let url = match url {
                Some(url) => url,
                None => match Settings::load(config.as_deref(), std::env::vars()) {
                    Ok(settings) => format!("http://{}", loopback_if_unspecified(settings.listen)),
                    Err(e) => {
                        report!("aipdp healthcheck: invalid settings: {e}");
                        return exit::USAGE;
                    }
                },
            };
            healthcheck(&url)
        }
    }
}

fn load_catalog(file: Option<&Path>) -> Result<LoadedCatalog, LoadError> {
    match file {
        Some(path) => Ok(LoadedCatalog::new(
            Catalog::load(path)?,
            path.display().to_string(),
        )),
        None => Ok(LoadedCatalog::new(Catalog::builtin()?, BUILTIN_NAME)),
    }
}

fn serve(
    catalog: Option<PathBuf>,
    listen: Option<std::net::SocketAddr>,
    config: Option<&Path>,
) -> u8 {
    let mut settings = match Settings::load(config, std::env::vars()) {
        Ok(s) => s,
        Err(e) => {
            report!("aipdp: invalid settings: {e}");
            return exit::USAGE;
        }
    };
    let catalog_origin = if catalog.is_some() {
        "--catalog"
    } else {
        "setting `catalog`"
    };
    if let Some(path) = catalog {
        settings.catalog = Some(path);
    }
    if let Some(addr) = listen {
        settings.listen = addr;
    }
    init_tracing(&settings);
    let loaded = match load_catalog(settings.catalog.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            report!("aipdp: catalog ({catalog_origin}): {e}");
            return exit::INVALID_CATALOG;
        }
    };
    if let Err(problem) = check_worker_threads(std::env::var_os("TOKIO_WORKER_THREADS")) {
        report!("aipdp: {problem}");
        return exit::USAGE;
    }
    let (flavour, mut builder) = runtime_builder();
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            report!("aipdp: cannot start the runtime: {e}");
            return exit::SOFTWARE;
        }
    };
    let result = runtime.block_on(async move {
        let version = loaded.catalog.version.to_string();
        let source = loaded.source.clone();
        // Whether the API needs a token, and whether /admin exists: an
        // operator should see an open API at start-up, not find it later.
        let api_tokens = !settings.tokens.api.is_empty();
        let admin = !settings.tokens.admin.is_empty();
        let batch_writes = settings.batch_writes;
        let app = Application::build(settings, loaded).await?;
        let addr = app.local_addr()?;
        tracing::info!(%addr, catalog_version = %version, catalog_source = %source, runtime = flavour, batch_writes, api_tokens, admin, "serving");
        app.run_until_stopped(shutdown_signal()).await
    });
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            report!("aipdp: {e}");
            exit::SOFTWARE
        }
    }
}

/// The runtime to serve on, and its name for the log: tokio's current-thread
/// scheduler when the process may run on one core only (pinned with
/// `taskset`, or a container limited to one CPU: the standard library's
/// count follows CPU affinity and cgroup quotas), else its multi-thread
/// scheduler with a worker per core.
///
/// On one core a multi-thread runtime still keeps its one worker apart from
/// the thread that accepts connections, and every request pays for the
/// cross-thread wake-ups and work-stealing bookkeeping of a scheduler
/// with nobody to share work with; the current-thread runtime runs it all
/// on one thread (about 2% fewer instructions per decision, see
/// docs/BENCHMARKS.md). `TOKIO_WORKER_THREADS`, when set, asks for the
/// multi-thread runtime with that many workers, as tokio documents.
/// Public for the benchmark floor, which runs on the same runtime.
pub fn runtime_builder() -> (&'static str, tokio::runtime::Builder) {
    let one_core = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    if one_core && std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        (
            "current_thread",
            tokio::runtime::Builder::new_current_thread(),
        )
    } else {
        ("multi_thread", tokio::runtime::Builder::new_multi_thread())
    }
}

/// Most workers `TOKIO_WORKER_THREADS` may ask for.
const MAX_WORKER_THREADS: usize = 1024;

/// `TOKIO_WORKER_THREADS`, when set, must be a worker count tokio can
/// start with: tokio panics on anything else.
fn check_worker_threads(value: Option<std::ffi::OsString>) -> Result<(), String> {
    let Some(value) = value else {
        return Ok(());
    };
    let text = value.to_string_lossy();
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_WORKER_THREADS).contains(&n) => Ok(()),
        _ => Err(format!(
            "TOKIO_WORKER_THREADS must be a whole number from 1 to {MAX_WORKER_THREADS}, got `{text}`"
        )),
    }
}

/// Completes on SIGINT or SIGTERM. A second one while requests drain stops
/// the process at once, with the decision log written out.
async fn shutdown_signal() {
    let mut signals = StopSignals::listen();
    signals.next().await;
    tracing::info!(
        "stopping: finishing in-flight requests (a second SIGINT or SIGTERM stops at once)"
    );
    tokio::spawn(async move {
        signals.next().await;
        tracing::warn!("second stop signal: exiting without waiting for in-flight requests");
        crate::http::flush_decision_log();
        std::process::exit(i32::from(exit::STOPPED_EARLY));
    });
}

/// SIGINT and SIGTERM, listened to from start to exit: a signal that comes
/// between two waits is kept for the next one, not lost.
struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn listen() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// The next SIGINT or SIGTERM.
    async fn next(&mut self) {
        #[cfg(unix)]
        {
            let StopSignals {
                interrupt,
                terminate,
            } = self;
            // A signal whose handler could not be installed never comes.
            async fn next(signal: Option<&mut tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = next(interrupt.as_mut()) => {},
                () = next(terminate.as_mut()) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn init_tracing(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a terminal: log files and collectors get plain
    // text, which is also cheaper to write on every decision.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        // A line standard error cannot take is lost; reporting that on
        // standard error would panic.
        .log_internal_errors(false);
    let _ = match settings.log.format {
        crate::config::LogFormat::Json => builder.json().try_init(),
        crate::config::LogFormat::Text => builder.try_init(),
    };
}

fn check(file: Option<&Path>) -> u8 {
    let loaded = match load_catalog(file) {
        Ok(c) => c,
        Err(e) => {
            report!("aipdp check: {e}");
            return exit::INVALID_CATALOG;
        }
    };
    match crate::check::run_examples(&loaded.catalog) {
        Ok(n) => {
            let said = format!(
                "{}: catalog {} is valid; {n} example decisions pass\n",
                loaded.source, loaded.catalog.version
            );
            if !write_stdout("check", &said) {
                return exit::SOFTWARE;
            }
            exit::OK
        }
        Err(failure) => {
            report!("aipdp check: {}: {failure}", loaded.source);
            exit::INVALID_CATALOG
        }
    }
}

fn decide_once(request: Option<&Path>, catalog: Option<&Path>) -> u8 {
    let loaded = match load_catalog(catalog) {
        Ok(c) => c,
        Err(e) => {
            report!("aipdp decide: {e}");
            return exit::INVALID_CATALOG;
        }
    };
    let request = request.filter(|path| *path != Path::new("-"));
    let mut text = Vec::new();
    let read = match &request {
        Some(path) => std::fs::read(path).map(|b| text = b),
        None => std::io::stdin().read_to_end(&mut text).map(|_| ()),
    };
    if let Err(e) = read {
        let from = request.map_or_else(
            || "standard input".to_owned(),
            |p| format!("`{}`", p.display()),
        );
        report!("aipdp decide: cannot read the request from {from}: {e}");
        return exit::USAGE;
    }
    let raw: RawDecisionRequest = match crate::http::error::parse_json(&text, "") {
        Ok(raw) => raw,
        Err(problem) => {
            report!("aipdp decide: {}", problem.detail);
            for e in &problem.errors {
                report!(
                    "  {}: {}",
                    if e.pointer.is_empty() {
                        "/"
                    } else {
                        &e.pointer
                    },
                    e.message
                );
            }
            return exit::USAGE;
        }
    };
    let catalog = &loaded.catalog;
    let request = match resolve_request(catalog, &raw) {
        Ok(r) => r,
        Err(errors) => {
            report!("aipdp decide: invalid request");
            for e in &errors {
                report!("  {}: {}", e.pointer, e.message);
            }
            return exit::USAGE;
        }
    };
    let decision = decide(catalog, &request);
    let body = DecisionBody::new(
        catalog,
        &decision,
        DecisionIds::new().next_id().to_string(),
        request.explain,
    );
    // Through a `Value`, so the parts rendered at catalog load are
    // indented like the rest.
    match serde_json::to_value(&body).and_then(|v| serde_json::to_string_pretty(&v)) {
        Ok(json) => {
            if !write_stdout("decide", &(json + "\n")) {
                return exit::SOFTWARE;
            }
        }
        Err(e) => {
            report!("aipdp decide: {e}");
            return exit::SOFTWARE;
        }
    }
    match decision.outcome {
        Outcome::Permit => exit::OK,
        Outcome::Partial => exit::PARTIAL,
        Outcome::Deny => exit::DENY,
    }
}

/// Exit 0 when no decision changes, 1 when some do: CI can gate a catalog
/// edit on a reviewed impact.
fn diff(old: &Path, new: &Path, format: DiffFormat) -> u8 {
    let (old, new) = match (Catalog::load(old), Catalog::load(new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            report!("aipdp diff: {e}");
            return exit::INVALID_CATALOG;
        }
    };
    let diff = crate::diff::diff(&old, &new);
    let text = match format {
        DiffFormat::Text => crate::diff::render_text(&diff),
        DiffFormat::Json => match serde_json::to_string_pretty(&diff) {
            Ok(json) => json + "\n",
            Err(e) => {
                report!("aipdp diff: {e}");
                return exit::SOFTWARE;
            }
        },
    };
    if !write_stdout("diff", &text) {
        return exit::SOFTWARE;
    }
    if diff.changes_decisions() {
        exit::DECISIONS_CHANGE
    } else {
        exit::OK
    }
}

/// Writes to standard output. Output is often piped into `head`, so a
/// closed pipe is not a failure; any other write error is reported.
fn write_stdout(command: &str, text: &str) -> bool {
    let written = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            report!("aipdp {command}: {e}");
            false
        }
        _ => true,
    }
}

/// The address to reach a service listening on `addr` from this host: the
/// loopback address of its family when it listens on every interface.
fn loopback_if_unspecified(mut addr: std::net::SocketAddr) -> std::net::SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

/// A plain HTTP/1.1 GET of `/readyz`, so the container image needs no curl.
fn healthcheck(url: &str) -> u8 {
    use std::io::Write;
    let Some(rest) = url.strip_prefix("http://") else {
        report!("aipdp healthcheck: only http:// URLs are supported, got `{url}`");
        return exit::USAGE;
    };
    let host = rest.split('/').next().unwrap_or(rest);
    let result = (|| -> std::io::Result<String> {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(host)?
            .next()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let timeout = std::time::Duration::from_secs(3);
        let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        write!(
            stream,
            "GET /readyz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    })();
    match result {
        Ok(response) if response.starts_with("HTTP/1.1 200") => exit::OK,
        Ok(response) => {
            report!(
                "aipdp healthcheck: {}",
                response.lines().next().unwrap_or("no answer")
            );
            exit::UNHEALTHY
        }
        Err(e) => {
            report!("aipdp healthcheck: {host}: {e}");
            exit::UNHEALTHY
        }
    }
}
