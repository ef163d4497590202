//! The HTTP API: router, shared state, and start-up as a library.
//!
//! Routes and their OpenAPI entries are declared together with
//! utoipa-axum's `routes!`, so a route cannot exist without its spec.
//! Handlers parse, call the engine, and render `wire` types; they hold no
//! rule of their own.
//!
//! Running it: [`reload`] swaps in a new catalog only when valid,
//! [`metrics`] counts, [`observe`] writes the decision log (every decision
//! handler calls [`observe::record_decision`] once per decision), `guard`
//! checks tokens, sheds load and sets CORS, `admin` shows status and
//! reloads, and `serve` is the accept loop with its timeouts and drain.

mod admin;
mod answer;
pub mod authz;
mod authzen;
mod batched;
mod catalog;
mod compare;
mod decision_log;
pub use decision_log::flush as flush_decision_log;
mod decisions;
mod dispatch;
mod eligibility;
pub mod error;
mod front;
mod gateway;
mod guard;
pub mod metrics;
pub mod observe;
mod ops;
pub mod reload;
mod serve;
mod ui;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode};
use tokio::net::TcpListener;
use tower::{Service, ServiceBuilder};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::catalog::Catalog;
use crate::config::Settings;
use crate::wire::DecisionIds;
use guard::BearerTokens;

/// A compiled catalog with what the service derives from it once.
#[derive(Debug)]
pub struct LoadedCatalog {
    pub catalog: Catalog,
    /// Where it came from: a path, or the built-in name.
    pub source: String,
    pub loaded_at: SystemTime,
    /// The strong entity tag of the catalog endpoints.
    pub etag: String,
    /// `Cache-Control` of answers: private, for the catalog's TTL.
    cache_control: HeaderValue,
    /// The authoriser's answer headers that depend on the catalog alone.
    gateway_heads: authz::Heads,
    decision_counters: metrics::DecisionCounters,
}

impl LoadedCatalog {
    /// The `Cache-Control` header of an answer decided on this catalog.
    pub fn cache_control(&self) -> (axum::http::HeaderName, HeaderValue) {
        (
            axum::http::header::CACHE_CONTROL,
            self.cache_control.clone(),
        )
    }

    /// The authoriser's answer headers made for this catalog.
    pub fn gateway_heads(&self) -> &authz::Heads {
        &self.gateway_heads
    }

    /// The counters of decisions made on this catalog.
    pub fn decision_counters(&self) -> &metrics::DecisionCounters {
        &self.decision_counters
    }

