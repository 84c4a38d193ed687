//! The scenario files the documentation shows are real: each `toml` block of README.md and
//! docs/scenarios.md that is a whole scenario parses and passes, so the documentation cannot
//! drift from the format or from what the checkers accept.

use std::path::Path;

/// The fenced `toml` blocks of a Markdown file, in order.
fn toml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```toml") => current = Some(String::new()),
            (Some(_), l) if l.starts_with("```") => blocks.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Every whole scenario (a `toml` block with `[[clients]]`) of the Markdown file at `path`,
/// relative to the repository root, parses and passes on seeds 1 to 3; there is at least one.
fn whole_scenarios_parse_and_pass(path: &str) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let markdown = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
    let scenarios: Vec<String> = toml_blocks(&markdown)
        .into_iter()
        .filter(|b| b.contains("[[clients]]"))
        .collect();
    assert!(
        !scenarios.is_empty(),
        "{path} shows no whole scenario (a toml block with [[clients]])"
    );
    for (i, text) in scenarios.iter().enumerate() {
        let name = format!("{path} toml block {}", i + 1);
        let s = wsim::scenario::parse(&name, text)
            .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
        for seed in 1..=3 {
            let outcome = wsim::Run::new(&s, seed).named(&name).judge();
            assert!(
                outcome.verdict.passed,
                "{name}, seed {seed}: {:?}",
                outcome.verdict.checks
            );
        }
    }
}

#[test]
fn the_readmes_minimal_scenario_parses_and_passes() {
    whole_scenarios_parse_and_pass("README.md");
}

#[test]
fn the_scenario_guides_whole_scenario_parses_and_passes() {
    whole_scenarios_parse_and_pass("docs/scenarios.md");
}
