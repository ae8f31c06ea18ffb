//! The HTTP side of a request ([`exchange`]): building it for a target, sending it through
//! a pooled hyper client (HTTP/1.1 or HTTP/2, rustls for https), and timing the response
//! as it streams through the SSE parser; the connectors under it ([`connect`]).

pub mod connect;
pub mod exchange;

pub use exchange::{ApiKey, AuthStyle, Client, ClientError, Target, Timeouts};
