//! The `ferrotype` binary's commands, as a library so the end-to-end tests start exactly what
//! operators start.
//!
//! - [`serve`]: API and worker in one process (or either alone).
//! - [`keys`]: access keys: create, list, grant, revoke.
//! - [`process`]: one pipeline on local files, no services.
//! - [`health`]: asking a running process's readiness probe (container healthchecks).

pub mod health;
pub mod keys;
pub mod process;
pub mod serve;
