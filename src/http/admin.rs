//! `GET /admin/status`, `POST /admin/reload` and `POST /admin/catalog/diff`:
//! which catalog is in force and how the last reload went; reload on
//! demand; what an uploaded catalog would change.
//!
//! Both need an admin token; with none configured the guard answers 404 for
//! every `/admin/...` path (see [`super::guard`]).

use std::time::SystemTime;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::{Problem, typed_body};
use super::reload::{ReloadError, ReloadOutcome, Trigger};
use crate::catalog::format::RawChange;
use crate::diff::{CatalogDiff, diff_upload};
use crate::wire::ProblemBody;

/// The refusals every admin endpoint can answer with (for the OpenAPI
/// document; the guard in [`super::guard`] sends them).
#[derive(utoipa::IntoResponses)]
#[expect(dead_code)]
pub enum AdminProblems {
    /// No admin token.
    #[response(status = 401, content_type = "application/problem+json")]
    Missing(ProblemBody),
    /// Not an admin token.
    #[response(status = 403, content_type = "application/problem+json")]
    Refused(ProblemBody),
    /// No admin token is configured: admin endpoints are off.
    #[response(status = 404, content_type = "application/problem+json")]
    Off(ProblemBody),
}

/// The catalog in force.
#[derive(Serialize, ToSchema)]
pub struct CatalogStatus<'a> {
    pub version: &'a str,
    /// The file it was loaded from, or the built-in name.
    pub source: &'a str,
    /// SHA-256 of the catalog's canonical JSON form.
    pub digest: &'a str,
    /// When it was put in force (RFC 3339, UTC).
    pub loaded_at: String,
    /// The catalog's own changelog, newest last.
    pub changelog: &'a [RawChange],
}

/// The last reload attempt.
#[derive(Serialize, ToSchema)]
pub struct ReloadStatus {
    /// When it was attempted (RFC 3339, UTC).
    pub at: String,
    pub trigger: Trigger,
    /// `ok` or `failed`.
    pub result: &'static str,
    /// Why it failed: the file, the entry and the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusBody<'a> {
    /// The service's own version.
    pub service_version: &'static str,
    pub catalog: CatalogStatus<'a>,
    /// `null` until the first reload attempt.
    pub last_reload: Option<ReloadStatus>,
    /// Whether `/readyz` answers 200.
    pub ready: bool,
}

/// Which catalog is in force, and how the last reload went.
#[utoipa::path(get, path = "/admin/status", tag = "admin", operation_id = "admin_status",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The catalog in force and the last reload attempt", body = StatusBody),
        AdminProblems,
    ))]
pub async fn status(State(state): State<AppState>) -> Response {
    let loaded = state.catalog();
    let last_reload = state.inner.reload.last_attempt().map(|a| ReloadStatus {
        at: rfc3339(a.at),
        trigger: a.trigger,
        result: if a.error.is_some() { "failed" } else { "ok" },
        error: a.error,
    });
    let body = StatusBody {
        service_version: env!("CARGO_PKG_VERSION"),
        catalog: CatalogStatus {
            version: &loaded.catalog.version,
            source: &loaded.source,
            digest: &loaded.catalog.digest,
            loaded_at: rfc3339(loaded.loaded_at),
            changelog: &loaded.catalog.raw.changelog,
        },
        last_reload,
        ready: state.ready(),
    };
    // Rendered here because the body borrows the snapshot it describes.
    Json(body).into_response()
}

/// The answer to a reload that went through.
#[derive(Serialize, ToSchema)]
pub struct ReloadBody {
    /// `reloaded` or `unchanged`.
    pub result: &'static str,
    /// The version in force before.
    pub previous_version: String,
    /// The version in force now.
    pub catalog_version: String,
}

