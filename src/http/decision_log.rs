//! The decision log's writer: lines are formatted on the request's thread
//! into a shared buffer, and a thread of their own writes the buffer to
//! standard error every [`FLUSH_INTERVAL`], one system call for many lines.
//!
//! Written here rather than through the tracing subscriber: formatting a
//! line there and writing it unbuffered cost more per decision than
//! deciding and answering together. The lines keep the subscriber's shape
//! (`log.format`: the same JSON object, or the same plain-text line), go to
//! the same stream, and still obey `log.level`'s filter on the
//! `aipdp::decision` target.
//!
//! The buffer is bounded: when standard error cannot keep up and
//! [`MAX_PENDING`] bytes wait, further lines are dropped and counted
//! (`aipdp_decision_log_dropped_total`) rather than slowing answers down or
//! growing without end. [`flush`] writes what waits, at shutdown.

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use crate::catalog::Id;
use crate::config::LogFormat;
use crate::wire::{DecisionId, escaped, json_number, json_string};

/// How long a line may wait before it is written. Short enough that the
/// two buffers stay small (about 200 KiB each at 50,000 decisions a
/// second), long enough that the writes cost next to nothing (100 system
/// calls a second).
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// Most bytes that may wait for the writer; lines beyond are dropped.
pub const MAX_PENDING: usize = 4 << 20;

/// One decision-log line's values. The request and tenant ids may come
/// from a client and are escaped; the rest are made by the service or
/// rendered by the catalog, with nothing left to escape.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub decision_id: &'a DecisionId,
    pub request_id: &'a str,
    pub tenant_id: &'a str,
    pub endpoint: &'static str,
    pub outcome: &'static str,
    pub mode: Option<&'a Id>,
    pub catalog_version: &'a Id,
    pub latency_us: u64,
}

/// Lines waiting for the writer thread, and the clock that stamps them.
static PENDING: Mutex<Pending> = Mutex::new(Pending {
    lines: Vec::new(),
    clock: Clock::new(),
});

struct Pending {
    lines: Vec<u8>,
    clock: Clock,
}

/// Writes timestamps, working out the calendar date and time of day once
/// per second rather than for every line.
struct Clock {
    second: u64,
    /// `2026-11-23T04:52:30.` for `second`.
    prefix: [u8; 20],
}

impl Clock {
    const fn new() -> Clock {
        Clock {
            second: u64::MAX,
            prefix: [0; 20],
        }
    }

    fn stamp(&mut self, out: &mut Vec<u8>, now: SystemTime) {
        let since = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        if since.as_secs() != self.second {
            let mut full = Vec::with_capacity(27);
            timestamp(&mut full, now);
            self.prefix.copy_from_slice(&full[..20]);
            self.second = since.as_secs();
        }
        out.extend_from_slice(&self.prefix);
        zero_padded(out, u64::from(since.subsec_micros()), 6);
        out.push(b'Z');
    }
}
static WRITER: OnceLock<()> = OnceLock::new();

/// Appends a line; `features` (catalog ids) and `reasons` (reason codes)
/// are written comma-separated. Returns false when the line was dropped
/// because the buffer is full.
pub fn write<'a>(
    format: LogFormat,
    line: &Line<'_>,
    features: impl Iterator<Item = &'a Id>,
    reasons: impl Iterator<Item = &'static str>,
) -> bool {
    WRITER.get_or_init(start_writer);
    let now = SystemTime::now();
    let Ok(mut pending) = PENDING.lock() else {
        return false;
    };
    if pending.lines.len() >= MAX_PENDING {
        return false;
    }
    let Pending { lines, clock } = &mut *pending;
    match format {
        LogFormat::Json => json_line(lines, clock, now, line, features, reasons),
        LogFormat::Text => text_line(lines, clock, now, line, features, reasons),
    }
    true
}

/// Writes every waiting line now.
pub fn flush() {
    let taken = match PENDING.lock() {
        Ok(mut pending) => std::mem::take(&mut pending.lines),
        Err(_) => return,
    };
    if !taken.is_empty() {
        let _ = std::io::stderr().lock().write_all(&taken);
    }
}

fn start_writer() {
    let spawned = std::thread::Builder::new()
        .name("aipdp-decision-log".into())
        .spawn(|| {
            let mut spare = Vec::new();
            loop {
                std::thread::sleep(FLUSH_INTERVAL);
                if let Ok(mut pending) = PENDING.lock() {
                    std::mem::swap(&mut pending.lines, &mut spare);
                }
                if !spare.is_empty() {
                    // Nowhere to report a failed write to standard error.
                    let _ = std::io::stderr().lock().write_all(&spare);
                    spare.clear();
                }
            }
        });
    if let Err(error) = spawned {
        // Lines then wait for `flush` at shutdown, up to the bound.
        tracing::error!(%error, "cannot start the decision-log writer");
    }
}

