//! Decision and route answers written straight to JSON bytes.
//!
//! The derived `Serialize` of the answer types stays the definition of
//! their shape (the API document, batches and the CLI use it). On the hot
//! path, serde_json escapes every key and every string of a decision
//! through its generic machinery, which cost more than deciding. These
//! writers put out the very same bytes with keys as literals, catalog parts
//! already rendered, and strings copied whole unless they hold a character
//! JSON must escape. The property tests check, over generated catalogs and
//! requests, that both give identical bytes.

use std::fmt::{self, Write as _};

use super::{
    DataHandlingBody, DecisionBody, FeatureBody, MessageBody, OutcomeBody, ReasonBody, Rendered,
    RouteDecisionBody, TenantBody,
};
use crate::catalog::Processing;

/// Room for a typical decision answer (five features with their routes).
const ANSWER_CAPACITY: usize = 4096;

impl DecisionBody<'_> {
    /// The answer as JSON: the bytes `serde_json::to_vec` gives.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ANSWER_CAPACITY);
        let o = &mut out;
        o.extend_from_slice(b"{\"decision_id\":");
        string(o, &self.decision_id);
        o.extend_from_slice(b",\"catalog_version\":");
        string(o, self.catalog_version);
        o.extend_from_slice(b",\"outcome\":");
        string(o, outcome(self.outcome));
        o.extend_from_slice(b",\"mode\":");
        nullable(o, self.mode);
        o.extend_from_slice(b",\"default_mode\":");
        string(o, self.default_mode);
        o.extend_from_slice(b",\"recommended_mode\":");
        nullable(o, self.recommended_mode);
        o.extend_from_slice(b",\"eligible_modes\":");
        array(o, &self.eligible_modes, |o, id| string(o, id));
        o.extend_from_slice(b",\"providers\":");
        array(o, &self.providers, rendered);
        o.extend_from_slice(b",\"features\":");
        array(o, &self.features, feature);
        o.extend_from_slice(b",\"data_handling\":");
        data_handling(o, &self.data_handling);
        o.extend_from_slice(b",\"obligations\":");
        array(o, &self.obligations, rendered);
        o.extend_from_slice(b",\"reasons\":");
        array(o, &self.reasons, reason);
        if let Some(trace) = &self.trace {
            o.extend_from_slice(b",\"trace\":");
            array(o, trace, reason);
        }
        o.extend_from_slice(b",\"tenant\":");
        tenant(o, &self.tenant);
        o.extend_from_slice(b",\"ttl_seconds\":");
        number(o, self.ttl_seconds);
        o.push(b'}');
        out
    }
}

impl RouteDecisionBody<'_> {
    /// The answer as JSON: the bytes `serde_json::to_vec` gives.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ANSWER_CAPACITY / 2);
        let o = &mut out;
        o.extend_from_slice(b"{\"decision_id\":");
        string(o, &self.decision_id);
        o.extend_from_slice(b",\"catalog_version\":");
        string(o, self.catalog_version);
        o.extend_from_slice(b",\"allow\":");
        boolean(o, self.allow);
        o.extend_from_slice(b",\"mode\":");
        nullable(o, self.mode);
        o.extend_from_slice(b",\"feature\":");
        string(o, self.feature);
        o.extend_from_slice(b",\"route\":");
        match &self.route {
            Some(route) => rendered(o, route),
            None => o.extend_from_slice(b"null"),
        }
        o.extend_from_slice(b",\"fallbacks\":");
        array(o, &self.fallbacks, rendered);
        o.extend_from_slice(b",\"reasons\":");
        array(o, &self.reasons, reason);
        o.extend_from_slice(b",\"ttl_seconds\":");
        number(o, self.ttl_seconds);
        o.push(b'}');
        out
    }
}

fn feature(o: &mut Vec<u8>, f: &FeatureBody<'_>) {
    o.extend_from_slice(b"{\"id\":");
    string(o, f.id);
    o.extend_from_slice(b",\"permitted\":");
    boolean(o, f.permitted);
    if let Some(route) = &f.route {
        o.extend_from_slice(b",\"route\":");
        rendered(o, route);
    }
    if let Some(fallbacks) = &f.fallbacks {
        o.extend_from_slice(b",\"fallbacks\":");
        array(o, fallbacks, rendered);
    }
    if let Some(reasons) = &f.reasons {
        o.extend_from_slice(b",\"reasons\":");
        array(o, reasons, reason);
    }
    o.push(b'}');
}

fn reason(o: &mut Vec<u8>, r: &ReasonBody<'_>) {
    o.extend_from_slice(b"{\"code\":");
    string(o, r.code);
    o.extend_from_slice(b",\"message\":");
    match &r.message {
        MessageBody::Reason(message) => {
            o.push(b'"');
            // Writing into a Vec cannot fail.
            let _ = write!(Escaping(o), "{message}");
            o.push(b'"');
        }
        MessageBody::Text(text) => string(o, text),
    }
    o.push(b'}');
}

fn data_handling(o: &mut Vec<u8>, d: &DataHandlingBody) {
    o.extend_from_slice(b"{\"processing\":");
    string(
        o,
        match d.processing {
            Processing::InRegion => "in_region",
            Processing::Global => "global",
        },
    );
    o.extend_from_slice(b",\"third_party\":");
    boolean(o, d.third_party);
    o.extend_from_slice(b",\"customer_content_training\":");
    boolean(o, d.customer_content_training);
    o.push(b'}');
}

fn tenant(o: &mut Vec<u8>, t: &TenantBody<'_>) {
    o.push(b'{');
    if let Some(id) = &t.id {
        o.extend_from_slice(b"\"id\":");
        string(o, id);
        o.push(b',');
    }
    o.extend_from_slice(b"\"region\":");
    string(o, t.region);
    o.extend_from_slice(b",\"data_cluster\":");
    string(o, t.data_cluster);
    o.extend_from_slice(b",\"residency\":");
    string(o, t.residency);
    o.push(b'}');
}

fn outcome(outcome: OutcomeBody) -> &'static str {
    match outcome {
        OutcomeBody::Permit => "permit",
        OutcomeBody::Partial => "partial",
        OutcomeBody::Deny => "deny",
    }
}

fn rendered<T>(o: &mut Vec<u8>, part: &Rendered<'_, T>) {
    o.extend_from_slice(part.json.get().as_bytes());
}

fn array<T>(o: &mut Vec<u8>, items: &[T], mut each: impl FnMut(&mut Vec<u8>, &T)) {
    o.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        each(o, item);
    }
    o.push(b']');
}

fn nullable(o: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => string(o, value),
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
    // Most strings need no escape. Checking every byte without stopping
    // early lets the compiler check many bytes at a time.
    let plain = bytes.iter().fold(true, |plain, &b| {
        plain & (b >= 0x20 && b != b'"' && b != b'\\')
    });
    if plain {
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

/// Escapes what is written through it, for text that is displayed into
/// a JSON string.
struct Escaping<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escaped(self.0, s);
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
    fn numbers_are_written_in_decimal() {
        for value in [0, 7, 10, 300, 86_400, u32::MAX] {
            let mut ours = Vec::new();
            number(&mut ours, value);
            assert_eq!(ours, value.to_string().into_bytes());
        }
    }
}
