//! Live catalog reload: read and validate a whole new catalog, swap it in
//! only when valid, remember how the last attempt went.
//!
//! Three triggers call [`AppState::reload`]: `SIGHUP`, a watch on the
//! catalog file, and `POST /admin/reload`. Reloads are serialised, so two
//! triggers never race to swap.
//!
//! The watch polls: every `reload.watch_interval_ms` it reads the configured
//! path afresh and compares a SHA-256 of the bytes with the last one seen.
//! Reading the path (not an open handle or inode) follows whatever the path
//! resolves to now, which is what survives the way Kubernetes updates a
//! mounted ConfigMap: it writes a new directory and atomically swaps the
//! `..data` symlink, so the watched file is replaced, never written. Inotify
//! on the file would keep watching the orphaned old inode; polling a small
//! file once a second costs nothing and needs no extra crate.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::{AppState, LoadedCatalog};
use crate::catalog::{Catalog, LoadError};

/// What set off a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Signal,
    Watch,
    Admin,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Signal => "signal",
            Trigger::Watch => "watch",
            Trigger::Admin => "admin",
        }
    }
}

/// How a reload attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// A new catalog is in force.
    Swapped { from: String, to: String },
    /// The file holds the catalog already in force.
    Unchanged { version: String },
}

/// Why a reload did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("the service runs on the built-in catalog; start it with a catalog file to reload")]
    NoFile,
    #[error(transparent)]
    Invalid(#[from] LoadError),
    /// Decisions are deterministic for a catalog version: an edited
    /// catalog must say so with a version of its own.
    #[error(
        "{path}: the catalog changed but its version `{version}` did not; give the edited catalog a new `version`"
    )]
    VersionNotBumped { path: String, version: String },
}

/// The last reload attempt, for `/admin/status` and `/readyz`.
#[derive(Debug, Clone)]
pub struct ReloadAttempt {
    pub at: SystemTime,
    pub trigger: Trigger,
    /// `None` when it succeeded (or found nothing new).
    pub error: Option<String>,
}

/// Reload bookkeeping; the mutex also serialises reloads.
#[derive(Debug, Default)]
pub struct ReloadState {
    last: Mutex<Option<ReloadAttempt>>,
}

impl ReloadState {
    pub fn last_attempt(&self) -> Option<ReloadAttempt> {
        self.last.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Whether the last attempt failed.
    pub fn failing(&self) -> bool {
        self.last_attempt().is_some_and(|a| a.error.is_some())
    }
}

impl AppState {
    /// Reloads the catalog file named in the settings: the new catalog is
    /// read, validated and compiled whole, and swapped in only when valid
    /// and different. On any failure the catalog in force keeps serving.
    ///
    /// # Errors
    /// [`ReloadError`] with the precise reason; it is also logged, counted
    /// and kept for `/admin/status`.
    pub fn reload(&self, trigger: Trigger) -> Result<ReloadOutcome, ReloadError> {
        let Some(path) = self.settings().catalog.clone() else {
            return Err(ReloadError::NoFile);
        };
        let text = crate::catalog::read_file(&path);
        self.reload_from(&path, text, trigger)
    }