fn json_line<'a>(
    out: &mut Vec<u8>,
    clock: &mut Clock,
    now: SystemTime,
    line: &Line<'_>,
    features: impl Iterator<Item = &'a Id>,
    reasons: impl Iterator<Item = &'static str>,
) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    clock.stamp(out, now);
    out.extend_from_slice(
        b"\",\"level\":\"INFO\",\"fields\":{\"message\":\"decision\",\"decision_id\":\"",
    );
    out.extend_from_slice(line.decision_id.as_bytes());
    out.extend_from_slice(b"\",\"request_id\":\"");
    escaped(out, line.request_id);
    out.extend_from_slice(b"\",\"tenant_id\":\"");
    log_escaped(out, line.tenant_id);
    out.extend_from_slice(b"\",\"endpoint\":\"");
    out.extend_from_slice(line.endpoint.as_bytes());
    out.extend_from_slice(b"\",\"features\":\"");
    joined(out, features.map(Id::json_escaped));
    out.extend_from_slice(b"\",\"outcome\":\"");
    out.extend_from_slice(line.outcome.as_bytes());
    out.extend_from_slice(b"\",\"mode\":");
    out.extend_from_slice(line.mode.map_or("\"none\"", Id::json).as_bytes());
    out.extend_from_slice(b",\"reasons\":\"");
    joined(out, reasons);
    out.extend_from_slice(b"\",\"catalog_version\":");
    out.extend_from_slice(line.catalog_version.json().as_bytes());
    out.extend_from_slice(b",\"latency_us\":");
    json_number(out, line.latency_us);
    out.extend_from_slice(b"},\"target\":\"aipdp::decision\"}\n");
}

/// A client's value in a log line: escaped as JSON escapes it, and also
/// the characters JSON lets through that a terminal or a line splitter acts
/// on (DEL, the C1 controls such as CSI, the Unicode line and paragraph
/// separators), as `\u` escapes, so a line stays one line that shows what
/// was sent.
fn log_escaped(out: &mut Vec<u8>, value: &str) {
    if value.is_ascii() && !value.as_bytes().contains(&0x7f) {
        return escaped(out, value);
    }
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}') {
            escaped(out, &value[start..i]);
            out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
            start = i + c.len_utf8();
        }
    }
    escaped(out, &value[start..]);
}

fn text_line<'a>(
    out: &mut Vec<u8>,
    clock: &mut Clock,
    now: SystemTime,
    line: &Line<'_>,
    features: impl Iterator<Item = &'a Id>,
    reasons: impl Iterator<Item = &'static str>,
) {
    clock.stamp(out, now);
    out.extend_from_slice(b"  INFO aipdp::decision: decision decision_id=");
    out.extend_from_slice(line.decision_id.as_bytes());
    // Values a client chose are quoted and escaped; the rest are ids and
    // codes of the catalog and the service.
    out.extend_from_slice(b" request_id=");
    json_string(out, line.request_id);
    out.extend_from_slice(b" tenant_id=\"");
    log_escaped(out, line.tenant_id);
    out.push(b'"');
    out.extend_from_slice(b" endpoint=");
    out.extend_from_slice(line.endpoint.as_bytes());
    out.extend_from_slice(b" features=");
    joined(out, features.map(|f| &**f));
    out.extend_from_slice(b" outcome=");
    out.extend_from_slice(line.outcome.as_bytes());
    out.extend_from_slice(b" mode=");
    out.extend_from_slice(line.mode.map_or("none", |m| m).as_bytes());
    out.extend_from_slice(b" reasons=");
    joined(out, reasons);
    out.extend_from_slice(b" catalog_version=");
    out.extend_from_slice(line.catalog_version.as_bytes());
    out.extend_from_slice(b" latency_us=");
    json_number(out, line.latency_us);
    out.push(b'\n');
}

/// `items` comma-separated, as they are.
fn joined<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a str>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item.as_bytes());
    }
}

/// `now` as RFC 3339 UTC with microseconds, as the tracing subscriber
/// writes it: `2026-11-23T04:52:30.595124Z`.
fn timestamp(out: &mut Vec<u8>, now: SystemTime) {
    let since = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since.as_secs();
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let of_day = seconds % 86_400;
    for (value, width, then) in [
        (year, 4, b'-'),
        (month, 2, b'-'),
        (day, 2, b'T'),
        (of_day / 3600, 2, b':'),
        (of_day / 60 % 60, 2, b':'),
        (of_day % 60, 2, b'.'),
        (u64::from(since.subsec_micros()), 6, b'Z'),
    ] {
        zero_padded(out, value, width);
        out.push(then);
    }
}

