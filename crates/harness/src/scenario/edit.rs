//! Edits a scenario file by key path — `client.ping_interval`, `faults[0].at`,
//! `clients.count` (every group) — keeping its comments and layout, so grid variants and
//! shrunk scenarios stay files a person can read and commit.

use thiserror::Error;
use toml_edit::{DocumentMut, Item, TableLike, Value};

/// Why an edit could not be made.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EditError {
    /// The text is not TOML.
    #[error("not a TOML document: {0}")]
    Toml(String),
    /// The key path is malformed (`a.b[0].c` is the form).
    #[error("bad key path {0:?}: expected keys separated by dots, arrays indexed like faults[0]")]
    Path(String),
    /// A key along the path holds a plain value, not a table.
    #[error("{path}: {key} is not a table")]
    NotATable {
        /// The whole path.
        path: String,
        /// The key that is not a table.
        key: String,
    },
    /// An index is past the end of its array (or the array does not exist).
    #[error("{path}: {key} has no element {index}")]
    NoElement {
        /// The whole path.
        path: String,
        /// The array's key.
        key: String,
        /// The index asked for.
        index: usize,
    },
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment<'a> {
    key: &'a str,
    index: Option<usize>,
}

fn segments(path: &str) -> Result<Vec<Segment<'_>>, EditError> {
    let bad = || EditError::Path(path.to_string());
    path.split('.')
        .map(|part| {
            let (key, index) = match part.split_once('[') {
                Some((key, rest)) => {
                    let i = rest.strip_suffix(']').ok_or_else(bad)?;
                    (key, Some(i.parse().map_err(|_| bad())?))
                }
                None => (part, None),
            };
            let valid = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if valid {
                Ok(Segment { key, index })
            } else {
                Err(bad())
            }
        })
        .collect()
}

/// A scenario file being edited.
#[derive(Debug, Clone)]
pub struct ScenarioDoc {
    doc: DocumentMut,
}

impl std::fmt::Display for ScenarioDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.doc)
    }
}

impl ScenarioDoc {
    /// Parses a scenario file's text (only as TOML; the scenario is validated when loaded).
    pub fn parse(text: &str) -> Result<Self, EditError> {
        text.parse::<DocumentMut>()
            .map(|doc| ScenarioDoc { doc })
            .map_err(|e| EditError::Toml(e.to_string()))
    }

    /// Sets the value at `path`, creating missing tables; a path through an array without an
    /// index sets the key in every element. Returns how many values were set.
    pub fn set(&mut self, path: &str, value: Value) -> Result<usize, EditError> {
        let segs = segments(path)?;
        set_in(self.doc.as_table_mut(), &segs, &value, path)
    }

    /// Sets `path` to `text` read as a TOML value: an integer, a float, `true`/`false`, or
    /// else a string (`"20s"`, `"none"`).
    pub fn set_text(&mut self, path: &str, text: &str) -> Result<usize, EditError> {
        self.set(path, infer_value(text))
    }

    /// Removes the key at `path` (the default applies again). Returns whether it was there.
    pub fn remove(&mut self, path: &str) -> Result<bool, EditError> {
        let segs = segments(path)?;
        let (last, parents) = segs
            .split_last()
            .ok_or_else(|| EditError::Path(path.into()))?;
        let mut table: &mut dyn TableLike = self.doc.as_table_mut();
        for seg in parents {
            let Some(item) = table.get_mut(seg.key) else {
                return Ok(false);
            };
            table = match (item, seg.index) {
                (Item::ArrayOfTables(a), Some(i)) => match a.get_mut(i) {
                    Some(t) => t,
                    None => return Ok(false),
                },
                (Item::Value(Value::Array(a)), Some(i)) => {
                    match a.get_mut(i).and_then(Value::as_inline_table_mut) {
                        Some(t) => t,
                        None => return Ok(false),
                    }
                }
                (item, None) => match item.as_table_like_mut() {
                    Some(t) => t,
                    None => return Ok(false),
                },
                _ => return Ok(false),
            };
        }
        Ok(table.remove(last.key).is_some())
    }

    /// The keys set in the table at `path` (`client`, `client.backoff`), in file order; empty
    /// if there is no such table.
    #[must_use]
    pub fn table_keys(&self, path: &str) -> Vec<String> {
        let mut item = self.doc.as_item();
        for key in path.split('.') {
            match item.get(key) {
                Some(child) => item = child,
                None => return Vec::new(),
            }
        }
        item.as_table_like()
            .map(|t| t.iter().map(|(k, _)| k.to_string()).collect())
            .unwrap_or_default()
    }

    /// How many elements the top-level array `key` (`faults`, `clients`) has.
    #[must_use]
    pub fn len_of(&self, key: &str) -> usize {
        match self.doc.get(key) {
            Some(Item::ArrayOfTables(a)) => a.len(),
            Some(Item::Value(Value::Array(a))) => a.len(),
            _ => 0,
        }
    }

    /// Removes element `index` of the top-level array `key`.
    pub fn remove_element(&mut self, key: &str, index: usize) -> Result<(), EditError> {
        let missing = || EditError::NoElement {
            path: format!("{key}[{index}]"),
            key: key.into(),
            index,
        };
        match self.doc.get_mut(key) {
            Some(Item::ArrayOfTables(a)) if index < a.len() => {
                a.remove(index);
                Ok(())
            }
            Some(Item::Value(Value::Array(a))) if index < a.len() => {
                a.remove(index);
                Ok(())
            }
            _ => Err(missing()),
        }
    }
}

