//! The HTTP contract of a real `railyard serve` child process: what its OpenAPI document promises holds
//! for whatever a client sends (schemathesis), and no request body can make the server's memory grow
//! past its limit.

mod bodies;
mod schemathesis;
mod server;
