//! The `Transfer-Encoding: chunked` decoder of the HTTP/1.1 reader ([`super::h1`]): a byte
//! state machine, so that a chunk, its size line or its trailer may be cut anywhere between
//! two reads. It is as strict as hyper's (CRLF after every line and every chunk), because a
//! relay's broken framing is a finding, not something to guess around, and its lines are
//! bounded so that a server that never ends one cannot grow memory.

/// Longest chunk-size line (size and extensions) taken.
const MAX_SIZE_LINE: usize = 4096;
/// Most trailer bytes taken after the last chunk.
const MAX_TRAILERS: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Hex digits of a chunk's size.
    Size,
    /// After the size: spaces or tabs, then a `;` extension or the CR.
    SizeWs,
    /// Inside a chunk extension, up to the CR.
    Extension,
    /// After the size line's CR.
    SizeLf,
    /// Inside a chunk's data.
    Data,
    /// After a chunk's data: its CR, then its LF.
    DataCr,
    DataLf,
    /// At the start of a trailer line (or the blank line that ends the body).
    TrailerStart,
    /// A trailer field's name, up to its colon.
    TrailerName,
    /// A trailer field's value, up to its CR.
    Trailer,
    TrailerLf,
    /// After the final blank line's CR.
    EndLf,
    Done,
}

/// Why a chunked body cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// A byte that has no place where it stands.
    #[error("invalid chunked encoding: unexpected byte {byte:#04x} in the {place}")]
    Unexpected {
        /// The byte.
        byte: u8,
        /// Where it stood.
        place: &'static str,
    },
    /// A chunk size that does not fit 64 bits.
    #[error("invalid chunked encoding: chunk size overflows")]
    Overflow,
    /// A size line or the trailers beyond their limits.
    #[error("invalid chunked encoding: {0} too long")]
    TooLong(&'static str),
}

/// The decoder's state between reads.
#[derive(Debug, Clone)]
pub struct Chunked {
    state: State,
    /// Size being read, or data left in the current chunk.
    size: u64,
    /// Whether the current size has a hex digit yet (leading zeros may be many).
    digit: bool,
    /// Bytes of the current size line, or of the trailers.
    line: usize,
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked { state: State::Size, size: 0, digit: false, line: 0 }
    }
}

impl Chunked {
    /// True once the last chunk and its trailers have been read.
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes `input`, handing each piece of chunk data to `data`. Returns how many bytes
    /// were consumed: all of them, or fewer when the body ended inside `input`.
    pub fn decode(&mut self, input: &[u8], mut data: impl FnMut(&[u8])) -> Result<usize, ChunkError> {
        let mut at = 0;
        while at < input.len() {
            if self.state == State::Done {
                return Ok(at);
            }
            if self.state == State::Data {
                let take = (input.len() - at).min(usize::try_from(self.size).unwrap_or(usize::MAX));
                data(&input[at..at + take]);
                at += take;
                self.size -= take as u64;
                if self.size == 0 {
                    self.state = State::DataCr;
                }
                continue;
            }
            self.byte(input[at])?;
            at += 1;
        }
        Ok(at)
    }

    fn byte(&mut self, b: u8) -> Result<(), ChunkError> {
        let unexpected = |place| ChunkError::Unexpected { byte: b, place };
        match self.state {
            State::Size | State::SizeWs | State::Extension => {
                self.line += 1;
                if self.line > MAX_SIZE_LINE {
                    return Err(ChunkError::TooLong("chunk size line"));
                }
            }
            State::TrailerStart | State::TrailerName | State::Trailer | State::TrailerLf | State::EndLf => {
                self.line += 1;
                if self.line > MAX_TRAILERS {
                    return Err(ChunkError::TooLong("trailer section"));
                }
            }
            _ => {}
        }
        self.state = match (self.state, b) {
            (State::Size, b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => {
                let digit = (b as char).to_digit(16).unwrap_or(0) as u64;
                self.size = self.size.checked_mul(16).and_then(|s| s.checked_add(digit)).ok_or(ChunkError::Overflow)?;
                self.digit = true;
                State::Size
            }
            (State::Size | State::SizeWs, b'\r') if self.digit => State::SizeLf,
            (State::Size | State::SizeWs, b';') if self.digit => State::Extension,
            (State::Size | State::SizeWs, b' ' | b'\t') if self.digit => State::SizeWs,
            (State::Size, _) => return Err(unexpected("chunk size")),
            (State::SizeWs, _) => return Err(unexpected("chunk size line")),
            (State::Extension, b'\r') => State::SizeLf,
            (State::Extension, b'\n') => return Err(unexpected("chunk extension")),
            (State::Extension, _) => State::Extension,
            (State::SizeLf, b'\n') => {
                self.digit = false;
                self.line = 0;
                if self.size == 0 {
                    State::TrailerStart
                } else {
                    State::Data
                }
            }
            (State::SizeLf, _) => return Err(unexpected("chunk size line ending")),
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataCr, _) => return Err(unexpected("end of chunk data")),
            (State::DataLf, b'\n') => State::Size,
            (State::DataLf, _) => return Err(unexpected("end of chunk data")),
            (State::TrailerStart, b'\r') => State::EndLf,
            (State::TrailerStart | State::TrailerName, b) if is_token(b) => State::TrailerName,
            (State::TrailerName, b':') => State::Trailer,
            (State::TrailerStart | State::TrailerName, _) => return Err(unexpected("trailer field name")),
            (State::Trailer, b'\n') => return Err(unexpected("trailer")),
            (State::Trailer, b'\r') => State::TrailerLf,
            (State::Trailer, _) => State::Trailer,
            (State::TrailerLf, b'\n') => State::TrailerStart,
            (State::TrailerLf, _) => return Err(unexpected("trailer line ending")),
            (State::EndLf, b'\n') => State::Done,
            (State::EndLf, _) => return Err(unexpected("end of the body")),
            (State::Data | State::Done, _) => unreachable!("handled by decode"),
        };
        Ok(())
    }
}

