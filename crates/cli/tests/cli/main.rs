//! The `railyard` binary end to end: a real `railyard serve` child process on a real SQLite file, driven
//! only through the CLI's own commands, as a release team would.

mod audit;
mod common;
mod demo;
mod deployments;
mod environments;
mod production;
mod releases;
mod trains;
mod turnovers;
mod users;
mod walkthrough;
