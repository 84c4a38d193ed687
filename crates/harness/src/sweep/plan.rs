//! Which runs a sweep makes: the scenario files found under the given paths, each over its
//! seeds (its `seeds` count, or `--seeds`), optionally cut down to one CI shard.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::scenario::{ScenarioError, ScenarioFile};

/// Why a sweep could not be planned.
#[derive(Debug, Error)]
pub enum PlanError {
    /// A path given on the command line does not exist or cannot be read.
    #[error("{path}: {source}")]
    Path {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// No scenario file was found under the given paths.
    #[error("no scenario files (*.toml) under {0}")]
    Empty(String),
    /// A scenario file is broken.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// `--seeds` is malformed.
    #[error("--seeds {0:?}: expected N, A..B (both included) or a comma-separated list of those")]
    Seeds(String),
    /// `--shard` is malformed.
    #[error("--shard {0:?}: expected K/N with 1 <= K <= N")]
    Shard(String),
}

/// One scenario of a sweep.
#[derive(Debug, Clone)]
pub struct SweepScenario {
    /// How the scenario is named in tables and report directories (the file stem, or a
    /// grid variant's label).
    pub label: String,
    /// The file, as the user named it (for reproduction commands).
    pub path: String,
    /// The parsed scenario.
    pub scenario: ScenarioFile,
    /// The seeds to run, ascending.
    pub seeds: Vec<u64>,
    /// The command that replays one seed, with `{seed}` for the seed, when it is not
    /// `wsim run <path> --seed N` (a user's test, run through the Suite).
    pub replay: Option<String>,
}

impl SweepScenario {
    /// A scenario to run with `seeds`, or with its own `seeds = N` (1..=N) when none are given.
    #[must_use]
    pub fn new(label: String, path: String, scenario: ScenarioFile, seeds: Option<&[u64]>) -> Self {
        let seeds = seeds.map_or_else(
            || (1..=u64::from(scenario.seeds.max(1))).collect(),
            <[u64]>::to_vec,
        );
        SweepScenario {
            label,
            path,
            scenario,
            seeds,
            replay: None,
        }
    }

    /// The command that reproduces this scenario's run with `seed`.
    #[must_use]
    pub fn repro(&self, seed: u64) -> String {
        match &self.replay {
            Some(template) => template.replace("{seed}", &seed.to_string()),
            None => crate::verdict::repro_command(&self.path, seed),
        }
    }
}

/// One run: a scenario (index into the sweep's scenarios) and a seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Job {
    /// Index of the scenario.
    pub scenario: usize,
    /// The seed.
    pub seed: u64,
}

/// A `--shard K/N`: this machine runs every N-th job, starting with the K-th.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index of this shard.
    pub index: u32,
    /// How many shards share the sweep.
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, PlanError> {
        let bad = || PlanError::Shard(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Parses `--seeds`: `7`, `1..20` (both ends included), `1..=20`, or a comma-separated list of
/// those. Returns the seeds ascending, without repeats.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, PlanError> {
    let bad = || PlanError::Seeds(s.to_string());
    let mut seeds = Vec::new();
    for part in s.split(',').map(str::trim) {
        if let Some((a, b)) = part.split_once("..") {
            let b = b.strip_prefix('=').unwrap_or(b);
            let a: u64 = a.trim().parse().map_err(|_| bad())?;
            let b: u64 = b.trim().parse().map_err(|_| bad())?;
            if a > b || b - a >= 10_000_000 {
                return Err(bad());
            }
            seeds.extend(a..=b);
        } else {
            seeds.push(part.parse().map_err(|_| bad())?);
        }
    }
    seeds.sort_unstable();
    seeds.dedup();
    Ok(seeds)
}

/// Finds the scenario files under `paths` (files as given; directories searched recursively
/// for `*.toml`, sorted by path) and loads them all, so that every broken file is named.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, PlanError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| PlanError::Path {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(PlanError::Empty(names.join(", ")));
    }
    Ok(files)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), PlanError> {
    let io = |source| PlanError::Path {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
    }
    Ok(())
}

/// The label of a scenario file: its file stem, plus its parent directory when that is not
/// the top scenario directory (`regressions/…`), so labels stay unique.
#[must_use]
pub fn label_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
    match path.parent().and_then(Path::file_name) {
        Some(parent) if parent == "regressions" => format!("regressions-{stem}"),
        _ => stem,
    }
}

