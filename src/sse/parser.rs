//! Zero-copy parser for `text/event-stream` bodies (WHATWG "Server-sent events", §9.2.6).
//!
//! The parser is synchronous and does no I/O: the caller pushes body chunks as they arrive
//! and receives events through a callback. An event that lies inside one chunk is handed out
//! as slices of that chunk, so the steady state of a stream allocates nothing. Only an event
//! that straddles chunks, or carries several `data` lines that must be joined, is assembled
//! in the parser's own buffers, which are reused from event to event.
//!
//! Deviations from a browser's `EventSource`, both deliberate for a conformance checker:
//! invalid UTF-8 is reported as an error instead of being replaced with U+FFFD, and an event
//! larger than the configured limit is reported and skipped instead of growing memory.

use memchr::{memchr, memchr2, memrchr2};

use super::line_ends::LineEnds;

/// Limit on the bytes of one event (its field values plus any unfinished line), chosen far
/// above any real Messages API event (the largest are tool inputs of a few hundred KiB).
pub const DEFAULT_MAX_EVENT_SIZE: usize = 4 << 20;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes at a chunk's end searched one by one for its last line end before a SIMD search.
const LAST_END_SCAN: usize = 256;

/// One dispatched event. Both fields borrow either the chunk just pushed or the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// The value of the last `event:` field, or `""` when the event had none.
    pub name: &'a str,
    /// The `data:` field values joined with `\n`.
    pub data: &'a str,
}

impl Event<'_> {
    /// The event type as `EventSource` reports it: `message` when no `event:` field was sent.
    pub fn event_type(&self) -> &str {
        if self.name.is_empty() {
            "message"
        } else {
            self.name
        }
    }
}

/// What can go wrong while framing events. Neither error stops the parser: it resumes
/// with the next event, so one bad event costs one finding and not the rest of the stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An event (or a line still waiting for its end) grew past the size limit; the
    /// rest of that event is skipped.
    #[error("event exceeds the limit of {limit} bytes")]
    EventTooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The event's name or data is not valid UTF-8; the event is dropped.
    #[error("event is not valid UTF-8")]
    InvalidUtf8,
}

/// Where the value of a field in progress lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Empty,
    /// A byte range of the chunk being parsed.
    Chunk(usize, usize),
    /// The parser's own buffer for that field.
    Owned,
}

/// The fields the standard defines; any other name is ignored.
#[derive(Clone, Copy)]
enum Field {
    Data,
    Event,
    Id,
    Retry,
    Other,
}

impl Field {
    fn named(name: &[u8]) -> Field {
        match name {
            b"data" => Field::Data,
            b"event" => Field::Event,
            b"id" => Field::Id,
            b"retry" => Field::Retry,
            _ => Field::Other,
        }
    }
}

/// A field value as text: sliced from the chunk's validated text when it lies there (the
/// slice checks char boundaries, which every field value starts and ends on), otherwise
/// validated on its own.
#[inline]
fn field_str<'a>(slot: Slot, owned: &'a [u8], chunk: &'a [u8], text: ChunkText<'a>) -> Option<&'a str> {
    match slot {
        Slot::Empty => Some(""),
        Slot::Chunk(a, b) => match text.text {
            Some(t) if a >= text.offset => t.get(a - text.offset..b - text.offset),
            _ => std::str::from_utf8(&chunk[a..b]).ok(),
        },
        Slot::Owned => std::str::from_utf8(owned).ok(),
    }
}

/// What a processed line asks of the caller.
enum Step {
    Continue,
    Dispatch,
    Fail(Error),
}

/// The validated text of a chunk's complete lines, starting at byte `offset` of the chunk;
/// `None` when that part is not valid UTF-8 (each event is then checked on its own).
#[derive(Clone, Copy)]
struct ChunkText<'c> {
    offset: usize,
    text: Option<&'c str>,
}