/// Reload the catalog file now.
///
/// The file is read, validated and compiled whole; only a valid catalog is
/// put in force. An invalid one is refused with the reason, and the catalog
/// in force keeps serving.
#[utoipa::path(post, path = "/admin/reload", tag = "admin", operation_id = "admin_reload",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The file was valid: its catalog is in force", body = ReloadBody),
        AdminProblems,
        (status = 409, description = "Serving the built-in catalog: there is no file to reload", content_type = "application/problem+json", body = ProblemBody),
        (status = 422, description = "The file is not a valid catalog, or it changed without a new version; the last good catalog keeps serving", content_type = "application/problem+json", body = ProblemBody),
    ))]
pub async fn reload(State(state): State<AppState>) -> Result<Json<ReloadBody>, Problem> {
    let worker = state.clone();
    let result = tokio::task::spawn_blocking(move || worker.reload(Trigger::Admin))
        .await
        .map_err(|e| Problem::internal(format_args!("reload task failed: {e}")))?;
    match result {
        Ok(ReloadOutcome::Swapped { from, to }) => Ok(Json(ReloadBody {
            result: "reloaded",
            previous_version: from,
            catalog_version: to,
        })),
        Ok(ReloadOutcome::Unchanged { version }) => Ok(Json(ReloadBody {
            result: "unchanged",
            previous_version: version.clone(),
            catalog_version: version,
        })),
        Err(error @ ReloadError::NoFile) => Err(Problem::new(
            StatusCode::CONFLICT,
            "no-catalog-file",
            "No catalog file",
            error.to_string(),
        )),
        Err(error @ (ReloadError::Invalid(_) | ReloadError::VersionNotBumped { .. })) => {
            Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-catalog",
                "Invalid catalog",
                format!(
                    "{error}; catalog {} keeps serving",
                    state.catalog().catalog.version
                ),
            ))
        }
    }
}

/// Compare an uploaded catalog with the one in force.
///
/// The body is a whole catalog as TOML. The answer lists what changed (in a
/// stable order) and its impact on decisions: every tenant profile and every
/// region, cluster and residency combination whose decision would change,
/// old and new side by side. Nothing is put in force.
#[utoipa::path(post, path = "/admin/catalog/diff", tag = "admin",
    security(("admin_token" = [])),
    request_body(description = "The candidate catalog, as TOML",
        content((String = "application/toml"), (String = "text/plain"))),
    responses(
        (status = 200, description = "The changes and their impact", body = CatalogDiff),
        (status = 400, description = "The body is not UTF-8 text", content_type = "application/problem+json", body = ProblemBody),
        AdminProblems,
        (status = 413, description = "The body is over the size limit", content_type = "application/problem+json", body = ProblemBody),
        (status = 415, description = "The body is not declared as TOML or plain text", content_type = "application/problem+json", body = ProblemBody),
        (status = 422, description = "The uploaded catalog is not valid; the problem names the entry", content_type = "application/problem+json", body = ProblemBody),
    ))]
pub async fn catalog_diff(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<CatalogDiff>, Problem> {
    let bytes = typed_body(request, &state, "application/toml", |essence| {
        matches!(essence, "application/toml" | "text/toml" | "text/plain")
    })
    .await?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
        Problem::about_body(
            StatusCode::BAD_REQUEST,
            "unreadable-body",
            "Unreadable body",
            format!("the catalog is not UTF-8 text: {e}"),
        )
    })?;
    let in_force = state.catalog();
    // Compiling and deciding hundreds of scenarios twice is CPU work.
    let result = tokio::task::spawn_blocking(move || diff_upload(&in_force.catalog, &text))
        .await
        .map_err(|e| Problem::internal(format_args!("diff task failed: {e}")))?;
    result.map(Json).map_err(|error| {
        Problem::about_body(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-catalog",
            "Invalid catalog",
            format!("the uploaded catalog is not valid: {error}"),
        )
    })
}

/// `2026-11-23T04:05:06.789Z` for a point in time (UTC, milliseconds).
pub fn rfc3339(at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = super::decision_log::civil_from_days(secs / 86_400);
    let rest = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_millis(s);
        assert_eq!(rfc3339(at(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(at(951_782_400_000)), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(at(1_795_403_106_789)), "2026-11-23T03:05:06.789Z");
    }
}
