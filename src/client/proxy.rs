//! Proxies: a target's `proxy:` or the environment's `HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY` and `NO_PROXY`, read as curl and the official SDKs (httpx) read them. A
//! proxy's credentials are kept apart from its name, so that the name can go into reports.

use std::net::IpAddr;

use base64::Engine as _;

/// How the proxy is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// HTTP: CONNECT for https, the absolute URL for plain http.
    Http,
    /// HTTP over TLS to the proxy, then as `Http`.
    Https,
    /// SOCKS5, names resolved here (curl's `socks5://`).
    Socks5,
    /// SOCKS5, names resolved by the proxy (curl's `socks5h://`).
    Socks5h,
}

/// One proxy.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// How it is spoken to.
    pub kind: ProxyKind,
    /// Its host (an IPv6 address without brackets).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// User and password, from the URL or from the environment variable a target names.
    credentials: Option<(String, String)>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// The default port of each proxy scheme, as curl has them.
fn default_port(kind: ProxyKind) -> u16 {
    match kind {
        ProxyKind::Http => 80,
        ProxyKind::Https => 443,
        ProxyKind::Socks5 | ProxyKind::Socks5h => 1080,
    }
}

impl Proxy {
    /// Parses a proxy URL; a URL without a scheme is `http://`, as curl takes it. The
    /// error never repeats the URL, which may hold a password.
    pub fn parse(text: &str) -> Result<Proxy, String> {
        let text = text.trim();
        let with_scheme = if text.contains("://") { text.to_owned() } else { format!("http://{text}") };
        let url = url::Url::parse(&with_scheme).map_err(|e| format!("not a proxy URL ({e})"))?;
        let kind = match url.scheme() {
            "http" => ProxyKind::Http,
            "https" => ProxyKind::Https,
            "socks5" => ProxyKind::Socks5,
            "socks5h" => ProxyKind::Socks5h,
            other => return Err(format!("proxy scheme {other:?}: http, https, socks5 or socks5h")),
        };
        let host = super::host::url_host(&url).ok_or("a proxy URL needs a host")?;
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err("a proxy URL is a scheme, a host and a port, with no path or query".into());
        }
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let credentials = (!url.username().is_empty()).then(|| (decode(url.username()), decode(url.password().unwrap_or_default())));
        Ok(Proxy { kind, port: url.port().unwrap_or(default_port(kind)), host, credentials })
    }

    /// Sets the credentials, `user:password` as a variable holds them.
    pub fn with_credentials(mut self, user_password: &str) -> Proxy {
        let (user, password) = user_password.split_once(':').unwrap_or((user_password, ""));
        self.credentials = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// The proxy as reports name it: scheme, host and port, never the credentials.
    pub fn name(&self) -> String {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Https => "https",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
        };
        format!("{scheme}://{}", super::host::authority(&self.host, self.port))
    }

    /// The user and password, for the SOCKS5 handshake.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The `Proxy-Authorization` value of HTTP Basic, when there are credentials.
    pub fn basic_auth(&self) -> Option<String> {
        let (user, password) = self.credentials()?;
        Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))))
    }

    /// The secrets a report must not show: the password, and the Basic value carrying it.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self.credentials.iter().map(|(_, p)| p.clone()).filter(|p| !p.is_empty()).collect();
        secrets.extend(self.basic_auth().map(|b| b.trim_start_matches("Basic ").to_owned()));
        secrets
    }
}

/// Which proxy a target uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProxyChoice {
    /// None: a direct connection (the embedded mock; a library user's default).
    #[default]
    Direct,
    /// The environment's, as curl reads it (a scenario target's default).
    FromEnv,
    /// This one.
    Given(Proxy),
}

/// Reads a variable in its lower-case spelling first, then upper-case, as curl does.
fn env_var(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(&name.to_ascii_lowercase()).or_else(|| get(name)).filter(|v| !v.trim().is_empty())
}

