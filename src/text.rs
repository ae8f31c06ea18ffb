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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_cut_and_printable() {
        assert_eq!(excerpt(b"a\nb\tc"), "a b c");
        let long = excerpt(&[b'x'; 500]);
        assert_eq!((long.chars().count(), long.ends_with('…')), (161, true));
        assert_eq!(excerpt(&[0xff, b'o', b'k']), "\u{fffd}ok");
    }
}
