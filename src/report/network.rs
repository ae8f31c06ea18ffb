//! How the run reached its target: the connections it opened for its requests, over which
//! HTTP version, through which proxy, and whether the certificate was checked at all.

use serde::{Deserialize, Serialize};

use crate::metrics::Recorder;

/// The connections of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionsInfo {
    /// Connections opened (requests that waited for a new one).
    pub opened: u64,
    /// Responses over HTTP/2.
    pub http2_responses: u64,
    /// New connections whose TLS handshake resumed an earlier session (no certificate
    /// sent or checked): their `tls` times are not a full handshake's.
    #[serde(default)]
    pub tls_resumed: u64,
    /// Requests per connection opened: how well connections were reused (HTTP/1.1), or
    /// how many streams each carried (HTTP/2).
    pub requests_per_connection: Option<f64>,
}

/// The connections section, for a run that sent anything.
pub fn build(r: &Recorder) -> Option<ConnectionsInfo> {
    (r.requests > 0).then(|| ConnectionsInfo {
        opened: r.connections,
        http2_responses: r.http2,
        tls_resumed: r.tls_resumed,
        requests_per_connection: (r.connections > 0).then(|| r.requests as f64 / r.connections as f64),
    })
}

impl ConnectionsInfo {
    /// One line for the summaries, naming the `proxy` and the `connect_to` address.
    pub fn line(&self, proxy: Option<&str>, connect_to: Option<&str>) -> String {
        let per = self.requests_per_connection.map(|p| format!(" ({p:.1} requests each)")).unwrap_or_default();
        let http2 = if self.http2_responses > 0 { format!(", {} responses over HTTP/2", self.http2_responses) } else { String::new() };
        let resumed = if self.tls_resumed > 0 { format!(", {} resumed a TLS session", self.tls_resumed) } else { String::new() };
        let proxy = proxy.map(|p| format!(", through proxy {p}")).unwrap_or_default();
        let pinned = connect_to.map(|c| format!(", connected to {c}")).unwrap_or_default();
        format!("connections: {} opened{per}{resumed}{http2}{proxy}{pinned}", self.opened)
    }
}

/// The warning a target with certificate checks off (`insecure`) carries in every output.
pub fn warning(insecure: bool) -> Option<String> {
    insecure.then(|| format!("WARNING: {}", crate::client::tls::INSECURE_WARNING))
}
