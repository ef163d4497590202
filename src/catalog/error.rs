//! Errors of loading and validating a catalog, and the field error shared
//! with request validation.

use serde::Serialize;
use utoipa::ToSchema;

/// One bad field of a document: a JSON pointer to it and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the field, such as `/tenant/region`.
    pub pointer: String,
    pub message: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// A client's value quoted in a message, cut to its first
/// [`Echo::MAX_CHARS`] characters: an unknown id of 200,000 bytes is named,
/// not sent back twice (in the message and in the problem's detail).
pub struct Echo<'a>(pub &'a str);

impl Echo<'_> {
    pub const MAX_CHARS: usize = 64;
}

impl std::fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Cut(self.0, Echo::MAX_CHARS).fmt(f)
    }
}

/// Text cut to its first `.1` characters, with its length in bytes when
/// cut: `abc... (200000 bytes)`.
pub struct Cut<'a>(pub &'a str, pub usize);

impl std::fmt::Display for Cut<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(self.1) {
            Some((cut, _)) => write!(f, "{}... ({} bytes)", &self.0[..cut], self.0.len()),
            None => f.write_str(self.0),
        }
    }
}

impl CatalogError {
    /// Longest TOML error message kept, in characters: a message can quote
    /// a value of the document, which may be of any size.
    pub const MAX_MESSAGE_CHARS: usize = 512;

    /// A TOML error of `text` on one line and of bounded size: the line and
    /// column, the 16 characters before the error and what follows them on
    /// that line (cut as [`Echo`] cuts), and what is wrong. The parser's own
    /// error keeps a copy of the whole document and quotes the whole line,
    /// however long; this keeps neither.
    pub fn syntax(text: &str, error: &toml::de::Error) -> CatalogError {
        let at = error.span().map_or_else(String::new, |span| {
            let start = span.start.min(text.len());
            let start = (0..=start)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let line = text[..line_start].matches('\n').count() + 1;
            let column = text[line_start..start].chars().count() + 1;
            // The line from a few characters before the error.
            let from = text[line_start..start]
                .char_indices()
                .rev()
                .nth(15)
                .map_or(line_start, |(i, _)| line_start + i);
            let near = text[from..].split('\n').next().unwrap_or("");
            format!(
                "line {line}, column {column} (`{}{}`): ",
                if from > line_start { "..." } else { "" },
                Echo(near.trim_end_matches('\r')).to_string().escape_debug()
            )
        });
        let message = error.message().replace('\n', "; ");
        let message = Cut(&message, Self::MAX_MESSAGE_CHARS).to_string();
        CatalogError::Syntax { at, message }
    }
}

/// A catalog that cannot be used, with the entry at fault.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Not TOML, or not TOML of the catalog's shape; `at` is where, when
    /// the parser knows (see [`CatalogError::syntax`]).
    #[error("{at}{message}")]
    Syntax { at: String, message: String },
    #[error("the catalog is empty: it needs at least a `version`")]
    Empty,
    #[error("{entry}: duplicate {kind} id `{id}`")]
    DuplicateId {
        entry: String,
        kind: &'static str,
        id: String,
    },
    #[error("{entry}: unknown {kind} `{id}`; known: {known}")]
    DanglingReference {
        entry: String,
        kind: &'static str,
        id: String,
        known: String,
    },
    #[error(
        "{entry}: default mode `{mode}` is not offered in region `{region}` on its default cluster `{cluster}`"
    )]
    DefaultModeNotOffered {
        entry: String,
        region: String,
        mode: String,
        cluster: String,
    },
    #[error(
        "modes `{first}` and `{second}` share exposure rank {rank}: the exposure order must be total"
    )]
    ExposureTie {
        first: String,
        second: String,
        rank: u32,
    },
    #[error(
        "{entry}: provider `{provider}` is not offered by mode `{mode}` in any region and cluster"
    )]
    DanglingPreference {
        entry: String,
        mode: String,
        provider: String,
    },
    #[error("{entry}: mode `{mode}` is offered twice in region `{region}` on cluster `{cluster}`")]
    OverlappingOffering {
        entry: String,
        mode: String,
        region: String,
        cluster: String,
    },
    #[error("too many {kind}: at most {max}")]
    TooMany { kind: &'static str, max: usize },
    #[error("{entry}: {problem}")]
    Invalid { entry: String, problem: String },
}

/// A catalog that could not be loaded from a file, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: the file is over {limit} bytes, the most a catalog may be")]
    TooLarge { path: String, limit: u64 },
    #[error("{path}: {source}")]
    Invalid {
        path: String,
        source: Box<CatalogError>,
    },
}

#[cfg(test)]
mod tests {
    use super::{Cut, Echo};

    #[test]
    fn long_text_is_cut_at_a_character_with_its_length() {
        assert_eq!(Cut("abcdef", 3).to_string(), "abc... (6 bytes)");
        assert_eq!(Cut("abc", 3).to_string(), "abc");
        // Cut at characters, not bytes.
        assert_eq!(Cut("ééé", 2).to_string(), "éé... (6 bytes)");
        let long = "x".repeat(100);
        assert_eq!(
            Echo(&long).to_string(),
            format!("{}... (100 bytes)", "x".repeat(Echo::MAX_CHARS))
        );
    }
}
