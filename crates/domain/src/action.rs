//! What a task runs: a command (a program and its arguments, no shell) or an HTTP call, and the checks
//! that tell a task author which field is wrong before anything runs.

use std::collections::BTreeMap;

use http::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Discriminator, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};

use crate::FieldError;
use crate::placeholder;

/// The longest timeout a task may ask for: 24 hours.
pub const MAX_TIMEOUT_SECS: u64 = 24 * 60 * 60;

/// The HTTP methods an HTTP action may use.
pub const HTTP_METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// One automation task action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    Command(CommandAction),
    Http(HttpAction),
}

/// The schema of the JSON serde reads and writes for an [`Action`]: one object of the variant's own
/// fields and `kind`, and no other field. (A derived schema would be `allOf` the variant's schema, which
/// allows no other field, and `kind`: no value could match it.) Each variant is a named schema of its
/// own (`CommandAction`, `HttpAction`, with `kind`) and `kind` is the discriminator, so that client
/// generators make one class per variant and pick it by `kind` (inline variants made them name the
/// variants' maps twice and drop them).
impl utoipa::PartialSchema for Action {
    fn schema() -> RefOr<Schema> {
        let variant = |name: &str| RefOr::Ref(Ref::from_schema_name(name));
        OneOfBuilder::new()
            .item(variant(COMMAND))
            .item(variant(HTTP))
            .discriminator(Some(Discriminator::with_mapping(
                "kind",
                [("command", schema_ref(COMMAND)), ("http", schema_ref(HTTP))],
            )))
            .description(Some(
                "One automation task action: a command (`kind: command`) or an HTTP call (`kind: http`).",
            ))
            .into()
    }
}

/// The names of the variants' schemas: each is the variant's own schema with `kind`.
const COMMAND: &str = "CommandAction";
const HTTP: &str = "HttpAction";

fn schema_ref(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

/// The variant's schema with its `kind` tag, which is required and takes only `kind`.
fn tagged(kind: &str, schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            let tag = ObjectBuilder::new().schema_type(Type::String).enum_values(Some([kind])).build();
            object.properties.insert("kind".to_string(), tag.into());
            object.required.insert(0, "kind".to_string());
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

impl ToSchema for Action {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((COMMAND.to_string(), tagged("command", <CommandAction as utoipa::PartialSchema>::schema())));
        schemas.push((HTTP.to_string(), tagged("http", <HttpAction as utoipa::PartialSchema>::schema())));
    }
}

impl Action {
    /// Every invalid field of the action, or nothing.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        match self {
            Action::Command(c) => c.validate(),
            Action::Http(h) => h.validate(),
        }
    }

    pub fn timeout_secs(&self) -> u64 {
        match self {
            Action::Command(c) => c.timeout_secs,
            Action::Http(h) => h.timeout_secs,
        }
    }
}

/// A program run directly with its arguments (argv): no shell is involved unless the task names one as
/// its program (e.g. program `/bin/sh`, args `["-c", "..."]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandAction {
    /// A program name looked up in `PATH`, or a path to it.
    pub program: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables added to the process's environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The directory the program runs in; the server's own when absent.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// Seconds before the program and all its children are killed (1 to 86400; 600 when absent).
    #[serde(default = "default_command_timeout")]
    pub timeout_secs: u64,
}

fn default_command_timeout() -> u64 {
    600
}

impl CommandAction {
    /// A command with no arguments, environment or working directory, and the default timeout.
    pub fn new(program: impl Into<String>) -> Self {
        CommandAction {
            program: program.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            working_dir: None,
            timeout_secs: default_command_timeout(),
        }
    }

