//! The workspace's layering holds: the product crates depend only on the product's own
//! crates and a short list of runtime libraries — never on the harness, turmoil, clap,
//! indicatif, toml or toml_edit — and no product source names a harness module.

use std::path::Path;

/// What a product crate may depend on (besides other product crates).
const ALLOWED: &[&str] = &[
    "tokio",
    "tokio-tungstenite",
    "futures-util",
    "tracing",
    "rand",
    "rand_chacha",
    "serde",
    "serde_json",
    "thiserror",
    "httparse",
    // TLS for wss:// (the client's optional `tls` feature).
    "tokio-rustls",
    "rustls-native-certs",
];

const PRODUCT: &[&str] = &["time", "proto", "client", "server", "proxy"];

/// The names under `[dependencies]` of a Cargo.toml.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && !line.is_empty() && !line.starts_with('#') {
            let name = line
                .split(['=', '.', ' '])
                .next()
                .unwrap_or_default()
                .trim();
            out.push(name.to_string());
        }
    }
    out
}

#[test]
fn product_crates_depend_on_nothing_of_the_harness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for krate in PRODUCT {
        let manifest = std::fs::read_to_string(root.join("crates").join(krate).join("Cargo.toml"))
            .expect("a product manifest");
        let deps = dependencies(&manifest);
        assert!(deps.contains(&"tokio".to_string()), "{krate}: {deps:?}");
        for dep in &deps {
            let product = dep.starts_with("wsim-") && PRODUCT.contains(&&dep["wsim-".len()..]);
            assert!(
                product || ALLOWED.contains(&dep.as_str()),
                "crates/{krate} depends on {dep}, which the product may not"
            );
        }
    }
}

#[test]
fn no_product_source_names_the_harness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for krate in PRODUCT {
        let mut dirs = vec![root.join("crates").join(krate).join("src")];
        let mut files = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("a source dir") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("a source file");
                files += 1;
                for banned in [
                    "wsim::",
                    "turmoil",
                    "EventKind",
                    "crate::scenario",
                    "clap::",
                ] {
                    assert!(
                        !text.contains(banned),
                        "{} names `{banned}`",
                        path.display()
                    );
                }
            }
        }
        assert!(files > 1, "crates/{krate}/src has its sources");
    }
}

/// The harness's layers, lowest first: a module may use its own layer and those below. The
/// product's crates (re-exported as `client`, `server`, `proxy`, ...) sit below them all.
const LAYERS: &[&[&str]] = &[
    &[
        "clock",
        "wallclock",
        "fault",
        "seed",
        "client",
        "server",
        "proxy",
        "keepalive",
        "net",
        "wslink",
    ],
    &["scenario", "event", "stats", "standard"],
    &[
        "timeline",
        "render",
        "route",
        "trace",
        "schedule",
        "fault_model",
        "view",
    ],
    &["sim", "naive"],
    &["check"],
    &["verdict", "judge", "digest"],
    &["report", "sweep", "explore", "shrink", "grid", "real"],
    &["suite"],
];

/// At most this many `crate::` paths run from a lower layer up to a higher one.
const MAX_UPWARD: usize = 6;

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Every `crate::a[::b]` path in the harness's library code (each file up to its
/// `#[cfg(test)]`, comments left out), as (file, from module, to module) with modules named
/// `a` or `a/b` when `b` is a submodule of `a`.
fn harness_paths() -> Vec<(String, String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/harness/src");
    let mut files = vec![src.clone()];
    let mut out = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("a source directory") {
                files.push(entry.expect("an entry").path());
            }
            continue;
        }
        let rel = path
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .into_owned();
        if !rel.ends_with(".rs") || rel.ends_with("tests.rs") || rel.contains("/tests/") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a source file");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut parts: Vec<&str> = rel.trim_end_matches(".rs").split('/').collect();
        if parts.last() == Some(&"mod") {
            parts.pop();
        }
        let from = parts.iter().take(2).copied().collect::<Vec<_>>().join("/");
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                if line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue; // `wsim_crate::` and the like
                }
                let path: Vec<&str> = line[at + "crate::".len()..]
                    .split("::")
                    .map(|s| {
                        s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .next()
                            .unwrap_or("")
                    })
                    .collect();
                let top = path[0];
                let aliased = LAYERS[0].contains(&top); // the product's crates, aliased in lib.rs
                if !aliased && !src.join(format!("{top}.rs")).exists() && !src.join(top).is_dir() {
                    continue; // an item lib.rs re-exports at the root (`crate::Suite`)
                }
                let sub = path.get(1).filter(|s| {
                    src.join(top).join(format!("{s}.rs")).exists() || src.join(top).join(s).is_dir()
                });
                let to = sub.map_or_else(|| top.to_string(), |s| format!("{top}/{s}"));
                if to != from && rel != "lib.rs" {
                    out.push((rel.clone(), from.clone(), to));
                }
            }
        }
    }
    out
}

#[test]
fn the_harness_modules_form_layers_without_a_circle() {
    let paths = harness_paths();
    assert!(
        paths.len() > 100,
        "{} paths: the scan found the sources",
        paths.len()
    );
    // No circle between modules (a submodule of `sim`, `check`, ... counts on its own).
    let mut graph: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        std::collections::BTreeMap::new();
    for (_, from, to) in &paths {
        graph.entry(from).or_default().insert(to);
    }
    fn reaches<'a>(
        graph: &std::collections::BTreeMap<&'a str, std::collections::BTreeSet<&'a str>>,
        from: &'a str,
        target: &str,
        seen: &mut std::collections::BTreeSet<&'a str>,
    ) -> bool {
        graph.get(from).is_some_and(|next| {
            next.iter()
                .any(|&n| n == target || (seen.insert(n) && reaches(graph, n, target, seen)))
        })
    }
    for &module in graph.keys() {
        let mut seen = std::collections::BTreeSet::new();
        assert!(
            !reaches(&graph, module, module, &mut seen),
            "{module} imports itself through a circle"
        );
    }
    // Every module has a layer; few paths run upward.
    let mut upward = Vec::new();
    for (file, from, to) in &paths {
        let (from_top, to_top) = (
            from.split('/').next().unwrap_or(from),
            to.split('/').next().unwrap_or(to),
        );
        let (Some(low), Some(high)) = (layer_of(from_top), layer_of(to_top)) else {
            panic!("{file}: `{from_top}` or `{to_top}` has no layer in LAYERS");
        };
        if high > low {
            upward.push(format!("{file}: {from} -> {to}"));
        }
    }
    assert!(
        upward.len() <= MAX_UPWARD,
        "{} paths run up the layers (at most {MAX_UPWARD}):\n{}",
        upward.len(),
        upward.join("\n")
    );
}
