//! `${var.NAME}` references in a task's text: finding them, checking them and resolving them.

use std::collections::{BTreeMap, BTreeSet};

use super::{NAME_RULE, is_name};
use crate::FieldError;
use crate::action::Action;
use crate::turnover::Task;

const OPEN: &str = "${var.";

/// One reference found in a text: its name and where it is (`start..end` covers `${var.NAME}`).
struct Found<'a> {
    name: &'a str,
    start: usize,
    end: usize,
}

/// Every reference of `text`, in order, or what is wrong with the first malformed one.
fn scan(text: &str) -> Result<Vec<Found<'_>>, String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(OPEN) {
        let start = from + at;
        let after = start + OPEN.len();
        let Some(close) = text[after..].find('}') else {
            let shown: String = text[start..].chars().take(72).collect();
            return Err(format!("'{shown}' is not closed: write ${{var.NAME}}"));
        };
        let name = &text[after..after + close];
        if name.is_empty() {
            return Err("'${var.}' names no variable: write ${var.NAME}".to_string());
        }
        if !is_name(name) {
            let shown: String = name.chars().take(72).collect();
            return Err(format!("'${{var.{shown}}}' is not a variable reference: a name has {NAME_RULE}"));
        }
        let end = after + close + 1;
        found.push(Found { name, start, end });
        from = end;
    }
    Ok(found)
}

/// The names `text` refers to as `${var.NAME}` (each once, in order of first use), or what is wrong
/// with a malformed reference.
pub fn references(text: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for f in scan(text)? {
        if !names.iter().any(|n| n == f.name) {
            names.push(f.name.to_string());
        }
    }
    Ok(names)
}

/// `text` with every `${var.NAME}` replaced by `lookup(NAME)`; `Err` lists the names it could not
/// resolve (or, for a malformed reference, what is wrong with it). Values are inserted as they are.
pub fn resolve<'v>(text: &str, lookup: &dyn Fn(&str) -> Option<&'v str>) -> Result<String, Vec<String>> {
    let found = scan(text).map_err(|e| vec![e])?;
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut last = 0;
    for f in found {
        out.push_str(&text[last..f.start]);
        match lookup(f.name) {
            Some(v) => out.push_str(v),
            None => missing.push(f.name.to_string()),
        }
        last = f.end;
    }
    out.push_str(&text[last..]);
    if missing.is_empty() { Ok(out) } else { Err(missing) }
}

impl Action {
    /// Every text field of the action with its field name (`action.args`, `action.url`, ...).
    fn texts(&self) -> Vec<(&'static str, &str)> {
        let mut out: Vec<(&'static str, &str)> = Vec::new();
        match self {
            Action::Command(c) => {
                out.push(("action.program", &c.program));
                out.extend(c.args.iter().map(|a| ("action.args", a.as_str())));
                out.extend(c.env.values().map(|v| ("action.env", v.as_str())));
                out.extend(c.working_dir.iter().map(|d| ("action.working_dir", d.as_str())));
            }
            Action::Http(h) => {
                out.push(("action.url", &h.url));
                out.extend(h.headers.values().map(|v| ("action.headers", v.as_str())));
                out.extend(h.body.iter().map(|b| ("action.body", b.as_str())));
            }
        }
        out
    }

    /// The variables the action names, or a field error for each malformed reference.
    pub fn variable_references(&self) -> Result<BTreeSet<String>, Vec<FieldError>> {
        let mut names = BTreeSet::new();
        let mut errors: Vec<FieldError> = Vec::new();
        for (field, text) in self.texts() {
            match references(text) {
                Ok(found) => names.extend(found),
                Err(e) => errors.push(FieldError::new(field, e)),
            }
        }
        if errors.is_empty() { Ok(names) } else { Err(errors) }
    }

    /// The action with every `${var.NAME}` replaced by its value in `values`; `Err` lists every name
    /// that has none (the run must not start with the literal text).
    pub fn resolve_variables(&self, values: &BTreeMap<String, String>) -> Result<Action, Vec<String>> {
        let lookup = |n: &str| values.get(n).map(String::as_str);
        let mut missing: BTreeSet<String> = BTreeSet::new();
        let mut one = |text: &str| -> String {
            match resolve(text, &lookup) {
                Ok(s) => s,
                Err(names) => {
                    missing.extend(names);
                    text.to_string()
                }
            }
        };
        let resolved = match self {
            Action::Command(c) => {
                let mut c = c.clone();
                c.program = one(&c.program);
                c.args = c.args.iter().map(|a| one(a)).collect();
                c.env = c.env.iter().map(|(k, v)| (k.clone(), one(v))).collect();
                c.working_dir = c.working_dir.as_deref().map(&mut one);
                Action::Command(c)
            }
            Action::Http(h) => {
                let mut h = h.clone();
                h.url = one(&h.url);
                h.headers = h.headers.iter().map(|(k, v)| (k.clone(), one(v))).collect();
                h.body = h.body.as_deref().map(&mut one);
                Action::Http(h)
            }
        };
        if missing.is_empty() { Ok(resolved) } else { Err(missing.into_iter().collect()) }
    }
}

impl Task {
    /// The variables the task's action names (none for a manual task), or a field error for each
    /// malformed reference.
    pub fn variable_references(&self) -> Result<BTreeSet<String>, Vec<FieldError>> {
        match &self.action {
            Some(a) => a.variable_references(),
            None => Ok(BTreeSet::new()),
        }
    }
}
