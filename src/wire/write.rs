//! Decision and route answers written straight to JSON bytes.
//!
//! The derived `Serialize` of the answer types stays the definition of
//! their shape (the API document, batches and the CLI use it). On the hot
//! path, serde_json escapes every key and every string of a decision
//! through its generic machinery, which cost more than deciding. These
//! writers put out the very same bytes with keys as literals, catalog parts
//! already rendered, and strings copied whole unless they hold a character
//! JSON must escape; a decision is written straight from the engine's
//! answer, without the allocations of building its `DecisionBody`. The
//! property tests check, over generated catalogs and requests, that both
//! give identical bytes.

use std::cell::RefCell;
use std::fmt::{self, Write as _};

use rustc_hash::FxHashMap;

use super::{DataHandlingBody, DecisionId, OutcomeBody};
use crate::catalog::{AnswerJson, Catalog, Id, ModeId};
use crate::engine::{Decision, FeatureOutcome, Reason};

/// Room for a typical decision answer (five features with their routes).
const ANSWER_CAPACITY: usize = 4096;

/// A decision's answer as JSON, written straight from the decision: the
/// bytes serde_json writes for `DecisionBody::new(catalog, decision,
/// decision_id, explain)`, without building that body first.
pub fn decision_json(
    catalog: &Catalog,
    decision: &Decision<'_>,
    decision_id: &DecisionId,
    explain: bool,
) -> Vec<u8> {
    let mode_id = |m: ModeId| &catalog.mode(m).id;
    let mut out = Vec::with_capacity(ANSWER_CAPACITY);
    let o = &mut out;
    o.extend_from_slice(b"{\"decision_id\":");
    plain(o, decision_id);
    o.extend_from_slice(b",\"catalog_version\":");
    id(o, &catalog.version);
    o.extend_from_slice(b",\"outcome\":");
    plain(o, outcome(decision.outcome.into()));
    o.extend_from_slice(b",\"mode\":");
    nullable(o, decision.mode.map(mode_id));
    o.extend_from_slice(b",\"default_mode\":");
    id(o, mode_id(decision.default_mode));
    o.extend_from_slice(b",\"recommended_mode\":");
    nullable(o, decision.recommended_mode.map(mode_id));
    o.extend_from_slice(b",\"eligible_modes\":");
    items(o, decision.eligible_modes.iter(), |o, m| {
        id(o, &catalog.modes[m].id);
    });
    o.extend_from_slice(b",\"providers\":");
    items(o, decision.providers(), |o, p| raw(o, &p.answer_json));
    o.extend_from_slice(b",\"features\":");
    items(o, decision.features.iter(), |o, f| feature(o, catalog, f));
    o.extend_from_slice(b",\"data_handling\":");
    data_handling(
        o,
        &DataHandlingBody {
            processing: decision.data_handling.processing,
            third_party: decision.data_handling.third_party,
            customer_content_training: false,
        },
    );
    o.extend_from_slice(b",\"obligations\":");
    items(o, decision.obligations.iter(), |o, ob| {
        raw(o, &ob.answer_json)
    });
    o.extend_from_slice(b",\"reasons\":");
    items(o, decision.reasons.iter(), |o, r| {
        reason(o, catalog, r);
    });
    if explain {
        o.extend_from_slice(b",\"trace\":");
        items(o, decision.trace.iter(), |o, r| {
            reason(o, catalog, r);
        });
    }
    o.extend_from_slice(b",\"tenant\":");
    let t = &decision.tenant;
    o.push(b'{');
    if let Some(tenant_id) = &t.id {
        o.extend_from_slice(b"\"id\":");
        string(o, tenant_id);
        o.push(b',');
    }
    o.extend_from_slice(b"\"region\":");
    id(o, &catalog.region(t.region).id);
    o.extend_from_slice(b",\"data_cluster\":");
    id(o, &catalog.cluster(t.cluster).id);
    o.extend_from_slice(b",\"residency\":");
    plain(o, t.residency.as_str());
    o.push(b'}');
    o.extend_from_slice(b",\"ttl_seconds\":");
    number(o, catalog.ttl_seconds);
    o.push(b'}');
    out
}

