//! The `railyard` binary end to end: a real `railyard serve` child process on a real SQLite file, driven
//! only through the CLI's own commands, as a release team would.

mod actions;
mod audit;
mod common;
mod connections;
mod crash;
mod demo;
mod deployments;
mod environments;
mod inventory;
mod isolation;
mod privileges;
mod production;
mod readme;
mod recovery;
mod releases;
mod runner_scale;
mod runners;
mod secrets;
mod security;
mod trains;
mod turnovers;
mod usability;
mod users;
mod variables;
mod walkthrough;
