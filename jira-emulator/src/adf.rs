//! ADF validation against Atlassian's own schema (`schemas/adf.schema.json`, copied from
//! `shared/reference/`, npm @atlaskit/adf-schema full profile). Jira refuses invalid documents.

use serde_json::Value;
use std::sync::OnceLock;

static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();

fn validator() -> &'static jsonschema::Validator {
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(include_str!("../schemas/adf.schema.json"))
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

/// Human-readable reasons a document is invalid (for tests and logs).
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
        assert!(super::is_valid(&crate::model::adf_paragraph("hello")));
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
