//! The REST API, end to end: a real server on a real SQLite file, a real HTTP client.

mod acceptance;
mod actions;
mod audit;
mod bodies;
mod common;
mod connections;
mod dependencies;
mod deployments;
mod environments;
mod guards;
mod input;
mod inventory;
mod lifecycle;
mod openapi;
mod production;
mod releases;
mod roles;
mod runners;
mod secrets;
mod trust;
mod turnovers;
mod variables;
mod work_items;
