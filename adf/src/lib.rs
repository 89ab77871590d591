//! Atlassian Document Format (the rich text of Jira's REST v3) checked against Atlassian's own
//! schema (`adf.schema.json`: npm @atlaskit/adf-schema 57.7.22, full profile; its source is in
//! `reference/README.md`). Jira refuses a document that fails it; the app refuses one from the other side
//! before it gets near Jira.

use serde_json::Value;
use std::sync::OnceLock;

static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();

fn validator() -> &'static jsonschema::Validator {
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(include_str!("../adf.schema.json"))
            .expect("the bundled ADF schema is JSON");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&schema)
            .expect("the bundled ADF schema compiles")
    })
}

pub fn is_valid(doc: &Value) -> bool {
    validator().is_valid(doc)
}

/// Human-readable reasons a document is invalid (for error messages, tests and logs).
pub fn errors(doc: &Value) -> Vec<String> {
    validator()
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn valid_and_invalid_documents() {
        assert!(super::is_valid(
            &json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "hello"}]}]})
        ));
        assert!(super::is_valid(
            &json!({"type": "doc", "version": 1, "content": []})
        ));
        // An empty text node is invalid.
        assert!(!super::is_valid(&json!({"type": "doc", "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]})));
        assert!(!super::is_valid(&json!("plain string")));
        assert!(!super::is_valid(
            &json!({"type": "doc", "version": 1, "content": [{"type": "blink"}]})
        ));
        assert!(!super::errors(&json!({"type": "doc"})).is_empty());
    }
}
