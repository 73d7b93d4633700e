//! JSON: an array of work items, or `{"items": [...]}`; each item shaped like [`WorkItemSpec`].

use std::collections::HashMap;

use railyard_domain::WorkItemSpec;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{ImportError, check};

const SHAPE: &str = "a file is a JSON array of work items, or an object {\"items\": [...]}";

const ITEM: &str = "an item is an object with \"key\", \"title\" and \"kind\" (business_request or development_task), \
                    and optionally \"status\" (open, in_progress or done), \"link\" and \"source\"; no other fields";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapped<'a> {
    #[serde(borrow)]
    items: Vec<&'a RawValue>,
}

/// serde_json's message without its " at line L column C" (the line is reported separately).
fn message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&position).unwrap_or(&text).to_string()
}

fn line(e: &serde_json::Error) -> Option<usize> {
    (e.line() > 0).then(|| e.line())
}

/// 1-based line numbers of byte offsets, for offsets that only grow: each newline is counted once.
struct Lines<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.bytes.len());
        if offset < self.offset {
            (self.offset, self.line) = (0, 1);
        }
        self.line += self.bytes[self.offset..offset].iter().filter(|&&b| b == b'\n').count();
        self.offset = offset;
        self.line
    }
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<WorkItemSpec>, ImportError> {
    let mut lines = Lines { bytes, offset: 0, line: 1 };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ImportError::at(lines.at(e.valid_up_to()), "the file is not valid UTF-8 text: JSON files must be UTF-8")
    })?;
    let whole = |e: serde_json::Error| {
        let what = if e.is_data() { "the file does not have the expected shape" } else { "the file is not valid JSON" };
        ImportError { line: line(&e), message: format!("{what}: {}; {SHAPE}", message(&e)) }
    };
    let raw: Vec<&RawValue> = match text.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str(text).map_err(whole)?,
        Some(b'{') => serde_json::from_str::<Wrapped>(text).map_err(whole)?.items,
        Some(_) => {
            let start = text.len() - text.trim_start().len();
            return Err(ImportError::at(lines.at(start), format!("expected '[' or '{{': {SHAPE}")));
        }
        None => return Err(ImportError::at(1, format!("the file is empty: {SHAPE}"))),
    };

    let mut items = Vec::with_capacity(raw.len());
    let mut seen = HashMap::new();
    for (index, item) in raw.into_iter().enumerate() {
        let start = (item.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        let first_line = lines.at(start);
        let label = format!("item at index {index}: ");
        let spec: WorkItemSpec = serde_json::from_str(item.get()).map_err(|e| {
            let line = first_line + e.line().saturating_sub(1);
            ImportError::at(line, format!("{label}{}; {ITEM}", message(&e)))
        })?;
        check(&spec, first_line, &label, &mut seen)?;
        items.push(spec);
    }
    Ok(items)
}