/// Incremental `text/event-stream` parser. Feed it chunks in order with [`Parser::feed`],
/// then call [`Parser::finish`] at the end of the body.
#[derive(Debug)]
pub struct Parser {
    max_event_size: usize,
    /// Bytes of a line whose end has not arrived yet.
    line: Vec<u8>,
    /// The previous chunk ended with CR: a LF starting the next chunk belongs to it.
    skip_lf: bool,
    /// The leading byte-order mark has been looked for.
    bom_checked: bool,
    name: Slot,
    name_buf: Vec<u8>,
    data: Slot,
    data_buf: Vec<u8>,
    /// Bytes of field values accumulated for the event in progress.
    event_size: usize,
    /// The event in progress went over the limit: drop its lines until the blank line.
    discarding: bool,
    /// The line in progress went over the limit: drop bytes until its end.
    skipping_line: bool,
    last_event_id: String,
    retry_ms: Option<u64>,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser with [`DEFAULT_MAX_EVENT_SIZE`].
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A parser that reports [`Error::EventTooLarge`] past `max_event_size` bytes.
    pub fn with_max_event_size(max_event_size: usize) -> Self {
        Parser {
            max_event_size,
            line: Vec::new(),
            skip_lf: false,
            bom_checked: false,
            name: Slot::Empty,
            name_buf: Vec::new(),
            data: Slot::Empty,
            data_buf: Vec::new(),
            event_size: 0,
            discarding: false,
            skipping_line: false,
            last_event_id: String::new(),
            retry_ms: None,
        }
    }

