//! `wsim explore`: random worlds. Each seed draws a world from a [`profile`] ([`world`]) — its
//! clients, settings and a fault schedule mixing the profile's kinds at random, overlapping
//! times — and runs it with every checker, like one run of a sweep. A failing seed's world is
//! written out as an ordinary scenario file and shrunk into a regression; [`space`] reports what
//! the explored worlds covered, so a reader knows what "10,000 seeds passed" means.

pub mod profile;
pub mod space;
pub mod world;

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::scenario::ScenarioError;
use crate::shrink::{self, ShrinkRequest};
use crate::sweep::plan::{self, Shard, SweepScenario};
use crate::sweep::runner::{NoReports, RunRecord};
use crate::sweep::summary::Throughput;
use crate::sweep::{self, SweepOptions};
use profile::Profile;
use space::Space;
use world::SystemChoice;

/// Why exploring could not start or finish.
#[derive(Debug, Error)]
pub enum ExploreError {
    /// A generated world is not a valid scenario: a bug in the generator.
    #[error("the world of seed {seed} is not a valid scenario (a generator bug): {source}")]
    World {
        /// The seed.
        seed: u64,
        /// What the loader said.
        source: ScenarioError,
    },
    /// A failing world could not be written out.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// What to explore.
#[derive(Debug, Clone)]
pub struct Exploration<'a> {
    /// Which worlds.
    pub profile: &'a Profile,
    /// The seeds, one world each.
    pub seeds: Vec<u64>,
    /// Only this shard of the seeds.
    pub shard: Option<Shard>,
    /// The implementations under test.
    pub system: SystemChoice,
    /// Worker threads and progress.
    pub options: SweepOptions,
    /// Where failing worlds and their shrunk regressions are written.
    pub out_dir: PathBuf,
    /// Most simulations to spend shrinking each failing world (0: do not shrink).
    pub shrink_runs: usize,
    /// Most failing worlds to shrink (the first ones, in seed order); the rest are listed.
    pub shrink_limit: usize,
    /// Write every world's scenario file, not only the failing ones'.
    pub write_all: bool,
}

/// A failing seed.
#[derive(Debug, Clone)]
pub struct Found {
    /// The seed.
    pub seed: u64,
    /// The checks it failed, with each one's first violation.
    pub failed: Vec<(String, String)>,
    /// Its world, as a scenario file.
    pub file: PathBuf,
    /// The shrunk regression, when shrinking kept the failure.
    pub shrunk: Option<PathBuf>,
    /// What shrinking did, or why it could not.
    pub shrink_note: String,
}

/// What exploring found.
#[derive(Debug, Clone)]
pub struct Explored {
    /// Every world, in seed order (for JUnit output).
    pub scenarios: Vec<SweepScenario>,
    /// Every world run, in seed order.
    pub records: Vec<RunRecord>,
    /// The failing seeds.
    pub found: Vec<Found>,
    /// What the worlds covered.
    pub space: Space,
    /// How fast it went.
    pub throughput: Throughput,
}

/// The file a seed's world is written to under `out_dir`.
#[must_use]
pub fn world_path(out_dir: &Path, profile: &Profile, seed: u64) -> PathBuf {
    out_dir.join(format!("{}-seed-{seed}.toml", profile.name))
}

/// Runs every world of `exploration`; `log` hears about shrinking.
pub fn explore(
    exploration: &Exploration<'_>,
    log: &mut dyn FnMut(&str),
) -> Result<Explored, ExploreError> {
    let profile = exploration.profile;
    let mut scenarios = Vec::with_capacity(exploration.seeds.len());
    let mut texts = Vec::with_capacity(exploration.seeds.len());
    for &seed in &exploration.seeds {
        let text = world::world(profile, seed, exploration.system);
        let path = world_path(&exploration.out_dir, profile, seed);
        let path = path.display().to_string();
        let scenario = crate::scenario::parse(&path, &text)
            .map_err(|source| ExploreError::World { seed, source })?;
        scenarios.push(SweepScenario::new(
            format!("{}-{seed}", profile.name),
            path,
            scenario,
            Some(&[seed]),
        ));
        texts.push(text);
    }
    let jobs = plan::jobs(&scenarios, exploration.shard);
    if exploration.write_all {
        // Only this shard's worlds: another machine writes the rest.
        for job in &jobs {
            write(&scenarios[job.scenario].path, &texts[job.scenario])?;
        }
    }
    let result = sweep::execute(&scenarios, &jobs, &exploration.options, &NoReports);
    let space = Space::of(&scenarios, &result.records);
    let mut found = Vec::new();
    for (n, record) in result
        .records
        .iter()
        .filter(|r| !r.verdict.passed)
        .enumerate()
    {
        let scenario = &scenarios[record.job.scenario];
        let text = &texts[record.job.scenario];
        let shrink = n < exploration.shrink_limit;
        found.push(write_and_shrink(
            exploration,
            scenario,
            text,
            record,
            shrink,
            log,
        )?);
    }
    Ok(Explored {
        scenarios,
        records: result.records,
        found,
        space,
        throughput: result.throughput,
    })
}

fn write(path: &str, text: &str) -> Result<(), ExploreError> {
    let io = |source| ExploreError::Write {
        path: path.into(),
        source,
    };
    if let Some(dir) = Path::new(path).parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}

fn write_and_shrink(
    exploration: &Exploration<'_>,
    scenario: &SweepScenario,
    text: &str,
    record: &RunRecord,
    shrink: bool,
    log: &mut dyn FnMut(&str),
) -> Result<Found, ExploreError> {
    let seed = record.job.seed;
    write(&scenario.path, text)?;
    let failed = record
        .verdict
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| (c.name.to_string(), c.detail.clone()))
        .collect();
    let mut found = Found {
        seed,
        failed,
        file: PathBuf::from(&scenario.path),
        shrunk: None,
        shrink_note: String::new(),
    };
    if exploration.shrink_runs == 0 {
        found.shrink_note = "not shrunk (--shrink-runs 0)".into();
        return Ok(found);
    }
    if !shrink {
        found.shrink_note = format!(
            "not shrunk (only the first {} failures are: --shrink-limit)",
            exploration.shrink_limit
        );
        return Ok(found);
    }
    let request = ShrinkRequest {
        path: &scenario.path,
        text,
        seed,
        check: None,
        max_runs: exploration.shrink_runs,
        witnesses: 0,
    };
    match shrink::shrink(&request, log) {
        Ok(shrunk) => {
            let path = scenario.path.replace(".toml", ".shrunk.toml");
            write(&path, &shrunk.text)?;
            found.shrink_note = format!(
                "shrunk to {} in {} simulations, still failing `{}`",
                shrunk.after, shrunk.runs, shrunk.target
            );
            found.shrunk = Some(PathBuf::from(path));
        }
        Err(e) => found.shrink_note = format!("not shrunk: {e}"),
    }
    Ok(found)
}
