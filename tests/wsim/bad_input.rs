//! A broken scenario file exits 2 with file, line, column and field in the message.

use std::process::Command;

fn run_file(text: &str) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("wsim-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("case-{:x}.toml", fnv(text)));
    std::fs::write(&path, text).expect("write scenario");
    let out = Command::new(env!("CARGO_BIN_EXE_wsim"))
        .args(["run", path.to_str().expect("utf-8")])
        .output()
        .expect("wsim runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains(path.to_str().expect("utf-8")),
        "the message does not name the file: {stderr}"
    );
    (out.status.code().expect("exit code"), stderr)
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
    let dir = std::env::temp_dir().join(format!("wsim-good-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("good.toml");
    std::fs::write(&path, GOOD).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_wsim"))
        .args(["run", path.to_str().expect("utf-8")])
        .output()
        .expect("wsim runs");
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
            GOOD.replace("duration = \"30s\"\n", ""),
            ":1:1:",
            "duration",
        ),
        (
            GOOD.replace("name = \"t\"", "name = \"t"),
            ":1:",
            "(document)",
        ),
    ];
    for (text, location, field) in cases {
        let (code, stderr) = run_file(&text);
        assert_eq!(code, 2, "{stderr}");
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
    let out = Command::new(env!("CARGO_BIN_EXE_wsim"))
        .args(["run", "no/such/scenario.toml"])
        .output()
        .expect("wsim runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/scenario.toml"));
}
