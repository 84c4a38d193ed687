//! `wsim settings`: a scenario's `[server]` settings, for starting a server under test with
//! them — as `wsim serve` flags, as environment variables, or as JSON — so that nobody parses
//! the scenario file to learn what `wsim drive` will judge the server by.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::ValueEnum;

use crate::cli::EXIT_BAD_INPUT;

/// How `wsim settings` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SettingsFormat {
    /// `wsim serve` flags on one line (`wsim serve $(wsim settings F)`); the settings it has
    /// no flag for are named in a comment line on stderr.
    Flags,
    /// `WSIM_…` environment variables, one `NAME=value` per line (durations in
    /// milliseconds, `none` for a disabled timer): `env $(wsim settings F --format env) …`.
    Env,
    /// One JSON object: durations in milliseconds (`null`: disabled).
    Json,
}

/// `wsim settings`.
#[derive(Debug, clap::Args)]
pub(crate) struct SettingsArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// How to print them.
    #[arg(long, value_enum, default_value_t = SettingsFormat::Flags)]
    format: SettingsFormat,
}

/// One setting: its name (snake_case), value and whether `wsim serve` takes it as a flag.
struct Setting {
    name: &'static str,
    value: Value,
    serve_flag: bool,
}

enum Value {
    Millis(Option<Duration>),
    Count(usize),
    Word(&'static str),
}

fn settings(scenario: &wsim::ScenarioFile) -> Vec<Setting> {
    let s = scenario.server_config();
    let keyless = match s.keyless_resume {
        wsim_server::KeylessResume::ClientId => "client_id",
        wsim_server::KeylessResume::Key => "key",
    };
    let set = |name, value, serve_flag| Setting {
        name,
        value,
        serve_flag,
    };
    vec![
        set("grace", Value::Millis(Some(s.grace)), true),
        set("ping_interval", Value::Millis(s.heartbeat.interval), true),
        set("ping_timeout", Value::Millis(s.heartbeat.timeout), true),
        set("max_message_bytes", Value::Count(s.max_message_bytes), true),
        set("keyless_resume", Value::Word(keyless), true),
        set("send_queue_bytes", Value::Count(s.send_queue.bytes), true),
        set("send_queue_frames", Value::Count(s.send_queue.frames), true),
        set("history_limit", Value::Count(s.history_limit), false),
        set("dedup_ttl", Value::Millis(Some(s.dedup_ttl)), false),
        set("dedup_limit", Value::Count(s.dedup_limit), false),
        set("max_sessions", Value::Count(s.max_sessions), false),
    ]
}

impl Value {
    /// As a flag's or variable's value: "10000ms", "none", a number, a word.
    fn text(&self, unit: &str) -> String {
        match self {
            Value::Millis(Some(d)) => format!("{}{unit}", d.as_millis()),
            Value::Millis(None) => "none".into(),
            Value::Count(n) => n.to_string(),
            Value::Word(w) => (*w).to_string(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Value::Millis(Some(d)) => {
                serde_json::json!(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            }
            Value::Millis(None) => serde_json::Value::Null,
            Value::Count(n) => serde_json::json!(n),
            Value::Word(w) => serde_json::json!(w),
        }
    }

    fn is_duration(&self) -> bool {
        matches!(self, Value::Millis(_))
    }
}

/// What `wsim settings` prints for `scenario` in `format`: stdout's lines, and a note for
/// stderr (empty if none) — on stderr so `wsim serve $(wsim settings F)` takes only flags.
fn render(scenario: &wsim::ScenarioFile, format: SettingsFormat) -> (String, String) {
    let all = settings(scenario);
    match format {
        SettingsFormat::Flags => {
            let flags: Vec<String> = all
                .iter()
                .filter(|s| s.serve_flag)
                .map(|s| format!("--{} {}", s.name.replace('_', "-"), s.value.text("ms")))
                .collect();
            let rest: Vec<String> = all
                .iter()
                .filter(|s| !s.serve_flag)
                .map(|s| format!("{} {}", s.name, s.value.text("ms")))
                .collect();
            let note = if rest.is_empty() {
                String::new()
            } else {
                format!(
                    "# settings wsim serve takes no flag for (it runs with its defaults of them): {}\n",
                    rest.join(", ")
                )
            };
            (format!("{}\n", flags.join(" ")), note)
        }
        SettingsFormat::Env => (
            all.iter()
                .map(|s| {
                    let suffix = if s.value.is_duration() { "_MS" } else { "" };
                    format!(
                        "WSIM_{}{suffix}={}\n",
                        s.name.to_uppercase(),
                        s.value.text("")
                    )
                })
                .collect(),
            String::new(),
        ),
        SettingsFormat::Json => {
            let mut map = serde_json::Map::new();
            for s in &all {
                let key = if s.value.is_duration() {
                    format!("{}_ms", s.name)
                } else {
                    s.name.to_string()
                };
                map.insert(key, s.value.json());
            }
            (
                format!("{}\n", serde_json::Value::Object(map)),
                String::new(),
            )
        }
    }
}

pub(crate) fn settings_command(args: SettingsArgs) -> ExitCode {
    match wsim::scenario::load(&args.scenario) {
        Ok(scenario) => {
            let (out, note) = render(&scenario, args.format);
            print!("{out}");
            eprint!("{note}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}
