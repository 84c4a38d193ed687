//! The scenario files the README shows a newcomer are real: each `toml` block of README.md
//! that is a whole scenario parses and passes, so the documentation cannot drift from the
//! format or from what the checkers accept.

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

#[test]
fn the_readmes_minimal_scenario_parses_and_passes() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let scenarios: Vec<String> = toml_blocks(&readme)
        .into_iter()
        .filter(|b| b.contains("[[clients]]"))
        .collect();
    assert!(
        !scenarios.is_empty(),
        "README.md shows no whole scenario (a toml block with [[clients]])"
    );
    for (i, text) in scenarios.iter().enumerate() {
        let name = format!("README.md toml block {}", i + 1);
        let s = wsim::scenario::parse(&name, text)
            .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
        for seed in 1..=3 {
            let outcome = wsim::judge::run(&s, &name, seed);
            assert!(
                outcome.verdict.passed,
                "{name}, seed {seed}: {:?}",
                outcome.verdict.checks
            );
        }
    }
}