    pub fn new(catalog: Catalog, source: impl Into<String>) -> LoadedCatalog {
        let etag = format!("\"{}-{}\"", catalog.version, &catalog.digest[..16]);
        let cache_control =
            HeaderValue::from_str(&format!("private, max-age={}", catalog.ttl_seconds))
                .unwrap_or(HeaderValue::from_static("no-store"));
        let gateway_heads = authz::Heads::new(&catalog, &cache_control);
        LoadedCatalog {
            gateway_heads,
            decision_counters: metrics::DecisionCounters::new(catalog.modes.len()),
            catalog,
            cache_control,
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
    metrics: metrics::Metrics,
    reload: reload::ReloadState,
    guard: guard::Guard,
    routes: metrics::RouteTemplates,
    /// `authz.fallback_header`, parsed once (the settings check it).
    fallback_header: axum::http::HeaderName,
}

impl AppState {
    /// # Errors
    /// Only when the metrics cannot be registered or two routes conflict,
    /// which the tests rule out.
    pub fn new(settings: Settings, catalog: LoadedCatalog) -> std::io::Result<AppState> {
        let openapi = Bytes::from(openapi_json());
        let metrics = metrics::Metrics::new().map_err(std::io::Error::other)?;
        let (_, spec) = api().split_for_parts();
        let mut templates: Vec<&str> = spec.paths.paths.keys().map(String::as_str).collect();
        templates.extend_from_slice(&ui::paths());
        let routes = metrics::RouteTemplates::new(templates).map_err(std::io::Error::other)?;
        let fallback_header =
            axum::http::HeaderName::from_bytes(settings.authz.fallback_header.as_bytes())
                .map_err(std::io::Error::other)?;
        metrics.catalog_in_force(&catalog);
        let guard = guard::Guard::new(&settings);
        Ok(AppState {
            inner: Arc::new(Shared {
                catalog: ArcSwap::from_pointee(catalog),
                ids: DecisionIds::new(),
                settings,
                openapi,
                metrics,
                reload: reload::ReloadState::default(),
                guard,
                routes,
                fallback_header,
            }),
        })
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// The header that carries an allowed route's fallback chain.
    pub fn fallback_header(&self) -> &axum::http::HeaderName {
        &self.inner.fallback_header
    }

    /// The route template `path` matches, as the metrics label it.
    pub fn route_of(&self, path: &str) -> &str {
        self.inner.routes.of(path)
    }

    /// Ready to take traffic: a catalog is always loaded, so only a failed
    /// last reload, when the settings say so, makes the service not ready.
    pub fn ready(&self) -> bool {
        !(self.settings().reload.unready_on_failed_reload && self.inner.reload.failing())
    }

    /// The catalog in force. A request keeps the snapshot it started with.
    pub fn catalog(&self) -> arc_swap::Guard<Arc<LoadedCatalog>> {
        self.inner.catalog.load()
    }

    /// Puts a new, already validated catalog in force.
    pub fn swap_catalog(&self, catalog: LoadedCatalog) {
        self.inner.catalog.store(Arc::new(catalog));
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn next_decision_id(&self) -> crate::wire::DecisionId {
        self.inner.ids.next_id()
    }

    /// A request id for a request that came without one, from the same
    /// generator as decision ids.
    pub fn next_request_id(&self) -> HeaderValue {
        HeaderValue::from_bytes(self.inner.ids.next_id().as_bytes())
            .unwrap_or(HeaderValue::from_static("unknown"))
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
        (name = "gateways", description = "External authorisation for nginx, Envoy and Caddy"),
        (name = "authzen", description = "The OpenID AuthZEN Authorization API 1.0"),
        (name = "catalog", description = "The catalog in force"),
        (name = "operations", description = "Health, readiness, metrics and the API description"),
        (name = "admin", description = "Catalog status, reload and diff; needs an admin token"),
    ),
    modifiers(&BearerTokens)
)]
struct ApiDoc;

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(decisions::decide_one))
        .routes(routes!(decisions::decide_batch))
        .routes(routes!(decisions::route))
        .routes(routes!(compare::compare))
        .routes(routes!(authz::authorise))
        .routes(routes!(authz::authorise_slash))
        .routes(routes!(authz::authorise_path))
        .routes(routes!(authzen::evaluation))
        .routes(routes!(authzen::evaluations))
        .routes(routes!(authzen::search_action))
        .routes(routes!(authzen::configuration))
        .routes(routes!(eligibility::eligibility))
        .routes(routes!(catalog::whole))
        .routes(routes!(catalog::regions))
        .routes(routes!(catalog::modes))
        .routes(routes!(catalog::providers))
        .routes(routes!(catalog::features))
        .routes(routes!(catalog::changelog))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::openapi))
        .routes(routes!(metrics::metrics))
        .routes(routes!(admin::status))
        .routes(routes!(admin::reload))
        .routes(routes!(admin::catalog_diff))
}

/// The OpenAPI document, as served at `/openapi.json` and printed by
/// `aipdp openapi`.
pub fn openapi_json() -> String {
    let (_, mut spec) = api().split_for_parts();
    guard::declare_refusals(&mut spec);
    front::declare_request_id(&mut spec);
    // axum's catch-all `{*rest}` is the OpenAPI path parameter `{rest}`.
    let paths = &mut spec.paths.paths;
    if let Some(item) = paths.remove(authz::CATCH_ALL_ROUTE) {
        paths.insert(authz::CATCH_ALL_ROUTE.replace("{*", "{"), item);
    }
    // One handler serves every method of the authoriser's paths; each
    // operation still needs an id of its own.
    for item in paths.values_mut() {
        let operations = operations_mut(item);
        if operations.iter().filter(|(_, op)| op.is_some()).count() < 2 {
            continue;
        }
        for (method, operation) in operations {
            if let Some(id) = operation.as_mut().and_then(|op| op.operation_id.as_mut()) {
                *id = format!("{id}_{method}");
            }
        }
    }
    spec.to_pretty_json().unwrap_or_default() + "\n"
}

