//! Seeded mutation of protocol messages for the crates' fuzz tests (feature `fuzz`, off by
//! default): one JSON value of a message replaced by a value of another type or range, as a
//! broken or hostile peer might send.

use rand::Rng;

/// Values a peer might put where a number, string or structure belongs.
pub const ODD_JSON_VALUES: [&str; 10] = [
    "0",
    "-1",
    "18446744073709551615",
    "1e400",
    "null",
    "\"\"",
    "[]",
    "{}",
    "true",
    "\"🦀\"",
];

/// `json` with one of its values (after a `:`) replaced by one of [`ODD_JSON_VALUES`], as
/// `rng` draws; `json` itself if it has no `:`.
pub fn replace_a_value(json: &str, rng: &mut impl Rng) -> String {
    let colons: Vec<usize> = json.match_indices(':').map(|(i, _)| i).collect();
    if colons.is_empty() {
        return json.to_string();
    }
    let at = colons[rng.random_range(0..colons.len())];
    let end = json[at..].find([',', '}']).map_or(json.len(), |e| at + e);
    let value = ODD_JSON_VALUES[rng.random_range(0..ODD_JSON_VALUES.len())];
    format!("{}:{value}{}", &json[..at], &json[end..])
}

/// How many inputs a fuzz test tries: the environment variable `var` (`WSIM_FUZZ_CASES`, say)
/// when set to a number, to run it longer by hand; `default` in `cargo test`.
#[must_use]
pub fn budget(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}
