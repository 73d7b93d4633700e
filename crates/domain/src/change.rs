use serde_json::Value;

/// One recorded change, before the service stamps it with actor and time: becomes one audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub object_kind: &'static str,
    pub object_id: String,
    /// snake_case action name: "create", "submit", "approve", "meet_criterion", ...
    pub action: String,
    pub data: Value,
}

impl Change {
    pub fn new(object_kind: &'static str, object_id: &str, action: &str, data: Value) -> Self {
        Change { object_kind, object_id: object_id.to_string(), action: action.to_string(), data }
    }
}
