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
    pub limits: Limits,
    pub log: LogSettings,
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
    /// Refuse tenant ids that name no profile, even with a region.
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
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
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
            set_path(&mut table, &path, parse_scalar(&value)).map_err(|problem| {
                ConfigError::Env {
                    var: var.clone(),
                    problem,
                }
            })?;
        }
        let settings: Settings =
            toml::Table::try_into(table).map_err(|source| ConfigError::Parse {
                origin: "settings".into(),
                source,
            })?;
        settings.validate()?;
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
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(ConfigError::Invalid {
                key: "log.level",
                problem: format!("`{}` is not a tracing filter", self.log.level),
            });
        }
        Ok(())
    }
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
fn parse_scalar(value: &str) -> toml::Value {
    if let Ok(i) = value.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match value {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(value.to_owned()),
    }
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
}
