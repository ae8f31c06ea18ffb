//! The HTTP side of a request ([`exchange`]): building it for a target and sending it, on
//! `http://` through the plain HTTP/1.1 reader ([`h1`], with its [`chunked`] decoder),
//! otherwise through a pooled hyper client (HTTP/1.1 or HTTP/2, rustls for https, the
//! connectors under it in [`connect`]); then timing the response and checking it as it
//! streams through the SSE parser ([`body`]).

pub mod body;
pub mod chunked;
pub mod connect;
pub mod exchange;
pub mod h1;

pub use exchange::{ApiKey, AuthStyle, Client, ClientError, Target, Timeouts};