impl ProxyChoice {
    /// The proxy for a request to `scheme://host:port`, if any; `get` reads the
    /// environment. A variable that does not parse is an error naming the variable.
    pub fn resolve(&self, scheme: &str, host: &str, port: u16, get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Proxy>, String> {
        match self {
            ProxyChoice::Direct => Ok(None),
            ProxyChoice::Given(proxy) => Ok(Some(proxy.clone())),
            ProxyChoice::FromEnv => {
                if env_var(get, "NO_PROXY").is_some_and(|list| bypasses(&list, host, port)) {
                    return Ok(None);
                }
                let variable = if scheme == "https" { "HTTPS_PROXY" } else { "HTTP_PROXY" };
                for name in [variable, "ALL_PROXY"] {
                    if let Some(value) = env_var(get, name) {
                        return Proxy::parse(&value).map(Some).map_err(|e| format!("{name}: {e}"));
                    }
                }
                Ok(None)
            }
        }
    }
}

/// True when `NO_PROXY`'s comma-separated list names `host`: `*`; a domain, which also
/// covers its subdomains (with or without a leading dot); an IP address; an address range
/// in CIDR form; each optionally with `:port`.
pub fn bypasses(list: &str, host: &str, port: u16) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    let ip: Option<IpAddr> = host.parse().ok();
    list.split(',').map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let (pattern, entry_port) = split_port(entry);
        if entry_port.is_some_and(|p| p != port) {
            return false;
        }
        let pattern = pattern.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if let (Some(ip), Some((net, bits))) = (ip, pattern.split_once('/')) {
            return in_range(ip, net, bits);
        }
        if ip.is_some() {
            return pattern.parse::<IpAddr>().ok() == ip;
        }
        let domain = pattern.trim_start_matches('.').trim_start_matches("*.");
        host == domain || host.ends_with(&format!(".{domain}"))
    })
}

/// An entry's pattern and port: `host:port`, `[v6]:port`; a bare IPv6 address has none.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((addr, tail)) = rest.split_once(']') {
            return (addr, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match entry.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
        _ => (entry, None),
    }
}

fn in_range(ip: IpAddr, net: &str, bits: &str) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else { return false };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_parse_and_their_names_hide_the_credentials() {
        let p = Proxy::parse("http://user:p%40ss@proxy.internal:3128").expect("parse");
        assert_eq!((p.kind, p.host.as_str(), p.port), (ProxyKind::Http, "proxy.internal", 3128));
        assert_eq!(p.credentials(), Some(("user", "p@ss")));
        assert_eq!(p.name(), "http://proxy.internal:3128");
        assert!(!format!("{p:?}").contains("p@ss"));
        assert_eq!(p.basic_auth().as_deref(), Some("Basic dXNlcjpwQHNz"));
        assert_eq!(Proxy::parse("127.0.0.1:8080").expect("bare").name(), "http://127.0.0.1:8080");
        assert_eq!(Proxy::parse("socks5h://[::1]").expect("v6").name(), "socks5h://[::1]:1080");
        for bad in ["ftp://x:1", "http://", "http://h:1/path", "http://h:99999"] {
            let e = Proxy::parse(bad).expect_err(bad);
            assert!(!e.is_empty(), "{bad}");
        }
        let e = Proxy::parse("gopher://u:secret@h").expect_err("scheme");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn no_proxy_matches_as_curl_does() {
        let list = "localhost, .internal.example,example.org:8443, 10.0.0.0/8, ::1, [fd00::1]:443";
        let cases = [
            ("localhost", 80, true),
            ("api.internal.example", 443, true),
            ("internal.example", 443, true),
            ("notinternal.example", 443, false),
            ("example.org", 8443, true),
            ("example.org", 443, false),
            ("10.2.3.4", 443, true),
            ("11.2.3.4", 443, false),
            ("[::1]", 443, true),
            ("fd00::1", 443, true),
            ("fd00::1", 80, false),
            ("api.anthropic.com", 443, false),
        ];
        for (host, port, want) in cases {
            assert_eq!(bypasses(list, host, port), want, "{host}:{port}");
        }
        assert!(bypasses("*", "anything", 1));
    }

    #[test]
    fn the_environment_is_read_as_curl_reads_it() {
        let env = |pairs: &'static [(&'static str, &'static str)]| move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
        let get = env(&[("HTTPS_PROXY", "http://upper:1"), ("https_proxy", "http://lower:1"), ("ALL_PROXY", "socks5://all:1"), ("NO_PROXY", "skip.example")]);
        let choice = ProxyChoice::FromEnv;
        let name = |scheme, host| choice.resolve(scheme, host, 443, &get).expect("resolve").map(|p| p.name());
        assert_eq!(name("https", "api.example").as_deref(), Some("http://lower:1"));
        assert_eq!(name("http", "api.example").as_deref(), Some("socks5://all:1"));
        assert_eq!(name("https", "skip.example"), None);
        let bad = env(&[("HTTPS_PROXY", "ftp://u:secret@x")]);
        let e = choice.resolve("https", "h", 443, &bad).expect_err("bad variable");
        assert!(e.starts_with("HTTPS_PROXY") && !e.contains("secret"), "{e}");
        assert_eq!(ProxyChoice::Direct.resolve("https", "h", 443, &get), Ok(None));
    }
}