/// A gateway's answer for a decision made for one feature, as JSON: the
/// bytes serde_json writes for `RouteDecisionBody::new(catalog, decision,
/// decision_id)`, without building that body first.
pub fn route_json(catalog: &Catalog, decision: &Decision<'_>, decision_id: &DecisionId) -> Vec<u8> {
    let feature = decision.features.first();
    let mut routes = feature.into_iter().flat_map(|f| f.usable_routes());
    let route = routes.next();
    let mut out = Vec::with_capacity(ANSWER_CAPACITY / 2);
    let o = &mut out;
    o.extend_from_slice(b"{\"decision_id\":");
    plain(o, decision_id);
    o.extend_from_slice(b",\"catalog_version\":");
    id(o, &catalog.version);
    o.extend_from_slice(b",\"allow\":");
    boolean(o, route.is_some());
    o.extend_from_slice(b",\"mode\":");
    nullable(o, decision.mode.map(|m| &catalog.mode(m).id));
    o.extend_from_slice(b",\"feature\":");
    match feature {
        Some(f) => id(o, &catalog.feature(f.feature).id),
        None => o.extend_from_slice(b"\"\""),
    }
    o.extend_from_slice(b",\"route\":");
    match route {
        Some(route) => raw(o, &route.answer_json),
        None => o.extend_from_slice(b"null"),
    }
    o.extend_from_slice(b",\"fallbacks\":");
    items(o, routes, |o, r| raw(o, &r.answer_json));
    // The feature's refusal first, then the decision's reasons.
    o.extend_from_slice(b",\"reasons\":");
    let refusal = feature.and_then(|f| f.refusal.as_ref());
    items(o, refusal.into_iter().chain(&decision.reasons), |o, r| {
        reason(o, catalog, r);
    });
    o.extend_from_slice(b",\"ttl_seconds\":");
    number(o, catalog.ttl_seconds);
    o.push(b'}');
    out
}

/// One feature, as `FeatureBody::new` shapes it.
fn feature(o: &mut Vec<u8>, catalog: &Catalog, f: &FeatureOutcome<'_>) {
    o.extend_from_slice(b"{\"id\":");
    id(o, &catalog.feature(f.feature).id);
    match &f.refusal {
        None => {
            o.extend_from_slice(b",\"permitted\":true");
            let mut routes = f.usable_routes();
            if let Some(route) = routes.next() {
                o.extend_from_slice(b",\"route\":");
                raw(o, &route.answer_json);
            }
            o.extend_from_slice(b",\"fallbacks\":");
            items(o, routes, |o, r| raw(o, &r.answer_json));
        }
        Some(refusal) => {
            o.extend_from_slice(b",\"permitted\":false,\"reasons\":[");
            reason(o, catalog, refusal);
            o.push(b']');
        }
    }
    o.push(b'}');
}

fn reason(o: &mut Vec<u8>, catalog: &Catalog, r: &Reason) {
    // Codes are snake_case words: nothing in them to escape.
    o.extend_from_slice(b"{\"code\":\"");
    o.extend_from_slice(r.code().as_bytes());
    o.extend_from_slice(b"\",\"message\":");
    SENTENCES.with_borrow_mut(|sentences| sentences.write(o, catalog, r));
    o.push(b'}');
}

thread_local! {
    static SENTENCES: RefCell<Sentences> = RefCell::default();
}

/// Reason sentences this thread has written, as JSON strings, for the
/// catalog with digest `catalog`: a decision gives the same few reasons
/// over and over, and copying a sentence costs a fraction of formatting
/// it. Equal digests mean equal catalogs, hence equal sentences; another
/// catalog (a reload) empties the cache, and so does reaching
/// [`Sentences::MOST`].
#[derive(Default)]
struct Sentences {
    catalog: Box<str>,
    written: FxHashMap<Reason, Box<[u8]>>,
}

impl Sentences {
    const MOST: usize = 4096;

    fn write(&mut self, o: &mut Vec<u8>, catalog: &Catalog, r: &Reason) {
        if *self.catalog != *catalog.digest {
            self.catalog = catalog.digest.clone();
            self.written.clear();
        }
        if let Some(sentence) = self.written.get(r) {
            o.extend_from_slice(sentence);
            return;
        }
        if self.written.len() >= Self::MOST {
            self.written.clear();
        }
        let start = o.len();
        displayed(o, &r.describe(catalog));
        self.written.insert(*r, o[start..].into());
    }
}

fn data_handling(o: &mut Vec<u8>, d: &DataHandlingBody) {
    o.extend_from_slice(b"{\"processing\":");
    plain(o, d.processing.as_str());
    o.extend_from_slice(b",\"third_party\":");
    boolean(o, d.third_party);
    o.extend_from_slice(b",\"customer_content_training\":");
    boolean(o, d.customer_content_training);
    o.push(b'}');
}

fn outcome(outcome: OutcomeBody) -> &'static str {
    match outcome {
        OutcomeBody::Permit => "permit",
        OutcomeBody::Partial => "partial",
        OutcomeBody::Deny => "deny",
    }
}

/// A catalog id, as the JSON string the catalog rendered for it.
fn id(o: &mut Vec<u8>, id: &Id) {
    o.extend_from_slice(id.json().as_bytes());
}

fn raw(o: &mut Vec<u8>, part: &AnswerJson) {
    o.extend_from_slice(part.raw().get().as_bytes());
}

fn items<T>(o: &mut Vec<u8>, list: impl Iterator<Item = T>, mut each: impl FnMut(&mut Vec<u8>, T)) {
    o.push(b'[');
    for (i, item) in list.enumerate() {
        if i > 0 {
            o.push(b',');
        }
        each(o, item);
    }
    o.push(b']');
}

