//! `GET /v1/catalog` and its sub-resources, with `ETag` / `If-None-Match`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use super::{AppState, LoadedCatalog};
use crate::catalog::format::{RawCatalog, RawChange, RawFeature, RawMode, RawProvider, RawRegion};

/// Whether an `If-None-Match` header matches the entity tag.
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// The entity tag and cache headers of the catalog in force, and whether
/// the caller already holds it (then the answer is a bare 304).
fn tags(loaded: &LoadedCatalog, headers: &HeaderMap) -> ([(HeaderName, HeaderValue); 2], bool) {
    let etag = HeaderValue::from_str(&loaded.etag).unwrap_or(HeaderValue::from_static("\"\""));
    let tags = [(header::ETAG, etag), loaded.cache_control()];
    (tags, matches(headers, &loaded.etag))
}

/// The whole catalog in force, as loaded.
#[derive(Serialize)]
pub struct CatalogBody<'a> {
    /// SHA-256 of the catalog's canonical JSON form.
    pub digest: &'a str,
    #[serde(flatten)]
    pub catalog: &'a RawCatalog,
}

// The catalog file's schema is closed (`additionalProperties: false`, as
// the file format refuses unknown fields), so a derived `allOf` of it and
// `digest` would refuse every answer. The answer's schema is the file's
// schema with `digest` added to it.
impl PartialSchema for CatalogBody<'_> {
    fn schema() -> RefOr<Schema> {
        let mut schema = RawCatalog::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.properties.insert(
                "digest".into(),
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("SHA-256 of the catalog's canonical JSON form."))
                    .into(),
            );
            object.required.insert(0, "digest".into());
            object.description = Some("The whole catalog in force, as loaded.".into());
        }
        schema
    }
}

impl ToSchema for CatalogBody<'_> {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        RawCatalog::schemas(schemas);
    }
}

/// The catalog in force.
#[utoipa::path(get, path = "/v1/catalog", tag = "catalog", operation_id = "get_catalog",
    params(("If-None-Match" = Option<String>, Header, description = "Entity tag of a copy the caller holds")),
    responses(
        (status = 200, description = "The catalog, with its `ETag`", body = CatalogBody, headers(
            ("ETag" = String, description = "The catalog version and digest, the same on every catalog resource"),
            ("Cache-Control" = String, description = "`private, max-age=` the catalog's `ttl_seconds`"),
        )),
        (status = 304, description = "The caller's copy is current", headers(
            ("ETag" = String, description = "The catalog's entity tag"),
        )),
    ))]
pub async fn whole(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let loaded = state.catalog();
    match tags(&loaded, &headers) {
        (tags, true) => (StatusCode::NOT_MODIFIED, tags).into_response(),
        (tags, false) => (
            tags,
            Json(CatalogBody {
                digest: &loaded.catalog.digest,
                catalog: &loaded.catalog.raw,
            }),
        )
            .into_response(),
    }
}

macro_rules! sub_resource {
    ($fn:ident, $operation:literal, $path:literal, $field:ident, $item:ty, $body:ident, $what:literal) => {
        #[derive(Serialize, ToSchema)]
        pub struct $body<'a> {
            pub catalog_version: &'a str,
            pub $field: &'a [$item],
        }

        #[utoipa::path(get, path = $path, tag = "catalog", operation_id = $operation, summary = $what,
            params(("If-None-Match" = Option<String>, Header, description = "Entity tag of a copy the caller holds")),
            responses(
                (status = 200, description = $what, body = $body, headers(
                    ("ETag" = String, description = "The catalog version and digest, the same on every catalog resource"),
                    ("Cache-Control" = String, description = "`private, max-age=` the catalog's `ttl_seconds`"),
                )),
                (status = 304, description = "The caller's copy is current", headers(
                    ("ETag" = String, description = "The catalog's entity tag"),
                )),
            ))]
        pub async fn $fn(State(state): State<AppState>, headers: HeaderMap) -> Response {
            let loaded = state.catalog();
            let catalog = &loaded.catalog;
            match tags(&loaded, &headers) {
        (tags, true) => (StatusCode::NOT_MODIFIED, tags).into_response(),
        (tags, false) => (tags, Json($body { catalog_version: &catalog.version, $field: &catalog.raw.$field })).into_response(),
    }
        }
    };
}

sub_resource!(
    regions,
    "catalog_regions",
    "/v1/catalog/regions",
    regions,
    RawRegion,
    RegionsBody,
    "The catalog's regions, each with its default mode."
);
sub_resource!(
    modes,
    "catalog_modes",
    "/v1/catalog/modes",
    modes,
    RawMode,
    ModesBody,
    "The catalog's deployment modes, with their exposure rank and offerings."
);
sub_resource!(
    providers,
    "catalog_providers",
    "/v1/catalog/providers",
    providers,
    RawProvider,
    ProvidersBody,
    "The catalog's model providers."
);
sub_resource!(
    features,
    "catalog_features",
    "/v1/catalog/features",
    features,
    RawFeature,
    FeaturesBody,
    "The catalog's features, with their routes under each mode."
);
sub_resource!(
    changelog,
    "catalog_changelog",
    "/v1/catalog/changelog",
    changelog,
    RawChange,
    ChangelogBody,
    "The catalog's changelog: what changed in the offering, by version and date, oldest first."
);