/// Reads `text` as a TOML value, falling back to a string.
#[must_use]
pub fn infer_value(text: &str) -> Value {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = t.parse::<f64>() {
        if f.is_finite() {
            return Value::from(f);
        }
    }
    match t {
        "true" => Value::from(true),
        "false" => Value::from(false),
        _ => Value::from(t),
    }
}

fn set_in(
    table: &mut dyn TableLike,
    segs: &[Segment<'_>],
    value: &Value,
    path: &str,
) -> Result<usize, EditError> {
    let (seg, rest) = segs
        .split_first()
        .ok_or_else(|| EditError::Path(path.into()))?;
    if rest.is_empty() && seg.index.is_none() {
        match table.get_mut(seg.key) {
            Some(Item::Value(old)) => {
                let decor = old.decor().clone();
                *old = value.clone();
                *old.decor_mut() = decor;
            }
            _ => {
                table.insert(seg.key, Item::Value(value.clone()));
            }
        }
        return Ok(1);
    }
    if rest.is_empty() {
        return Err(EditError::Path(path.into()));
    }
    if table.get(seg.key).is_none() {
        if let Some(index) = seg.index {
            return Err(EditError::NoElement {
                path: path.into(),
                key: seg.key.into(),
                index,
            });
        }
        table.insert(seg.key, toml_edit::table());
    }
    let not_table = || EditError::NotATable {
        path: path.into(),
        key: seg.key.into(),
    };
    let item = table.get_mut(seg.key).ok_or_else(not_table)?;
    let mut targets: Vec<&mut dyn TableLike> = match item {
        Item::ArrayOfTables(a) => a.iter_mut().map(|t| t as &mut dyn TableLike).collect(),
        Item::Value(Value::Array(a)) => a
            .iter_mut()
            .filter_map(|v| v.as_inline_table_mut().map(|t| t as &mut dyn TableLike))
            .collect(),
        other => vec![other.as_table_like_mut().ok_or_else(not_table)?],
    };
    if let Some(index) = seg.index {
        if index >= targets.len() {
            return Err(EditError::NoElement {
                path: path.into(),
                key: seg.key.into(),
                index,
            });
        }
        targets = vec![targets.swap_remove(index)];
    }
    let mut set = 0;
    for t in targets {
        set += set_in(t, rest, value, path)?;
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"# a comment that must survive
name = "t"
duration = "60s"

[client]
ping_interval = "20s" # keepalive

[[clients]]
count = 3

[[clients]]
count = 4

[[faults]]
kind = "partition"
at = { min = "1s", max = "9s" }
"#;

    #[test]
    fn sets_existing_missing_and_array_keys_keeping_comments() {
        let mut d = ScenarioDoc::parse(DOC).unwrap();
        assert_eq!(d.set_text("client.ping_interval", "10s"), Ok(1));
        assert_eq!(d.set_text("proxy.idle_timeout", "60s"), Ok(1));
        assert_eq!(d.set_text("client.backoff.factor", "1.5"), Ok(1));
        assert_eq!(d.set_text("clients.count", "1"), Ok(2));
        assert_eq!(d.set_text("clients[1].count", "9"), Ok(1));
        assert_eq!(d.set_text("faults[0].at", "5s"), Ok(1));
        let text = d.to_string();
        assert!(text.contains("# a comment that must survive"));
        assert!(
            text.contains("ping_interval = \"10s\" # keepalive"),
            "{text}"
        );
        let s = crate::scenario::parse("t.toml", &format!("{text}\n")).unwrap_err();
        // `kind = partition` needs `between`: the edit itself is valid TOML, the scenario not.
        assert!(s.to_string().contains("between"), "{s}");
        let v: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(v["proxy"]["idle_timeout"].as_str(), Some("60s"));
        assert_eq!(v["client"]["backoff"]["factor"].as_float(), Some(1.5));
        assert_eq!(v["clients"][0]["count"].as_integer(), Some(1));
        assert_eq!(v["clients"][1]["count"].as_integer(), Some(9));
        assert_eq!(v["faults"][0]["at"].as_str(), Some("5s"));
    }

    #[test]
    fn bad_paths_and_missing_elements_are_errors() {
        let mut d = ScenarioDoc::parse(DOC).unwrap();
        assert!(matches!(d.set_text("a..b", "1"), Err(EditError::Path(_))));
        assert!(matches!(d.set_text("x[", "1"), Err(EditError::Path(_))));
        assert!(matches!(
            d.set_text("clients[5].count", "1"),
            Err(EditError::NoElement { index: 5, .. })
        ));
        assert!(matches!(
            d.set_text("name.x", "1"),
            Err(EditError::NotATable { .. })
        ));
    }

    #[test]
    fn removes_keys_and_array_elements() {
        let mut d = ScenarioDoc::parse(DOC).unwrap();
        assert_eq!(d.len_of("clients"), 2);
        d.remove_element("clients", 0).unwrap();
        assert_eq!(d.len_of("clients"), 1);
        assert!(d.remove_element("clients", 3).is_err());
        assert_eq!(d.table_keys("client"), ["ping_interval"]);
        assert!(d.table_keys("proxy").is_empty());
        assert_eq!(d.remove("client.ping_interval"), Ok(true));
        assert_eq!(d.remove("client.ping_interval"), Ok(false));
        assert!(!d.to_string().contains("ping_interval"));
    }
}
