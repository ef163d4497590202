//! The HTTP API: router, shared state, and start-up as a library.
//!
//! Routes and their OpenAPI entries are declared together with
//! utoipa-axum's `routes!`, so a route cannot exist without its spec.
//! Handlers parse, call the engine, and render `wire` types; they hold no
//! rule of their own.

mod answer;
mod catalog;
mod deadline;
mod decisions;
mod eligibility;
pub mod error;
mod ops;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::catalog::Catalog;
use crate::config::Settings;
use crate::wire::DecisionIds;

/// A compiled catalog with what the service derives from it once.
#[derive(Debug)]
pub struct LoadedCatalog {
    pub catalog: Catalog,
    /// Where it came from: a path, or the built-in name.
    pub source: String,
    pub loaded_at: SystemTime,
    /// The strong entity tag of the catalog endpoints.
    pub etag: String,
}

impl LoadedCatalog {
    pub fn new(catalog: Catalog, source: impl Into<String>) -> LoadedCatalog {
        let etag = format!("\"{}-{}\"", catalog.version, &catalog.digest[..16]);
        LoadedCatalog {
            catalog,
            source: source.into(),
            loaded_at: SystemTime::now(),
            etag,
        }
    }
}

/// State shared by every handler: one immutable catalog snapshot behind a
/// handle that a reload swaps whole.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    catalog: ArcSwap<LoadedCatalog>,
    ids: DecisionIds,
    settings: Settings,
    openapi: Bytes,
}

impl AppState {
    pub fn new(settings: Settings, catalog: LoadedCatalog) -> AppState {
        let openapi = Bytes::from(openapi_json());
        AppState {
            inner: Arc::new(Shared {
                catalog: ArcSwap::from_pointee(catalog),
                ids: DecisionIds::new(),
                settings,
                openapi,
            }),
        }
    }

    /// The catalog in force. A request keeps the snapshot it started with.
    pub fn catalog(&self) -> Arc<LoadedCatalog> {
        self.inner.catalog.load_full()
    }

    /// Puts a new, already validated catalog in force.
    pub fn swap_catalog(&self, catalog: LoadedCatalog) {
        self.inner.catalog.store(Arc::new(catalog));
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn next_decision_id(&self) -> String {
        self.inner.ids.next_id()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "aipdp",
        description = "Policy decision point for AI deployments: which deployment mode, which model providers and which route a tenant may use for each AI feature, with obligations and reasons."
    ),
    tags(
        (name = "decisions", description = "Decisions for internal platforms and gateways"),
        (name = "eligibility", description = "What a tenant could have, for admin portals"),
        (name = "catalog", description = "The catalog in force"),
        (name = "operations", description = "Health, readiness and the API description"),
    )
)]
struct ApiDoc;

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(decisions::decide_one))
        .routes(routes!(decisions::decide_batch))
        .routes(routes!(decisions::route))
        .routes(routes!(eligibility::eligibility))
        .routes(routes!(catalog::whole))
        .routes(routes!(catalog::regions))
        .routes(routes!(catalog::modes))
        .routes(routes!(catalog::providers))
        .routes(routes!(catalog::features))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::openapi))
}

/// The OpenAPI document, as served at `/openapi.json` and printed by
/// `aipdp openapi`.
pub fn openapi_json() -> String {
    let (_, spec) = api().split_for_parts();
    spec.to_pretty_json().unwrap_or_default() + "\n"
}

/// The whole service: routes, limits and the problem contract.
pub fn router(state: AppState) -> Router {
    let limits = state.settings().limits.clone();
    let (router, _) = api().split_for_parts();
    let router = router
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_millis(limits.request_timeout_ms),
            deadline::deadline,
        ))
        .layer(axum::middleware::map_response(
            error::problem_for_bare_errors,
        ))
        .with_state(state);
    // Per-request traces are debug output, and the layer costs about 1.7 us
    // of CPU per request even when nothing is recorded (docs/BENCHMARKS.md),
    // so it is installed only when the log filter records its events. Server
    // errors are logged by `Problem` either way.
    if tracing::enabled!(target: "tower_http::trace", tracing::Level::DEBUG) {
        router.layer(tower_http::trace::TraceLayer::new_for_http())
    } else {
        router
    }
}

/// A bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Binds the listener (port 0 picks a free port).
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn build(settings: Settings, catalog: LoadedCatalog) -> std::io::Result<Application> {
        let listener = TcpListener::bind(settings.listen).await?;
        Ok(Application {
            listener,
            state: AppState::new(settings, catalog),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = router(self.state);
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
