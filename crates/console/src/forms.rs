//! What every form of the console shares: the hidden CSRF field, and reading the text fields of a posted
//! form (optional text, dates, times, lists) into the service's inputs with errors that name the field.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use railyard_service::{ServiceError, SessionInfo};

use crate::error::PageError;

/// The hidden field that carries the session's CSRF token; every form posts it.
pub fn csrf_field(session: &SessionInfo) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// Trimmed text, or `None` when the field was left empty.
pub fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// A comma- or newline-separated list, each entry trimmed, empty entries dropped.
pub fn list(text: &str) -> Vec<String> {
    text.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// A `date` field (`2027-03-06`).
pub fn date(field: &str, text: &str) -> Result<NaiveDate, PageError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| ServiceError::invalid(field, "give a date as YYYY-MM-DD, e.g. 2027-03-06").into())
}

/// An optional `date` field: empty is `None`.
#[allow(dead_code)] // used by the forms to come
pub fn optional_date(field: &str, text: &str) -> Result<Option<NaiveDate>, PageError> {
    optional(text).map(|t| date(field, &t)).transpose()
}

/// A `datetime-local` field (`2027-03-06T10:00`, seconds optional), read as a time in `zone` (the
/// person's time zone, which the form names next to the field). A time the clocks skip when summer
/// time starts is refused; one they pass twice when it ends is read as the earlier of the two.
pub fn local_time(field: &str, text: &str, zone: Tz) -> Result<DateTime<Utc>, PageError> {
    let at = text.trim();
    let local = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ServiceError::invalid(field, format!("give a date and time, e.g. 2027-03-06T10:00 ({zone})")))?;
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.with_timezone(&Utc)),
        LocalResult::None => Err(ServiceError::invalid(
            field,
            format!(
                "{} does not exist in {zone}: the clocks skip it when summer time starts",
                local.format("%Y-%m-%d %H:%M")
            ),
        )
        .into()),
    }
}

/// A time as a `datetime-local` field's value, in `zone` (the person's time zone), to the minute.
pub fn datetime_local(t: &DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string()
}

/// The query of a page with a folded edit form: `?edit=open` shows it open, as the way back from a
/// refused form does (see [`crate::PageError::in_form`]).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Unfold {
    #[serde(default)]
    edit: Option<String>,
}

impl Unfold {
    pub fn open(&self) -> bool {
        self.edit.as_deref() == Some("open")
    }
}

/// Where a refused edit form sends the person back to: `page`, its form open.
pub fn form_again(page: &str) -> String {
    format!("{page}?edit=open#edit")
}

/// A page of this site to go back to after a form (`back`): a path starting with one `/`, of letters,
/// digits and `/-_.#?=&%` only, so never another site's address (`//evil.example`, `/\\evil`, or one
/// hidden behind a control character a browser would strip). `None` for anything else.
pub fn local_path(back: &str) -> Option<&str> {
    let back = back.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/-_.#?=&%".contains(c);
    let second = back.chars().nth(1);
    (back.starts_with('/') && second != Some('/') && back.chars().all(allowed)).then_some(back)
}

/// A number field; empty is `None`.
pub fn optional_number<T: std::str::FromStr>(field: &str, text: &str) -> Result<Option<T>, PageError> {
    optional(text)
        .map(|t| {
            t.parse::<T>().map_err(|_| ServiceError::invalid(field, format!("`{t}` is not a whole number")).into())
        })
        .transpose()
}

/// A form that carries nothing but the CSRF token: a button that acts.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: Option<String>,
}

/// One of a closed set of choices (a `<select>` or a radio button), read as the service's enum by its
/// snake_case name; a wrong value names the field and the allowed values.
pub fn choice<T: serde::de::DeserializeOwned>(field: &str, text: &str) -> Result<T, PageError> {
    use serde::de::IntoDeserializer;
    let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = text.trim().into_deserializer();
    T::deserialize(de).map_err(|e| ServiceError::invalid(field, e.to_string()).into())
}