    /// The last `id:` value seen (ids containing NUL are ignored, as the standard says).
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The last valid `retry:` value, in milliseconds.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// Parses `chunk`, calling `on_event` for every event completed inside it, in order.
    pub fn feed<F>(&mut self, chunk: &[u8], mut on_event: F)
    where
        F: FnMut(Result<Event<'_>, Error>),
    {
        let mut pos = 0;
        if !self.bom_checked {
            match self.strip_bom(chunk) {
                Some(skip) => pos = skip,
                None => return,
            }
        }
        if self.skip_lf && pos < chunk.len() {
            self.skip_lf = false;
            if chunk[pos] == b'\n' {
                pos += 1;
            }
        }
        let text = self.valid_text(chunk, pos);
        self.feed_lines(chunk, text, pos, &mut on_event);
        self.own_fields(chunk);
    }

    /// Applies the complete lines of `chunk[base..]`, then keeps the unfinished rest.
    fn feed_lines<F>(&mut self, chunk: &[u8], text: ChunkText<'_>, base: usize, on_event: &mut F)
    where
        F: FnMut(Result<Event<'_>, Error>),
    {
        let hay = &chunk[base..];
        let mut lines = LineEnds::new(hay);
        let mut start = base;
        // Only the first line of a chunk can continue a line kept from the previous one.
        if !self.line.is_empty() || self.skipping_line {
            let Some((end, next)) = lines.next() else {
                self.keep_partial_line(hay, on_event);
                return;
            };
            let step = if self.skipping_line {
                self.skipping_line = false;
                Step::Continue
            } else {
                self.line.extend_from_slice(&hay[..end]);
                self.process_owned_line()
            };
            start = base + next;
            self.apply(step, chunk, text, on_event);
        }
        for (end, next) in lines {
            let step = self.chunk_line(chunk, start, base + end);
            start = base + next;
            self.apply(step, chunk, text, on_event);
        }
        if hay.last() == Some(&b'\r') {
            self.skip_lf = true;
        }
        if start < chunk.len() {
            self.keep_partial_line(&chunk[start..], on_event);
        }
    }

    #[inline(always)]
    fn apply<F>(&mut self, step: Step, chunk: &[u8], text: ChunkText<'_>, on_event: &mut F)
    where
        F: FnMut(Result<Event<'_>, Error>),
    {
        match step {
            Step::Continue => {}
            Step::Fail(error) => on_event(Err(error)),
            Step::Dispatch => {
                on_event(self.event(chunk, text));
                self.reset_event();
            }
        }
    }

    /// Applies a line that lies in the chunk. The three lines of nearly every event (`event: `,
    /// `data: ` with its one space, the blank line) are recognised by their first bytes
    /// here, inline; anything else, or any state that needs care, takes [`Self::process_line`].
    #[inline(always)]
    fn chunk_line(&mut self, chunk: &[u8], start: usize, end: usize) -> Step {
        if !self.discarding {
            let line = &chunk[start..end];
            if line.starts_with(b"data: ") && self.data == Slot::Empty {
                self.event_size += line.len() - 5;
                if self.event_size <= self.max_event_size {
                    self.data = Slot::Chunk(start + 6, end);
                    return Step::Continue;
                }
                return self.too_large();
            }
            if line.starts_with(b"event: ") {
                self.event_size += line.len() - 7;
                if self.event_size <= self.max_event_size {
                    self.name = Slot::Chunk(start + 7, end);
                    return Step::Continue;
                }
                return self.too_large();
            }
            if line.is_empty() && self.data != Slot::Empty {
                return Step::Dispatch;
            }
        }
        self.process_line(chunk, start, end, false)
    }

    /// Ends the stream. Returns true when bytes of an unfinished event were discarded,
    /// which for a Messages API stream means the body was cut short.
    pub fn finish(&mut self) -> bool {
        let unfinished = !self.line.is_empty()
            || self.skipping_line
            || self.data != Slot::Empty
            || self.name != Slot::Empty;
        self.line.clear();
        self.skipping_line = false;
        self.discarding = false;
        self.reset_event();
        unfinished
    }

    /// Validates, once, the part of `chunk` whose lines both start and end inside it: from
    /// the first line start at or after `pos` (a line continued from the previous chunk
    /// may begin mid-character) to the last line end. Field values borrowed from the
    /// chunk lie inside it, so events need no validation of their own.
    fn valid_text<'c>(&self, chunk: &'c [u8], pos: usize) -> ChunkText<'c> {
        let rest = &chunk[pos..];
        let first = if self.line.is_empty() && !self.skipping_line {
            Some(pos)
        } else {
            memchr2(b'\n', b'\r', rest).map(|i| pos + i + 1)
        };
        // The last line end is usually a line's length from the end (~45 bytes): a plain
        // backward loop over the tail finds it. memrchr2 takes fewer instructions but, in
        // A/B runs of the SSE bench here, made a CRLF stream 10-15% slower in wall time;
        // it still serves a tail without a line end, so a long last line stays cheap.
        let tail = rest.len().saturating_sub(LAST_END_SCAN);
        let last = match rest[tail..].iter().rposition(|&b| b == b'\n' || b == b'\r') {
            Some(i) => Some(tail + i),
            None => memrchr2(b'\n', b'\r', &rest[..tail]),
        }
        .map(|i| pos + i);
        match (first, last) {
            (Some(first), Some(last)) if first <= last => ChunkText {
                offset: first,
                text: simdutf8::basic::from_utf8(&chunk[first..last]).ok(),
            },
            _ => ChunkText { offset: 0, text: None },
        }
    }

    /// Looks for a leading BOM, which may itself be split across chunks. Returns how many
    /// bytes of `chunk` to skip, or `None` when the chunk is too short to tell yet.
    fn strip_bom(&mut self, chunk: &[u8]) -> Option<usize> {
        let mut head = [0u8; 3];
        let mut n = 0;
        for &b in self.line.iter().chain(chunk).take(3) {
            head[n] = b;
            n += 1;
        }
        if n < 3 && BOM.starts_with(&head[..n]) {
            self.line.extend_from_slice(chunk);
            return None;
        }
        self.bom_checked = true;
        if &head[..n] != BOM {
            return Some(0);
        }
        let from_line = self.line.len().min(3);
        self.line.drain(..from_line);
        Some(3 - from_line)
    }

    fn keep_partial_line<F>(&mut self, rest: &[u8], on_event: &mut F)
    where
        F: FnMut(Result<Event<'_>, Error>),
    {
        if self.skipping_line {
            return;
        }
        if self.line.len() + rest.len() + self.event_size > self.max_event_size {
            self.line.clear();
            self.skipping_line = true;
            self.start_discarding();
            on_event(Err(Error::EventTooLarge {
                limit: self.max_event_size,
            }));
            return;
        }
        self.line.extend_from_slice(rest);
    }

    /// Processes the line assembled in `self.line`, lending that buffer out meanwhile so
    /// its allocation is kept for the next one.
    fn process_owned_line(&mut self) -> Step {
        let line = std::mem::take(&mut self.line);
        let step = self.process_line(&line, 0, line.len(), true);
        self.line = line;
        self.line.clear();
        step
    }

    /// Applies one line, `buf[start..end]`. When `owned` is false `buf` is the chunk, and
    /// field values are remembered as ranges of it; otherwise they are copied.
    fn process_line(&mut self, buf: &[u8], start: usize, end: usize, owned: bool) -> Step {
        let line = &buf[start..end];
        if line.is_empty() {
            if self.discarding {
                self.discarding = false;
                self.reset_event();
                return Step::Continue;
            }
            if self.data == Slot::Empty {
                self.reset_event();
                return Step::Continue;
            }
            return Step::Dispatch;
        }
        if self.discarding || line[0] == b':' {
            return Step::Continue;
        }
        // `data:` and `event:` are nearly every line; recognising them by prefix saves
        // the search for the colon and the comparison of the field name.
        let (field, colon) = if line.starts_with(b"data:") {
            (Field::Data, 4)
        } else if line.starts_with(b"event:") {
            (Field::Event, 5)
        } else {
            match memchr(b':', line) {
                Some(colon) => (Field::named(&line[..colon]), colon),
                None => (Field::named(line), line.len()),
            }
        };
        let value_start = if colon < line.len() {
            let after = start + colon + 1;
            after + usize::from(after < end && buf[after] == b' ')
        } else {
            end
        };
        match field {
            Field::Data => {
                self.event_size += end - value_start + 1;
                if self.event_size > self.max_event_size {
                    return self.too_large();
                }
                self.append_data(buf, value_start, end, owned);
            }
            Field::Event => {
                self.event_size += end - value_start;
                if self.event_size > self.max_event_size {
                    return self.too_large();
                }
                let value = &buf[value_start..end];
                if owned {
                    self.name_buf.clear();
                    self.name_buf.extend_from_slice(value);
                    self.name = Slot::Owned;
                } else {
                    self.name = Slot::Chunk(value_start, end);
                }
            }
            Field::Id => {
                let value = &buf[value_start..end];
                if memchr(0, value).is_none() {
                    self.last_event_id = String::from_utf8_lossy(value).into_owned();
                }
            }
            Field::Retry => {
                let value = &buf[value_start..end];
                if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
                    self.retry_ms = std::str::from_utf8(value)
                        .ok()
                        .and_then(|v| v.parse().ok());
                }
            }
            Field::Other => {}
        }
        Step::Continue
    }

    #[inline]
    fn append_data(&mut self, buf: &[u8], start: usize, end: usize, owned: bool) {
        match self.data {
            Slot::Empty if !owned => self.data = Slot::Chunk(start, end),
            Slot::Empty => {
                self.data_buf.clear();
                self.data_buf.extend_from_slice(&buf[start..end]);
                self.data = Slot::Owned;
            }
            Slot::Chunk(a, b) => {
                // A slot borrows the current chunk only, and an owned line is always the
                // first line completed in a chunk, so here `buf` is that same chunk.
                self.data_buf.clear();
                self.data_buf.extend_from_slice(&buf[a..b]);
                self.data_buf.push(b'\n');
                self.data_buf.extend_from_slice(&buf[start..end]);
                self.data = Slot::Owned;
            }
            Slot::Owned => {
                self.data_buf.push(b'\n');
                self.data_buf.extend_from_slice(&buf[start..end]);
            }
        }
    }

    fn too_large(&mut self) -> Step {
        self.start_discarding();
        Step::Fail(Error::EventTooLarge {
            limit: self.max_event_size,
        })
    }

    fn start_discarding(&mut self) {
        self.reset_event();
        self.discarding = true;
    }

    /// Copies field values that still borrow `chunk` into the parser before it goes away.
    fn own_fields(&mut self, chunk: &[u8]) {
        if let Slot::Chunk(a, b) = self.data {
            self.data_buf.clear();
            self.data_buf.extend_from_slice(&chunk[a..b]);
            self.data = Slot::Owned;
        }
        if let Slot::Chunk(a, b) = self.name {
            self.name_buf.clear();
            self.name_buf.extend_from_slice(&chunk[a..b]);
            self.name = Slot::Owned;
        }
    }

    #[inline(always)]
    fn event<'a>(&'a self, chunk: &'a [u8], text: ChunkText<'a>) -> Result<Event<'a>, Error> {
        // The usual event: both fields are ranges of the chunk's validated text.
        if let (Some(t), Slot::Chunk(a, b), Slot::Chunk(c, d)) = (text.text, self.name, self.data) {
            if a >= text.offset && c >= text.offset {
                if let (Some(name), Some(data)) = (t.get(a - text.offset..b - text.offset), t.get(c - text.offset..d - text.offset)) {
                    return Ok(Event { name, data });
                }
            }
        }
        match (
            field_str(self.name, &self.name_buf, chunk, text),
            field_str(self.data, &self.data_buf, chunk, text),
        ) {
            (Some(name), Some(data)) => Ok(Event { name, data }),
            _ => Err(Error::InvalidUtf8),
        }
    }

    fn reset_event(&mut self) {
        self.name = Slot::Empty;
        self.data = Slot::Empty;
        self.event_size = 0;
    }
}

/// Owned copy of an event, for tests and for callers that keep events past the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEvent {
    /// See [`Event::name`].
    pub name: String,
    /// See [`Event::data`].
    pub data: String,
}

