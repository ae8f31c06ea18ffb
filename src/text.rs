//! Cutting text that came from a server down to a size fit for a finding, an error
//! message or a report: every module that quotes a server's bytes goes through here.

/// The first bytes of `bytes`, printable, for a finding or an error message.
pub fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 160;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)]);
    let mut out: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if bytes.len() > MAX {
        out.push('…');
    }
    out
}

/// Longest message kept from anything a server caused (a finding, a failure's detail):
/// a schema error quoting a 40 MB value must not make a 40 MB report.
pub const MAX_MESSAGE: usize = 1024;

/// `text` cut to at most [`MAX_MESSAGE`] bytes, on a character boundary, with `…` when cut.
pub fn cut(mut text: String) -> String {
    if text.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Appends `more` to `text` while `text` stays within `cap` bytes, cut on a character
/// boundary: for text kept from a server that may never stop sending.
pub fn push_capped(text: &mut String, more: &str, cap: usize) {
    let mut end = more.len().min(cap.saturating_sub(text.len()));
    while !more.is_char_boundary(end) {
        end -= 1;
    }
    text.push_str(&more[..end]);
}

/// What stands where a secret was.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this are not redacted: no API key is that short, and replacing
/// every `k` of a test key would mangle the very bodies a capture must keep exact.
pub const MIN_SECRET: usize = 8;

/// `text` with every occurrence of `secret` replaced, and a tail that is the start of it
/// (at least 8 characters, as an excerpt cut short leaves it) replaced too: a server that
/// echoes the key it was sent never gets it into an output, a report or a log.
pub fn redact(text: &str, secret: &str) -> String {
    let mut out = text.to_owned();
    redact_in_place(&mut out, secret);
    out
}

/// [`redact`] on a string of one's own; one that holds no part of the secret (every
/// outcome's short strings, on every request) is left as it is, with no new allocation.
pub fn redact_in_place(text: &mut String, secret: &str) {
    if secret.len() < MIN_SECRET {
        return;
    }
    if text.contains(secret) {
        *text = text.replace(secret, REDACTED);
    }
    let body = text.strip_suffix('…').unwrap_or(text);
    let cut = (8.min(secret.len())..secret.len()).rev().find(|&k| secret.is_char_boundary(k) && body.ends_with(&secret[..k]));
    if let Some(k) = cut {
        let at = body.len() - k;
        text.replace_range(at..at + k, REDACTED);
    }
}

/// [`redact`] for raw bytes (a captured response, which need not be UTF-8): every
/// occurrence of `secret`, and a tail that is the start of it, replaced.
pub fn redact_bytes(bytes: &[u8], secret: &str) -> Vec<u8> {
    let secret = secret.as_bytes();
    if secret.len() < MIN_SECRET {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = memchr::memmem::find(rest, secret) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(REDACTED.as_bytes());
        rest = &rest[at + secret.len()..];
    }
    out.extend_from_slice(rest);
    if let Some(k) = (8.min(secret.len())..secret.len()).rev().find(|&k| out.ends_with(&secret[..k])) {
        out.truncate(out.len() - k);
        out.extend_from_slice(REDACTED.as_bytes());
    }
    out
}

/// Escapes text for XML or HTML content and attribute values (JUnit and the HTML report):
/// the five markup characters, and control characters (which XML 1.0 forbids even when
/// escaped) as spaces, but for line ends and tabs.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_text_stops_at_the_cap_on_a_character_boundary() {
        let mut text = String::from("ab");
        push_capped(&mut text, "cdé", 5);
        assert_eq!(text, "abcd", "é would straddle the cap");
        push_capped(&mut text, "x", 5);
        assert_eq!(text, "abcdx");
        push_capped(&mut text, "y", 5);
        assert_eq!(text, "abcdx");
    }

    #[test]
    fn a_secret_is_redacted_from_bytes_whole_and_cut_short() {
        let key = "sk-ant-0123456789abcdef";
        assert_eq!(redact_bytes(b"\xff key sk-ant-0123456789abcdef and sk-ant-0123456789abcdef.", key), b"\xff key [REDACTED] and [REDACTED].");
        assert_eq!(redact_bytes(b"cut at 1 MiB: sk-ant-0123", key), b"cut at 1 MiB: [REDACTED]");
        assert_eq!(redact_bytes(b"nothing here", key), b"nothing here");
        assert_eq!(redact_bytes(b"thinking", "k"), b"thinking", "a test key of one letter is no secret");
    }

    #[test]
    fn a_secret_is_redacted_whole_and_cut_short() {
        let key = "sk-ant-0123456789abcdef";
        assert_eq!(redact("invalid token sk-ant-0123456789abcdef, try again", key), "invalid token [REDACTED], try again");
        assert_eq!(redact("Bearer sk-ant-0123456789abcdef", key), "Bearer [REDACTED]");
        assert_eq!(redact("invalid token sk-ant-0123…", key), "invalid token [REDACTED]…");
        assert_eq!(redact("ends with sk-ant-01", key), "ends with [REDACTED]");
        assert_eq!(redact("ends with sk-a", key), "ends with sk-a", "too short to be the key");
        assert_eq!(redact("nothing here", ""), "nothing here");
    }

    #[test]
    fn a_long_message_is_cut_on_a_character_boundary() {
        assert_eq!(cut("short".into()), "short");
        let long = cut("é".repeat(MAX_MESSAGE));
        assert!(long.len() <= MAX_MESSAGE + '…'.len_utf8() && long.ends_with('…'), "{}", long.len());
    }

    #[test]
    fn an_excerpt_is_cut_and_printable() {
        assert_eq!(excerpt(b"a\nb\tc"), "a b c");
        let long = excerpt(&[b'x'; 500]);
        assert_eq!((long.chars().count(), long.ends_with('…')), (161, true));
        assert_eq!(excerpt(&[0xff, b'o', b'k']), "\u{fffd}ok");
    }
}
