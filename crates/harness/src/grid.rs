//! The settings advisor behind `wsim grid`: one scenario over every combination of the given
//! settings (each combination a variant scenario file, so its runs can be reproduced), run as a
//! sweep, and read back as a survival table and a two-axis matrix.

use std::path::{Path, PathBuf};

use crate::render::secs;
use crate::scenario::edit::ScenarioDoc;
use crate::sweep::plan::SweepScenario;
use crate::sweep::runner::RunRecord;
use crate::sweep::summary::ScenarioSummary;

/// Why a grid cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    /// A `--vary` argument is not `key=v1,v2,...`.
    #[error("--vary {0:?}: expected key=value1,value2,...")]
    Axis(String),
    /// A value cannot be set at its key, or the variant does not parse.
    #[error("{0}")]
    Variant(String),
    /// A variant file could not be written.
    #[error("writing {path}: {error}")]
    Write {
        /// The file.
        path: String,
        /// What went wrong.
        error: String,
    },
}

/// One setting and the values it takes, `key=v1,v2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    /// The scenario key (`client.ping_interval`, `faults[0].duration`, ...).
    pub key: String,
    /// Its values, as TOML text.
    pub values: Vec<String>,
}

impl Axis {
    /// Parses `key=v1,v2,...`.
    ///
    /// # Errors
    /// [`GridError::Axis`] when there is no key or no value.
    pub fn parse(s: &str) -> Result<Axis, GridError> {
        let (key, values) = s
            .split_once('=')
            .ok_or_else(|| GridError::Axis(s.to_string()))?;
        let values: Vec<String> = values
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if key.trim().is_empty() || values.is_empty() {
            return Err(GridError::Axis(s.to_string()));
        }
        Ok(Axis {
            key: key.trim().to_string(),
            values,
        })
    }
}

/// Pass rates and idle kills over two varying settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    /// The setting down the rows.
    pub down: String,
    /// The setting across the columns.
    pub across: String,
    /// The heading row.
    pub head: Vec<String>,
    /// One row per value of `down`.
    pub rows: Vec<Vec<String>>,
}

/// A grid: its axes, every combination (value indices, first axis slowest) and the variant
/// scenario of each.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The settings varied.
    pub axes: Vec<Axis>,
    /// Every combination, as one value index per axis.
    pub combos: Vec<Vec<usize>>,
    /// The variant scenario of each combination, in the same order.
    pub scenarios: Vec<SweepScenario>,
}

impl Grid {
    /// Builds the variants of the scenario file `path` (whose text is `text`) over `axes`,
    /// writing each variant file under `dir`, each to run with `seeds`.
    ///
    /// # Errors
    /// When a value cannot be set, a variant does not parse, or a file cannot be written.
    pub fn build(
        path: &str,
        text: &str,
        axes: Vec<Axis>,
        seeds: &[u64],
        dir: &Path,
    ) -> Result<Grid, GridError> {
        let combos = combinations(&axes);
        let mut scenarios = Vec::new();
        for combo in &combos {
            let label = combo
                .iter()
                .zip(&axes)
                .map(|(&i, a)| format!("{}={}", a.key, a.values[i]))
                .collect::<Vec<_>>()
                .join(" ");
            let mut doc =
                ScenarioDoc::parse(text).map_err(|e| GridError::Variant(format!("{path}: {e}")))?;
            for (&i, axis) in combo.iter().zip(&axes) {
                doc.set_text(&axis.key, &axis.values[i])
                    .map_err(|e| GridError::Variant(format!("--vary {}: {e}", axis.key)))?;
            }
            let variant_path: PathBuf = dir.join(format!("{}.toml", file_name(&label)));
            let variant_text = format!("# `wsim grid` variant of {path}: {label}\n{doc}");
            std::fs::write(&variant_path, &variant_text).map_err(|e| GridError::Write {
                path: variant_path.display().to_string(),
                error: e.to_string(),
            })?;
            let scenario =
                crate::scenario::parse(&variant_path.display().to_string(), &variant_text)
                    .map_err(|e| GridError::Variant(format!("{label}: {e}")))?;
            scenarios.push(SweepScenario {
                label,
                path: variant_path.display().to_string(),
                scenario,
                seeds: seeds.to_vec(),
                replay: None,
            });
        }
        Ok(Grid {
            axes,
            combos,
            scenarios,
        })
    }

