//! Host names as URLs hold them and as the wire writes them: an IPv6 address bare for
//! connecting, SNI and `NO_PROXY`, in brackets beside a port.

/// The host of a parsed URL, an IPv6 address without its brackets.
pub fn url_host(url: &url::Url) -> Option<String> {
    match url.host()? {
        url::Host::Ipv6(ip) => Some(ip.to_string()),
        host => Some(host.to_string()),
    }
}

/// The host of `url` (lower case, an IPv6 address bare), when it parses as a URL.
pub fn host_of(url: &str) -> Option<String> {
    url_host(&url::Url::parse(url.trim()).ok()?)
}

/// `host:port` as an authority: an IPv6 address in brackets.
pub fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_come_out_bare_and_go_back_in_brackets() {
        assert_eq!(host_of("https://user:pw@API.Example.com:8443/v1?q#f").as_deref(), Some("api.example.com"));
        assert_eq!(host_of("http://[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(host_of("not a url"), None);
        assert_eq!(authority("::1", 443), "[::1]:443");
        assert_eq!(authority("127.0.0.1", 80), "127.0.0.1:80");
    }
}
