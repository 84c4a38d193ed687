//! Reading and validating a scenario file, with errors that point at file, line, column and
//! field.

use std::path::Path;

use crate::fault::ConnAction;
use crate::scenario::duration::format_duration;
use crate::scenario::error::{line_column, span_start, ScenarioError};
use crate::scenario::model::{FaultKind, FaultSpec, ScenarioFile};
use crate::scenario::roster::group_name;

/// Hosts every topology has; client groups may not use these names.
pub const RESERVED_HOSTS: [&str; 4] = ["server", "proxy", "sim", "check"];

/// Most clients a scenario may run.
const MAX_CLIENTS: u64 = 10_000;

/// Reads and validates the scenario at `path`.
pub fn load(path: &Path) -> Result<ScenarioFile, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text)
}

/// Parses and validates scenario `text`; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<ScenarioFile, ScenarioError> {
    let de = toml::Deserializer::new(text);
    let scenario: ScenarioFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message().to_string();
        let mut field = field_of(&path, &message);
        let (line, column) = line_column(text, span_start(inner.span()));
        if field == "(document)" {
            // A syntax error (a number out of range, a duplicate key, an unclosed string)
            // has no serde path: name the key written on its line.
            if let Some(key) = key_on_line(text, line) {
                field = key;
            }
        }
        ScenarioError::Invalid {
            file: file.to_string(),
            line,
            column,
            field,
            message,
        }
    })?;
    validate(&scenario).map_err(|(field, message)| {
        let (line, column) = line_column(text, locate(text, &field));
        ScenarioError::Invalid {
            file: file.to_string(),
            line,
            column,
            field,
            message,
        }
    })?;
    Ok(scenario)
}

/// The field an error is about: the serde path, completed with the key a
/// "missing field" or "unknown field" message names.
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    let base = if path == "." { "" } else { path };
    match named {
        Some(key) if base.is_empty() => key.to_string(),
        Some(key) if base == key || base.ends_with(&format!(".{key}")) => base.to_string(),
        Some(key) => format!("{base}.{key}"),
        None if base.is_empty() => "(document)".to_string(),
        None => base.to_string(),
    }
}

/// The dotted path of the key written on 1-based `line` (`clients[0].count` for a `count =`
/// under the first `[[clients]]`), if the line holds one.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let written = lines.get(line.checked_sub(1)?)?.trim();
    let (key, _) = written.split_once('=')?;
    let key = key.trim().trim_matches('"');
    let plain = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    };
    if !plain(key) {
        return None;
    }
    let above = &lines[..line - 1];
    let Some(at) = above.iter().rposition(|l| l.trim_start().starts_with('[')) else {
        return Some(key.to_string());
    };
    let header = above[at].trim();
    if let Some(name) = header.strip_prefix("[[").and_then(|h| h.split("]]").next()) {
        let index = above[..at]
            .iter()
            .filter(|l| l.trim().starts_with(&format!("[[{name}]]")))
            .count();
        return Some(format!("{}[{index}].{key}", name.trim()));
    }
    let name = header.strip_prefix('[')?.split(']').next()?.trim();
    Some(format!("{name}.{key}"))
}

/// Byte offset of the value at dotted `path` (e.g. `faults[1].between[0]`), or of the
/// deepest part of it that exists.
fn locate(text: &str, path: &str) -> usize {
    let Ok(doc) = toml_edit::ImDocument::parse(text) else {
        return 0;
    };
    let mut item: &toml_edit::Item = doc.as_item();
    let mut offset = 0;
    for part in path.split('.') {
        let (key, indices) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        let Some(next) = item.get(key) else { break };
        item = next;
        offset = span_start(item.span()).max(offset);
        for index in indices
            .split(['[', ']'])
            .filter_map(|s| s.parse::<usize>().ok())
        {
            let Some(next) = item.get(index) else { break };
            item = next;
            offset = span_start(item.span()).max(offset);
        }
    }
    offset
}

type Problem = (String, String);

fn problem(field: impl Into<String>, message: impl Into<String>) -> Result<(), Problem> {
    Err((field.into(), message.into()))
}

