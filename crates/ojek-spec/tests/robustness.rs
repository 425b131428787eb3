//! Hostile or odd input: clear errors, no panics, no quadratic blow-ups, nothing read from
//! outside the manifest's directory.

use std::sync::Arc;

use ojek_spec::load::{load_app, resolve};
use ojek_spec::source::{Layer, Value, parse_yaml};
use ojek_spec::{FileReader, NoFiles};

fn parse(text: &str) -> Result<Vec<ojek_spec::Node>, ojek_spec::Diagnostic> {
    parse_yaml(&Arc::from("t.yaml"), text, Layer::Manifest)
}

#[test]
fn aliases_cannot_nest_past_the_depth_limit() {
    // Each anchor nests 40 levels and refers to the previous one: depth grows through aliases
    // without opening frames in the parser.
    let mut text = String::new();
    for i in 0..40 {
        let open = "[".repeat(40);
        let close = "]".repeat(40);
        let inner = if i == 0 {
            "x".to_string()
        } else {
            format!("*a{}", i - 1)
        };
        text.push_str(&format!("k{i}: &a{i} {open}{inner}{close}\n"));
    }
    let err = parse(&text).expect_err("too deep");
    assert!(err.message.contains("nesting deeper"), "{err}");
}

#[test]
fn integers_reject_signs_inside_prefixes_and_never_overflow() {
    let docs = parse("[0x-10, -0x8000000000000000, 0x7fffffffffffffff, -0o17, 0o8]").expect("parses");
    let Value::Seq(items) = &docs[0].value else {
        panic!("list")
    };
    assert_eq!(items[0].value, Value::String("0x-10".into()));
    assert!(matches!(items[1].value, Value::String(_) | Value::Int(i64::MIN)));
    assert_eq!(items[2].value, Value::Int(i64::MAX));
    assert_eq!(items[3].value, Value::Int(-15));
    assert_eq!(items[4].value, Value::String("0o8".into()));
}

#[test]
fn large_mappings_parse_in_linear_time_and_still_find_duplicates() {
    let mut text: String = (0..100_000).map(|i| format!("k{i}: {i}\n")).collect();
    let start = std::time::Instant::now();
    parse(&text).expect("parses");
    // Not a timing test: a quadratic duplicate check takes minutes here, not seconds.
    assert!(start.elapsed().as_secs() < 60);
    text.push_str("k77: again\n");
    let err = parse(&text).expect_err("duplicate");
    assert!(err.message.contains("duplicate key `k77`"), "{err}");
}

const APP: &str = "apiVersion: ojek.dev/v1
kind: App
metadata: {name: shop, team: t}
processes:
  files:
    kind: worker
    image: shop/w:1
    env:
      fromFile: not-a-file-reference
    files:
      /etc/app.conf:
        fromFile: app.conf
";

struct One;

impl FileReader for One {
    fn read(&self, _manifest: &str, relative: &str) -> Result<String, String> {
        match relative {
            "app.conf" => Ok("port = 1\n".into()),
            other => Err(format!("no file {other}")),
        }
    }
}

#[test]
fn only_files_maps_read_from_files() {
    let loaded = load_app("app.yaml", APP, &One).unwrap_or_else(|d| panic!("{d}"));
    let app = resolve(&loaded, "any").unwrap_or_else(|d| panic!("{d}")).app;
    let p = &app.processes["files"];
    assert_eq!(p.files["/etc/app.conf"].content.as_deref(), Some("port = 1\n"));
    assert!(
        p.env.contains_key("fromFile"),
        "an env var named fromFile is just an env var"
    );
}

#[test]
fn from_file_paths_stay_beside_the_manifest() {
    for bad in ["../secret", "/etc/passwd", "a/../../b", ""] {
        let text = APP.replace("fromFile: app.conf", &format!("fromFile: \"{bad}\""));
        let err = load_app("app.yaml", &text, &One).expect_err(bad);
        assert!(
            err.to_string()
                .contains("not a path inside the manifest's directory"),
            "{bad}: {err}"
        );
    }
    let both = APP.replace("fromFile: app.conf", "fromFile: app.conf\n        content: x");
    let err = load_app("app.yaml", &both, &One).expect_err("both");
    assert!(err.to_string().contains("not both"), "{err}");
}

#[test]
fn empty_best_effort_path_is_an_error() {
    let text = APP.replace("        fromFile: app.conf\n", "        content: x\n") + "bestEffort: [\"\"]\n";
    let err = load_app("app.yaml", &text, &NoFiles).expect_err("empty path");
    assert!(err.to_string().contains("is not a field path"), "{err}");
}

#[test]
fn nulls_inside_added_overrides_are_dropped() {
    let text = APP.replace("        fromFile: app.conf\n", "        content: x\n")
        + "environments:\n  prod:\n    processes:\n      files:\n        args: [a]\n        security: {runAsUser: 1, readOnlyRootFilesystem: null}\n";
    let loaded = load_app("app.yaml", &text, &NoFiles).unwrap_or_else(|d| panic!("{d}"));
    let app = resolve(&loaded, "prod").unwrap_or_else(|d| panic!("{d}")).app;
    let sec = app.processes["files"].security.clone().expect("security");
    assert_eq!((sec.run_as_user, sec.read_only_root_filesystem), (Some(1), None));
}
