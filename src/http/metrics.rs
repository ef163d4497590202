//! What the service counts, and `GET /metrics` in the Prometheus text
//! format.
//!
//! Every metric lives in a registry owned by the [`AppState`], not in a
//! global, so two services in one process (the tests) count apart.
//! Handlers report a decision through [`super::observe::record_decision`],
//! which lands here; the front door times every request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use super::authz::{CATCH_ALL_ROUTE, SLASH_ROUTE};
use super::observe::Endpoint;
use super::{AppState, LoadedCatalog};
use crate::catalog::{Id, ModeId};
use crate::engine::Outcome;

/// Route templates whose usual answers (`GET` or `POST`, 200 or 403) are
/// timed through a histogram resolved once, in [`Metrics::request_done`].
const USUAL_ROUTES: [&str; 5] = [
    "/v1/decisions",
    "/v1/route",
    "/v1/authz",
    SLASH_ROUTE,
    CATCH_ALL_ROUTE,
];

/// The service's metrics. Cheap to update from any task.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    decisions: IntCounterVec,
    request_duration: HistogramVec,
    in_flight: IntGauge,
    in_flight_now: Arc<AtomicUsize>,
    shed: IntCounter,
    decision_log_dropped: IntCounter,
    catalog_info: IntGaugeVec,
    catalog_loaded: Gauge,
    reloads: IntCounterVec,
    reload_failing: IntGauge,
    /// The latency histograms of [`USUAL_ROUTES`], by route, method (`POST`,
    /// `GET`) and status (200, 403), each resolved on its first use:
    /// `with_label_values` hashes the labels and takes a lock every time.
    usual_durations: [OnceLock<Histogram>; USUAL_ROUTES.len() * 4],
}

/// The decision counters of one catalog, by endpoint, outcome and mode
/// (or none), each resolved on its first use. They live with the catalog
/// because the modes, and so the labels, are the catalog's.
#[derive(Debug)]
pub struct DecisionCounters {
    modes: usize,
    counters: Box<[OnceLock<IntCounter>]>,
}

impl DecisionCounters {
    pub fn new(modes: usize) -> DecisionCounters {
        let slots = Endpoint::ALL.len() * Outcome::ALL.len() * (modes + 1);
        DecisionCounters {
            modes,
            counters: (0..slots).map(|_| OnceLock::new()).collect(),
        }
    }

    fn slot(
        &self,
        endpoint: Endpoint,
        outcome: Outcome,
        mode: Option<ModeId>,
    ) -> Option<&OnceLock<IntCounter>> {
        let mode = mode.map_or(0, |m| m.index() + 1);
        if mode > self.modes {
            return None;
        }
        let at =
            ((endpoint as usize) * Outcome::ALL.len() + outcome as usize) * (self.modes + 1) + mode;
        self.counters.get(at)
    }
}

