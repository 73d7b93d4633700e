//! Input limits: every text, list and date a request carries has a bound, checked before anything is
//! looked up or decided. A refusal names each field past its bound, and the bound.
//!
//! | what | bound |
//! |---|---|
//! | names and titles, and the ids, keys, labels and user names that refer to objects | [`MAX_NAME`] = 200 characters |
//! | links (URLs) | [`MAX_LINK`] = 2,048 characters |
//! | a program's or a directory's path | [`MAX_PATH`] = 4,096 bytes (Linux's `PATH_MAX`) |
//! | long texts: descriptions, purposes, notes, reasons, comments, evidence, task arguments, variables and bodies | [`MAX_TEXT`] = 64 KiB |
//! | approval levels of a policy; approvers of a level | [`MAX_LEVELS`] = 10; [`MAX_APPROVERS`] = 50 |
//! | stages of a path (and stages named in one request) | [`MAX_STAGES`] = 50 |
//! | arguments of a command; its environment variables; an HTTP call's headers | [`MAX_ARGS`] = 256; [`MAX_VARIABLES`] = 256 |
//! | tasks, work items or runs named in one request | [`MAX_BATCH`] = 1,000 |
//! | any other list (engineers, environments, releases, artifacts, roles ...) | [`MAX_LIST`] = 100 |
//! | dates and times | the years [`FIRST_YEAR`] to [`LAST_YEAR`] |
//!
//! The years cover every plan a release manager makes and keep each date writable as RFC 3339 with four
//! digits, which every client's date type reads. A request type implements [`Bounded`] to say which of
//! its fields is which; the HTTP layer checks a body as it reads it, and the service checks again for
//! callers that are not HTTP (the web console).

mod requests;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::{DomainError, FieldError};

pub const MAX_NAME: usize = 200;
pub const MAX_LINK: usize = 2048;
pub const MAX_PATH: usize = 4096;
pub const MAX_TEXT: usize = 64 * 1024;
pub const MAX_LEVELS: usize = 10;
pub const MAX_APPROVERS: usize = 50;
pub const MAX_STAGES: usize = 50;
pub const MAX_ARGS: usize = 256;
pub const MAX_VARIABLES: usize = 256;
pub const MAX_BATCH: usize = 1000;
pub const MAX_LIST: usize = 100;
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2999;

/// A request whose texts, lists and dates have bounds.
pub trait Bounded {
    /// Reports every field past its bound to `limits`.
    fn check_limits(&self, limits: &mut Limits);
}

impl<T: Bounded> Bounded for Option<T> {
    fn check_limits(&self, limits: &mut Limits) {
        if let Some(value) = self {
            value.check_limits(limits);
        }
    }
}

/// Every field of `input` past its bound, or nothing.
pub fn check<T: Bounded + ?Sized>(input: &T) -> Result<(), DomainError> {
    let mut limits = Limits::default();
    input.check_limits(&mut limits);
    if limits.errors.is_empty() { Ok(()) } else { Err(DomainError::Invalid(limits.errors)) }
}

/// Whether a date is within the years [`FIRST_YEAR`] to [`LAST_YEAR`].
pub fn date_in_range(date: NaiveDate) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&date.year())
}

/// The message for a date or time outside the years [`FIRST_YEAR`] to [`LAST_YEAR`].
pub fn out_of_range(what: impl std::fmt::Display) -> String {
    format!("must be within the years {FIRST_YEAR} to {LAST_YEAR} (it is {what})")
}

/// A time given on its own (a query parameter): within the years [`FIRST_YEAR`] to [`LAST_YEAR`].
pub fn check_time(field: &str, time: DateTime<Utc>) -> Result<(), DomainError> {
    if date_in_range(time.date_naive()) { Ok(()) } else { Err(DomainError::invalid(field, out_of_range(time))) }
}

/// A text field: a string, or an optional one (nothing to check when absent).
pub trait TextField {
    fn as_text(&self) -> Option<&str>;
}