/// A byte of an HTTP token (RFC 9110 §5.6.2), which a field name is.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces cut at `cuts`; returns the data, consumed count and error.
    fn decode_split(input: &[u8], cuts: &[usize]) -> (Vec<u8>, usize, Result<bool, ChunkError>) {
        let mut dec = Chunked::default();
        let mut out = Vec::new();
        let mut used = 0;
        let mut from = 0;
        for &to in cuts.iter().chain(std::iter::once(&input.len())) {
            let to = to.clamp(from, input.len());
            match dec.decode(&input[from..to], |d| out.extend_from_slice(d)) {
                Ok(n) => used += n,
                Err(e) => return (out, used, Err(e)),
            }
            from = to;
        }
        (out, used, Ok(dec.done()))
    }

    fn encode(data: &[u8], sizes: &[usize], trailer: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = data;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].clamp(1, rest.len());
            out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
            out.extend_from_slice(&rest[..n]);
            out.extend_from_slice(b"\r\n");
            rest = &rest[n..];
            i += 1;
        }
        out.extend_from_slice(format!("0\r\n{trailer}\r\n").as_bytes());
        out
    }

    #[test]
    fn any_chunking_cut_anywhere_gives_back_the_body() {
        let body: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..300 {
            let sizes: Vec<usize> = (0..4).map(|_| (next() % 700) as usize + 1).collect();
            let trailer = if round % 3 == 0 { "x-checksum: 1\r\n" } else { "" };
            let len = (next() % body.len() as u64) as usize;
            let mut wire = encode(&body[..len], &sizes, trailer);
            let end = wire.len();
            wire.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
            let mut cuts: Vec<usize> = (0..(next() % 6)).map(|_| (next() % wire.len() as u64) as usize).collect();
            cuts.sort_unstable();
            let (out, used, done) = decode_split(&wire, &cuts);
            assert_eq!(done, Ok(true), "round {round}");
            assert_eq!(out, &body[..len], "round {round}");
            assert_eq!(used, end, "round {round}: stops where the body ends");
        }
    }

    #[test]
    fn extensions_and_spaces_after_the_size_are_skipped() {
        let (out, _, done) = decode_split(b"5;name=value\r\nhello\r\n3 \r\nabc\r\n2 ; e\r\nde\r\n0\r\nx-sum: 1\r\n\r\n", &[7]);
        assert_eq!((out.as_slice(), done), (&b"helloabcde"[..], Ok(true)));
        // Leading zeros, as many as a size line holds (the fuzzer found 256 overflowing a
        // digit counter).
        let zeros = [vec![b'0'; 1000], b"5\r\nhello\r\n0\r\n\r\n".to_vec()].concat();
        assert_eq!(decode_split(&zeros, &[300]), (b"hello".to_vec(), zeros.len(), Ok(true)));
    }

    #[test]
    fn broken_framing_is_an_error() {
        let cases: &[&[u8]] = &[
            b"zz\r\nhello\r\n0\r\n\r\n",
            b"\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"2\r\nhi\n0\r\n\r\n",
            b"0\r\nx\n",
            b"0\r\n\rX",
            b"11111111111111111\r\n",
            // Garbage after a size, and trailer lines that are not fields: hyper refuses
            // both, and a body read past them would leave the connection out of step.
            b"5 garbage\r\nhello\r\n0\r\n\r\n",
            b"5\t\tx\r\nhello\r\n0\r\n\r\n",
            b"0\r\nno colon here\r\n\r\n",
            b"0\r\n: no name\r\n\r\n",
            b"0\r\nbad name: v\r\n\r\n",
        ];
        for case in cases {
            let (_, _, result) = decode_split(case, &[]);
            assert!(result.is_err(), "{:?} decoded: {result:?}", String::from_utf8_lossy(case));
        }
    }

    #[test]
    fn an_unfinished_body_is_not_done_and_endless_lines_stop() {
        assert_eq!(decode_split(b"5\r\nhel", &[]).2, Ok(false));
        let endless = [b"1;".as_slice(), &[b'x'; MAX_SIZE_LINE]].concat();
        assert_eq!(decode_split(&endless, &[100]).2, Err(ChunkError::TooLong("chunk size line")));
        let trailers = [b"0\r\n".as_slice(), &[b'x'; MAX_TRAILERS + 1]].concat();
        assert_eq!(decode_split(&trailers, &[]).2, Err(ChunkError::TooLong("trailer section")));
    }
}