fn validate(s: &ScenarioFile) -> Result<(), Problem> {
    if s.name.trim().is_empty() {
        return problem("name", "must not be empty");
    }
    if s.duration.0.is_zero() {
        return problem("duration", "must be longer than 0s");
    }
    if s.seeds == 0 {
        return problem("seeds", "must be at least 1");
    }
    if s.expect.checks.is_empty() {
        // A run with no checker would pass whatever happened.
        return problem(
            "expect.checks",
            "names no check, so nothing would be judged (leave `checks` out for all of them)",
        );
    }
    if s.tick.0.is_zero() || s.tick.0 > std::time::Duration::from_millis(100) {
        return problem("tick", "must be between 1ms and 100ms");
    }
    let b = &s.client.backoff;
    if !(b.factor.is_finite() && b.factor >= 1.0) {
        return problem("client.backoff.factor", "must be a number >= 1");
    }
    if b.initial > b.max {
        return problem(
            "client.backoff.initial",
            format!(
                "is greater than client.backoff.max ({})",
                format_duration(b.max.0)
            ),
        );
    }
    if s.clients.is_empty() {
        return problem("clients", "at least one [[clients]] group is needed");
    }
    let mut hosts: Vec<&str> = RESERVED_HOSTS[..2].to_vec();
    let mut names = std::collections::BTreeSet::new();
    let mut total = 0u64;
    for (i, g) in s.clients.iter().enumerate() {
        if g.count == 0 {
            return problem(format!("clients[{i}].count"), "must be at least 1");
        }
        total += u64::from(g.count);
        if !is_name(&g.host) {
            return problem(
                format!("clients[{i}].host"),
                "use letters, digits, '-' and '_' only",
            );
        }
        if RESERVED_HOSTS.contains(&g.host.as_str()) {
            return problem(
                format!("clients[{i}].host"),
                format!(
                    "`{}` is reserved; name client hosts e.g. \"clients-1\"",
                    g.host
                ),
            );
        }
        if !hosts.contains(&g.host.as_str()) {
            hosts.push(&g.host);
        }
        let name = group_name(i, g.name.as_deref());
        if !is_name(&name) {
            return problem(
                format!("clients[{i}].name"),
                "use letters, digits, '-' and '_' only",
            );
        }
        if !names.insert(name.clone()) {
            return problem(
                format!("clients[{i}].name"),
                format!("another group is already named `{name}`"),
            );
        }
        if g.room.is_empty() {
            // The server refuses a join without a room (HTTP 400): the group would never connect.
            return problem(
                format!("clients[{i}].room"),
                "must not be empty (every client joins a room, e.g. \"lobby\")",
            );
        }
        if g.send_every.0.is_some_and(|d| d.is_zero()) {
            return problem(format!("clients[{i}].send_every"), "must be longer than 0s");
        }
    }
    if total > MAX_CLIENTS {
        return problem("clients", format!("{total} clients; at most {MAX_CLIENTS}"));
    }
    let clients: Vec<String> = s.roster().map(|c| c.id).collect();
    for (i, f) in s.faults.iter().enumerate() {
        validate_fault(i, f, &hosts, s.duration.0, &clients)?;
    }
    Ok(())
}

