//! Service settings: embedded defaults, then a file, then `AIPDP_*`
//! environment variables, then validation. Fails fast, naming the key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// The defaults built into the binary.
pub const DEFAULTS: &str = include_str!("../config/aipdp.toml");

/// Settings of a running service.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: SocketAddr,
    /// Catalog file; `None` serves the built-in catalog.
    #[serde(deserialize_with = "empty_is_none")]
    pub catalog: Option<PathBuf>,
    /// Write the answers of requests that arrive together, together
    /// (`http::batched`).
    pub batch_writes: bool,
    pub limits: Limits,
    pub log: LogSettings,
    pub reload: ReloadSettings,
    pub auth: AuthSettings,
    pub cors: CorsSettings,
    pub shutdown: ShutdownSettings,
    /// The tokens read from `auth` at load time.
    #[serde(skip)]
    pub tokens: Tokens,
    pub authz: AuthzSettings,
}

/// Settings of the external-authorisation endpoints for gateways.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthzSettings {
    /// Lower-case header name carrying the fallback chain of an allowed request.
    pub fallback_header: String,
    /// 400 or 403: the status for missing or invalid headers.
    pub invalid_status: u16,
    /// Refuse tenant ids that name no profile, even with a region, and
    /// requests without a tenant id.
    pub require_known_tenant: bool,
    /// Longest header value accepted, in bytes.
    pub max_header_bytes: usize,
    /// Base URL advertised in AuthZEN metadata; empty derives it from `Host`.
    pub public_url: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub request_timeout_ms: u64,
    pub header_read_timeout_ms: u64,
    pub max_concurrent_requests: usize,
    pub retry_after_seconds: u32,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
    /// Whether decisions are logged at all.
    pub decisions: bool,
    /// Share of decisions logged, 0.0 to 1.0.
    pub decision_sample_rate: f64,
    /// Log only answers that refused something (deny, partial).
    pub decisions_deny_only: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReloadSettings {
    /// Poll period of the catalog file watch; 0 turns it off.
    pub watch_interval_ms: u64,
    pub on_sighup: bool,
    pub unready_on_failed_reload: bool,
}

/// Who may call. Token values are [`Secret`]s: they never reach a log line
/// or a `Debug` print.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub api_tokens: Secret,
    #[serde(deserialize_with = "empty_is_none")]
    pub api_tokens_file: Option<PathBuf>,
    pub admin_tokens: Secret,
    #[serde(deserialize_with = "empty_is_none")]
    pub admin_tokens_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    /// Comma-separated origins, `*` for any; empty turns CORS off.
    pub allowed_origins: String,
}

impl CorsSettings {
    /// The configured origins, trimmed, without empty entries.
    pub fn origins(&self) -> Vec<&str> {
        split_list(&self.allowed_origins)
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShutdownSettings {
    pub grace_period_ms: u64,
}

/// A setting whose value must not be shown (bearer tokens).
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(empty)"
        } else {
            "Secret(..)"
        })
    }
}

/// The bearer tokens in force, read once from the settings and token files.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Empty: the API is open.
    pub api: Vec<Secret>,
    /// Empty: `/admin/...` is disabled.
    pub admin: Vec<Secret>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("api", &self.api.len())
            .field("admin", &self.admin.len())
            .finish()
    }
}

impl AuthSettings {
    /// Reads the tokens of the settings and of the token files.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key of a file that cannot be read
    /// or a token that could not be sent in a header.
    pub fn tokens(&self) -> Result<Tokens, ConfigError> {
        let api = read_tokens(
            &self.api_tokens,
            self.api_tokens_file.as_deref(),
            "auth.api_tokens",
            "auth.api_tokens_file",
        )?;
        let admin = read_tokens(
            &self.admin_tokens,
            self.admin_tokens_file.as_deref(),
            "auth.admin_tokens",
            "auth.admin_tokens_file",
        )?;
        Ok(Tokens { api, admin })
    }
}

