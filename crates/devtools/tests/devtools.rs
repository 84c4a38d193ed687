//! The developer tools as `bench` and a developer use them: the child commands print what
//! `bench` reads, and the memory probe's figure holds.

use std::path::PathBuf;
use std::process::Command;

fn wsim_dev(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wsim-dev"))
        .args(args)
        .output()
        .expect("wsim-dev runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    (out.status.success(), format!("{text}{err}"))
}

fn scenario(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "scenarios", name]
        .iter()
        .collect();
    path.to_string_lossy().into_owned()
}

#[test]
fn each_child_run_prints_its_kind_its_simulated_time_and_what_it_recorded() {
    let file = scenario("01-blip-5s.toml");
    for (command, first) in [
        ("judged", "PASS"),
        ("floor", "FLOOR"),
        ("unjudged", "UNJUDGED"),
    ] {
        let (ok, out) = wsim_dev(&[command, &file, "--seed", "2"]);
        assert!(ok, "wsim-dev {command}: {out}");
        assert!(
            out.trim_start().starts_with(first),
            "wsim-dev {command}: {out}"
        );
        assert!(
            out.lines()
                .any(|l| l.trim().starts_with("simulated 90.000s")),
            "wsim-dev {command}: {out}"
        );
        if command != "unjudged" {
            assert!(
                out.lines().any(|l| l.trim().starts_with("recorded ")),
                "wsim-dev {command}: {out}"
            );
        }
    }
}

#[test]
fn an_idle_session_costs_the_server_under_20_kb() {
    // `wsim-dev memory` starts wsim's server in a child, opens the sessions, prints the figure.
    let (ok, text) = wsim_dev(&["memory", "--sessions", "1000"]);
    assert!(ok, "{text}");
    let bytes: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("per session: "))
        .and_then(|l| l.split('(').nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no figure in: {text}"));
    eprintln!("{text}");
    assert!(bytes < 20_000, "{bytes} bytes per idle session");
}
