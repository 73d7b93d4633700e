//! Reading a form of a page the way a browser submits it: every named input with its value (checkboxes
//! and radio buttons only when checked), every text area's text, every select's chosen option (or its
//! first). For tests that save a form unchanged, or with one field changed, as a person would.

/// The fields the form posting to `action` would send, in order.
#[track_caller]
pub fn fields(page: &str, action: &str) -> Vec<(String, String)> {
    let marker = format!(r#"action="{action}""#);
    let start = page.find(&marker).unwrap_or_else(|| panic!("no form posting to {action} in:\n{page}"));
    let form = &page[start..];
    let form = &form[..form.find("</form>").unwrap_or(form.len())];
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        let tag_end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..tag_end];
        if let Some(name) = attr(tag, "name") {
            if tag.starts_with("<input") {
                let kind = attr(tag, "type").unwrap_or_default();
                let checked = tag.contains(" checked");
                if !matches!(kind.as_str(), "checkbox" | "radio") || checked {
                    let value = attr(tag, "value").unwrap_or_else(|| if checked { "on".into() } else { String::new() });
                    out.push((name, value));
                }
            } else if tag.starts_with("<textarea") {
                let body = &rest[tag_end + 1..];
                let text = &body[..body.find("</textarea>").unwrap_or(0)];
                out.push((name, unescape(text)));
            } else if tag.starts_with("<select") {
                let body = &rest[tag_end + 1..];
                let body = &body[..body.find("</select>").unwrap_or(0)];
                let options: Vec<&str> = body.split("<option").skip(1).collect();
                let chosen = options.iter().find(|o| o.split('>').next().unwrap_or_default().contains(" selected"));
                if let Some(o) = chosen.or(options.first()) {
                    let head = o.split('>').next().unwrap_or_default();
                    let text = o.split('>').nth(1).unwrap_or_default().split('<').next().unwrap_or_default();
                    out.push((name, attr(head, "value").unwrap_or_else(|| unescape(text.trim()))));
                }
            }
        }
        rest = &rest[1..];
    }
    out
}

/// The same fields with `name` set to `value` (added when the form has no such field).
pub fn with(mut fields: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some(f) => f.1 = value.to_string(),
        None => fields.push((name.to_string(), value.to_string())),
    }
    fields
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(r#" {name}=""#);
    let start = tag.find(&marker)? + marker.len();
    tag[start..].split('"').next().map(unescape)
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'").replace("&amp;", "&")
}
