//! A response head's header fields, as the checks read them.
//!
//! The HTTP/1.1 reader keeps a head as [`Headers`]: every name (lowercased) in one
//! string, every value in one buffer, and where each ends. The API answers with about twenty
//! fields; as an `http::HeaderMap` each cost an allocation or two and a hash, a tenth of
//! the client's work on a small Message. Twenty fields are found faster by a scan than
//! by a hash. HTTP/2 responses come from the `h2` crate as a `HeaderMap`, so the checks read
//! either through [`HeaderFields`].

use http::HeaderMap;

/// Read access to a head's fields, whatever holds them. Names are asked for in lowercase.
pub trait HeaderFields {
    /// Every field, as received: its lowercase name and its value.
    fn fields(&self) -> impl Iterator<Item = (&str, &[u8])>;

    /// The first value of `name`.
    fn first(&self, name: &str) -> Option<&[u8]> {
        self.fields().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every value of `name`, in order.
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.fields().filter(move |(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The first value of `name` as text, when it is visible ASCII (as
    /// `http::HeaderValue::to_str` reads it).
    fn text(&self, name: &str) -> Option<&str> {
        self.first(name).and_then(visible_ascii)
    }

    /// Whether the head has `name`.
    fn has(&self, name: &str) -> bool {
        self.first(name).is_some()
    }
}

/// `value` as text when every byte is visible ASCII, a space or a tab.
pub fn visible_ascii(value: &[u8]) -> Option<&str> {
    // Folded without an early exit, so the bytes are checked many at once: every head's
    // values pass through here, and they are nearly always visible.
    let visible = value.iter().fold(true, |ok, &b| ok & (b == b'\t' || (b' '..0x7f).contains(&b)));
    visible.then(|| std::str::from_utf8(value).ok()).flatten()
}

/// A head's fields in two buffers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// The names one after the other: a string, so a name is read back without checking
    /// its bytes again.
    names: String,
    /// The values one after the other (a value may hold bytes past ASCII).
    values: Vec<u8>,
    /// Where each field's name ends in `names` and its value in `values`.
    ends: Vec<(u32, u32)>,
}

impl Headers {
    /// Room for `fields` fields whose names and values take `name_bytes` and
    /// `value_bytes`, so a head read off the wire takes three allocations and none grows.
    pub fn with_capacity(fields: usize, name_bytes: usize, value_bytes: usize) -> Headers {
        Headers { names: String::with_capacity(name_bytes), values: Vec::with_capacity(value_bytes), ends: Vec::with_capacity(fields) }
    }

    /// Adds a field; the name is kept in lowercase. A head is bounded well below 4 GiB by
    /// its reader, so the offsets fit.
    pub fn push(&mut self, name: &str, value: &[u8]) {
        let start = self.names.len();
        self.names.push_str(name);
        self.names[start..].make_ascii_lowercase();
        self.values.extend_from_slice(value);
        self.ends.push((self.names.len() as u32, self.values.len() as u32));
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The values of the fields named `name`. A head is looked up by several names on every
    /// response (its framing, date, encoding, type, id), each a scan of some twenty fields:
    /// names are compared as bytes and only where the lengths agree, so most fields are
    /// passed over by their offsets alone, without slicing the name out.
    fn named<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        let mut starts = (0, 0);
        self.ends.iter().filter_map(move |&(name_end, value_end)| {
            let (name_start, value_start) = std::mem::replace(&mut starts, (name_end, value_end));
            let same = (name_end - name_start) as usize == name.len() && self.names.as_bytes()[name_start as usize..name_end as usize] == *name.as_bytes();
            same.then(|| &self.values[value_start as usize..value_end as usize])
        })
    }
}

impl<N: AsRef<str>, V: AsRef<[u8]>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(fields: I) -> Headers {
        let mut headers = Headers::default();
        for (name, value) in fields {
            headers.push(name.as_ref(), value.as_ref());
        }
        headers
    }
}

impl HeaderFields for Headers {
    fn fields(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let (mut name_start, mut value_start) = (0, 0);
        self.ends.iter().map(move |&(name_end, value_end)| {
            let (name_end, value_end) = (name_end as usize, value_end as usize);
            let field = (&self.names[name_start..name_end], &self.values[value_start..value_end]);
            (name_start, value_start) = (name_end, value_end);
            field
        })
    }

    fn first(&self, name: &str) -> Option<&[u8]> {
        self.named(name).next()
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.named(name)
    }
}

impl HeaderFields for HeaderMap {
    fn fields(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))
    }

    fn first(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(http::HeaderValue::as_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_in_order_with_names_lowercased() {
        let head: Headers = [("Content-Type", "text/event-stream"), ("X-Two", "a"), ("x-two", "b"), ("Empty", "")].into_iter().collect();
        assert_eq!(head.len(), 4);
        let fields: Vec<(&str, &[u8])> = head.fields().collect();
        assert_eq!(fields, [("content-type", &b"text/event-stream"[..]), ("x-two", b"a"), ("x-two", b"b"), ("empty", b"")]);
        assert_eq!(head.first("x-two"), Some(&b"a"[..]));
        assert_eq!(head.all("x-two").collect::<Vec<_>>(), [b"a", b"b"]);
        assert_eq!(head.text("content-type"), Some("text/event-stream"));
        assert!(head.has("empty") && !head.has("missing") && !head.has("Content-Type"), "names are asked for in lowercase");
    }

    #[test]
    fn text_is_visible_ascii_only_as_the_http_crate_reads_it() {
        let head: Headers = [("a", &b"caf\xc3\xa9"[..]), ("b", b"x\ty z~"), ("c", b"\x7f")].into_iter().collect();
        assert_eq!(head.text("a"), None);
        assert_eq!(head.text("b"), Some("x\ty z~"));
        assert_eq!(head.text("c"), None);
        for value in [&b"caf\xc3\xa9"[..], b"x\ty z~", b"\x7f"] {
            let expected = http::HeaderValue::from_bytes(value).ok().and_then(|v| v.to_str().ok().map(str::to_owned));
            assert_eq!(visible_ascii(value).map(str::to_owned), expected, "{value:?}");
        }
    }

    #[test]
    fn a_lookup_finds_what_a_scan_of_every_field_finds() {
        // Names of one length that differ in one byte, repeats, an empty name and value,
        // and a name that is another's prefix: the lookup compares lengths first.
        let head: Headers = [
            ("content-length", "1"),
            ("content-lengtx", "2"),
            ("", "empty name"),
            ("date", ""),
            ("content-length", "3"),
            ("content-length-x", "4"),
            ("x", "5"),
        ]
        .into_iter()
        .collect();
        for name in ["content-length", "content-lengtx", "content-lengt", "content-length-x", "", "date", "x", "y", "absent"] {
            let scanned: Vec<&[u8]> = head.fields().filter(|(n, _)| *n == name).map(|(_, v)| v).collect();
            assert_eq!(head.all(name).collect::<Vec<_>>(), scanned, "{name:?}");
            assert_eq!(head.first(name), scanned.first().copied(), "{name:?}");
        }
    }

    #[test]
    fn a_header_map_reads_the_same() {
        let mut map = HeaderMap::new();
        map.append("x-two", http::HeaderValue::from_static("a"));
        map.append("x-two", http::HeaderValue::from_static("b"));
        map.insert("retry-after", http::HeaderValue::from_static("3"));
        let head: Headers = map.fields().collect();
        for name in ["x-two", "retry-after", "absent"] {
            assert_eq!(map.first(name), head.first(name));
            assert_eq!(map.all(name).collect::<Vec<_>>(), head.all(name).collect::<Vec<_>>());
        }
    }
}
