//! ADF validation: the workspace's `adf` crate (Atlassian's own schema). Jira refuses invalid
//! documents, and so does the emulator.

pub use adf::{errors, is_valid};

#[cfg(test)]
mod tests {
    #[test]
    fn the_emulators_own_documents_are_valid() {
        assert!(super::is_valid(&crate::model::adf_paragraph("hello")));
    }
}
