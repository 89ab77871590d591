//! Exalate for Jira Cloud: a multi-tenant Atlassian Connect app that keeps issues of two Jira
//! sites in sync. `main.rs` only parses the command line; everything is reachable from here.

pub mod cli;
pub mod configuration;
pub mod connect;
pub mod connections;
pub mod db;
pub mod demo;
pub mod entities;
pub mod forge;
pub mod jira;
pub mod startup;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod tenants;
pub mod web;