fn validate_proxy_conn(i: usize, f: &FaultSpec, clients: &[String]) -> Result<(), Problem> {
    let key = |k: &str| format!("faults[{i}].{k}");
    if f.between.is_some() || f.host.is_some() {
        return problem(
            key("between"),
            "a proxy_conn fault takes `client`, not `between` or `host`",
        );
    }
    let Some(client) = &f.client else {
        return problem(
            key("client"),
            "a proxy_conn fault needs `client`, e.g. client = \"web-0\"",
        );
    };
    if !clients.contains(client) {
        return problem(
            key("client"),
            format!(
                "unknown client `{client}`; clients are named <group name>-<index>, e.g. `{}`",
                clients[0]
            ),
        );
    }
    let Some(action) = f.action else {
        return problem(
            key("action"),
            "a proxy_conn fault needs `action`: \"blackhole\", \"delay\" or \"reset\"",
        );
    };
    let delay = action == ConnAction::Delay;
    match (delay, f.delay.is_some(), f.duration.is_some()) {
        (true, false, _) => problem(key("delay"), "a delay needs `delay`, e.g. delay = \"3s\""),
        (true, _, false) => problem(key("duration"), "a delay needs `duration`"),
        (false, true, _) => problem(key("delay"), "only `action = \"delay\"` takes `delay`"),
        (false, _, true) => problem(
            key("duration"),
            "blackhole and reset are instantaneous: no `duration`",
        ),
        _ => {
            if f.latency.is_some() || f.by.is_some() || f.ppm.is_some() || f.silent.is_some() {
                return problem(
                    key("kind"),
                    "a proxy_conn fault takes only client, action, at, delay, duration",
                );
            }
            Ok(())
        }
    }
}