    fn reload_from(
        &self,
        path: &Path,
        text: Result<Vec<u8>, LoadError>,
        trigger: Trigger,
    ) -> Result<ReloadOutcome, ReloadError> {
        let mut last = match self.inner.reload.last.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let current = self.catalog();
        let result = text
            .and_then(|bytes| Catalog::from_file_bytes(path, &bytes))
            .map_err(ReloadError::from)
            .and_then(|catalog| {
                let edited_in_place = catalog.version == current.catalog.version
                    && catalog.digest != current.catalog.digest;
                if edited_in_place {
                    return Err(ReloadError::VersionNotBumped {
                        path: path.display().to_string(),
                        version: catalog.version.to_string(),
                    });
                }
                Ok(catalog)
            });
        let at = SystemTime::now();
        let source = path.display().to_string();
        match result {
            Ok(catalog) => {
                let unchanged = current.catalog.digest == catalog.digest;
                let was_failing = last.as_ref().is_some_and(|a| a.error.is_some());
                if unchanged && trigger == Trigger::Watch && !was_failing {
                    // The watch's first look at the file it started from:
                    // nothing happened worth recording.
                    return Ok(ReloadOutcome::Unchanged {
                        version: catalog.version.to_string(),
                    });
                }
                *last = Some(ReloadAttempt {
                    at,
                    trigger,
                    error: None,
                });
                if unchanged {
                    self.metrics().reload("unchanged");
                    tracing::debug!(trigger = trigger.as_str(), version = %catalog.version, "catalog unchanged");
                    return Ok(ReloadOutcome::Unchanged {
                        version: catalog.version.to_string(),
                    });
                }
                let from = current.catalog.version.to_string();
                let to = catalog.version.to_string();
                let loaded = LoadedCatalog::new(catalog, source);
                self.metrics().catalog_in_force(&loaded);
                self.swap_catalog(loaded);
                self.metrics().reload("success");
                tracing::info!(trigger = trigger.as_str(), %from, %to, "catalog reloaded");
                Ok(ReloadOutcome::Swapped { from, to })
            }
            Err(error) => {
                *last = Some(ReloadAttempt {
                    at,
                    trigger,
                    error: Some(error.to_string()),
                });
                self.metrics().reload("failure");
                tracing::error!(trigger = trigger.as_str(), %error, "catalog reload failed; the last good catalog keeps serving");
                Err(error)
            }
        }
    }
}

/// Polls `path` every `every` and reloads when its content changes. Runs
/// until the task is aborted.
pub async fn watch_file(state: AppState, path: PathBuf, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // What the last tick found. The first tick compares the catalog's
    // digest, not bytes, with the catalog in force, so it finds nothing new
    // unless the file changed since start.
    let mut seen: Option<Seen> = None;
    loop {
        ticker.tick().await;
        let reading = path.clone();
        let read = tokio::task::spawn_blocking(move || crate::catalog::read_file(&reading)).await;
        let read = read.unwrap_or_else(|e| {
            Err(LoadError::Read {
                path: path.display().to_string(),
                source: std::io::Error::other(e),
            })
        });
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(error) => {
                // Report an unreadable file once, not at every tick, but
                // again when the reason changes.
                let unreadable = Seen::Unreadable(error.to_string());
                if seen.as_ref() != Some(&unreadable) {
                    seen = Some(unreadable);
                    let _ = state.reload_from(&path, Err(error), Trigger::Watch);
                }
                continue;
            }
        };
        let content = Seen::Content(Sha256::digest(&bytes).into());
        if seen.as_ref() == Some(&content) {
            continue;
        }
        seen = Some(content);
        let state = state.clone();
        let path = path.clone();
        // Compiling is CPU work; keep it off the request threads.
        let _ = tokio::task::spawn_blocking(move || {
            state.reload_from(&path, Ok(bytes), Trigger::Watch)
        })
        .await;
    }
}

/// What the watch found at the path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// Why the file could not be read.
    Unreadable(String),
    /// SHA-256 of the file's bytes.
    Content([u8; 32]),
}

/// Starts listening for `SIGHUP` now, so a signal sent right after start is
/// not the default "terminate"; the returned task reloads on each one, or,
/// with `reload` false, logs that it ignored it.
///
/// # Errors
/// When the signal handler cannot be installed.
#[cfg(unix)]
pub fn reload_on_sighup(
    state: AppState,
    reload: bool,
) -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    Ok(async move {
        while hangups.recv().await.is_some() {
            if !reload {
                tracing::warn!("SIGHUP ignored: reload.on_sighup is false");
                continue;
            }
            let state = state.clone();
            let result = tokio::task::spawn_blocking(move || state.reload(Trigger::Signal)).await;
            if let Ok(Err(error @ ReloadError::NoFile)) = result {
                tracing::warn!(%error, "SIGHUP ignored");
            }
        }
    })
}