/// The operations of an OpenAPI path item, by method, present or not.
fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> [(&'static str, &mut Option<utoipa::openapi::path::Operation>); 8] {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
}

/// The whole service: routes, limits, tokens and the problem contract.
///
/// From the outside in: CORS when configured, the [`front`] door (request
/// id, latency histogram, load shedding, tokens, the request deadline,
/// problem bodies for bare errors), which answers the endpoints of the
/// [`dispatch`] table itself, and the router for every other request. The
/// layers wrap the router once rather than every route, so a request does
/// not clone and box them again. Bodies are read, up to
/// `limits.max_body_bytes`, by [`error::typed_body`], not by a layer.
pub fn router(
    state: AppState,
) -> impl Service<
    axum::http::Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future: Send,
> + Clone
+ Send
+ 'static {
    let cors = guard::cors(state.settings()).map(guard::CorsOutsideAuthz);
    let (router, _) = api().split_for_parts();
    let router = router
        .merge(ui::routes())
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(state.clone());
    ServiceBuilder::new()
        .map_request(|request: axum::http::Request<hyper::body::Incoming>| {
            request.map(axum::body::Body::new)
        })
        .option_layer(cors)
        .layer(front::FrontDoorLayer(state))
        .service(router)
}

/// A bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// Reloads on `SIGHUP` (or logs it as ignored), listening from
    /// [`Application::build`] on: a signal sent as soon as the service
    /// says it is serving must not take the signal's default action,
    /// which ends the process.
    hangups: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Application {
    /// Binds the listener (port 0 picks a free port).
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn build(settings: Settings, catalog: LoadedCatalog) -> std::io::Result<Application> {
        let listener = TcpListener::bind(settings.listen).await.map_err(|error| {
            std::io::Error::new(
                error.kind(),
                format!("cannot listen on {}: {error}", settings.listen),
            )
        })?;
        let state = AppState::new(settings, catalog)?;
        #[cfg(unix)]
        let hangups =
            match reload::reload_on_sighup(state.clone(), state.settings().reload.on_sighup) {
                Ok(task) => Some(Box::pin(task) as Pin<Box<dyn Future<Output = ()> + Send>>),
                Err(error) => {
                    tracing::warn!(
                        %error,
                        "cannot listen for SIGHUP; reload by file watch or POST /admin/reload"
                    );
                    None
                }
            };
        #[cfg(not(unix))]
        let hangups = None;
        Ok(Application {
            listener,
            state,
            hangups,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops accepting and gives
    /// in-flight requests `shutdown.grace_period_ms` to finish. While it
    /// serves, the catalog file (if any) is reloaded on `SIGHUP` and when
    /// it changes, as the settings ask.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let settings = self.state.settings().clone();
        let mut reloaders = Vec::new();
        if let Some(path) = settings.catalog.clone()
            && settings.reload.watch_interval_ms > 0
        {
            reloaders.push(tokio::spawn(reload::watch_file(
                self.state.clone(),
                path,
                Duration::from_millis(settings.reload.watch_interval_ms),
            )));
        }
        // Listening even without a file, and with SIGHUP reloads off, so
        // a stray SIGHUP is logged instead of ending the process.
        if let Some(hangups) = self.hangups {
            reloaders.push(tokio::spawn(hangups));
        }
        let options = serve::ServeOptions {
            header_read: Duration::from_millis(settings.limits.header_read_timeout_ms),
            grace: Duration::from_millis(settings.shutdown.grace_period_ms),
            batch_writes: settings.batch_writes,
        };
        let app = router(self.state);
        let served = serve::serve(self.listener, app, options, shutdown).await;
        decision_log::flush();
        for task in reloaders {
            task.abort();
        }
        served
    }
}
