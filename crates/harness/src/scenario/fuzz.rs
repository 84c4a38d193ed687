//! Fuzzing the scenario loader: every scenario file in `scenarios/`, mutated by a seeded
//! stream (bytes flipped, lines dropped, doubled or swapped, values replaced by extreme or
//! ill-typed ones, the file cut short), must load or be refused with an error that names the
//! file, a line and a field — never a panic — and a file that loads must give its settings,
//! roster, checkers' context and fault plan without one. `WSIM_FUZZ_CASES=N` runs N mutants
//! instead of the default (docs/scenarios.md).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rand::{Rng, RngCore};

use crate::check::CheckContext;
use crate::scenario::error::ScenarioError;
use crate::scenario::load::parse;
use crate::seed::derive_rng;

/// Values a user might write where a number, duration, range or name belongs.
const ODD_VALUES: [&str; 22] = [
    "0",
    "-1",
    "18446744073709551615",
    "99999999999999999999",
    "1e309",
    "nan",
    "\"0s\"",
    "\"0ms\"",
    "\"-5s\"",
    "\"999999999h\"",
    "\"1.5.5s\"",
    "\"\"",
    "\"server\"",
    "[]",
    "{}",
    "{ min = \"5s\", max = \"1s\" }",
    "{ min = \"0s\", max = \"0s\" }",
    "true",
    "\"🦀\"",
    "[\"proxy\", \"proxy\"]",
    "0.0",
    "{ min = 0, max = 18446744073709551615 }",
];

fn scenario_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `text` changed once, as the stream draws.
fn mutate(text: &str, rng: &mut impl RngCore) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return String::new();
    }
    let at = rng.random_range(0..lines.len());
    match rng.random_range(0..7) {
        0 => {
            lines.remove(at);
        }
        1 => {
            let line = lines[at].clone();
            lines.insert(at, line);
        }
        2 => {
            let other = rng.random_range(0..lines.len());
            lines.swap(at, other);
        }
        3 => {
            // A value replaced: everything after the first `=` of the line.
            if let Some(eq) = lines[at].find('=') {
                let value = ODD_VALUES[rng.random_range(0..ODD_VALUES.len())];
                lines[at] = format!("{} {value}", &lines[at][..=eq]);
            }
        }
        4 => {
            // One character replaced by a random printable one (or a control character).
            let chars: Vec<char> = lines[at].chars().collect();
            if !chars.is_empty() {
                let i = rng.random_range(0..chars.len());
                let c = char::from(rng.random_range(0u8..128));
                lines[at] = chars[..i]
                    .iter()
                    .chain(std::iter::once(&c))
                    .chain(&chars[i + 1..])
                    .collect();
            }
        }
        5 => {
            // Cut short, mid-line.
            let cut = rng.random_range(0..=text.len());
            let cut = (0..=cut)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            return text[..cut].to_string();
        }
        _ => {
            // A fault or client group written twice, or a stray section.
            let section = [
                "[[faults]]",
                "[[clients]]",
                "[server]",
                "[network]",
                "[expect]",
            ][rng.random_range(0..5)];
            lines.insert(at, section.to_string());
        }
    }
    lines.join("\n")
}

/// What a loaded scenario is asked for before any run: none of it may panic.
fn derive_everything(scenario: &crate::scenario::ScenarioFile) {
    let _ = scenario.client_config();
    let _ = scenario.server_config();
    let _ = scenario.proxy_config("upstream:1".into());
    let _ = scenario.roster().count();
    let _ = CheckContext::from_scenario(scenario);
    for seed in [1, 2] {
        let _ = crate::schedule::plan::plan_faults(scenario, seed);
    }
}

#[test]
fn mutated_scenario_files_load_or_are_refused_by_file_line_and_field_never_with_a_panic() {
    let cases: usize =
        usize::try_from(wsim_proto::fuzz::budget("WSIM_FUZZ_CASES", 3_000)).unwrap_or(usize::MAX);
    let files = scenario_files();
    assert!(files.len() >= 20, "the scenarios are found: {files:?}");
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            (
                f.display().to_string(),
                std::fs::read_to_string(f).unwrap_or_default(),
            )
        })
        .collect();
    let mut rng = derive_rng(1, "fuzz/scenario");
    let (mut refused, mut loaded) = (0usize, 0usize);
    for case in 0..cases {
        let (file, text) = &texts[case % texts.len()];
        let mut mutant = mutate(text, &mut rng);
        if rng.random_bool(0.3) {
            mutant = mutate(&mutant, &mut rng);
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| match parse(file, &mutant) {
            Ok(scenario) => {
                derive_everything(&scenario);
                Ok(())
            }
            Err(e) => Err(e),
        }));
        match outcome {
            Err(_) => panic!("case {case} of {file} panicked; the input:\n{mutant}"),
            Ok(Ok(())) => loaded += 1,
            Ok(Err(ScenarioError::Invalid {
                file: named,
                line,
                field,
                ..
            })) => {
                assert_eq!(&named, file, "case {case}");
                assert!(line >= 1, "case {case}: line {line}");
                assert!(!field.is_empty(), "case {case}: no field named");
                refused += 1;
            }
            Ok(Err(e)) => panic!("case {case}: unexpected error {e}"),
        }
    }
    assert!(
        refused > 0 && loaded > 0,
        "{refused} refused, {loaded} loaded"
    );
    eprintln!("fuzzed the scenario loader: {cases} mutants, {refused} refused, {loaded} loaded");
}

#[test]
fn mutated_scenario_files_that_load_also_run_and_are_judged_without_a_panic() {
    let runs: usize =
        usize::try_from(wsim_proto::fuzz::budget("WSIM_FUZZ_RUNS", 12)).unwrap_or(usize::MAX);
    let texts: Vec<(String, String)> = scenario_files()
        .iter()
        .map(|f| {
            (
                f.display().to_string(),
                std::fs::read_to_string(f).unwrap_or_default(),
            )
        })
        .collect();
    let mut rng = derive_rng(2, "fuzz/scenario-runs");
    let mut ran = 0;
    let mut case = 0usize;
    while ran < runs && case < runs * 200 {
        let (file, text) = &texts[case % texts.len()];
        case += 1;
        let mutant = mutate(text, &mut rng);
        let Ok(scenario) = parse(file, &mutant) else {
            continue;
        };
        // A mutant that runs for hours or with thousands of clients is a run, not a check.
        let clients = scenario.roster().count();
        if scenario.duration.0 > std::time::Duration::from_secs(600) || clients > 60 {
            continue;
        }
        ran += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            crate::judge::Run::new(&scenario, 1).judge()
        }));
        assert!(
            outcome.is_ok(),
            "case {case} of {file} panicked; the input:\n{mutant}"
        );
    }
    assert!(ran > 0, "no mutant loaded");
}
