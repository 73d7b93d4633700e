use railyard_domain::{WorkItemKind, WorkItemSpec, WorkItemStatus};
use railyard_import::{Format, ImportError, detect, parse};

use WorkItemKind::{BusinessRequest, DevelopmentTask};
use WorkItemStatus::{Done, InProgress, Open};

const JIRA: &[u8] = include_bytes!("fixtures/jira-export.csv");

fn csv(text: &str) -> Result<Vec<WorkItemSpec>, ImportError> {
    parse(text.as_bytes(), Format::Csv)
}

fn json(text: &str) -> Result<Vec<WorkItemSpec>, ImportError> {
    parse(text.as_bytes(), Format::Json)
}

/// The error, asserting its line and that its message contains every one of `parts`.
#[track_caller]
fn refused(result: Result<Vec<WorkItemSpec>, ImportError>, line: Option<usize>, parts: &[&str]) -> ImportError {
    let err = result.expect_err("the file should be refused");
    assert_eq!(err.line, line, "wrong line in: {err}");
    for part in parts {
        assert!(err.message.contains(part), "{part:?} missing from: {err}");
    }
    err
}

fn jira_with(from: &str, to: &str) -> Vec<u8> {
    let text = std::str::from_utf8(JIRA).expect("fixture is UTF-8");
    assert!(text.contains(from), "fixture lacks {from:?}");
    text.replacen(from, to, 1).into_bytes()
}

// --- Jira export ---

#[test]
fn jira_export_parses_kinds_statuses_and_source() {
    assert!(JIRA.starts_with(b"\xEF\xBB\xBF"), "the fixture carries a BOM");
    let items = parse(JIRA, Format::Csv).expect("Jira export parses");
    let got: Vec<(&str, WorkItemKind, WorkItemStatus)> =
        items.iter().map(|i| (i.key.as_str(), i.kind, i.status)).collect();
    assert_eq!(
        got,
        vec![
            ("PAY-100", BusinessRequest, InProgress),
            ("PAY-142", DevelopmentTask, Done),
            ("PAY-143", DevelopmentTask, Done),
            ("PAY-150", DevelopmentTask, Done),
            ("PAY-151", DevelopmentTask, InProgress),
            ("PAY-160", BusinessRequest, Open),
            ("PAY-161", BusinessRequest, Open),
            ("PAY-162", DevelopmentTask, Open),
            ("PAY-163", DevelopmentTask, Open),
            ("PAY-164", DevelopmentTask, Done),
        ]
    );
    assert_eq!(items[1].title, "Payout API: create, list, cancel");
    assert_eq!(items[3].title, "Rounding error, 0.005 EUR");
    assert!(items.iter().all(|i| i.source.as_deref() == Some("jira") && i.link.is_none()));
}

#[test]
fn jira_line_numbers_count_line_breaks_inside_quoted_fields() {
    // PAY-163 is on line 17: the descriptions of PAY-100, PAY-142 and PAY-160 span several lines.
    let bytes = jira_with(",PAY-163,10163,10100,Story,", ",PAY-163,10163,10100,Spike,");
    refused(parse(&bytes, Format::Csv), Some(17), &["Issue Type 'Spike'", "Story", "Sub-task", "Epic", "New Feature"]);
}

#[test]
fn jira_unknown_status_is_named_with_the_accepted_ones() {
    let bytes = jira_with(",PAY-150,10150,,Bug,Resolved,", ",PAY-150,10150,,Bug,Parked,");
    refused(
        parse(&bytes, Format::Csv),
        Some(11),
        &["Status 'Parked'", "To Do", "In Progress", "Resolved", "Released", "in_progress"],
    );
}

#[test]
fn jira_empty_issue_type_is_refused() {
    let bytes = jira_with(",PAY-143,10143,10100,Task,", ",PAY-143,10143,10100,,");
    refused(parse(&bytes, Format::Csv), Some(10), &["Issue Type is empty", "Story"]);
}

#[test]
fn jira_link_column_is_used_when_present() {
    let text = "Issue key,Summary,Issue Type,Status,Sprint,Sprint,URL\n\
                OPS-1,Rotate keys,Task,Done,S1,S2,https://jira.example.com/browse/OPS-1\n";
    let items = csv(text).expect("parses");
    assert_eq!(items[0].link.as_deref(), Some("https://jira.example.com/browse/OPS-1"));
    assert_eq!(items[0].source.as_deref(), Some("jira"));
}

// --- Railyard's own CSV ---

#[test]
fn railyard_csv_parses_with_defaults() {
    let text = "key,title,kind,status,link,source\n\
                PAY-1,Instant payouts,business_request,in_progress,https://x.example/PAY-1,jira\n\
                PAY-2,\"Payout API, v2\",development_task,,,\n\
                PAY-3,Ledger,development_task,done,,\n";
    let items = csv(text).expect("parses");
    assert_eq!(
        items[0],
        WorkItemSpec {
            key: "PAY-1".into(),
            title: "Instant payouts".into(),
            kind: BusinessRequest,
            status: InProgress,
            link: Some("https://x.example/PAY-1".into()),
            source: Some("jira".into()),
        }
    );
    assert_eq!((items[1].title.as_str(), items[1].status, items[1].source.as_deref()), ("Payout API, v2", Open, None));
    assert_eq!(items[2].status, Done);
}

