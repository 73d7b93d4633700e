//! Client commands, one file per area.

pub mod admin;
pub mod approval;
pub mod deployment;
pub mod environment;
pub mod inventory;
pub mod recovery;
pub mod release;
pub mod runner;
pub mod secret;
pub mod train;
pub mod turnover;
pub mod variable;
pub mod work_item;

use serde_json::{Map, Value};

/// Sets `key` in a JSON object when the value is given.
pub(crate) fn put(obj: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        obj.insert(key.to_string(), v.into());
    }
}

/// The path segment for an id typed by a user (kept as typed; the server names what it does not know).
pub(crate) fn seg(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect()
}