impl TextField for str {
    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl TextField for String {
    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl TextField for Option<String> {
    fn as_text(&self) -> Option<&str> {
        self.as_deref()
    }
}

/// Collects the fields past their bounds; nested values report under their field's name
/// (`approval_policies.train.levels[0].approvers`).
#[derive(Default)]
pub struct Limits {
    prefix: String,
    errors: Vec<FieldError>,
}

impl Limits {
    fn field(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else if name.is_empty() || name.starts_with('[') {
            format!("{}{name}", self.prefix)
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn fail(&mut self, name: &str, message: String) {
        let field = self.field(name);
        self.errors.push(FieldError::new(&field, message));
    }

    /// A name or title: at most [`MAX_NAME`] characters.
    pub fn name(&mut self, field: &str, value: &(impl TextField + ?Sized)) {
        if let Some(n) = value.as_text().map(|v| v.chars().count()).filter(|n| *n > MAX_NAME) {
            self.fail(field, format!("must be at most {MAX_NAME} characters (it has {n})"));
        }
    }

    /// A link: at most [`MAX_LINK`] characters.
    pub fn link(&mut self, field: &str, value: &(impl TextField + ?Sized)) {
        if let Some(n) = value.as_text().map(|v| v.chars().count()).filter(|n| *n > MAX_LINK) {
            self.fail(field, format!("must be at most {MAX_LINK} characters (it has {n})"));
        }
    }

    /// A program's or directory's path: at most [`MAX_PATH`] bytes.
    pub fn path(&mut self, field: &str, value: &(impl TextField + ?Sized)) {
        if let Some(n) = value.as_text().map(str::len).filter(|n| *n > MAX_PATH) {
            self.fail(field, format!("must be at most {MAX_PATH} bytes (it has {n})"));
        }
    }

    /// A long text: at most [`MAX_TEXT`] bytes.
    pub fn text(&mut self, field: &str, value: &(impl TextField + ?Sized)) {
        if let Some(n) = value.as_text().map(str::len).filter(|n| *n > MAX_TEXT) {
            self.fail(field, format!("must be at most 64 KiB ({MAX_TEXT} bytes; it has {n})"));
        }
    }

    /// A list of at most `max` items.
    pub fn list<T>(&mut self, field: &str, items: &[T], max: usize) {
        if items.len() > max {
            self.fail(field, format!("must have at most {max} items (it has {})", items.len()));
        }
    }

    /// A list of at most `max` names, each at most [`MAX_NAME`] characters.
    pub fn names(&mut self, field: &str, items: &[String], max: usize) {
        self.list(field, items, max);
        for (i, item) in items.iter().enumerate().take(max) {
            self.name(&format!("{field}[{i}]"), item);
        }
    }

    /// A map of at most `max` entries: names as keys, long texts as values.
    pub fn variables<'a>(&mut self, field: &str, entries: impl ExactSizeIterator<Item = (&'a String, &'a String)>) {
        if entries.len() > MAX_VARIABLES {
            self.fail(field, format!("must have at most {MAX_VARIABLES} entries (it has {})", entries.len()));
            return;
        }
        for (name, value) in entries {
            self.name(&format!("{field}.{name}"), name);
            self.text(&format!("{field}.{name}"), value);
        }
    }

    /// A date within the years [`FIRST_YEAR`] to [`LAST_YEAR`].
    pub fn date(&mut self, field: &str, date: Option<NaiveDate>) {
        if let Some(d) = date.filter(|d| !date_in_range(*d)) {
            self.fail(field, out_of_range(d));
        }
    }

    /// A time within the years [`FIRST_YEAR`] to [`LAST_YEAR`].
    pub fn time(&mut self, field: &str, time: Option<DateTime<Utc>>) {
        if let Some(t) = time.filter(|t| !date_in_range(t.date_naive())) {
            self.fail(field, out_of_range(t));
        }
    }

    /// A nested value, its fields reported under `field`.
    pub fn nested<T: Bounded + ?Sized>(&mut self, field: &str, value: Option<&T>) {
        let Some(value) = value else { return };
        let inner = self.field(field);
        let outer = std::mem::replace(&mut self.prefix, inner);
        value.check_limits(self);
        self.prefix = outer;
    }

    /// A list of at most `max` nested values, each reported under `field[i]`.
    pub fn each<T: Bounded>(&mut self, field: &str, items: &[T], max: usize) {
        self.list(field, items, max);
        for (i, item) in items.iter().enumerate().take(max) {
            self.nested(&format!("{field}[{i}]"), Some(item));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Note {
        title: String,
        body: Option<String>,
        tags: Vec<String>,
        due: NaiveDate,
    }

    impl Bounded for Note {
        fn check_limits(&self, l: &mut Limits) {
            l.name("title", &self.title);
            l.text("body", &self.body);
            l.names("tags", &self.tags, 3);
            l.date("due", Some(self.due));
        }
    }

    struct Wrapper {
        notes: Vec<Note>,
    }

    impl Bounded for Wrapper {
        fn check_limits(&self, l: &mut Limits) {
            l.each("notes", &self.notes, 10);
        }
    }

    fn date(y: i32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, 1, 1).unwrap()
    }

    #[test]
    fn each_field_past_its_bound_is_named_with_the_bound() {
        let ok = Note { title: "t".repeat(200), body: Some("b".repeat(MAX_TEXT)), tags: vec![], due: date(1900) };
        assert_eq!(check(&ok), Ok(()));
        let bad = Note {
            title: "é".repeat(201),
            body: Some("b".repeat(MAX_TEXT + 1)),
            tags: vec!["a".into(), "b".into(), "c".into(), "t".repeat(201)],
            due: date(3000),
        };
        let Err(DomainError::Invalid(errors)) = check(&Wrapper { notes: vec![bad] }) else { panic!("not refused") };
        let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.message.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("notes[0].title", "must be at most 200 characters (it has 201)"),
                ("notes[0].body", "must be at most 64 KiB (65536 bytes; it has 65537)"),
                ("notes[0].tags", "must have at most 3 items (it has 4)"),
                ("notes[0].due", "must be within the years 1900 to 2999 (it is 3000-01-01)"),
            ]
        );
        assert!(!date_in_range(date(1899)) && date_in_range(date(2999)));
    }
}