#[test]
fn columns_match_case_insensitively_after_trimming_and_status_is_optional() {
    let items = csv(" Title , KEY ,Kind\r\nFirst,A-1,development_task\r\n").expect("parses");
    assert_eq!((items[0].key.as_str(), items[0].title.as_str(), items[0].status), ("A-1", "First", Open));
}

#[test]
fn blank_trailing_lines_and_comma_only_rows_are_fine() {
    let items = csv("key,title,kind\nA-1,One,development_task\n\n\r\n,,\n  \n\n").expect("parses");
    assert_eq!(items.len(), 1);
    assert_eq!(csv("key,title,kind\n").expect("header only"), vec![]);
}

#[test]
fn line_numbers_count_blank_lines_crlf_and_quoted_line_breaks() {
    refused(csv("key,title,kind\n\n\nA-1,,bug\n"), Some(4), &["needs a title"]);
    refused(csv("\r\nkey,title,kind\r\n\r\n\r\nA-1,One,bug\r\nA-2,,bug\r\n"), Some(6), &["needs a title"]);
    refused(csv("key,title,kind\r\nA-1,\"One\r\n\r\nmore\",bug\r\n\r\nA-2,Two,spike\r\n"), Some(6), &["'spike'"]);
    refused(csv("\n\nkey;title;kind\n"), Some(3), &["';'"]);
}

#[test]
fn unknown_kind_lists_the_accepted_ones() {
    let err = refused(
        csv("key,title,kind\nA-1,One,development_task\nA-2,Two,feature\n"),
        Some(3),
        &["kind 'feature' is not a known work item kind", "business_request", "development_task", "Epic", "Bug"],
    );
    assert!(err.to_string().starts_with("line 3: kind 'feature'"), "{err}");
}

#[test]
fn invalid_key_and_empty_title_are_reported_with_their_line() {
    refused(
        csv("key,title,kind\nA-1,One,bug\nPAY 2,Two,bug\n"),
        Some(3),
        &["'PAY 2' is not a work item key", "letters"],
    );
    refused(csv("key,title,kind\nA-1,\"One\nmore\",bug\nA-2,  ,bug\n"), Some(4), &["work item A-2 needs a title"]);
}

#[test]
fn duplicate_key_names_both_lines() {
    let text = "key,title,kind\nA-1,One,bug\n\"A-2\",\"Two,\nlines\",bug\nA-3,Three,bug\nA-2,Again,bug\n";
    let err = refused(csv(text), Some(6), &["A-2", "line 3", "line 6", "only once"]);
    assert_eq!(
        err.to_string().lines().next(),
        Some("line 6: key A-2 appears on line 3 and again on line 6: each key may appear only once in an import")
    );
}

#[test]
fn row_with_wrong_number_of_fields_is_refused() {
    refused(
        csv("key,title,kind,status\nA-1,One,bug,done\nA-2,Two, with comma,bug,done\n"),
        Some(3),
        &["5 fields", "header has 4 columns", "double quotes"],
    );
    refused(csv("key,title,kind\nA-1,One\n"), Some(2), &["2 fields", "3 columns"]);
}

#[test]
fn missing_required_columns_are_named_with_the_columns_found() {
    refused(
        csv("Issue key,Summary,Status,Sprint,Sprint\nA-1,One,Done,S1,S2\n"),
        Some(1),
        &["missing required column kind (Jira: Issue Type)", "'Issue key', 'Summary', 'Status', 'Sprint', 'Sprint'"],
    );
    refused(csv("id,name\n1,x\n"), Some(1), &["missing required columns key (Jira: Issue key), title", "'id', 'name'"]);
}

#[test]
fn a_used_column_given_twice_is_refused() {
    refused(
        csv("key,title,kind,Status,status\nA-1,One,bug,done,open\n"),
        Some(1),
        &["columns 4 'Status' and 5 'status'"],
    );
}

#[test]
fn wrong_delimiter_is_named() {
    refused(csv("key;title;kind\nA-1;One;bug\n"), Some(1), &["looks like it uses ';' (semicolon)", "comma-separated"]);
    refused(csv("key\ttitle\tkind\nA-1\tOne\tbug\n"), Some(1), &["looks like it uses a tab", "comma-separated"]);
}

