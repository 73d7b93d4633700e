//! CSV: Railyard's own columns (`key,title,kind,status,link,source`) or a Jira issue export as it comes.

use std::collections::HashMap;

use csv::{ErrorKind, ReaderBuilder, StringRecord};
use railyard_domain::WorkItemSpec;

use crate::{ImportError, check, vocab};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Key,
    Title,
    Kind,
    Status,
    Link,
    Source,
}

/// Column names (compared trimmed and case-insensitively), what they give, and whether they are Jira's.
const COLUMNS: &[(&str, Field, bool)] = &[
    ("key", Field::Key, false),
    ("issue key", Field::Key, true),
    ("title", Field::Title, false),
    ("summary", Field::Title, true),
    ("kind", Field::Kind, false),
    ("issue type", Field::Kind, true),
    ("status", Field::Status, false),
    ("link", Field::Link, false),
    ("url", Field::Link, false),
    ("source", Field::Source, false),
];

const REQUIRED: &[(Field, &str)] = &[
    (Field::Key, "key (Jira: Issue key)"),
    (Field::Title, "title (Jira: Summary)"),
    (Field::Kind, "kind (Jira: Issue Type)"),
];

const EXPECTED: &str = "Railyard reads a header row with the columns key, title, kind (required) and status, link \
                        (or url), source (optional), or a Jira issue export with Issue key, Summary, Issue Type and Status";

/// Where each used column is in the header.
struct Columns {
    names: Vec<String>,
    key: usize,
    title: usize,
    kind: usize,
    status: Option<usize>,
    link: Option<usize>,
    source: Option<usize>,
    jira: bool,
}

impl Columns {
    fn find(header: &StringRecord, line: usize) -> Result<Columns, ImportError> {
        let names: Vec<String> = header.iter().map(|n| n.trim().to_string()).collect();
        if let [only] = names.as_slice() {
            for (sep, label) in [(';', "';' (semicolon)"), ('\t', "a tab")] {
                if only.contains(sep) {
                    return Err(ImportError::at(
                        line,
                        format!(
                            "the header row is a single column '{only}': the file looks like it uses {label} as its \
                             separator, but Railyard reads comma-separated files: export or save it with ',' as \
                             the separator"
                        ),
                    ));
                }
            }
        }
        let mut at: HashMap<Field, usize> = HashMap::new();
        let mut jira = false;
        for (i, name) in names.iter().enumerate() {
            let Some(&(_, field, is_jira)) = COLUMNS.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(name)) else {
                continue;
            };
            if let Some(&first) = at.get(&field) {
                return Err(ImportError::at(
                    line,
                    format!(
                        "columns {} '{}' and {} '{name}' give the same thing: keep only one of them",
                        first + 1,
                        names[first],
                        i + 1
                    ),
                ));
            }
            at.insert(field, i);
            jira |= is_jira;
        }
        let missing: Vec<&str> = REQUIRED.iter().filter(|(f, _)| !at.contains_key(f)).map(|&(_, n)| n).collect();
        let (Some(&key), Some(&title), Some(&kind)) =
            (at.get(&Field::Key), at.get(&Field::Title), at.get(&Field::Kind))
        else {
            return Err(ImportError::at(
                line,
                format!(
                    "missing required column{} {}; the columns found are: {}. {EXPECTED}",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    listed(&names)
                ),
            ));
        };
        Ok(Columns {
            key,
            title,
            kind,
            status: at.get(&Field::Status).copied(),
            link: at.get(&Field::Link).copied(),
            source: at.get(&Field::Source).copied(),
            names,
            jira,
        })
    }

    fn spec(&self, row: &StringRecord, line: usize) -> Result<WorkItemSpec, ImportError> {
        let cell = |i: usize| row.get(i).unwrap_or("").trim();
        let optional = |i: Option<usize>| i.map(cell).filter(|v| !v.is_empty()).map(str::to_string);
        let kind_text = cell(self.kind);
        let kind = vocab::kind(kind_text).map_err(|allowed| self.bad(line, self.kind, kind_text, "kind", &allowed))?;
        let status_text = self.status.map(cell).unwrap_or("");
        let status = vocab::status(status_text)
            .map_err(|allowed| self.bad(line, self.status.unwrap_or(0), status_text, "status", &allowed))?;
        let source = optional(self.source).or_else(|| self.jira.then(|| "jira".to_string()));
        Ok(WorkItemSpec {
            key: cell(self.key).to_string(),
            title: cell(self.title).to_string(),
            kind,
            status,
            link: optional(self.link),
            source,
        })
    }

    fn bad(&self, line: usize, column: usize, value: &str, what: &str, allowed: &str) -> ImportError {
        let name = &self.names[column];
        if value.is_empty() {
            ImportError::at(line, format!("{name} is empty: every row needs a {what}; {allowed}"))
        } else {
            ImportError::at(line, format!("{name} '{value}' is not a known work item {what}: {allowed}"))
        }
    }
}

