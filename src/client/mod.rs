//! The HTTP side of a request ([`exchange`]): building it for a target and sending it.
//! Every connection is opened by one [`dial`]er (DNS, TCP with a fallback between
//! addresses, a [`proxy`]'s tunnel, [`tls`] settings over a [`tls_stream`]), each step timed, to a [`host`]; it is a [`conn`] that
//! HTTP/1.1 reads itself ([`h1`], with its [`chunked`] decoder), HTTP/2 runs on the `h2`
//! crate ([`http2`]), and hyper's pool takes for the few requests besides the load's
//! ([`connect`]); then the response is timed and checked as it streams through the SSE
//! parser ([`body`]).

pub mod body;
pub mod chunked;
pub mod conn;
pub mod connect;
pub mod dial;
pub mod exchange;
pub mod h1;
pub mod host;
pub mod http2;
pub mod proxy;
pub mod target;
pub mod tls;
pub mod tls_stream;

pub use exchange::{ApiKey, AuthStyle, Client, ClientError, NetOptions, Target, Timeouts};
