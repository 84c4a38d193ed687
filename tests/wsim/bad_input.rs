//! A broken scenario file exits 2 with file, line, column and field in the message.

use std::process::{Command, Output};

/// Writes `text` to a scenario file of its own and runs `wsim run` on it.
fn run_file(text: &str) -> (std::path::PathBuf, Output) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-input");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("case-{:x}.toml", fnv(text)));
    std::fs::write(&path, text).expect("write scenario");
    (path.clone(), wsim(&[path.to_str().expect("utf-8")]))
}

fn wsim(scenario: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsim"))
        .arg("run")
        .args(scenario)
        .output()
        .expect("wsim runs")
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

const GOOD: &str = r#"name = "t"
duration = "30s"

[[clients]]
count = 1
host = "clients-1"

[[faults]]
kind = "partition"
between = ["clients-1", "proxy"]
at = "10s"
duration = "5s"
"#;

#[test]
fn the_good_file_runs() {
    let (_, out) = run_file(GOOD);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn broken_files_exit_2_naming_line_column_and_field() {
    let cases = [
        (
            GOOD.replace("count = 1", "count = \"one\""),
            ":5:9:",
            "clients[0].count",
        ),
        (
            GOOD.replace("at = \"10s\"", "at = \"10\""),
            ":11:6:",
            "faults[0].at",
        ),
        (
            GOOD.replace("\"clients-1\", \"proxy\"", "\"clients-9\", \"proxy\""),
            ":10:12:",
            "faults[0].between[0]",
        ),
        (
            GOOD.replace("kind = \"partition\"", "kind = \"meteor\""),
            ":9:8:",
            "faults[0].kind",
        ),
        (
            GOOD.replace("count = 1", "count = 1\nspeed = 3"),
            ":6:",
            "clients[0].speed",
        ),
        (
            GOOD.replace("count = 1", "count = 1\nroom = \"\""),
            ":6:",
            "clients[0].room",
        ),
        (
            format!("{GOOD}\n[expect]\nchecks = []\n"),
            ":15:",
            "expect.checks",
        ),
        (
            GOOD.replace("duration = \"30s\"\n", ""),
            ":1:1:",
            "duration",
        ),
        (GOOD.replace("name = \"t\"", "name = \"t"), ":1:", "name"),
    ];
    for (text, location, field) in cases {
        let (path, out) = run_file(&text);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(path.to_str().expect("utf-8")),
            "no file name in: {stderr}"
        );
        assert!(
            stderr.contains(location),
            "expected {location} in: {stderr}"
        );
        assert!(
            stderr.contains(&format!("field `{field}`")),
            "expected field {field} in: {stderr}"
        );
    }
}

#[test]
fn missing_file_exits_2() {
    let out = wsim(&["no/such/scenario.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/scenario.toml"));
}
