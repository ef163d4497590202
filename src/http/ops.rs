//! Liveness, readiness and the API description.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub catalog_version: String,
}

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Ready: a catalog is loaded and decisions can be made.
///
/// The last good catalog keeps the service ready through a failed reload,
/// unless `reload.unready_on_failed_reload` is set: then a failed reload
/// answers 503 until a reload succeeds.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "A catalog is loaded", body = Readiness),
        (status = 503, description = "The last catalog reload failed and the settings make that not ready", body = Readiness),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let ready = state.ready();
    let body = Json(Readiness {
        status: if ready { "ready" } else { "reload_failed" },
        catalog_version: state.catalog().catalog.version.to_string(),
    });
    if ready {
        body.into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

/// The OpenAPI document of this service.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.inner.openapi.clone(),
    )
}
