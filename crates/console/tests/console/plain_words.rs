//! No rule numbers in the console: with the demo company loaded, every page reachable from the
//! dashboard by its links (an admin's view, so every form shows) is read, and none may show a rule
//! number such as "R9" or "R12" in its text or its titles: rules are said in words.

use std::collections::{BTreeSet, VecDeque};

use crate::common::TestApp;

/// The first rule number (`R` and one or two digits, as a word of its own) in `text`, if any.
fn rule_number(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
    for i in 0..chars.len() {
        if chars[i] != 'R' || (i > 0 && word(chars.get(i - 1))) {
            continue;
        }
        let digits = chars[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if (1..=2).contains(&digits) && !word(chars.get(i + 1 + digits)) {
            let from = i.saturating_sub(60);
            return Some(chars[from..(i + 1 + digits + 20).min(chars.len())].iter().collect());
        }
    }
    None
}

/// What a person reads on a page: the text between tags (scripts and styles have none here) and the
/// `title`, `placeholder` and `aria-label` attributes, entities decoded enough for the check. An element
/// marked `data-record` (an audit event's recorded data, with ids such as a task run's "R1") holds what
/// was recorded, not the console's words, and is left out.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        let Some(close) = rest[open..].find('>') else { break };
        let tag = &rest[open..open + close];
        if tag.contains(" data-record") {
            let name: String = tag[1..].chars().take_while(char::is_ascii_alphanumeric).collect();
            let end = format!("</{name}>");
            rest = rest[open..].find(&end).map_or("", |e| &rest[open + e + end.len()..]);
            continue;
        }
        for attr in ["title=\"", "placeholder=\"", "aria-label=\""] {
            if let Some(at) = tag.find(attr) {
                let value = &tag[at + attr.len()..];
                out.push_str(&value[..value.find('"').unwrap_or(value.len())]);
                out.push(' ');
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ").replace("&amp;", "&")
}

/// The links of a page to other pages of the console (GET only: every change is a POST form).
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .map(|h| h.split('#').next().unwrap_or_default().to_string())
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .filter(|h| !h.starts_with("/audit/export") && !h.starts_with("/static") && !h.ends_with(".css"))
        .collect()
}

#[test]
fn the_rule_number_check_finds_them_and_only_them() {
    assert!(rule_number("needs every release verified (R9).").is_some());
    assert!(rule_number("R12 freezes").is_some());
    assert!(rule_number("RT-12, AR-3, R2D2, PR12, R123, Release 9").is_none());
    assert!(visible_text(r#"<p title="see R5">ok</p>"#).contains("R5"));
    assert_eq!(visible_text(r#"<td data-record><dl><dt>runs</dt><dd>R1</dd></dl></td><td>R9</td>"#).trim(), "R9");
}

#[tokio::test]
async fn no_page_of_the_demo_company_shows_a_rule_number() {
    let (app, _people) = TestApp::spawn_demo().await;
    let admin = app.browser();
    assert_eq!(admin.sign_in_with_token(&app.admin).await.status, 303);

    // Every page once; a few pages of each kind (the demo has dozens of deployments) keep it quick.
    let mut seen = BTreeSet::new();
    let mut per_kind = std::collections::HashMap::<String, usize>::new();
    let mut queue: VecDeque<String> =
        ["/", "/trains/new", "/releases/new", "/audit?verify=now"].map(String::from).into();
    let mut read = 0;
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let kind = path.split(['/', '?']).nth(1).unwrap_or_default().to_string();
        let count = per_kind.entry(kind).or_default();
        *count += 1;
        if *count > 25 {
            continue;
        }
        let page = admin.get(&path).await;
        assert!(page.status.is_success(), "{path}: {} {}", page.status, page.body);
        read += 1;
        if let Some(found) = rule_number(&visible_text(&page.body)) {
            panic!("{path} shows a rule number: …{found}…");
        }
        queue.extend(links(&page.body).into_iter().filter(|l| !seen.contains(l)));
    }
    assert!(read > 40, "the walk read {read} pages: {seen:?}");
    for must in
        ["/", "/calendar", "/audit", "/environments", "/paths", "/users", "/turnovers", "/applications", "/trains"]
    {
        assert!(seen.contains(must), "{must} was not reached: {seen:?}");
    }
}