/// [`label_of`] `file`, made unique among `taken` (which it joins): a name that two files of
/// a sweep share (`scenarios/06-x.toml` and `scenarios/real-time/06-x.toml`) is prefixed with
/// the later one's directory, then numbered — two runs never share a report directory.
fn unique_label(file: &Path, taken: &mut std::collections::BTreeSet<String>) -> String {
    let mut label = label_of(file);
    if taken.contains(&label) {
        if let Some(dir) = file.parent().and_then(Path::file_name) {
            label = format!("{}-{label}", dir.to_string_lossy());
        }
    }
    let base = label.clone();
    let mut n = 2;
    while taken.contains(&label) {
        label = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(label.clone());
    label
}

/// Loads every file; all broken files are reported, not just the first.
pub fn load_all(
    files: &[PathBuf],
    seeds: Option<&[u64]>,
) -> Result<Vec<SweepScenario>, Vec<PlanError>> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    let mut labels = std::collections::BTreeSet::new();
    for file in files {
        match crate::scenario::load(file) {
            Ok(scenario) => scenarios.push(SweepScenario::new(
                unique_label(file, &mut labels),
                file.display().to_string(),
                scenario,
                seeds,
            )),
            Err(e) => errors.push(PlanError::Scenario(e)),
        }
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(errors)
    }
}

/// Every job of a sweep, in scenario then seed order, cut down to `shard` if given: shard K of
/// N takes jobs K-1, K-1+N, K-1+2N, ... of the whole list, so shards are balanced and together
/// cover it exactly once.
#[must_use]
pub fn jobs(scenarios: &[SweepScenario], shard: Option<Shard>) -> Vec<Job> {
    let all = scenarios
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.seeds.iter().map(move |&seed| Job { scenario: i, seed }));
    match shard {
        None => all.collect(),
        Some(Shard { index, count }) => all
            .enumerate()
            .filter(|(n, _)| *n as u64 % u64::from(count) == u64::from(index - 1))
            .map(|(_, job)| job)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_ranges_lists_and_single_values() {
        assert_eq!(parse_seeds("3").unwrap(), [3]);
        assert_eq!(parse_seeds("1..4").unwrap(), [1, 2, 3, 4]);
        assert_eq!(parse_seeds("1..=3").unwrap(), [1, 2, 3]);
        assert_eq!(parse_seeds("9, 1..2,2").unwrap(), [1, 2, 9]);
        assert!(parse_seeds("4..1").is_err());
        assert!(parse_seeds("x").is_err());
        assert!(parse_seeds("").is_err());
    }

    #[test]
    fn shards_parse_and_reject_nonsense() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        for bad in ["0/2", "3/2", "1", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    fn scenario(seeds: u64) -> SweepScenario {
        let file = crate::scenario::parse(
            "t.toml",
            "name = \"t\"\nduration = \"10s\"\n[[clients]]\ncount = 1\n",
        )
        .unwrap();
        SweepScenario {
            label: "t".into(),
            path: "t.toml".into(),
            scenario: file,
            seeds: (1..=seeds).collect(),
            replay: None,
        }
    }

    #[test]
    fn shards_partition_the_jobs_exactly() {
        let scenarios = [scenario(7), scenario(4)];
        let all = jobs(&scenarios, None);
        assert_eq!(all.len(), 11);
        for n in 1..=4 {
            let mut union: Vec<Job> = (1..=n)
                .flat_map(|k| jobs(&scenarios, Some(Shard { index: k, count: n })))
                .collect();
            union.sort();
            assert_eq!(union, all, "{n} shards");
        }
    }

    #[test]
    fn labels_shared_by_two_files_of_a_sweep_are_told_apart() {
        let mut taken = std::collections::BTreeSet::new();
        let labels: Vec<String> = [
            "scenarios/06-x.toml",
            "scenarios/real-time/06-x.toml",
            "other/real-time/06-x.toml",
            "scenarios/07-y.toml",
        ]
        .iter()
        .map(|f| unique_label(Path::new(f), &mut taken))
        .collect();
        assert_eq!(
            labels,
            ["06-x", "real-time-06-x", "real-time-06-x-2", "07-y"]
        );
    }

    #[test]
    fn labels_are_file_stems_and_mark_regressions() {
        assert_eq!(label_of(Path::new("scenarios/02-x.toml")), "02-x");
        assert_eq!(
            label_of(Path::new("scenarios/regressions/02-x-seed-3.toml")),
            "regressions-02-x-seed-3"
        );
    }
}