fn read_tokens(
    inline: &Secret,
    file: Option<&std::path::Path>,
    key: &'static str,
    file_key: &'static str,
) -> Result<Vec<Secret>, ConfigError> {
    let mut tokens: Vec<Secret> = split_list(inline.expose())
        .into_iter()
        .map(Secret::new)
        .collect();
    if tokens.is_empty() && !inline.expose().is_empty() {
        // Spaces or commas only: whoever set it meant tokens, and would
        // get an open API.
        return Err(ConfigError::Invalid {
            key,
            problem: "is set but holds no token (only spaces and commas); leave it empty for none"
                .into(),
        });
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
            key: file_key,
            problem: format!("cannot read `{}`: {e}", path.display()),
        })?;
        tokens.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(Secret::new),
        );
    }
    // The problem names the key, never the token.
    for token in &tokens {
        let usable =
            token.expose().len() >= 16 && token.expose().bytes().all(|b| b.is_ascii_graphic());
        if !usable {
            return Err(ConfigError::Invalid {
                key: if file.is_some() { file_key } else { key },
                problem: "every token must be at least 16 visible ASCII characters".into(),
            });
        }
    }
    Ok(tokens)
}

fn split_list(text: &str) -> Vec<&str> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// A setting that cannot be used, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin}: {source}")]
    Parse {
        origin: String,
        source: toml::de::Error,
    },
    #[error("environment variable `{var}`: {problem}")]
    Env { var: String, problem: String },
    /// A value of the wrong type or range once defaults, file and
    /// environment are merged.
    #[error("setting `{key}`: {problem}")]
    Merged { key: String, problem: String },
    #[error("setting `{key}`: {problem}")]
    Invalid { key: &'static str, problem: String },
}

fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let s = String::deserialize(d)?;
    Ok((!s.is_empty()).then(|| PathBuf::from(s)))
}