/// A posted form as its fields in order, for forms that repeat a name (a group of checkboxes) or number
/// their rows (`stage1_environment`, `stage2_environment`, ...). Read it with `Form<Vec<(String, String)>>`.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn new(pairs: Vec<(String, String)>) -> Fields {
        Fields(pairs)
    }

    /// Every field, in the order the browser sent them.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The first value of a field; empty when it was not sent.
    pub fn one(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }

    /// Every value sent under a name, trimmed, in order, leaving out empty ones (the ticked boxes of a
    /// group, the filled rows of a list).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).filter_map(|(_, v)| optional(v)).collect()
    }

    /// Whether a checkbox was ticked (a browser sends only ticked boxes).
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datetime_local_value_is_read_in_the_persons_zone() {
        let utc = |field, text| local_time(field, text, Tz::UTC);
        let at = utc("at", "2027-03-06T10:00").ok().map(|t| t.to_rfc3339());
        assert_eq!(at.as_deref(), Some("2027-03-06T10:00:00+00:00"));
        let at = utc("at", " 2027-03-06T10:00:30 ").ok().map(|t| t.to_rfc3339());
        assert_eq!(at.as_deref(), Some("2027-03-06T10:00:30+00:00"));
        assert!(matches!(utc("at", "tomorrow"), Err(PageError::Service(ServiceError::Invalid(_)))));
        assert!(matches!(utc("at", ""), Err(PageError::Service(ServiceError::Invalid(_)))));
        let tokyo = local_time("at", "2027-03-06T10:00", Tz::Asia__Tokyo).ok().map(|t| t.to_rfc3339());
        assert_eq!(tokyo.as_deref(), Some("2027-03-06T01:00:00+00:00"));
        // Berlin in summer is two hours ahead; 02:30 on the night summer time starts never happens.
        let berlin = local_time("at", "2027-07-01T12:00", Tz::Europe__Berlin).ok().map(|t| t.to_rfc3339());
        assert_eq!(berlin.as_deref(), Some("2027-07-01T10:00:00+00:00"));
        assert!(local_time("at", "2027-03-28T02:30", Tz::Europe__Berlin).is_err());
        let back = local_time("at", "2027-03-06T10:00", Tz::America__New_York)
            .map(|t| datetime_local(&t, Tz::America__New_York));
        assert_eq!(back.ok().as_deref(), Some("2027-03-06T10:00"));
    }

    #[test]
    fn only_a_path_of_this_site_is_a_place_to_go_back_to() {
        assert_eq!(local_path(" /turnovers/TO-1#board "), Some("/turnovers/TO-1#board"));
        assert_eq!(local_path("/trains?state=draft&x=1"), Some("/trains?state=draft&x=1"));
        for bad in ["", "//evil.example", "/\\evil.example", "/\t/evil.example", "https://evil.example", "evil", "/a b"]
        {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn dates_lists_and_numbers_name_the_field_when_wrong() {
        assert_eq!(date("start", "2027-03-06").ok().map(|d| d.to_string()).as_deref(), Some("2027-03-06"));
        let e = date("start", "06/03/2027").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("start: give a date"), "{e}");
        assert_eq!(optional_date("due", " ").ok(), Some(None));
        assert_eq!(list("a, b,\n c,,"), vec!["a", "b", "c"]);
        assert_eq!(optional_number::<u32>("window", "90").ok(), Some(Some(90)));
        let e = optional_number::<u32>("window", "ninety").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("window") && e.contains("ninety"), "{e}");
    }

    #[test]
    fn a_choice_names_the_field_and_the_allowed_values() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Kind {
            Blackout,
            Maintenance,
        }
        assert_eq!(choice::<Kind>("kind", " blackout ").ok(), Some(Kind::Blackout));
        let e = choice::<Kind>("kind", "holiday").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("kind: ") && e.contains("holiday") && e.contains("maintenance"), "{e}");
        let f = Fields::new(vec![
            ("roles".into(), "admin".into()),
            ("name".into(), "ann".into()),
            ("roles".into(), "viewer".into()),
        ]);
        assert_eq!((f.one("name"), f.one("missing")), ("ann", ""));
        assert_eq!(f.all("roles"), vec!["admin", "viewer"]);
        assert!(f.checked("roles") && !f.checked("active"));
    }
}
