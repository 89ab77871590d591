//! Atlassian Connect: the descriptor, lifecycle hooks, request authentication, install keys.
//! Kept apart from the rest so a move to Forge Remote touches only this module.

pub mod auth;
pub mod descriptor;
pub mod install_keys;
pub mod lifecycle;