impl Settings {
    /// Loads settings: defaults, then `file`, then the `AIPDP_*` entries of
    /// `env` (pass `std::env::vars()`; tests pass a map).
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, variable or key at fault.
    pub fn load(
        file: Option<&std::path::Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut table: toml::Table =
            toml::from_str(DEFAULTS).map_err(|source| ConfigError::Parse {
                origin: "built-in config/aipdp.toml".into(),
                source,
            })?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let overlay: toml::Table =
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    origin: path.display().to_string(),
                    source,
                })?;
            merge(&mut table, overlay);
        }
        let vars: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("AIPDP_"))
            .collect();
        for (var, value) in vars {
            let key = var["AIPDP_".len()..].to_ascii_lowercase();
            let path: Vec<&str> = key.split("__").collect();
            // Tokens stay strings whatever they look like, so a type error
            // can never quote one.
            let value = if path.first() == Some(&"auth") {
                toml::Value::String(value)
            } else {
                parse_scalar(&value).map_err(|problem| ConfigError::Env {
                    var: var.clone(),
                    problem,
                })?
            };
            set_path(&mut table, &path, value).map_err(|problem| ConfigError::Env {
                var: var.clone(),
                problem,
            })?;
        }
        let mut settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| ConfigError::Merged {
                key: e.path().to_string(),
                problem: e.into_inner().message().to_owned(),
            })?;
        settings.validate()?;
        settings.tokens = settings.auth.tokens()?;
        Ok(settings)
    }

    /// Checks values that parse but make no sense.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let limits = &self.limits;
        if !(1024..=64 * 1024 * 1024).contains(&limits.max_body_bytes) {
            return Err(ConfigError::Invalid {
                key: "limits.max_body_bytes",
                problem: format!("must be 1024 to 67108864, got {}", limits.max_body_bytes),
            });
        }
        if !(1..=10_000).contains(&limits.max_batch) {
            return Err(ConfigError::Invalid {
                key: "limits.max_batch",
                problem: format!("must be 1 to 10000, got {}", limits.max_batch),
            });
        }
        if !(1..=600_000).contains(&limits.request_timeout_ms) {
            return Err(ConfigError::Invalid {
                key: "limits.request_timeout_ms",
                problem: format!("must be 1 to 600000, got {}", limits.request_timeout_ms),
            });
        }
        if limits.header_read_timeout_ms == 0 || limits.header_read_timeout_ms > 600_000 {
            return Err(ConfigError::Invalid {
                key: "limits.header_read_timeout_ms",
                problem: format!("must be 1 to 600000, got {}", limits.header_read_timeout_ms),
            });
        }
        if !(1..=1_000_000).contains(&limits.max_concurrent_requests) {
            return Err(ConfigError::Invalid {
                key: "limits.max_concurrent_requests",
                problem: format!(
                    "must be 1 to 1000000, got {}",
                    limits.max_concurrent_requests
                ),
            });
        }
        if !(0.0..=1.0).contains(&self.log.decision_sample_rate) {
            return Err(ConfigError::Invalid {
                key: "log.decision_sample_rate",
                problem: format!("must be 0.0 to 1.0, got {}", self.log.decision_sample_rate),
            });
        }
        let watch = self.reload.watch_interval_ms;
        if watch != 0 && !(10..=3_600_000).contains(&watch) {
            return Err(ConfigError::Invalid {
                key: "reload.watch_interval_ms",
                problem: format!("must be 0 (off) or 10 to 3600000, got {watch}"),
            });
        }
        if !(1..=3_600).contains(&limits.retry_after_seconds) {
            return Err(ConfigError::Invalid {
                key: "limits.retry_after_seconds",
                problem: format!("must be 1 to 3600, got {}", limits.retry_after_seconds),
            });
        }
        if self.shutdown.grace_period_ms > 3_600_000 {
            return Err(ConfigError::Invalid {
                key: "shutdown.grace_period_ms",
                problem: format!(
                    "must be 0 to 3600000, got {}",
                    self.shutdown.grace_period_ms
                ),
            });
        }
        for origin in self.cors.origins() {
            // An origin is a scheme and a host (and port): a browser never
            // sends a path, so an entry with one would never match.
            let host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            let valid = origin == "*"
                || (host.is_some_and(|h| !h.is_empty() && !h.contains(['/', '?', '#']))
                    && axum::http::HeaderValue::from_str(origin).is_ok());
            if !valid {
                return Err(ConfigError::Invalid {
                    key: "cors.allowed_origins",
                    problem: format!(
                        "`{origin}` is not `*` or an http(s) origin (a scheme and a host, with no path)"
                    ),
                });
            }
        }
        let authz = &self.authz;
        if axum::http::HeaderName::from_bytes(authz.fallback_header.as_bytes()).is_err()
            || authz
                .fallback_header
                .bytes()
                .any(|b| b.is_ascii_uppercase())
        {
            return Err(ConfigError::Invalid {
                key: "authz.fallback_header",
                problem: format!(
                    "`{}` is not a lower-case HTTP header name",
                    authz.fallback_header
                ),
            });
        }
        if !matches!(authz.invalid_status, 400 | 403) {
            return Err(ConfigError::Invalid {
                key: "authz.invalid_status",
                problem: format!("must be 400 or 403, got {}", authz.invalid_status),
            });
        }
        if !(64..=65_536).contains(&authz.max_header_bytes) {
            return Err(ConfigError::Invalid {
                key: "authz.max_header_bytes",
                problem: format!("must be 64 to 65536, got {}", authz.max_header_bytes),
            });
        }
        let url = authz.public_url.trim_end_matches('/');
        if !url.is_empty()
            && !((url.starts_with("http://") || url.starts_with("https://"))
                && url.parse::<axum::http::Uri>().is_ok())
        {
            return Err(ConfigError::Invalid {
                key: "authz.public_url",
                problem: format!("`{url}` is not an http(s) URL"),
            });
        }
        check_log_level(&self.log.level)?;
        Ok(())
    }
}

/// `log.level` must be a tracing filter whose every directive names a
/// level: a bare word that is not one (`inof`) is, to tracing, a target
/// name, and would silently switch every other log line off.
fn check_log_level(filter: &str) -> Result<(), ConfigError> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    let invalid = |problem: String| ConfigError::Invalid {
        key: "log.level",
        problem,
    };
    if filter.trim().is_empty() {
        return Err(invalid(format!(
            "empty; give a level ({}) or `target=level` directives",
            LEVELS.join(", ")
        )));
    }
    for directive in filter.split(',').map(str::trim) {
        let is_level = LEVELS.iter().any(|l| l.eq_ignore_ascii_case(directive));
        if !is_level && !directive.contains('=') {
            return Err(invalid(format!(
                "`{directive}` is neither a level ({}) nor a `target=level` directive",
                LEVELS.join(", ")
            )));
        }
    }
    if tracing_subscriber::EnvFilter::try_new(filter).is_err() {
        return Err(invalid(format!("`{filter}` is not a tracing filter")));
    }
    Ok(())
}

fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn set_path(table: &mut toml::Table, path: &[&str], value: toml::Value) -> Result<(), String> {
    match path {
        [] => Err("empty key".into()),
        [key] => {
            if !table.contains_key(*key) {
                return Err(format!("no setting `{key}`"));
            }
            table.insert((*key).to_owned(), value);
            Ok(())
        }
        [section, rest @ ..] => match table.get_mut(*section) {
            Some(toml::Value::Table(inner)) => set_path(inner, rest, value),
            _ => Err(format!("no settings section `{section}`")),
        },
    }
}

/// Environment values are TOML scalars when they parse as one, else strings.
/// Digits that overflow a TOML integer are refused rather than passed on as
/// a string, whose type error would hide the real problem.
fn parse_scalar(value: &str) -> Result<toml::Value, String> {
    if let Ok(i) = value.parse::<i64>() {
        return Ok(toml::Value::Integer(i));
    }
    let digits = value.strip_prefix('-').unwrap_or(value);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{value}` is out of range for a number"));
    }
    if value.contains('.')
        && let Ok(f) = value.parse::<f64>()
    {
        return Ok(toml::Value::Float(f));
    }
    Ok(match value {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(value.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_load() -> Result<(), ConfigError> {
        let s = Settings::load(None, env(&[("HOME", "/root")]))?;
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.catalog, None);
        assert_eq!(s.limits.max_batch, 100);
        Ok(())
    }

    #[test]
    fn env_overrides_defaults() -> Result<(), ConfigError> {
        let s = Settings::load(
            None,
            env(&[
                ("AIPDP_LIMITS__MAX_BATCH", "7"),
                ("AIPDP_LISTEN", "127.0.0.1:0"),
            ]),
        )?;
        assert_eq!(s.limits.max_batch, 7);
        assert_eq!(s.listen.port(), 0);
        Ok(())
    }

    #[test]
    fn unknown_env_key_is_named() {
        let err = Settings::load(None, env(&[("AIPDP_LIMITS__NOPE", "1")])).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("AIPDP_LIMITS__NOPE") && text.contains("nope"),
            "{text}"
        );
    }

    fn load_error(pairs: &[(&str, &str)]) -> String {
        Settings::load(None, env(pairs))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key() {
        assert_eq!(
            load_error(&[("AIPDP_LIMITS__RETRY_AFTER_SECONDS", "-5")]),
            "setting `limits.retry_after_seconds`: invalid value: integer `-5`, expected u32"
        );
        assert_eq!(
            load_error(&[("AIPDP_LOG__FORMAT", "xml")]),
            "setting `log.format`: unknown variant `xml`, expected `text` or `json`"
        );
    }

    #[test]
    fn digits_too_large_for_a_number_are_refused_as_such() {
        assert_eq!(
            load_error(&[("AIPDP_LIMITS__MAX_BATCH", "99999999999999999999")]),
            "environment variable `AIPDP_LIMITS__MAX_BATCH`: \
             `99999999999999999999` is out of range for a number"
        );
    }

    #[test]
    fn authz_settings_are_checked() {
        let s = Settings::load(None, env(&[("AIPDP_AUTHZ__INVALID_STATUS", "403")])).ok();
        assert_eq!(s.map(|s| s.authz.invalid_status), Some(403));
        for (var, value, key) in [
            ("AIPDP_AUTHZ__INVALID_STATUS", "500", "authz.invalid_status"),
            (
                "AIPDP_AUTHZ__FALLBACK_HEADER",
                "X-Bad Header",
                "authz.fallback_header",
            ),
            ("AIPDP_AUTHZ__PUBLIC_URL", "ftp://x", "authz.public_url"),
            (
                "AIPDP_AUTHZ__MAX_HEADER_BYTES",
                "1",
                "authz.max_header_bytes",
            ),
        ] {
            let err = Settings::load(None, env(&[(var, value)])).err();
            let text = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(text.contains(key), "{var}={value}: {text}");
        }
    }

    #[test]
    fn invalid_value_is_named() {
        let err = Settings::load(None, env(&[("AIPDP_LIMITS__MAX_BATCH", "0")])).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("limits.max_batch"), "{text}");
    }

    /// A typo in the level is refused: to tracing a bare word is a target,
    /// and the filter would switch every other line off.
    #[test]
    fn log_levels_name_a_level() {
        for good in ["info", "WARN", "aipdp=debug,info", "warn,tower_http=debug"] {
            let loaded = Settings::load(None, env(&[("AIPDP_LOG__LEVEL", good)]));
            assert!(loaded.is_ok(), "{good}: {:?}", loaded.err());
        }
        for (bad, words) in [
            ("inof", "`inof` is neither a level"),
            ("aipdp", "`aipdp` is neither a level"),
            ("info,debg", "`debg` is neither a level"),
            ("", "empty"),
            ("aipdp=loud", "not a tracing filter"),
        ] {
            let err = Settings::load(None, env(&[("AIPDP_LOG__LEVEL", bad)])).err();
            let text = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(
                text.contains("log.level") && text.contains(words),
                "{bad}: {text}"
            );
        }
    }

    #[test]
    fn operations_settings_are_checked_by_key() {
        for (var, value, key) in [
            (
                "AIPDP_LOG__DECISION_SAMPLE_RATE",
                "1.5",
                "log.decision_sample_rate",
            ),
            (
                "AIPDP_CORS__ALLOWED_ORIGINS",
                "portal.example.com",
                "cors.allowed_origins",
            ),
            (
                "AIPDP_LIMITS__MAX_CONCURRENT_REQUESTS",
                "0",
                "limits.max_concurrent_requests",
            ),
            (
                "AIPDP_LIMITS__HEADER_READ_TIMEOUT_MS",
                "0",
                "limits.header_read_timeout_ms",
            ),
            (
                "AIPDP_CORS__ALLOWED_ORIGINS",
                "https://portal.example.com/admin",
                "cors.allowed_origins",
            ),
            (
                "AIPDP_CORS__ALLOWED_ORIGINS",
                "https://",
                "cors.allowed_origins",
            ),
            (
                "AIPDP_LIMITS__RETRY_AFTER_SECONDS",
                "0",
                "limits.retry_after_seconds",
            ),
            (
                "AIPDP_LIMITS__RETRY_AFTER_SECONDS",
                "100000000",
                "limits.retry_after_seconds",
            ),
            (
                "AIPDP_RELOAD__WATCH_INTERVAL_MS",
                "1",
                "reload.watch_interval_ms",
            ),
            ("AIPDP_AUTH__API_TOKENS", " , ", "auth.api_tokens"),
            ("AIPDP_AUTH__ADMIN_TOKENS", " ", "auth.admin_tokens"),
        ] {
            let err = Settings::load(None, env(&[(var, value)])).err();
            let text = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(text.contains(key), "{var}={value}: {text}");
        }
        let s = Settings::load(
            None,
            env(&[
                ("AIPDP_LOG__DECISION_SAMPLE_RATE", "0.25"),
                (
                    "AIPDP_CORS__ALLOWED_ORIGINS",
                    "https://a.example, https://b.example",
                ),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!((s.log.decision_sample_rate - 0.25).abs() < f64::EPSILON);
        assert_eq!(s.cors.origins(), ["https://a.example", "https://b.example"]);
    }

    #[test]
    fn tokens_from_env_stay_strings_and_are_never_quoted() {
        let s = Settings::load(
            None,
            env(&[("AIPDP_AUTH__API_TOKENS", "12345678901234567890")]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.tokens.api, [Secret::new("12345678901234567890")]);
        let err = Settings::load(None, env(&[("AIPDP_AUTH__ADMIN_TOKENS", "12345")])).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("auth.admin_tokens") && !text.contains("12345"),
            "{text}"
        );
    }
}