fn nullable(o: &mut Vec<u8>, value: Option<&Id>) {
    match value {
        Some(value) => id(o, value),
        None => o.extend_from_slice(b"null"),
    }
}

fn boolean(o: &mut Vec<u8>, value: bool) {
    o.extend_from_slice(if value { b"true" } else { b"false" });
}

fn number(o: &mut Vec<u8>, value: u32) {
    json_number(o, u64::from(value));
}

/// `value` in decimal.
pub fn json_number(o: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    o.extend_from_slice(&digits[at..]);
}

/// `value`'s display as a JSON string. Written as is, then escaped in one
/// pass only if it has to be (an id with a quote in it): cheaper than
/// escaping each piece the formatter writes.
fn displayed(o: &mut Vec<u8>, value: &impl fmt::Display) {
    o.push(b'"');
    let start = o.len();
    // Writing into a Vec cannot fail.
    let _ = write!(Appending(o), "{value}");
    if needs_escape(&o[start..]) {
        let written = o.split_off(start);
        escaped(o, &String::from_utf8_lossy(&written));
    }
    o.push(b'"');
}

/// A string this service made, with nothing in it to escape (a
/// [`DecisionId`]'s hex digits and dashes, a snake_case code), as a JSON
/// string: copied without the escape check, which costs more than the copy
/// for such short strings.
fn plain(o: &mut Vec<u8>, value: &str) {
    debug_assert!(!needs_escape(value.as_bytes()), "{value}");
    o.push(b'"');
    o.extend_from_slice(value.as_bytes());
    o.push(b'"');
}

/// `value` as a JSON string.
pub fn string(o: &mut Vec<u8>, value: &str) {
    o.push(b'"');
    escaped(o, value);
    o.push(b'"');
}

/// `value` as the inside of a JSON string, escaped exactly as serde_json
/// escapes it: `"` and `\`, the short escapes of `\b \f \n \r \t`, and
/// `\u00XX` for the other control characters; everything else as is.
pub fn escaped(o: &mut Vec<u8>, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = value.as_bytes();
    if !needs_escape(bytes) {
        o.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..0x20 => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ],
            _ => continue,
        };
        o.extend_from_slice(&bytes[start..i]);
        o.extend_from_slice(short);
        start = i + 1;
    }
    o.extend_from_slice(&bytes[start..]);
}

/// Whether any byte of `bytes` must be escaped in a JSON string: a control
/// character, `"` or `\`. Eight bytes at a time, with the bit tricks that
/// tell whether a word holds a byte below a bound or equal to a value;
/// most strings written are short and need no escape.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Non-zero when a byte of `word` is below 0x20, a quote or a backslash.
    let special = |word: [u8; 8]| {
        let word = u64::from_ne_bytes(word);
        // Non-zero when a byte of `w` is below `bound` (at most 0x80).
        let below = |w: u64, bound: u8| w.wrapping_sub(ONES * u64::from(bound)) & !w;
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        (below(word, 0x20) | below(quote, 1) | below(backslash, 1)) & HIGHS
    };
    let Some(&last) = bytes.last_chunk::<8>() else {
        return bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
    };
    // Whole words, then the last eight bytes, which overlap them.
    let (words, _) = bytes.as_chunks::<8>();
    let found = words
        .iter()
        .fold(special(last), |found, &word| found | special(word));
    found != 0
}

/// Appends what is written through it.
struct Appending<'a>(&'a mut Vec<u8>);

impl fmt::Write for Appending<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut every: String = (0u8..0x80).map(char::from).collect();
        every.push_str("é \u{2028} 🦀 \u{7f}");
        for value in [every.as_str(), "", "plain", "\"quoted\"", "back\\slash"] {
            let mut ours = Vec::new();
            string(&mut ours, value);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(value).unwrap()
            );
        }
    }

    #[test]
    fn displayed_text_is_escaped_as_serde_json_escapes_it() {
        for value in ["plain `mode`", "a \"quoted\" id\n", "tab\tand \u{1} é"] {
            let mut ours = Vec::new();
            displayed(&mut ours, &format_args!("{value}: {}", 7));
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&format!("{value}: 7")).unwrap()
            );
        }
    }

    #[test]
    fn every_byte_that_needs_escaping_is_found_at_every_position() {
        let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
        for len in 1..=19 {
            for at in 0..len {
                for byte in 0..=u8::MAX {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = byte;
                    assert_eq!(
                        needs_escape(&bytes),
                        needs(byte),
                        "{byte:#x} at {at} of {len}"
                    );
                }
            }
        }
        assert!(!needs_escape(b""));
        assert!(!needs_escape("é \u{2028} 🦀 \u{7f} plain text".as_bytes()));
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for value in [0, 7, 10, 300, 86_400, u32::MAX] {
            let mut ours = Vec::new();
            number(&mut ours, value);
            assert_eq!(ours, value.to_string().into_bytes());
        }
    }
}