/// `value`'s last `width` decimal digits, zero-padded.
fn zero_padded(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Days since 1970-01-01 as a (year, month, day) of the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
pub(super) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::DecisionIds;

    fn at(seconds: u64, micros: u32) -> String {
        let mut out = Vec::new();
        timestamp(
            &mut out,
            SystemTime::UNIX_EPOCH + Duration::new(seconds, micros * 1000),
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_clock_stamps_as_the_calendar_does_across_seconds() {
        let mut clock = Clock::new();
        for (seconds, micros) in [
            (1_795_409_550, 595_124),
            (1_795_409_550, 7),
            (1_795_409_551, 0),
            (0, 0),
        ] {
            let mut out = Vec::new();
            let now = SystemTime::UNIX_EPOCH + Duration::new(seconds, micros * 1000);
            clock.stamp(&mut out, now);
            assert_eq!(String::from_utf8(out).unwrap(), at(seconds, micros));
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 1), "2000-02-29T00:00:00.000001Z");
        assert_eq!(at(1_795_409_550, 595_124), "2026-11-23T04:52:30.595124Z");
        assert_eq!(at(4_107_542_399, 999_999), "2100-02-28T23:59:59.999999Z");
    }

    struct Values {
        decision_id: DecisionId,
        mode: Id,
        version: Id,
        features: [Id; 2],
    }

    fn values() -> Values {
        Values {
            decision_id: DecisionIds::new().next_id(),
            mode: Id::from("zm_plus"),
            version: Id::from("2026-11-24.1"),
            features: [Id::from("meeting_summary"), Id::from("odd \"id\"")],
        }
    }

    fn line(values: &Values) -> Line<'_> {
        Line {
            decision_id: &values.decision_id,
            request_id: "req \"7\"",
            tenant_id: "acme\\eu",
            endpoint: "decisions",
            outcome: "partial",
            mode: Some(&values.mode),
            catalog_version: &values.version,
            latency_us: 276,
        }
    }

    #[test]
    fn characters_a_terminal_or_line_splitter_acts_on_are_escaped_in_both_formats() {
        let values = values();
        let tenant = "a\u{7f}b\u{85}c\u{9b}31md\u{2028}e\u{2029}f\u{e9}\n";
        let line = Line {
            tenant_id: tenant,
            ..line(&values)
        };
        for json in [true, false] {
            let mut out = Vec::new();
            let write = if json { json_line } else { text_line };
            write(
                &mut out,
                &mut Clock::new(),
                SystemTime::UNIX_EPOCH,
                &line,
                values.features.iter(),
                std::iter::empty(),
            );
            let text = String::from_utf8(out).unwrap();
            assert_eq!(text.lines().count(), 1, "{text}");
            assert!(
                text.contains(r"a\u007fb\u0085c\u009b31md\u2028e\u2029fé\n"),
                "{text}"
            );
        }
    }

    #[test]
    fn json_lines_are_the_subscriber_shape_and_escape_client_values() {
        let values = values();
        let mut out = Vec::new();
        json_line(
            &mut out,
            &mut Clock::new(),
            SystemTime::UNIX_EPOCH,
            &line(&values),
            values.features.iter(),
            ["default_mode", "feature_not_in_mode"].into_iter(),
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with('\n'));
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "timestamp": "1970-01-01T00:00:00.000000Z",
                "level": "INFO",
                "fields": {
                    "message": "decision",
                    "decision_id": values.decision_id.as_str(),
                    "request_id": "req \"7\"",
                    "tenant_id": "acme\\eu",
                    "endpoint": "decisions",
                    "features": "meeting_summary,odd \"id\"",
                    "outcome": "partial",
                    "mode": "zm_plus",
                    "reasons": "default_mode,feature_not_in_mode",
                    "catalog_version": "2026-11-24.1",
                    "latency_us": 276
                },
                "target": "aipdp::decision"
            })
        );
    }

    #[test]
    fn a_decision_without_a_mode_logs_none() {
        let values = values();
        let mut out = Vec::new();
        let line = Line {
            mode: None,
            ..line(&values)
        };
        json_line(
            &mut out,
            &mut Clock::new(),
            SystemTime::UNIX_EPOCH,
            &line,
            std::iter::empty(),
            std::iter::empty(),
        );
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed["fields"]["mode"], "none");
        assert_eq!(parsed["fields"]["features"], "");
        let mut out = Vec::new();
        text_line(
            &mut out,
            &mut Clock::new(),
            SystemTime::UNIX_EPOCH,
            &line,
            std::iter::empty(),
            std::iter::empty(),
        );
        assert!(String::from_utf8(out).unwrap().contains(" mode=none "));
    }

    #[test]
    fn text_lines_are_one_line_of_key_values() {
        let values = values();
        let mut out = Vec::new();
        text_line(
            &mut out,
            &mut Clock::new(),
            SystemTime::UNIX_EPOCH,
            &line(&values),
            values.features[..1].iter(),
            std::iter::empty(),
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "1970-01-01T00:00:00.000000Z  INFO aipdp::decision: decision decision_id={} \
                 request_id=\"req \\\"7\\\"\" tenant_id=\"acme\\\\eu\" endpoint=decisions \
                 features=meeting_summary outcome=partial mode=zm_plus reasons= \
                 catalog_version=2026-11-24.1 latency_us=276\n",
                values.decision_id.as_str()
            )
        );
    }
}
