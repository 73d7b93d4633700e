//! `${var.NAME}` and `${secret.NAME}` references in a task's text: finding them, checking them and
//! resolving them. One parser serves both kinds ([`Kind`]); each kind is resolved on its own, so a
//! variable's value that happens to contain `${secret.X}` is never expanded into a secret (secrets are
//! resolved first, at hand-off, and variables' values are inserted as they are).

use std::collections::{BTreeMap, BTreeSet};

use super::{NAME_RULE, is_name};
use crate::FieldError;
use crate::action::Action;
use crate::turnover::Task;

/// What a reference names: a variable (`${var.NAME}`) or a secret (`${secret.NAME}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Variable,
    Secret,
}

impl Kind {
    /// `var` or `secret`: the word after `${`.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Variable => "var",
            Kind::Secret => "secret",
        }
    }

    /// `variable` or `secret`, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Variable => "variable",
            Kind::Secret => "secret",
        }
    }

    fn open(self) -> &'static str {
        match self {
            Kind::Variable => "${var.",
            Kind::Secret => "${secret.",
        }
    }
}

/// One reference found in a text: its name and where it is (`start..end` covers `${var.NAME}`).
struct Found<'a> {
    name: &'a str,
    start: usize,
    end: usize,
}

/// Every reference of `kind` in `text`, in order, or what is wrong with the first malformed one.
fn scan(kind: Kind, text: &str) -> Result<Vec<Found<'_>>, String> {
    let (open, p, noun) = (kind.open(), kind.prefix(), kind.noun());
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(open) {
        let start = from + at;
        let after = start + open.len();
        let Some(close) = text[after..].find('}') else {
            // Never show the rest of the text: it may be anything.
            return Err(format!("a '${{{p}.' reference is not closed: write ${{{p}.NAME}}"));
        };
        let name = &text[after..after + close];
        if name.is_empty() {
            return Err(format!("'${{{p}.}}' names no {noun}: write ${{{p}.NAME}}"));
        }
        if !is_name(name) {
            let shown: String = name.chars().take(72).collect();
            return Err(format!("'${{{p}.{shown}}}' is not a {noun} reference: a name has {NAME_RULE}"));
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
    references_of(Kind::Variable, text)
}

/// The names `text` refers to as references of `kind` (each once, in order of first use), or what is
/// wrong with a malformed one.
pub fn references_of(kind: Kind, text: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for f in scan(kind, text)? {
        if !names.iter().any(|n| n == f.name) {
            names.push(f.name.to_string());
        }
    }
    Ok(names)
}

/// `text` with every `${var.NAME}` replaced by `lookup(NAME)`; `Err` lists the names it could not
/// resolve (or, for a malformed reference, what is wrong with it). Values are inserted as they are.
pub fn resolve<'v>(text: &str, lookup: &dyn Fn(&str) -> Option<&'v str>) -> Result<String, Vec<String>> {
    resolve_of(Kind::Variable, text, lookup)
}

/// `text` with every reference of `kind` replaced by `lookup(NAME)` (see [`resolve`]).
pub fn resolve_of<'v>(kind: Kind, text: &str, lookup: &dyn Fn(&str) -> Option<&'v str>) -> Result<String, Vec<String>> {
    resolve_kinds(text, &[(kind, lookup)]).map_err(|missing| missing.into_iter().map(|(_, n)| n).collect())
}

/// A lookup of values by name, for one kind of reference.
type Lookup<'l, 'v> = (Kind, &'l dyn Fn(&str) -> Option<&'v str>);

