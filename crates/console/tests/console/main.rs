//! The console's integration tests: one binary, a real server on 127.0.0.1 port 0 over a real SQLite
//! file, driven by a real HTTP client with a cookie store (a browser without JavaScript).

mod actions;
mod audit_export;
mod auth_limits;
mod available;
mod available_admin;
mod available_release;
mod available_train;
mod available_turnover;
mod calendar_zone;
mod chrome;
mod common;
mod demo_screens;
mod deploying;
mod elements;
mod form;
mod headers;
mod in_browser;
mod inventory_page;
mod kept;
mod own_checks;
mod pages;
mod plain_words;
mod release_dependents;
mod release_forms;
mod runners_page;
mod secrets_page;
mod seed_flow;
mod session_end;
mod sign_in;
mod time_zones;
mod timeline;
mod train_forms;
mod train_parts;
mod turnover_forms;
mod variables_page;