#[test]
fn invalid_utf8_names_the_line_and_column() {
    let mut bytes = b"key,title,kind\nA-1,One,bug\nA-2,\"Caf".to_vec();
    bytes.extend_from_slice(b"\xE9\nau lait\",bug\nA-3,Three,bug\n");
    refused(parse(&bytes, Format::Csv), Some(3), &["column 2 ('title') is not valid UTF-8", "UTF-8"]);
    // In a column Railyard ignores, and in the header.
    refused(parse(b"key,title,kind,notes\nA-1,One,bug,\xFF\n", Format::Csv), Some(2), &["column 4 ('notes')"]);
    refused(parse(b"key,title,kind\xFF\nA-1,One,bug\n", Format::Csv), Some(1), &["column 3 is not valid UTF-8"]);
}

#[test]
fn empty_file_is_refused() {
    refused(csv(""), Some(1), &["empty", "key, title, kind"]);
    refused(parse(b"\xEF\xBB\xBF", Format::Csv), Some(1), &["empty"]);
}

// --- JSON ---

#[test]
fn json_array_and_items_object_both_parse() {
    let array = r#"[
        {"key": "PAY-1", "title": "Instant payouts", "kind": "business_request", "status": "in_progress"},
        {"key": "PAY-2", "title": "Payout API", "kind": "development_task", "link": "https://x.example/2", "source": "jira"}
    ]"#;
    let items = json(array).expect("array parses");
    assert_eq!(items.len(), 2);
    assert_eq!((items[0].status, items[1].status), (InProgress, Open));
    assert_eq!(items[1].source.as_deref(), Some("jira"));
    let wrapped = format!("\u{feff}  {{\"items\": {array}}}");
    assert_eq!(json(&wrapped).expect("object parses"), items);
    assert_eq!(json("[]").expect("empty array"), vec![]);
}

#[test]
fn json_unknown_field_is_refused_with_index_and_line() {
    let text = "[\n  {\"key\": \"A-1\", \"title\": \"One\", \"kind\": \"development_task\"},\n  {\"key\": \"A-2\",\n   \"title\": \"Two\",\n   \"priority\": \"high\", \"kind\": \"development_task\"}\n]";
    refused(json(text), Some(5), &["item at index 1: unknown field `priority`", "`key`", "\"status\""]);
}

#[test]
fn json_item_errors_say_what_is_allowed() {
    refused(
        json("[{\"key\": \"A-1\", \"title\": \"One\", \"kind\": \"story\"}]"),
        Some(1),
        &["item at index 0: unknown variant `story`", "`business_request`", "`development_task`"],
    );
    refused(json("[\n{\"key\": \"A-1\", \"title\": \"One\"}\n]"), Some(2), &["missing field `kind`", "\"kind\""]);
    refused(json("{\"items\": [\n1\n]}"), Some(2), &["item at index 0: invalid type: integer `1`"]);
}

#[test]
fn json_validation_and_duplicate_keys_name_the_item_and_its_line() {
    let text = "[\n{\"key\": \"A-1\", \"title\": \"One\", \"kind\": \"development_task\"},\n\
                {\"key\": \"A 2\", \"title\": \"Two\", \"kind\": \"development_task\"}\n]";
    refused(json(text), Some(3), &["item at index 1: key: 'A 2' is not a work item key"]);
    let text = "[\n{\"key\": \"A-1\", \"title\": \"One\", \"kind\": \"development_task\"},\n\
                {\"key\": \"A-1\", \"title\": \"Two\", \"kind\": \"development_task\"}\n]";
    refused(json(text), Some(3), &["item at index 1: key A-1 appears on line 2 and again on line 3"]);
}

#[test]
fn json_of_the_wrong_shape_or_syntax_is_refused() {
    refused(json("{\"rows\": []}"), Some(1), &["unknown field `rows`", "{\"items\": [...]}"]);
    refused(json("[\n{\"key\": \"A-1\",\n]"), Some(3), &["not valid JSON", "JSON array"]);
    refused(json("\n\"hello\""), Some(2), &["expected '[' or '{'"]);
    refused(json(" \n "), Some(1), &["empty"]);
    refused(parse(b"[\n\"\xFF\"]", Format::Json), Some(2), &["not valid UTF-8"]);
}

// --- detect and Display ---

#[test]
fn detect_uses_content_type_then_sniffs() {
    assert_eq!(detect(Some("text/csv"), b"[1]"), Format::Csv);
    assert_eq!(detect(Some("Application/JSON; charset=utf-8"), b"key,title"), Format::Json);
    assert_eq!(detect(Some("application/octet-stream"), b"\xEF\xBB\xBF \n [{}]"), Format::Json);
    assert_eq!(detect(None, b"\t{\"items\": []}"), Format::Json);
    assert_eq!(detect(None, b"key,title,kind"), Format::Csv);
    assert_eq!(detect(None, b""), Format::Csv);
}

#[test]
fn display_starts_with_the_line_when_there_is_one() {
    let err = ImportError { line: Some(7), message: "bad".into() };
    assert_eq!(err.to_string(), "line 7: bad");
    assert_eq!(ImportError { line: None, message: "bad".into() }.to_string(), "bad");
}
