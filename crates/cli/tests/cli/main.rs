//! The `railyard` binary end to end: a real `railyard serve` child process on a real SQLite file, driven
//! only through the CLI's own commands, as a release team would.

mod common;
mod crash;
mod demo;
mod deployments;
mod environments;
mod isolation;
mod production;
mod releases;
mod trains;
mod turnovers;
mod users;
mod walkthrough;