/// A row of nothing but whitespace and commas, as spreadsheets leave at the end of a file.
fn is_blank(row: &StringRecord) -> bool {
    row.iter().all(|c| c.trim().is_empty())
}

fn listed(names: &[String]) -> String {
    const MAX: usize = 40;
    let mut shown: Vec<String> = names.iter().take(MAX).map(|n| format!("'{n}'")).collect();
    if names.len() > MAX {
        shown.push(format!("and {} more", names.len() - MAX));
    }
    shown.join(", ")
}

/// The 1-based line a record starts on. The csv crate counts every `\n` it reads, but takes a record's
/// position before it skips the empty lines (and the `\n` of a `\r\n`) ahead of the record: skip them too.
fn line_at(bytes: &[u8], p: &csv::Position) -> usize {
    let mut line = usize::try_from(p.line()).unwrap_or(usize::MAX);
    let start = usize::try_from(p.byte()).unwrap_or(usize::MAX);
    for &b in bytes.get(start..).unwrap_or_default() {
        match b {
            b'\n' => line += 1,
            b'\r' => {}
            _ => break,
        }
    }
    line
}

fn read_error(e: csv::Error, bytes: &[u8], names: &[String]) -> ImportError {
    let line = e.position().map(|p| line_at(bytes, p));
    let message = match e.kind() {
        ErrorKind::Utf8 { err, .. } => {
            let column = match names.get(err.field()) {
                Some(name) => format!("column {} ('{name}')", err.field() + 1),
                None => format!("column {}", err.field() + 1),
            };
            format!(
                "{column} is not valid UTF-8 text: Railyard reads UTF-8 files; export or save the file as \
                 UTF-8 (in Excel: 'CSV UTF-8')"
            )
        }
        _ => format!("the file cannot be read as CSV ({e}): Railyard reads comma-separated UTF-8 files"),
    };
    ImportError { line, message }
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<WorkItemSpec>, ImportError> {
    let mut reader = ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut header = StringRecord::new();
    if !reader.read_record(&mut header).map_err(|e| read_error(e, bytes, &[]))? {
        return Err(ImportError::at(1, format!("the file is empty: {EXPECTED}")));
    }
    let header_line = header.position().map_or(1, |p| line_at(bytes, p));
    let columns = Columns::find(&header, header_line)?;

    let mut items = Vec::new();
    let mut seen = HashMap::new();
    let mut row = StringRecord::new();
    while reader.read_record(&mut row).map_err(|e| read_error(e, bytes, &columns.names))? {
        if is_blank(&row) {
            continue;
        }
        let line = row.position().map_or(0, |p| line_at(bytes, p));
        if row.len() != header.len() {
            return Err(ImportError::at(
                line,
                format!(
                    "this row has {} field{} but the header has {} columns: every row needs exactly one field per \
                     header column (a field holding a comma, quote or line break must be in double quotes)",
                    row.len(),
                    if row.len() == 1 { "" } else { "s" },
                    header.len()
                ),
            ));
        }
        let spec = columns.spec(&row, line)?;
        check(&spec, line, "", &mut seen)?;
        items.push(spec);
    }
    Ok(items)
}
