//! Parses a batch of work items from a file: a CSV (Railyard's own columns or a Jira issue export as it
//! comes) or JSON (an array of work items, or `{"items": [...]}`).
//!
//! Pure: takes bytes, does no I/O. All or nothing: [`parse`] returns every row, or the first bad row as an
//! [`ImportError`] that names its line, what is wrong and what is allowed.

mod json;
mod table;
mod vocab;

use railyard_domain::WorkItemSpec;

/// The format of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Csv,
    Json,
}

/// Why an import file was refused. `line` is the 1-based line of the file the problem is on, when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.line, .message))]
pub struct ImportError {
    pub line: Option<usize>,
    pub message: String,
}

impl ImportError {
    pub(crate) fn at(line: usize, message: impl Into<String>) -> Self {
        ImportError { line: Some(line), message: message.into() }
    }
}

fn render(line: &Option<usize>, message: &str) -> String {
    match line {
        Some(line) => format!("line {line}: {message}"),
        None => message.to_string(),
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The format of an upload: from its content type (`text/csv`, `application/json`; parameters such as
/// `; charset=utf-8` are ignored) or, failing that, from its first non-whitespace byte (`[` or `{` is JSON,
/// anything else CSV).
pub fn detect(content_type: Option<&str>, bytes: &[u8]) -> Format {
    let essence = content_type.and_then(|ct| ct.split(';').next()).map(|e| e.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("text/csv") => return Format::Csv,
        Some("application/json") => return Format::Json,
        _ => {}
    }
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[' | b'{') => Format::Json,
        _ => Format::Csv,
    }
}

/// Parses every work item in `bytes`, or refuses the whole file at its first bad row.
///
/// Each item passes [`WorkItemSpec::validate`], and no key appears twice.
pub fn parse(bytes: &[u8], format: Format) -> Result<Vec<WorkItemSpec>, ImportError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    match format {
        Format::Csv => table::parse(bytes),
        Format::Json => json::parse(bytes),
    }
}

/// Checks one item and that its key is new; `line` is where it starts in the file.
pub(crate) fn check(
    spec: &WorkItemSpec,
    line: usize,
    label: &str,
    seen: &mut std::collections::HashMap<String, usize>,
) -> Result<(), ImportError> {
    if let Err(e) = spec.validate() {
        return Err(ImportError::at(line, format!("{label}{e}")));
    }
    if let Some(first) = seen.insert(spec.key.clone(), line) {
        return Err(ImportError::at(
            line,
            format!(
                "{label}key {} appears on line {first} and again on line {line}: each key may appear only once in an import",
                spec.key
            ),
        ));
    }
    Ok(())
}