/// `text` with the references of every kind in `lookups` replaced in one pass over the original text (a
/// value inserted is never scanned again: a secret's value containing `${var.X}` stays as it is);
/// `Err` lists what could not be resolved (or, for a malformed reference, what is wrong with it).
fn resolve_kinds(text: &str, lookups: &[Lookup<'_, '_>]) -> Result<String, Vec<(Kind, String)>> {
    let mut found: Vec<(Kind, Found<'_>)> = Vec::new();
    for (kind, _) in lookups {
        found.extend(scan(*kind, text).map_err(|e| vec![(*kind, e)])?.into_iter().map(|f| (*kind, f)));
    }
    found.sort_by_key(|(_, f)| f.start);
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut last = 0;
    for (kind, f) in found {
        out.push_str(&text[last..f.start]);
        let lookup = lookups.iter().find(|(k, _)| *k == kind).map(|(_, l)| l);
        match lookup.and_then(|l| l(f.name)) {
            Some(v) => out.push_str(v),
            None => missing.push((kind, f.name.to_string())),
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
        self.references_of(Kind::Variable)
    }

    /// The secrets the action names as `${secret.NAME}`, or a field error for each malformed reference.
    pub fn secret_references(&self) -> Result<BTreeSet<String>, Vec<FieldError>> {
        self.references_of(Kind::Secret)
    }

    fn references_of(&self, kind: Kind) -> Result<BTreeSet<String>, Vec<FieldError>> {
        let mut names = BTreeSet::new();
        let mut errors: Vec<FieldError> = Vec::new();
        for (field, text) in self.texts() {
            match references_of(kind, text) {
                Ok(found) => names.extend(found),
                Err(e) => errors.push(FieldError::new(field, e)),
            }
        }
        if errors.is_empty() { Ok(names) } else { Err(errors) }
    }

    /// The action with every `${var.NAME}` replaced by its value in `values`; `Err` lists every name
    /// that has none (the run must not start with the literal text).
    pub fn resolve_variables(&self, values: &BTreeMap<String, String>) -> Result<Action, Vec<String>> {
        self.resolve_of(Kind::Variable, values)
    }

    /// The action with every `${secret.NAME}` replaced by its decrypted value in `values`; `Err` lists
    /// every name that has none. Only the runner that runs the action ever holds the result.
    pub fn resolve_secrets(&self, values: &BTreeMap<String, String>) -> Result<Action, Vec<String>> {
        self.resolve_of(Kind::Secret, values)
    }

    fn resolve_of(&self, kind: Kind, values: &BTreeMap<String, String>) -> Result<Action, Vec<String>> {
        let lookup = |n: &str| values.get(n).map(String::as_str);
        self.resolve_with(&[(kind, &lookup)]).map_err(|m| m.into_iter().map(|(_, n)| n).collect())
    }

    /// The action with every `${var.NAME}` and `${secret.NAME}` replaced in one pass (a value is never
    /// scanned again); `Err` lists every reference without a value, as written (`${secret.TOKEN}`).
    pub fn resolve_references(
        &self,
        variables: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, String>,
    ) -> Result<Action, Vec<String>> {
        let var = |n: &str| variables.get(n).map(String::as_str);
        let secret = |n: &str| secrets.get(n).map(String::as_str);
        self.resolve_with(&[(Kind::Variable, &var), (Kind::Secret, &secret)])
            .map_err(|m| m.into_iter().map(|(k, n)| format!("${{{}.{n}}}", k.prefix())).collect())
    }

    fn resolve_with(&self, lookups: &[Lookup<'_, '_>]) -> Result<Action, Vec<(Kind, String)>> {
        let mut missing: BTreeSet<(u8, String)> = BTreeSet::new();
        let mut one = |text: &str| -> String {
            match resolve_kinds(text, lookups) {
                Ok(s) => s,
                Err(names) => {
                    missing.extend(names.into_iter().map(|(k, n)| (k as u8, n)));
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
        let kind = |k: u8| if k == Kind::Secret as u8 { Kind::Secret } else { Kind::Variable };
        if missing.is_empty() { Ok(resolved) } else { Err(missing.into_iter().map(|(k, n)| (kind(k), n)).collect()) }
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

    /// The secrets the task's action names (none for a manual task), or a field error for each
    /// malformed reference.
    pub fn secret_references(&self) -> Result<BTreeSet<String>, Vec<FieldError>> {
        match &self.action {
            Some(a) => a.secret_references(),
            None => Ok(BTreeSet::new()),
        }
    }
}
