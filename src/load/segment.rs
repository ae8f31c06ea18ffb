//! One worker's share of a run split across N (`run --segment I/N`, or a Kubernetes Indexed
//! Job's `JOB_COMPLETION_INDEX` with `RELAYBENCH_SEGMENTS`). Every worker walks the whole
//! seeded schedule of arrivals and keeps arrival `n` when `n mod N == I`, so the workers
//! together send exactly what one process would: the same arrival times, template picks,
//! prompts and sessions. Concurrency, request budgets and in-flight caps are split the same
//! way: worker I gets `ceil((C - I) / N)` of C.

use std::fmt;

/// The environment variable a Kubernetes Indexed Job sets to each pod's index.
pub const INDEX_VAR: &str = "JOB_COMPLETION_INDEX";
/// The variable that gives the number of segments beside it.
pub const COUNT_VAR: &str = "RELAYBENCH_SEGMENTS";
/// The most workers one run may be split across.
pub const MAX_SEGMENTS: u32 = 10_000;

/// Worker `index` of `count`; `0/1` is the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    /// This worker, from 0.
    pub index: u32,
    /// Workers in all.
    pub count: u32,
}

impl Default for Segment {
    fn default() -> Self {
        Segment::WHOLE
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Segment {
    /// The whole run, unsplit.
    pub const WHOLE: Segment = Segment { index: 0, count: 1 };

    /// `I/N`, with `I < N <= MAX_SEGMENTS`.
    pub fn parse(text: &str) -> Result<Segment, String> {
        let (i, n) = text.split_once('/').ok_or_else(|| format!("segment {text:?}: write I/N, such as 0/4"))?;
        let number = |s: &str, what: &str| s.trim().parse::<u32>().map_err(|_| format!("segment {text:?}: {what} {s:?} is not a whole number"));
        Segment::new(number(i, "index")?, number(n, "count")?)
    }

    /// Worker `index` of `count`, checked.
    pub fn new(index: u32, count: u32) -> Result<Segment, String> {
        if count == 0 || count > MAX_SEGMENTS {
            return Err(format!("segment count {count}: from 1 to {MAX_SEGMENTS}"));
        }
        if index >= count {
            return Err(format!("segment index {index} of {count}: the index runs from 0 to {}", count - 1));
        }
        Ok(Segment { index, count })
    }

    /// The segment the environment names (an Indexed Job's pod), if it names one.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Option<Segment>, String> {
        match (get(INDEX_VAR), get(COUNT_VAR)) {
            (None, _) => Ok(None),
            (Some(_), None) => Err(format!("{INDEX_VAR} is set but {COUNT_VAR} is not: give the number of segments")),
            (Some(i), Some(n)) => Segment::parse(&format!("{i}/{n}")).map(Some),
        }
    }

    /// Whether arrival (or request) `n` of the whole run is this worker's.
    pub fn owns(self, n: u64) -> bool {
        n % u64::from(self.count) == u64::from(self.index)
    }

    /// Whether request `n` of a closed loop of `workers` is this worker's: request `n` is
    /// the whole run's worker `n mod workers`'s turn, and that worker is segment
    /// `(n mod workers) mod N`'s, so each segment sends in proportion to the workers it
    /// holds, and one holding none sends nothing.
    pub fn owns_turn(self, n: u64, workers: u64) -> bool {
        self.owns(n % workers.max(1))
    }

    /// How many of requests `0..total` of a closed loop of `workers` are this worker's.
    pub fn turns_below(self, total: u64, workers: u64) -> u64 {
        let workers = workers.max(1);
        total / workers * self.share(workers) + self.share(total % workers)
    }

    /// This worker's share of `total` (workers, requests, in-flight slots).
    pub fn share(self, total: u64) -> u64 {
        total.saturating_sub(u64::from(self.index)).div_ceil(u64::from(self.count))
    }

    /// This worker's share of a concurrency level, whole workers as [`Segment::share`]
    /// gives them (a ramp's levels between stages are drawn between these).
    pub fn share_level(self, level: f64) -> f64 {
        ((level.ceil() - f64::from(self.index)) / f64::from(self.count)).ceil().max(0.0)
    }

    /// This worker's arrivals among `from..to`.
    pub fn owned_in(self, from: u64, to: u64) -> u64 {
        self.share(to).saturating_sub(self.share(from))
    }

    /// Whether this is the first worker, which alone sends the probes and feature cases.
    pub fn is_first(self) -> bool {
        self.index == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_the_whole_for_any_split() {
        for count in [1, 2, 3, 7] {
            let parts: Vec<Segment> = (0..count).map(|i| Segment::new(i, count).expect("valid")).collect();
            let turns: usize = (0..100u64).map(|n| parts.iter().filter(|s| s.owns_turn(n, 5)).count()).sum();
            assert_eq!(turns, 100, "every closed-loop request has one owner");
            for total in [0u64, 1, 5, 64, 1001] {
                assert_eq!(parts.iter().map(|s| s.share(total)).sum::<u64>(), total, "{total} over {count}");
                for n in 0..total {
                    assert_eq!(parts.iter().filter(|s| s.owns(n)).count(), 1, "arrival {n} has one owner");
                }
                let levels: f64 = parts.iter().map(|s| s.share_level(total as f64)).sum();
                assert_eq!(levels, total as f64, "{total} workers over {count}");
                for s in &parts {
                    assert_eq!(s.owned_in(0, total), s.share(total));
                    let turns = (0..total).filter(|n| s.owns_turn(*n, 5)).count() as u64;
                    assert_eq!(turns, s.turns_below(total, 5));
                }
            }
        }
    }

    #[test]
    fn bad_segments_say_what_is_wrong() {
        assert_eq!(Segment::parse("2/4"), Ok(Segment { index: 2, count: 4 }));
        assert!(Segment::parse("4/4").is_err_and(|e| e.contains("from 0 to 3")));
        assert!(Segment::parse("1/0").is_err_and(|e| e.contains("from 1 to")));
        assert!(Segment::parse("a/2").is_err_and(|e| e.contains("index \"a\"")));
        assert!(Segment::parse("3").is_err_and(|e| e.contains("write I/N")));
        let env = |pairs: &'static [(&'static str, &'static str)]| move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned());
        assert_eq!(Segment::from_env(env(&[])), Ok(None));
        assert_eq!(Segment::from_env(env(&[(INDEX_VAR, "1"), (COUNT_VAR, "3")])), Ok(Some(Segment { index: 1, count: 3 })));
        assert!(Segment::from_env(env(&[(INDEX_VAR, "1")])).is_err_and(|e| e.contains(COUNT_VAR)));
    }
}