/// Parses a whole body fed in the given chunks; errors are kept in stream order.
pub fn parse_chunks<'c>(
    chunks: impl IntoIterator<Item = &'c [u8]>,
) -> Vec<Result<OwnedEvent, Error>> {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, |ev| {
            out.push(ev.map(|e| OwnedEvent {
                name: e.name.to_owned(),
                data: e.data.to_owned(),
            }))
        });
    }
    parser.finish();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(name: &str, data: &str) -> Result<OwnedEvent, Error> {
        Ok(OwnedEvent {
            name: name.into(),
            data: data.into(),
        })
    }

    fn whole(input: &[u8]) -> Vec<Result<OwnedEvent, Error>> {
        parse_chunks([input])
    }

    /// Runs `input` through every way of cutting it in two and three pieces and byte by
    /// byte, asserting each gives `expected` (the ripgrep habit of testing every buffer mode).
    fn assert_every_split(input: &[u8], expected: &[Result<OwnedEvent, Error>]) {
        assert_eq!(whole(input), expected, "whole input");
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(parse_chunks(bytes), expected, "byte by byte");
        for i in 0..=input.len() {
            let (a, b) = input.split_at(i);
            assert_eq!(parse_chunks([a, b]), expected, "split at {i}");
            for j in i..=input.len() {
                let got = parse_chunks([&input[..i], &input[i..j], &input[j..]]);
                assert_eq!(got, expected, "split at {i} and {j}");
            }
        }
    }

    #[test]
    fn named_event_inside_one_chunk() {
        assert_eq!(
            whole(b"event: ping\ndata: {\"type\": \"ping\"}\n\n"),
            [ok("ping", "{\"type\": \"ping\"}")]
        );
    }

    #[test]
    fn line_ends_lf_crlf_and_lone_cr_are_equivalent() {
        let expected = [ok("a", "1"), ok("b", "2")];
        assert_every_split(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n", &expected);
        assert_every_split(b"event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n", &expected);
        assert_every_split(b"event: a\rdata: 1\r\revent: b\rdata: 2\r\r", &expected);
        assert_every_split(b"event: a\r\ndata: 1\r\revent: b\ndata: 2\r\n\n", &expected);
    }

    #[test]
    fn crlf_split_between_chunks_is_one_line_end() {
        let got = parse_chunks([&b"data: x\r"[..], b"\ndata: y\r", b"\n\r", b"\n"]);
        assert_eq!(got, [ok("", "x\ny")]);
    }

    #[test]
    fn leading_bom_is_stripped_once_even_when_split() {
        assert_every_split(b"\xEF\xBB\xBFdata: a\n\n", &[ok("", "a")]);
        // A second BOM is not at the stream start, so it is part of the field name.
        assert_eq!(whole(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n"), [ok("", "b")]);
    }

    #[test]
    fn a_last_line_end_far_from_the_chunk_end_is_still_found() {
        // The chunk's last line end lies more than LAST_END_SCAN bytes before its end.
        let long = "x".repeat(LAST_END_SCAN * 4);
        let first = format!("event: e\ndata: a\ndata: {long}");
        let got = parse_chunks([first.as_bytes(), b"\n\n"]);
        assert_eq!(got, [ok("e", &format!("a\n{long}"))]);
        let crlf = first.replace('\n', "\r\n");
        assert_eq!(parse_chunks([crlf.as_bytes(), b"\r\n\r\n"]), got);
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        assert_every_split(b": keep-alive\nfoo: bar\ndata: x\n:another\n\n", &[ok("", "x")]);
    }

    #[test]
    fn field_without_colon_has_empty_value() {
        // `data` alone appends an empty line; `event` alone clears the name.
        assert_eq!(whole(b"data\ndata\n\n"), [ok("", "\n")]);
        assert_eq!(whole(b"event: x\nevent\ndata: 1\n\n"), [ok("", "1")]);
    }

    #[test]
    fn exactly_one_space_after_colon_is_stripped() {
        assert_eq!(whole(b"data:x\n\n"), [ok("", "x")]);
        assert_eq!(whole(b"data:  x \n\n"), [ok("", " x ")]);
        assert_eq!(whole(b"data: \n\n"), [ok("", "")]);
    }

    #[test]
    fn data_lines_are_joined_with_lf() {
        assert_every_split(b"event: e\ndata: a\ndata:\ndata: c\n\n", &[ok("e", "a\n\nc")]);
    }

    #[test]
    fn event_without_data_is_not_dispatched_and_resets_name() {
        assert_eq!(whole(b"event: lonely\n\ndata: x\n\n"), [ok("", "x")]);
        assert_eq!(whole(b"\n\n\n"), []);
    }

    #[test]
    fn unterminated_event_at_end_is_discarded_and_reported() {
        let mut p = Parser::new();
        let mut n = 0;
        p.feed(b"data: complete\n\ndata: cut", |_| n += 1);
        assert_eq!(n, 1);
        assert!(p.finish(), "bytes of an unfinished event were left");
        let mut q = Parser::new();
        q.feed(b"data: complete\n\n", |_| {});
        assert!(!q.finish());
    }

    #[test]
    fn id_sets_last_event_id_unless_it_contains_nul() {
        let mut p = Parser::new();
        p.feed(b"id: 7\ndata: a\n\nid: bad\0id\ndata: b\n\n", |_| {});
        assert_eq!(p.last_event_id(), "7");
    }

    #[test]
    fn retry_accepts_only_ascii_digits() {
        let mut p = Parser::new();
        p.feed(b"retry: 1500\n\nretry: 12a\n\nretry: -5\n\n", |_| {});
        assert_eq!(p.retry_ms(), Some(1500));
    }

    #[test]
    fn oversized_event_is_an_error_and_parsing_resumes() {
        let mut p = Parser::with_max_event_size(16);
        let mut got = Vec::new();
        let mut collect = |ev: Result<Event<'_>, Error>| got.push(ev.map(|e| e.data.to_owned()));
        p.feed(b"data: 0123456789abcdefXYZ\ndata: more\n\ndata: ok\n\n", &mut collect);
        assert_eq!(got, [Err(Error::EventTooLarge { limit: 16 }), Ok("ok".to_owned())]);
    }

    #[test]
    fn endless_line_is_bounded_by_the_limit() {
        let mut p = Parser::with_max_event_size(1024);
        let mut errors = 0;
        let mut events = Vec::new();
        let block = [b'x'; 4096];
        p.feed(b"data: ", |_| {});
        for _ in 0..1000 {
            p.feed(&block, |ev| match ev {
                Err(_) => errors += 1,
                Ok(e) => events.push(e.data.to_owned()),
            });
        }
        assert_eq!(errors, 1, "reported once");
        assert!(p.line.capacity() <= 8192, "memory stayed bounded");
        p.feed(b"\n\ndata: after\n\n", |ev| events.push(ev.expect("valid").data.to_owned()));
        assert_eq!(events, ["after"]);
    }

    #[test]
    fn invalid_utf8_is_an_error_for_that_event_only() {
        assert_eq!(
            whole(b"data: \xFF\xFE\n\ndata: fine\n\n"),
            [Err(Error::InvalidUtf8), ok("", "fine")]
        );
    }

    #[test]
    fn multibyte_characters_survive_every_split() {
        assert_every_split("event: é\ndata: 冥王星 ✓\n\n".as_bytes(), &[ok("é", "冥王星 ✓")]);
    }

    #[test]
    fn anthropic_stream_parses_identically_at_every_split() {
        let stream = concat!(
            "event: message_start\r\n",
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"content\":[]}}\r\n\r\n",
            ": comment\r\n",
            "event: content_block_start\r\n",
            "data: {\"type\":\"content_block_start\",\"index\":0}\r\n\r\n",
            "event: ping\n",
            "data: {\"type\": \"ping\"}\n\n",
            "event: content_block_delta\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\n",
            "data: \"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
            "event: message_stop\r",
            "data: {\"type\":\"message_stop\"}\r\r",
        );
        let expected = [
            ok("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"content\":[]}}"),
            ok("content_block_start", "{\"type\":\"content_block_start\",\"index\":0}"),
            ok("ping", "{\"type\": \"ping\"}"),
            ok(
                "content_block_delta",
                "{\"type\":\"content_block_delta\",\"index\":0,\n\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}",
            ),
            ok("message_stop", "{\"type\":\"message_stop\"}"),
        ];
        assert_every_split(stream.as_bytes(), &expected);
    }
}
