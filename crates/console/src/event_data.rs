//! An audit event's data, readable: its JSON as a definition list of fields, nested objects and lists
//! indented under their field, and long values folded (`<details>`, no script) behind their beginning.

use maud::{Markup, html};
use serde_json::Value;

/// Values longer than this many characters are folded.
const FOLD_AT: usize = 120;
/// How much of a folded value its summary shows.
const PREVIEW: usize = 60;

/// An event's data: an object as a definition list, anything else as its value.
pub fn render(data: &Value) -> Markup {
    match data {
        Value::Object(map) if map.is_empty() => html! { "—" },
        other => value(other),
    }
}

fn value(v: &Value) -> Markup {
    match v {
        Value::Null => html! { "—" },
        Value::Bool(b) => html! { (if *b { "yes" } else { "no" }) },
        Value::Number(n) => html! { (n.to_string()) },
        Value::String(s) => text(s),
        Value::Array(items) if items.is_empty() => html! { "none" },
        Value::Array(items) if items.iter().all(is_scalar) => {
            text(&items.iter().map(scalar).collect::<Vec<_>>().join(", "))
        }
        Value::Array(items) => html! {
            ol.data { @for item in items { li { (value(item)) } } }
        },
        Value::Object(map) if map.is_empty() => html! { "—" },
        Value::Object(map) => html! {
            dl.data {
                @for (k, v) in map {
                    dt { (k.replace('_', " ")) }
                    dd { (value(v)) }
                }
            }
        },
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// A text value, folded when long.
fn text(s: &str) -> Markup {
    if s.chars().count() <= FOLD_AT {
        return html! { span.value { (s) } };
    }
    let preview: String = s.chars().take(PREVIEW).collect();
    html! {
        details.value {
            summary { (preview) "… (" (s.chars().count()) " characters)" }
            span.value { (s) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_nest_and_long_values_fold() {
        let html = render(&json!({
            "reason": "ok",
            "levels": [{"approvers": ["ann", "bob"], "required": 1}],
            "note": "x".repeat(200),
            "empty": null
        }))
        .into_string();
        assert!(html.contains("<dt>reason</dt><dd><span class=\"value\">ok</span></dd>"), "{html}");
        assert!(html.contains("<ol class=\"data\"><li><dl class=\"data\"><dt>approvers</dt>"), "{html}");
        assert!(html.contains("ann, bob"), "{html}");
        assert!(html.contains("<details class=\"value\"><summary>"), "{html}");
        assert!(html.contains("(200 characters)"), "{html}");
        assert!(html.contains("<dt>empty</dt><dd>—</dd>"), "{html}");
        assert_eq!(render(&json!({})).into_string(), "—");
    }
}