impl Metrics {
    /// Builds and registers every metric.
    ///
    /// # Errors
    /// Only when two metrics share a name, which the tests rule out.
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new_custom(Some("aipdp".into()), None)?;
        let decisions = IntCounterVec::new(
            Opts::new(
                "decisions_total",
                "Decisions answered, by endpoint, outcome and mode (`none` when no mode was usable).",
            ),
            &["endpoint", "outcome", "mode"],
        )?;
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from a request's arrival at the service to its response, by route template (`unmatched` for none), method and status.",
            )
            .buckets(vec![
                0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                2.5, 10.0,
            ]),
            &["route", "method", "status"],
        )?;
        let in_flight = IntGauge::new(
            "http_requests_in_flight",
            "Requests being handled now (health, readiness and metrics excluded).",
        )?;
        let shed = IntCounter::new(
            "http_requests_shed_total",
            "Requests refused with 503 because the concurrency limit was reached.",
        )?;
        let decision_log_dropped = IntCounter::new(
            "decision_log_dropped_total",
            "Decision-log lines dropped because standard error could not keep up.",
        )?;
        let catalog_info = IntGaugeVec::new(
            Opts::new(
                "catalog_info",
                "The catalog in force: always 1, its labels say which.",
            ),
            &["version", "digest"],
        )?;
        let catalog_loaded = Gauge::new(
            "catalog_loaded_timestamp_seconds",
            "When the catalog in force was loaded, in seconds since the Unix epoch.",
        )?;
        let reloads = IntCounterVec::new(
            Opts::new(
                "catalog_reloads_total",
                "Catalog reload attempts by result: `success` (swapped in), `unchanged`, `failure` (kept the last good one).",
            ),
            &["result"],
        )?;
        let reload_failing = IntGauge::new(
            "catalog_reload_failing",
            "1 while the last reload attempt failed, else 0.",
        )?;
        registry.register(Box::new(decisions.clone()))?;
        registry.register(Box::new(request_duration.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(shed.clone()))?;
        registry.register(Box::new(decision_log_dropped.clone()))?;
        registry.register(Box::new(catalog_info.clone()))?;
        registry.register(Box::new(catalog_loaded.clone()))?;
        registry.register(Box::new(reloads.clone()))?;
        registry.register(Box::new(reload_failing.clone()))?;
        // Show every reload result from the start, so a dashboard's rate()
        // has a series before the first reload.
        for result in ["success", "unchanged", "failure"] {
            reloads.with_label_values(&[result]);
        }
        Ok(Metrics {
            registry,
            decisions,
            request_duration,
            in_flight,
            in_flight_now: Arc::default(),
            shed,
            decision_log_dropped,
            catalog_info,
            catalog_loaded,
            reloads,
            reload_failing,
            usual_durations: Default::default(),
        })
    }

    /// Counts a decision made on the catalog whose counters are `counters`;
    /// `mode` is the decided mode, with its id.
    pub fn decision(
        &self,
        counters: &DecisionCounters,
        endpoint: Endpoint,
        outcome: Outcome,
        mode: Option<(ModeId, &Id)>,
    ) {
        let resolve = || {
            let mode = mode.map_or("none", |(_, id)| id);
            self.decisions
                .with_label_values(&[endpoint.as_str(), outcome.as_str(), mode])
        };
        match counters.slot(endpoint, outcome, mode.map(|(m, _)| m)) {
            Some(slot) => slot.get_or_init(resolve).inc(),
            None => resolve().inc(),
        }
    }

    /// Marks `loaded` as the catalog in force.
    pub fn catalog_in_force(&self, loaded: &LoadedCatalog) {
        self.catalog_info.reset();
        self.catalog_info
            .with_label_values(&[&*loaded.catalog.version, &*loaded.catalog.digest])
            .set(1);
        let at = loaded
            .loaded_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.catalog_loaded.set(at);
    }

    /// Counts a reload attempt by its result.
    pub fn reload(&self, result: &str) {
        self.reloads.with_label_values(&[result]).inc();
        self.reload_failing.set(i64::from(result == "failure"));
    }

    pub fn shed(&self) {
        self.shed.inc();
    }

    pub fn decision_log_dropped(&self) {
        self.decision_log_dropped.inc();
    }

    /// Requests being handled now: the guard counts them in and out
    /// here, and the in-flight gauge shows the count when rendered.
    pub fn in_flight(&self) -> &AtomicUsize {
        &self.in_flight_now
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let in_flight = self.in_flight_now.load(Ordering::Relaxed);
        self.in_flight
            .set(i64::try_from(in_flight).unwrap_or(i64::MAX));
        let mut buffer = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// The route templates of the service (`/v1/authz/{*rest}`), to label a
/// request by the route its path matches: bounded cardinality, never the
/// raw path. The front door times requests outside the router, where
/// axum's `MatchedPath` is not known; a route layer would box every request
/// again to learn it.
#[derive(Debug, Clone)]
pub struct RouteTemplates(matchit::Router<Box<str>>);

impl RouteTemplates {
    /// # Errors
    /// When two templates conflict, which the router would refuse too.
    pub fn new<'a>(
        templates: impl IntoIterator<Item = &'a str>,
    ) -> Result<RouteTemplates, matchit::InsertError> {
        let mut router = matchit::Router::new();
        for template in templates {
            router.insert(template, template.into())?;
        }
        Ok(RouteTemplates(router))
    }

    /// The template `path` matches, or `unmatched`. The paths of the hot
    /// endpoints are recognised without walking the tree, which touched
    /// several of its nodes on every request.
    pub fn of(&self, path: &str) -> &str {
        match path {
            "/v1/decisions" => "/v1/decisions",
            "/v1/route" => "/v1/route",
            _ if path.len() > SLASH_ROUTE.len() && path.starts_with(SLASH_ROUTE) => CATCH_ALL_ROUTE,
            _ => self.in_tree(path),
        }
    }

    fn in_tree(&self, path: &str) -> &str {
        self.0.at(path).map_or("unmatched", |m| m.value)
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::config::Settings;
    use crate::http::{AppState, LoadedCatalog};

    /// The shortcuts give what the tree gives, for every template (its
    /// parameters filled in) and for paths near the hot ones.
    #[test]
    fn shortcuts_agree_with_the_tree() {
        let settings = Settings::load(None, Vec::<(String, String)>::new()).unwrap();
        let catalog = LoadedCatalog::new(Catalog::builtin().unwrap(), "built-in");
        let state = AppState::new(settings, catalog).unwrap();
        let routes = &state.inner.routes;
        let (_, spec) = crate::http::api().split_for_parts();
        let mut paths: Vec<String> = spec
            .paths
            .paths
            .keys()
            .map(|template| template.replace("{rest}", "x/y"))
            .collect();
        paths.extend(
            [
                "/v1/authz/x",
                "/v1/authz//",
                "/v1/authz/v1/chat/completions",
                "/v1/authz",
                "/v1/authz/",
                "/v1/authzx",
                "/v1/decisions/",
                "/v1/decisions/batch",
                "/v1/routes",
                "/v1/route/",
                "/",
                "",
            ]
            .map(String::from),
        );
        for path in &paths {
            assert_eq!(routes.of(path), routes.in_tree(path), "{path}");
        }
        assert_eq!(routes.of("/v1/authz/x/y"), super::CATCH_ALL_ROUTE);
    }
}

impl Metrics {
    /// Times a request into the latency histogram.
    pub fn request_done(&self, route: &str, method: &Method, status: StatusCode, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        let resolve = || {
            self.request_duration
                .with_label_values(&[route, method_label(method), status.as_str()])
        };
        match self.usual_duration(route, method, status) {
            Some(slot) => slot.get_or_init(resolve).observe(seconds),
            None => resolve().observe(seconds),
        }
    }

    fn usual_duration(
        &self,
        route: &str,
        method: &Method,
        status: StatusCode,
    ) -> Option<&OnceLock<Histogram>> {
        let method = match *method {
            Method::POST => 0,
            Method::GET => 1,
            _ => return None,
        };
        let status = match status {
            StatusCode::OK => 0,
            StatusCode::FORBIDDEN => 1,
            _ => return None,
        };
        let route = USUAL_ROUTES.iter().position(|usual| *usual == route)?;
        self.usual_durations.get((route * 2 + method) * 2 + status)
    }
}

/// A request method as a label value: the methods of RFC 9110 and
/// `PATCH` by name, any other (extension methods, which a client may make
/// up freely) as `other`, so that clients cannot add series without end.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Metrics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Every metric, in the Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics().render(),
    )
}