    /// The survival table: one row per combination — its values, pass rate, idle kills per
    /// run, detection p99 and slowest, failing checks.
    #[must_use]
    pub fn table(
        &self,
        records: &[RunRecord],
        summaries: &[ScenarioSummary],
    ) -> (Vec<String>, Vec<Vec<String>>) {
        let mut head: Vec<String> = self.axes.iter().map(|a| a.key.clone()).collect();
        head.extend(
            [
                "pass rate",
                "idle kills/run",
                "detect p99",
                "max",
                "failing checks",
            ]
            .map(String::from),
        );
        let rows = self
            .combos
            .iter()
            .zip(summaries)
            .enumerate()
            .map(|(index, (combo, s))| {
                let mut row = self.values(combo);
                let mut failing: Vec<&str> = records
                    .iter()
                    .filter(|r| r.job.scenario == index)
                    .flat_map(|r| r.verdict.failed_checks())
                    .collect();
                failing.sort_unstable();
                failing.dedup();
                row.extend([
                    format!("{:.0}% ({}/{})", s.pass_rate() * 100.0, s.passed, s.runs),
                    format!("{:.1}", s.idle_kills_per_run()),
                    secs(s.detection(99)),
                    secs(s.slowest_detection()),
                    if failing.is_empty() {
                        "-".into()
                    } else {
                        failing.join(",")
                    },
                ]);
                row
            })
            .collect();
        (head, rows)
    }

    /// With exactly two axes that vary: pass rate and idle kills per run, the first down, the
    /// second across — the heading row and the rows.
    #[must_use]
    pub fn matrix(&self, summaries: &[ScenarioSummary]) -> Option<Matrix> {
        let varying: Vec<usize> = (0..self.axes.len())
            .filter(|&a| self.axes[a].values.len() > 1)
            .collect();
        let [down, across] = varying[..] else {
            return None;
        };
        let mut head = vec![String::new()];
        head.extend(self.axes[across].values.iter().cloned());
        let rows = self.axes[down]
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut row = vec![v.clone()];
                row.extend((0..self.axes[across].values.len()).map(|j| {
                    let at = self
                        .combos
                        .iter()
                        .position(|c| c[down] == i && c[across] == j)
                        .expect("every pair is a combination");
                    let s = &summaries[at];
                    format!(
                        "{:.0}%, {:.1} kills",
                        s.pass_rate() * 100.0,
                        s.idle_kills_per_run()
                    )
                }));
                row
            })
            .collect();
        Some(Matrix {
            down: self.axes[down].key.clone(),
            across: self.axes[across].key.clone(),
            head,
            rows,
        })
    }

    fn values(&self, combo: &[usize]) -> Vec<String> {
        combo
            .iter()
            .zip(&self.axes)
            .map(|(&i, a)| a.values[i].clone())
            .collect()
    }
}

/// Every combination of the axes' values, first axis slowest.
fn combinations(axes: &[Axis]) -> Vec<Vec<usize>> {
    let mut combos = vec![Vec::new()];
    for axis in axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                (0..axis.values.len()).map(move |i| {
                    let mut c = c.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    combos
}

/// A label as a file name: letters, digits, `=` and `.` kept, anything else `_`.
fn file_name(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '=' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_parse_and_combine_first_axis_slowest() {
        let a = Axis::parse("client.ping_interval=20s, 45s").unwrap();
        assert_eq!(a.values, ["20s", "45s"]);
        assert!(Axis::parse("x=").is_err());
        assert!(Axis::parse("=1").is_err());
        let b = Axis::parse("proxy.idle_timeout=30s,60s,90s").unwrap();
        let combos = combinations(&[a, b]);
        assert_eq!(combos.len(), 6);
        assert_eq!(combos[0], [0, 0]);
        assert_eq!(combos[1], [0, 1]);
        assert_eq!(combos[3], [1, 0]);
        assert_eq!(file_name("a.b=1s c"), "a.b=1s_c");
    }
}
