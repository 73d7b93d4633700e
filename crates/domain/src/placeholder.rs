//! `${NAME}` placeholders in an HTTP action's URL, headers and body, replaced by the run context's
//! variables. An unknown `${RAILYARD_...}` placeholder is an error (sending it literally is surely a
//! mistake); any other unknown `${...}` is left as written, since bodies often carry other templates.

use std::collections::BTreeMap;

/// How a substituted value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// As is (headers, body).
    Plain,
    /// Percent-encoded except for unreserved characters (URLs), so a value never changes the URL's shape.
    Url,
}

/// Replaces every known `${NAME}`; `Err` names the first unknown `${RAILYARD_...}` placeholder.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>, encoding: Encoding) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match placeholder_name(after) {
            Some(name) => {
                match vars.get(name) {
                    Some(value) => match encoding {
                        Encoding::Plain => out.push_str(value),
                        Encoding::Url => percent_encode(value, &mut out),
                    },
                    None if name.starts_with("RAILYARD_") => return Err(name.to_string()),
                    None => {
                        out.push_str("${");
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The text with every placeholder (and every `${var.NAME}` reference) replaced by `x`: what
/// validation parses.
pub fn with_stand_ins(text: &str) -> String {
    let resolved = crate::variable::resolve(text, &|_| Some("x"));
    let text = resolved.as_deref().unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match placeholder_name(after) {
            Some(name) => {
                out.push('x');
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The name of a placeholder whose `${` was just consumed: a variable name followed by `}`.
fn placeholder_name(after: &str) -> Option<&str> {
    let end = after.find('}')?;
    let name = &after[..end];
    crate::action::is_env_name(name).then_some(name)
}

fn percent_encode(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [("RAILYARD_TURNOVER", "TO-7"), ("RAILYARD_ENVIRONMENT", "test env&x")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn substitutes_known_names_and_keeps_other_text() {
        let got = substitute("a ${RAILYARD_TURNOVER} b ${OTHER} c ${ d $", &vars(), Encoding::Plain);
        assert_eq!(got, Ok("a TO-7 b ${OTHER} c ${ d $".to_string()));
    }

    #[test]
    fn url_values_are_percent_encoded() {
        let got = substitute("http://h/?e=${RAILYARD_ENVIRONMENT}", &vars(), Encoding::Url);
        assert_eq!(got, Ok("http://h/?e=test%20env%26x".to_string()));
    }

    #[test]
    fn unknown_railyard_placeholder_is_an_error() {
        assert_eq!(substitute("${RAILYARD_NOPE}", &vars(), Encoding::Plain), Err("RAILYARD_NOPE".to_string()));
    }

    #[test]
    fn stand_ins_replace_every_placeholder() {
        assert_eq!(with_stand_ins("http://${HOST}:80/${RAILYARD_X}/${"), "http://x:80/x/${");
    }
}
