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
