//! Errors from reading a scenario file: each names the file, line, column and field.

use std::io;
use std::ops::Range;

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: cannot read the scenario file: {source}")]
    Read {
        /// The path as given.
        file: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file is not valid TOML, or a field is missing, unknown, of the wrong type, or has a
    /// value wsim cannot use.
    #[error("{file}:{line}:{column}: field `{field}`: {message}")]
    Invalid {
        /// The path as given.
        file: String,
        /// 1-based line of the offending value.
        line: usize,
        /// 1-based column of the offending value.
        column: usize,
        /// Dotted path of the field, e.g. `faults[1].between`.
        field: String,
        /// What is wrong and, where possible, what would be right.
        message: String,
    },
}

/// 1-based line and column of byte `offset` in `text`.
#[must_use]
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary_compat(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Start of `span`, or the start of the file.
#[must_use]
pub fn span_start(span: Option<Range<usize>>) -> usize {
    span.map_or(0, |s| s.start)
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 11), (2, 6));
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
