//! The open-file budget of a run: every connection in flight is a file descriptor (two when
//! the embedded mock serves it in-process), and a run that hits the limit turns its load
//! into connection errors. The soft limit is raised to the hard limit; a closed loop that
//! cannot get its workers' connections even then is refused before anything is sent.

use crate::scenario::{Executor, LoadSpec, Ramp, Scenario, TargetKind};

/// Descriptors a run uses besides its connections (listeners, files, the runtime).
const BASE: u64 = 64;

/// What the run needs: descriptors its workers certainly hold (closed loops), and those
/// its open loops may hold at their `max_in_flight` cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Closed-loop workers' connections, and the base.
    pub certain: u64,
    /// The most the run may hold, open loops at their cap included.
    pub most: u64,
}

/// The descriptors `scenario` needs, over all its targets at once.
pub fn needs(scenario: &Scenario) -> Needs {
    let phases = scenario.phases();
    // Workers are spawned as needed: never more than the requests a phase may send.
    let closed = |l: &LoadSpec| match (l.executor, l.ramp) {
        (Executor::Concurrency, _) => u64::from(l.concurrency.map_or(1, |c| c.get())).min(l.requests.unwrap_or(u64::MAX)),
        (Executor::Stages, Ramp::Concurrency) => {
            (l.stages.iter().flatten().map(|s| s.target).chain(l.start).fold(0.0, f64::max).ceil() as u64).min(l.requests.unwrap_or(u64::MAX))
        }
        _ => 0,
    };
    let open = |l: &LoadSpec| if closed(l) == 0 { u64::from(l.max_in_flight.get()) } else { 0 };
    let (mut certain, mut most) = (BASE, BASE);
    for target in scenario.targets() {
        // The embedded mock holds the other end of every connection.
        let ends = if matches!(target.kind, TargetKind::Mock(_)) { 2 } else { 1 };
        certain += ends * phases.iter().map(|p| closed(&p.load)).max().unwrap_or(0);
        most += ends * phases.iter().map(|p| closed(&p.load).max(open(&p.load))).max().unwrap_or(0);
    }
    Needs { certain, most }
}

/// Raises the soft limit to the hard one: connections briefly outnumber the workers (a
/// new one opens before a finished one is back in the pool), so the figures below are
/// floors, not budgets. Returns a warning when open loops could be cut short by the
/// limit; an error naming both figures when even the closed loops' connections do not fit.
pub fn ensure(needs: Needs) -> Result<Option<String>, String> {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        // Where the limit cannot be read, nothing can be checked either.
        Err(_) => return Ok(None),
    };
    if limit < needs.certain {
        return Err(format!(
            "this run needs about {} open files (connections at their peak) but the limit is {limit}; raise it (ulimit -n {}) or lower the concurrency",
            needs.certain, needs.certain
        ));
    }
    Ok((limit < needs.most).then(|| {
        format!("the open-file limit is {limit}: open loops can hold about {} requests in flight, below their max_in_flight", limit.saturating_sub(BASE))
    }))
}