    /// Every invalid field, or nothing.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.program.trim().is_empty() {
            errors.push(FieldError::new("program", "must not be empty"));
        } else if self.program.contains('\0') {
            errors.push(FieldError::new("program", "must not contain a NUL character"));
        }
        if let Some(i) = self.args.iter().position(|a| a.contains('\0')) {
            errors.push(FieldError::new("args", format!("argument {} contains a NUL character", i + 1)));
        }
        for (name, value) in &self.env {
            if !is_env_name(name) {
                errors.push(FieldError::new(
                    "env",
                    format!(
                        "'{name}' is not a valid variable name (letters, digits and '_', not starting with a digit)"
                    ),
                ));
            } else if value.contains('\0') {
                errors.push(FieldError::new("env", format!("the value of '{name}' contains a NUL character")));
            }
        }
        match &self.working_dir {
            Some(dir) if dir.trim().is_empty() => {
                errors.push(FieldError::new("working_dir", "must not be empty when given"))
            }
            Some(dir) if dir.contains('\0') => {
                errors.push(FieldError::new("working_dir", "must not contain a NUL character"))
            }
            _ => {}
        }
        check_timeout(self.timeout_secs, &mut errors);
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// One HTTP request. `${NAME}` placeholders in the URL, headers and body are replaced by the run
/// context's variables (URL-encoded in the URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpAction {
    /// GET, POST, PUT, PATCH, DELETE or HEAD.
    pub method: String,
    /// An `http://` or `https://` URL.
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    /// The statuses that mean success; empty means any 2xx.
    #[serde(default)]
    pub expected_status: Vec<u16>,
    /// Seconds before the request (connection, response and body) is abandoned (1 to 86400; 30 when absent).
    #[serde(default = "default_http_timeout")]
    pub timeout_secs: u64,
}

fn default_http_timeout() -> u64 {
    30
}

impl HttpAction {
    /// A request with no headers or body, expecting any 2xx, and the default timeout.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        HttpAction {
            method: method.into(),
            url: url.into(),
            headers: BTreeMap::new(),
            body: None,
            expected_status: Vec::new(),
            timeout_secs: default_http_timeout(),
        }
    }

    /// Whether `status` counts as success.
    pub fn accepts(&self, status: u16) -> bool {
        if self.expected_status.is_empty() {
            (200..=299).contains(&status)
        } else {
            self.expected_status.contains(&status)
        }
    }

    /// The expected statuses in words: "2xx" or "200, 201".
    pub fn expected_text(&self) -> String {
        if self.expected_status.is_empty() {
            "2xx".to_string()
        } else {
            self.expected_status.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
        }
    }

    /// Every invalid field, or nothing. Placeholders are checked with a stand-in value.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !HTTP_METHODS.contains(&self.method.as_str()) {
            errors.push(FieldError::new(
                "method",
                format!("'{}' is not one of {}", self.method, HTTP_METHODS.join(", ")),
            ));
        }
        let url = placeholder::with_stand_ins(&self.url);
        match url::Url::parse(&url) {
            Ok(u) if u.scheme() != "http" && u.scheme() != "https" => errors
                .push(FieldError::new("url", format!("scheme '{}' is not supported; use http or https", u.scheme()))),
            Ok(u) if u.host_str().is_none_or(str::is_empty) => errors.push(FieldError::new("url", "must name a host")),
            Ok(_) => {}
            Err(e) => errors.push(FieldError::new("url", format!("'{}' is not a valid URL: {e}", self.url))),
        }
        for (name, value) in &self.headers {
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                errors.push(FieldError::new("headers", format!("'{name}' is not a valid header name")));
            } else if HeaderValue::from_str(&placeholder::with_stand_ins(value)).is_err() {
                errors.push(FieldError::new(
                    "headers",
                    format!("the value of '{name}' is not a valid header value (visible ASCII, no line breaks)"),
                ));
            }
        }
        if let Some(s) = self.expected_status.iter().find(|s| !(100..=599).contains(*s)) {
            errors.push(FieldError::new("expected_status", format!("{s} is not an HTTP status (100 to 599)")));
        }
        check_timeout(self.timeout_secs, &mut errors);
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

fn check_timeout(secs: u64, errors: &mut Vec<FieldError>) {
    if secs == 0 {
        errors.push(FieldError::new("timeout_secs", "must be at least 1 second"));
    } else if secs > MAX_TIMEOUT_SECS {
        errors.push(FieldError::new("timeout_secs", format!("must be at most {MAX_TIMEOUT_SECS} seconds (24 h)")));
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
