//! The `ferrotype` binary's commands, as a library so the end-to-end tests start exactly what
//! operators start.
//!
//! - [`serve`]: API and worker in one process (or either alone).
//! - [`keys`]: access key creation.
//! - [`process`]: one pipeline on one local file, no services.

pub mod keys;
pub mod process;
pub mod serve;
