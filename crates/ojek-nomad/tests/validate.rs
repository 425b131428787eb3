//! Rendered jobs validate against the Nomad API schema with the repository's strict validator
//! (`tools/validate/nomad.py`; Python dependencies from `scripts/install-test-deps.sh`).

mod common;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn rendered_jobs_pass_the_nomad_schema_validator() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = 0;
    for (manifest, env) in [
        (common::FULL, "production"),
        (common::SMALL, "staging"),
        (common::SMALL, "edge"),
        (common::ODD, "production"),
    ] {
        let r = common::ok(manifest, env);
        for (i, d) in r.objects.iter().enumerate() {
            let path = dir.path().join(format!("{env}-{files}-{i}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(&d.value).expect("json")).expect("write");
            files += 1;
        }
    }
    let out = Command::new("python3")
        .arg("tools/validate/nomad.py")
        .arg(dir.path())
        .current_dir(&root)
        .output()
        .expect("python3 runs (install it and run scripts/install-test-deps.sh)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "validator failed:\n{text}");
    assert!(
        text.contains(&format!("nomad-validate: {files} jobs, 0 failed")),
        "{text}"
    );
}
