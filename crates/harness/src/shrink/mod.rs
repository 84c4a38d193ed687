//! `wsim shrink`: minimises a failing (scenario, seed) into a small regression scenario that
//! fails the same check on every seed it can.
//!
//! The passes in [`passes`] run in rounds until a round keeps nothing or the run budget is
//! spent: first every random range is fixed to what the seed drew (so the failing schedule
//! replays whatever the seed), then faults are dropped and shortened, client groups dropped and
//! thinned, chat traffic stopped, the schedule moved earlier, the run cut short and settings put
//! back to their defaults. Every
//! candidate is a real scenario file edited in place ([`crate::scenario::edit`]), so the result
//! keeps the original's comments and reads like something a person wrote.

pub mod oracle;
pub mod passes;

use thiserror::Error;

use crate::scenario::edit::{EditError, ScenarioDoc};
use crate::scenario::{ScenarioError, ScenarioFile};
use oracle::{failing_checks, Oracle};
use passes::Work;

/// Why a run could not be shrunk.
#[derive(Debug, Error)]
pub enum ShrinkError {
    /// The scenario file cannot be read or is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The scenario file cannot be edited.
    #[error("{file}: {source}")]
    Edit {
        /// The file.
        file: String,
        /// What went wrong.
        source: EditError,
    },
    /// The run passes: there is no failure to keep.
    #[error("{file} passes with seed {seed}: nothing to shrink")]
    Passes {
        /// The file.
        file: String,
        /// The seed.
        seed: u64,
    },
    /// `--check` names a check that does not fail in this run.
    #[error("check `{check}` does not fail with seed {seed} (failing: {failing})")]
    CheckPasses {
        /// The check asked for.
        check: String,
        /// The seed.
        seed: u64,
        /// The checks that do fail.
        failing: String,
    },
}

/// How a scenario's size is measured, before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Scheduled faults.
    pub faults: usize,
    /// Clients in all groups.
    pub clients: u64,
    /// Simulated run length in milliseconds.
    pub duration_ms: u64,
}

impl Size {
    fn of(s: &ScenarioFile) -> Self {
        Size {
            faults: s.faults.len(),
            clients: s.clients.iter().map(|g| u64::from(g.count)).sum(),
            duration_ms: u64::try_from(s.duration.0.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} fault{}, {} client{}, {} run",
            self.faults,
            if self.faults == 1 { "" } else { "s" },
            self.clients,
            if self.clients == 1 { "" } else { "s" },
            crate::scenario::duration::format_duration(std::time::Duration::from_millis(
                self.duration_ms
            ))
        )
    }
}

/// The minimal scenario found.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The scenario file to write.
    pub text: String,
    /// The check that keeps failing.
    pub target: String,
    /// Every step kept, in order.
    pub steps: Vec<String>,
    /// The seeds the result was shrunk to fail on (the given seed first).
    pub seeds: Vec<u64>,
    /// Simulations run.
    pub runs: usize,
    /// Size of the original.
    pub before: Size,
    /// Size of the result.
    pub after: Size,
}

/// What to shrink.
#[derive(Debug, Clone)]
pub struct ShrinkRequest<'a> {
    /// The scenario file as the user named it.
    pub path: &'a str,
    /// Its text.
    pub text: &'a str,
    /// The failing seed.
    pub seed: u64,
    /// The check to keep failing (default: the first that fails).
    pub check: Option<&'a str>,
    /// Most simulations to run.
    pub max_runs: usize,
    /// How many other seeds (from 1 up) must keep failing too, once random ranges are fixed
    /// (only those that fail then are kept as witnesses).
    pub witnesses: usize,
}

/// Shrinks the failing run `request` describes; `log` hears about every step kept.
pub fn shrink(
    request: &ShrinkRequest<'_>,
    log: &mut dyn FnMut(&str),
) -> Result<Shrunk, ShrinkError> {
    let original = crate::scenario::parse(request.path, request.text)?;
    let failing = failing_checks(&original, request.seed);
    if failing.is_empty() {
        return Err(ShrinkError::Passes {
            file: request.path.into(),
            seed: request.seed,
        });
    }
    let target = match request.check {
        Some(c) if failing.contains(&c) => c.to_string(),
        Some(c) => {
            return Err(ShrinkError::CheckPasses {
                check: c.into(),
                seed: request.seed,
                failing: failing.join(", "),
            })
        }
        None => failing[0].to_string(),
    };
    log(&format!(
        "{} seed {} fails `{target}`; shrinking while it still does",
        request.path, request.seed
    ));
    let edit_error = |source| ShrinkError::Edit {
        file: request.path.into(),
        source,
    };
    let doc = ScenarioDoc::parse(request.text).map_err(edit_error)?;
    let mut oracle = Oracle::new(request.path, request.seed, &target, request.max_runs);
    oracle.runs = 1;
    let mut work = Work {
        doc,
        oracle: &mut oracle,
        steps: Vec::new(),
        log,
    };
    passes::fix_ranges(&mut work);
    if request.witnesses > 0 {
        let fixed = crate::scenario::parse(request.path, &work.doc.to_string())?;
        let candidates: Vec<u64> = (1..)
            .filter(|s| *s != request.seed)
            .take(request.witnesses)
            .collect();
        for seed in candidates {
            if work.oracle.fails_on(&fixed, seed) {
                work.oracle.witnesses.push(seed);
            }
        }
        (work.log)(&format!(
            "[run {:>3}] with the ranges fixed it also fails on seeds {:?}: every step must keep those failing too",
            work.oracle.runs, work.oracle.witnesses
        ));
    }
    let rounds: [fn(&mut Work<'_>) -> bool; 7] = [
        passes::drop_faults,
        passes::fewer_clients,
        passes::no_chatter,
        passes::shorten_faults,
        passes::earlier,
        passes::shorter_run,
        passes::defaults,
    ];
    loop {
        let mut changed = false;
        for pass in rounds {
            changed |= pass(&mut work);
        }
        if !changed || work.oracle.exhausted() {
            break;
        }
    }
    let Work { doc, steps, .. } = work;
    let seeds: Vec<u64> = std::iter::once(request.seed)
        .chain(oracle.witnesses.iter().copied())
        .collect();
    let mut doc = doc;
    let name = format!("{}-seed-{}-shrunk", original.name, request.seed);
    doc.set_text("name", &name).map_err(edit_error)?;
    doc.set_text(
        "description",
        &format!(
            "Shrunk by `wsim shrink` from {} (seed {}): check `{target}` fails. Every random \
             range is fixed, so every seed replays the failing schedule.",
            request.path, request.seed
        ),
    )
    .map_err(edit_error)?;
    let body = doc.to_string();
    let result = crate::scenario::parse(request.path, &body)?;
    let after = Size::of(&result);
    let before = Size::of(&original);
    let header = format!(
        "# Regression scenario: `wsim shrink {} --seed {}` kept check `{target}` failing while\n\
         # it cut {before} down to {after} ({} simulations).\n",
        request.path, request.seed, oracle.runs
    );
    Ok(Shrunk {
        text: format!("{header}{body}"),
        target,
        steps,
        seeds,
        runs: oracle.runs,
        before,
        after,
    })
}
