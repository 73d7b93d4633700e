//! The HTTP contract of a real `railyard serve` child process: what its OpenAPI document promises holds
//! for whatever a client sends (schemathesis), a client generated from it (openapi-python-client) type-checks
//! and drives a train, and no request body can make the server's memory grow past its limit.

mod bodies;
mod python_client;
mod schemathesis;
mod server;