fn validate_fault(
    i: usize,
    f: &FaultSpec,
    hosts: &[&str],
    run: std::time::Duration,
    clients: &[String],
) -> Result<(), Problem> {
    let key = |k: &str| format!("faults[{i}].{k}");
    if f.at.min >= run {
        return problem(
            key("at"),
            format!("starts after the run ends ({})", format_duration(run)),
        );
    }
    let kind = f.kind.as_str();
    let unknown = |h: &str| format!("unknown host `{h}`; hosts are {}", hosts.join(", "));
    if f.kind == FaultKind::ProxyConn {
        return validate_proxy_conn(i, f, clients);
    }
    if f.client.is_some() || f.action.is_some() || f.delay.is_some() {
        return problem(
            key("client"),
            "only `kind = \"proxy_conn\"` faults take `client`, `action` and `delay`",
        );
    }
    if matches!(
        f.kind,
        FaultKind::Crash | FaultKind::Sleep | FaultKind::ClockStep | FaultKind::ClockDrift
    ) {
        let Some(h) = &f.host else {
            return problem(
                key("host"),
                format!("a {kind} fault needs `host`: \"server\", \"proxy\" or a client host"),
            );
        };
        if f.between.is_some() {
            return problem(
                key("between"),
                format!("a {kind} fault takes `host`, not `between`"),
            );
        }
        if !hosts.contains(&h.as_str()) {
            return problem(key("host"), unknown(h));
        }
        if f.kind == FaultKind::Sleep && (h == "server" || h == "proxy") {
            return problem(key("host"), "only client hosts sleep");
        }
    } else {
        if f.host.is_some() {
            return problem(
                key("host"),
                "only crash, sleep and clock faults take `host`",
            );
        }
        let Some(between) = &f.between else {
            return problem(
                key("between"),
                format!("a {kind} fault needs `between = [\"<client host>\", \"proxy\"]` or [\"proxy\", \"server\"]"),
            );
        };
        for (j, h) in between.iter().enumerate() {
            if !hosts.contains(&h.as_str()) {
                return problem(format!("faults[{i}].between[{j}]"), unknown(h));
            }
        }
        let [a, b] = [between[0].as_str(), between[1].as_str()];
        let on_a_path = matches!((a, b), ("proxy", "server") | ("server", "proxy"))
            || ((a == "proxy") != (b == "proxy") && a != "server" && b != "server");
        if !on_a_path {
            return problem(
                key("between"),
                "must be a link traffic crosses: [\"<client host>\", \"proxy\"] or [\"proxy\", \"server\"]",
            );
        }
    }
    match (f.kind, f.duration) {
        (FaultKind::ClockStep, Some(_)) => {
            return problem(
                key("duration"),
                "a clock step is instantaneous: no `duration`",
            );
        }
        (FaultKind::ClockStep, None) => {}
        (_, None) => return problem(key("duration"), format!("a {kind} fault needs `duration`")),
        (_, Some(d)) if d.max.is_zero() => {
            return problem(key("duration"), "must be longer than 0s");
        }
        _ => {}
    }
    for (field, present, owner, example) in [
        (
            "latency",
            f.latency.is_some(),
            FaultKind::Latency,
            "latency = { min = \"2s\", max = \"3s\" }",
        ),
        ("by", f.by.is_some(), FaultKind::ClockStep, "by = \"-1h\""),
        ("ppm", f.ppm.is_some(), FaultKind::ClockDrift, "ppm = 500"),
    ] {
        if f.kind == owner && !present {
            return problem(
                key(field),
                format!("a {kind} fault needs `{field}`, e.g. {example}"),
            );
        }
        if f.kind != owner && present {
            return problem(
                key(field),
                format!("only `kind = \"{}\"` faults take `{field}`", owner.as_str()),
            );
        }
    }
    if f.silent.is_some() && f.kind != FaultKind::Crash {
        return problem(
            key("silent"),
            "only `kind = \"crash\"` faults take `silent`",
        );
    }
    if f.ppm.is_some_and(|p| !p.is_finite() || p.abs() > 1e6) {
        return problem(key("ppm"), "must be between -1000000 and 1000000");
    }
    Ok(())
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
duration = "60s"

[[clients]]
count = 2
host = "clients-1"

[[faults]]
kind = "partition"
between = ["clients-1", "proxy"]
at = "10s"
duration = "5s"
"#;

    fn err(text: &str) -> (usize, usize, String, String) {
        match parse("f.toml", text).unwrap_err() {
            ScenarioError::Invalid {
                line,
                column,
                field,
                message,
                ..
            } => (line, column, field, message),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn good_file_parses_with_defaults() {
        let s = parse("f.toml", GOOD).unwrap();
        assert_eq!(s.seeds, 10);
        assert_eq!(s.clients[0].room, "lobby");
        assert_eq!(
            s.client.ping_interval.0,
            Some(std::time::Duration::from_secs(20))
        );
    }

    #[test]
    fn wrong_type_names_line_column_and_field() {
        let (line, column, field, _) = err(&GOOD.replace("count = 2", "count = \"two\""));
        assert_eq!((line, column, field.as_str()), (6, 9, "clients[0].count"));
    }

    #[test]
    fn bad_duration_names_the_field() {
        let (line, _, field, message) = err(&GOOD.replace("at = \"10s\"", "at = \"10\""));
        assert_eq!((line, field.as_str()), (12, "faults[0].at"));
        assert!(message.contains("no unit"), "{message}");
    }

    #[test]
    fn unknown_key_is_an_error() {
        let (line, _, field, _) = err(&GOOD.replace("count = 2", "count = 2\ncolour = 1"));
        assert_eq!(field, "clients[0].colour");
        assert!(line >= 5, "{line}");
    }

    #[test]
    fn missing_key_is_named() {
        let (_, _, field, message) = err(&GOOD.replace("duration = \"60s\"\n", ""));
        assert_eq!(field, "duration");
        assert!(message.contains("missing"), "{message}");
    }

    #[test]
    fn unknown_fault_host_points_at_the_value() {
        let (line, column, field, message) =
            err(&GOOD.replace("\"clients-1\", \"proxy\"", "\"clients-1\", \"prxy\""));
        assert_eq!((line, field.as_str()), (11, "faults[0].between[1]"));
        assert_eq!(column, 25);
        assert!(message.contains("unknown host `prxy`"), "{message}");
    }

    #[test]
    fn syntax_error_has_a_location() {
        let (line, _, field, _) = err("name = \"t\"\nduration = \n");
        assert_eq!(line, 2);
        assert_eq!(field, "duration", "the key on the line");
        let (line, _, field, _) = err(&GOOD.replace("count = 2", "count = 99999999999999999999"));
        assert_eq!((line, field.as_str()), (6, "clients[0].count"));
        let (_, _, field, _) =
            err("name = \"t\"\n[network]\nlatency = \"1ms\"\nlatency = \"2ms\"\n");
        assert_eq!(field, "network.latency");
        let (_, _, field, _) = err("name = \"t\"\n= 3\n");
        assert_eq!(field, "(document)", "no key on the line");
    }
}
