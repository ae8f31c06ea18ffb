//! The line ends of a chunk, found 64 bytes at a time.
//!
//! A parser has to stop at every line, and an SSE line is short (an Anthropic stream
//! averages about 45 bytes): a search call per line, however fast its inner loop, spends
//! most of its instructions on setting up and leaving the search. Here each 64-byte block is
//! compared with LF (and with CR, only when the chunk holds one) sixteen bytes at a time,
//! which gives one bit per line end; the ends are then read off that mask with
//! `trailing_zeros`. The comparisons go through `wide`, which compiles to SSE2 on x86-64 and
//! to NEON on aarch64 in safe code (the library has no `unsafe`), with a portable fallback.

use memchr::memchr;
use wide::u8x16;

const BLOCK: usize = 64;
const LANE: usize = 16;

/// Bit `i` is set when `block[i] == byte`.
#[inline]
fn mask(block: &[u8; BLOCK], byte: u8) -> u64 {
    let needle = u8x16::splat(byte);
    let (lanes, _) = block.as_chunks::<LANE>();
    let mut bits = 0u64;
    for (i, lane) in lanes.iter().enumerate() {
        bits |= u64::from(u8x16::new(*lane).simd_eq(needle).to_bitmask()) << (i * LANE);
    }
    bits
}

/// The lines of a haystack in order, each as (where its end is, where the next line starts).
/// Every LF and every CR ends a line, except that a CRLF is one end, at its CR. A CR at the
/// very end cannot tell yet whether a LF follows; the caller, which sees the next chunk,
/// decides that.
pub struct LineEnds<'h> {
    hay: &'h [u8],
    /// Start of the block whose ends `ends` holds.
    base: usize,
    ends: u64,
    /// The ends of `ends` that are a CR followed by a LF: the next line starts one byte later.
    pairs: u64,
    has_cr: bool,
    /// Bit 0 set when the previous block ended with a CR, so its LF is this block's bit 0.
    cr_carry: u64,
}

impl<'h> LineEnds<'h> {
    /// The line ends of `hay`.
    pub fn new(hay: &'h [u8]) -> Self {
        // Most streams use LF alone; one search for a CR per chunk spares them the second mask.
        let has_cr = memchr(b'\r', hay).is_some();
        let mut ends = LineEnds { hay, base: 0, ends: 0, pairs: 0, has_cr, cr_carry: 0 };
        ends.classify();
        ends
    }

    /// Fills `ends` for the block at `base`.
    #[inline]
    fn classify(&mut self) {
        let rest = &self.hay[self.base.min(self.hay.len())..];
        self.ends = match rest.first_chunk::<BLOCK>() {
            Some(block) => self.block_ends(block),
            None => self.last_block_ends(rest),
        };
    }

    /// A last, short block is padded with zeros, which match neither byte. Out of line (it
    /// comes once a chunk, against dozens of full blocks) so that the zeroed array is not set
    /// up for every block.
    #[cold]
    fn last_block_ends(&mut self, rest: &[u8]) -> u64 {
        let mut padded = [0u8; BLOCK];
        padded[..rest.len()].copy_from_slice(rest);
        self.block_ends(&padded)
    }

    #[inline]
    fn block_ends(&mut self, block: &[u8; BLOCK]) -> u64 {
        let lf = mask(block, b'\n');
        if !self.has_cr {
            return lf;
        }
        let cr = mask(block, b'\r');
        let lf_of_crlf = (cr << 1) | self.cr_carry;
        self.cr_carry = cr >> (BLOCK - 1);
        let next_is_lf = u64::from(self.hay.get(self.base + BLOCK) == Some(&b'\n'));
        self.pairs = cr & ((lf >> 1) | (next_is_lf << (BLOCK - 1)));
        cr | (lf & !lf_of_crlf)
    }
}

impl Iterator for LineEnds<'_> {
    type Item = (usize, usize);

    // Inlined into the parser's loop, so that the block state stays in registers.
    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        loop {
            if self.ends != 0 {
                let bit = self.ends.trailing_zeros();
                self.ends &= self.ends - 1;
                let end = self.base + bit as usize;
                return Some((end, end + 1 + ((self.pairs >> bit) & 1) as usize));
            }
            self.base += BLOCK;
            if self.base >= self.hay.len() {
                return None;
            }
            self.classify();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one byte at a time.
    fn reference(hay: &[u8]) -> Vec<(usize, usize)> {
        (0..hay.len())
            .filter(|&i| hay[i] == b'\r' || (hay[i] == b'\n' && (i == 0 || hay[i - 1] != b'\r')))
            .map(|i| (i, if hay[i..].starts_with(b"\r\n") { i + 2 } else { i + 1 }))
            .collect()
    }

    #[test]
    fn every_mix_of_line_ends_at_every_block_boundary_matches_the_definition() {
        // A fixed xorshift stream (the project's generator sits on this same floor).
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut pick = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            [b'\n', b'\r', b'a', b'a', b'a', 0xE2, b' '][(state % 7) as usize]
        };
        for len in (0..200).chain([255, 256, 257, 1000, 4096]) {
            for _ in 0..20 {
                let hay: Vec<u8> = (0..len).map(|_| pick()).collect();
                assert_eq!(LineEnds::new(&hay).collect::<Vec<_>>(), reference(&hay), "{hay:?}");
            }
        }
    }

    #[test]
    fn a_crlf_split_by_a_block_boundary_is_one_end() {
        let mut hay = vec![b'x'; 63];
        hay.extend_from_slice(b"\r\nrest\n");
        assert_eq!(LineEnds::new(&hay).collect::<Vec<_>>(), vec![(63, 65), (69, 70)]);
        // Without a CR anywhere the LF alone is an end at the boundary too.
        hay[63] = b'\n';
        hay[64] = b'y';
        assert_eq!(LineEnds::new(&hay).collect::<Vec<_>>(), vec![(63, 64), (69, 70)]);
    }

    #[test]
    fn an_empty_haystack_has_no_ends() {
        assert_eq!(LineEnds::new(b"").next(), None);
        assert_eq!(LineEnds::new(b"no end").next(), None);
    }
}
