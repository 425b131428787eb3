//! `ojek plan` and `ojek apply` end to end, against the fake clusters of `ojek-fake-cluster`
//! started in the test: `examples/platform.yaml` with its clusters pointed at a kubeconfig
//! for the fake Kubernetes API server (staging) and at the fake Nomad agent (production-dc,
//! with an ACL token read from `NOMAD_TOKEN`). First plan, apply with a rollout wait, a plan
//! with no changes, a field-manager conflict (exit 1 with the `--force` hint, then forced), a
//! failed rollout (exit 1 with the reason), an unreachable cluster (exit 2, named), an
//! environment without a cluster, and a missing token variable.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ojek_fake_cluster::kube::FakeKube;
use ojek_fake_cluster::nomad::{FakeNomad, FakeNomadOptions};
use serde_json::Value;

const APP: &str = "driver-location";
const KUBE_NAMESPACE: &str = "fulfilment-staging";
const NOMAD_NAMESPACE: &str = "fulfilment";
const NOMAD_JOB: &str = "driver-location-production-dc";
const NOMAD_TOKEN: &str = "fake-acl-token-for-deploy-cli";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A directory with `driver-location.yaml`, a kubeconfig for the fake Kubernetes API server
/// (context `fake`) and `platform.yaml`: the example platform file with staging's Kubernetes
/// cluster and production-dc's Nomad cluster pointed at the fakes.
fn project(kube_url: &str, nomad_url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n  - name: fake\n    cluster: {{server: \"{kube_url}\"}}\n\
         users:\n  - name: fake\n    user: {{}}\ncontexts:\n  - name: fake\n    context: {{cluster: fake, user: fake}}\n\
         current-context: fake\n"
    );
    std::fs::write(dir.path().join("kubeconfig.yaml"), kubeconfig).expect("kubeconfig");
    let example = std::fs::read_to_string(root().join("examples/platform.yaml")).expect("platform");
    let replace = |text: String, from: &str, to: &str| {
        assert!(text.contains(from), "examples/platform.yaml has no `{from}`");
        text.replacen(from, to, 1)
    };
    // A relative kubeconfig path: relative to the platform file.
    let platform = replace(
        example,
        "        kubeconfig: ~/.kube/config\n        context: kops-staging",
        "        kubeconfig: kubeconfig.yaml\n        context: fake",
    );
    let platform = replace(platform, "https://nomad.dc.gojek.io:4646", nomad_url);
    std::fs::write(dir.path().join("platform.yaml"), platform).expect("platform");
    std::fs::copy(
        root().join("examples/driver-location.yaml"),
        dir.path().join("driver-location.yaml"),
    )
    .expect("manifest");
    dir
}

/// Runs `ojek` in `dir` on a blocking thread, so the fakes on this runtime keep answering.
/// `NOMAD_TOKEN` is set unless `token` is `None`.
async fn ojek(dir: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let dir = dir.to_path_buf();
    let token = token.map(str::to_string);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ojek"));
        command.current_dir(&dir).args(&args).env_remove("NOMAD_TOKEN");
        if let Some(t) = token {
            command.env("NOMAD_TOKEN", t);
        }
        command.output().expect("run ojek")
    })
    .await
    .expect("join")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_and_plan_again_on_kubernetes() {
    let mut kube = FakeKube::start().await;
    let dir = project(&kube.url(), "http://127.0.0.1:9");
    let d = dir.path();

    let o = ojek(d, None, &["plan", "driver-location.yaml", "--env", "staging"]).await;
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let plan = out(&o);
    assert!(
        plan.starts_with("cluster staging (fake): driver-location in staging, revision 0\n"),
        "{plan}"
    );
    assert!(
        plan.contains(&format!("+ Namespace/{KUBE_NAMESPACE}\n")),
        "{plan}"
    );
    assert!(plan.contains("+ Deployment/driver-location-web\n"), "{plan}");
    assert!(!plan.contains("No changes"), "{plan}");
    assert!(kube.objects("Deployment").is_empty(), "plan must not write");

    // --json: the plan's serde JSON.
    let o = ojek(
        d,
        None,
        &["plan", "driver-location.yaml", "--env", "staging", "--json"],
    )
    .await;
    assert_eq!(code(&o), 0, "{}", err(&o));
    let json: Value = serde_json::from_str(&out(&o)).expect("plan JSON");
    assert_eq!(json["cluster"], "staging (fake)");
    assert!(
        json["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .any(|o| o["kind"] == "Deployment" && o["action"] == "create"),
        "{json}"
    );

    let o = ojek(
        d,
        None,
        &[
            "apply",
            "driver-location.yaml",
            "--env",
            "staging",
            "--wait",
            "30s",
            "--revision",
            "3",
        ],
    )
    .await;
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let report = out(&o);
    assert!(
        report.contains("Deployment/driver-location-web: created"),
        "{report}"
    );
    assert!(
        report.contains("Deployment/driver-location-web rolled out"),
        "{report}"
    );
    let deployment = kube
        .object("Deployment", KUBE_NAMESPACE, "driver-location-web")
        .expect("the Deployment was applied");
    assert_eq!(deployment["metadata"]["annotations"]["ojek.dev/revision"], "3");
    assert_eq!(deployment["metadata"]["labels"]["ojek.dev/app"], APP);

    let o = ojek(
        d,
        None,
        &[
            "plan",
            "driver-location.yaml",
            "--env",
            "staging",
            "--revision",
            "3",
        ],
    )
    .await;
    assert_eq!(code(&o), 0, "{}", err(&o));
    let plan = out(&o);
    assert!(plan.ends_with("No changes.\n"), "{plan}");
    assert!(plan.contains("= Deployment/driver-location-web\n"), "{plan}");

    // The cluster goes away: exit 2, the cluster named with the cause.
    kube.stop().await;
    let o = ojek(d, None, &["plan", "driver-location.yaml", "--env", "staging"]).await;
    assert_eq!(code(&o), 2, "{}{}", out(&o), err(&o));
    assert!(
        err(&o).starts_with("error: cluster `staging (fake)`: unreachable: "),
        "{}",
        err(&o)
    );
    let o = ojek(d, None, &["apply", "driver-location.yaml", "--env", "staging"]).await;
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(
        err(&o).contains("cluster `staging (fake)`: unreachable"),
        "{}",
        err(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_apply_on_nomad_with_a_token_from_the_environment() {
    let mut nomad = FakeNomad::start(FakeNomadOptions {
        acl_token: Some(NOMAD_TOKEN.into()),
        deployment_delay: Duration::from_millis(300),
        region: "jkt".into(),
    })
    .await
    .expect("fake Nomad");
    let dir = project("http://127.0.0.1:9", &nomad.url());
    let d = dir.path();
    let token = Some(NOMAD_TOKEN);
    let manifest = "driver-location.yaml";

    let o = ojek(d, token, &["plan", manifest, "--env", "production-dc"]).await;
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let plan = out(&o);
    assert!(
        plan.starts_with(&format!(
            "nomad cluster production-dc ({}): driver-location in production-dc, revision 0\n+ Job: \"{NOMAD_JOB}\"\n",
            nomad.url()
        )),
        "{plan}"
    );
    assert!(
        nomad.job(NOMAD_NAMESPACE, NOMAD_JOB).is_none(),
        "plan must not register"
    );

    let o = ojek(
        d,
        token,
        &[
            "apply",
            manifest,
            "--env",
            "production-dc",
            "--wait",
            "30s",
            "--revision",
            "4",
            "--json",
        ],
    )
    .await;
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let report: Value = serde_json::from_str(&out(&o)).expect("report JSON");
    assert_eq!(report["jobs"][0]["job_id"], NOMAD_JOB, "{report}");
    assert_eq!(report["jobs"][0]["status"], "successful", "{report}");
    let job = nomad.job(NOMAD_NAMESPACE, NOMAD_JOB).expect("registered");
    assert_eq!(job["Meta"]["ojek.dev/revision"], "4");
    assert!(
        nomad
            .deployments()
            .iter()
            .any(|dep| dep["JobID"] == NOMAD_JOB && dep["Status"] == "successful"),
        "the apply waited for the deployment"
    );

    let o = ojek(
        d,
        token,
        &["plan", manifest, "--env", "production-dc", "--revision", "4"],
    )
    .await;
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("No changes"), "{}", out(&o));

    // No NOMAD_TOKEN: a usage error naming the variable, before anything is sent.
    let o = ojek(d, None, &["plan", manifest, "--env", "production-dc"]).await;
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(
        err(&o).contains("environment variable NOMAD_TOKEN is not set"),
        "{}",
        err(&o)
    );

    // --force has no meaning on Nomad.
    let o = ojek(
        d,
        token,
        &["apply", manifest, "--env", "production-dc", "--force"],
    )
    .await;
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(err(&o).contains("--force"), "{}", err(&o));

    nomad.stop().await;
    let o = ojek(d, token, &["apply", manifest, "--env", "production-dc"]).await;
    assert_eq!(code(&o), 2, "{}{}", out(&o), err(&o));
    assert!(
        err(&o).contains(&format!(
            "\nerror: production-dc: cannot reach Nomad at {}",
            nomad.url()
        )),
        "{}",
        err(&o)
    );
}

#[tokio::test]
async fn an_environment_without_a_cluster_renders_but_does_not_deploy() {
    let dir = project("http://127.0.0.1:9", "http://127.0.0.1:9");
    let d = dir.path();
    // production-dc's Kubernetes section has no cluster in the example.
    let o = ojek(
        d,
        None,
        &[
            "plan",
            "driver-location.yaml",
            "--env",
            "production-dc",
            "--target",
            "kubernetes",
        ],
    )
    .await;
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(
        err(&o)
            .starts_with("error: environment production-dc has no kubernetes.cluster in the platform file"),
        "{}",
        err(&o)
    );
    let o = ojek(
        d,
        None,
        &[
            "render",
            "driver-location.yaml",
            "--env",
            "production-dc",
            "--target",
            "kubernetes",
        ],
    )
    .await;
    assert_eq!(code(&o), 0, "{}", err(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_and_a_failed_rollout_exit_1() {
    let kube = FakeKube::start().await;
    kube.set_controller(false);
    let dir = project(&kube.url(), "http://127.0.0.1:9");
    let d = dir.path();
    let staging = ["driver-location.yaml", "--env", "staging"];
    let apply = |extra: &'static [&'static str]| {
        let mut args = vec!["apply"];
        args.extend(staging);
        args.extend(extra);
        args
    };
    let o = ojek(d, None, &apply(&["--wait", "0"])).await;
    assert_eq!(code(&o), 0, "{}", err(&o));

    // Someone runs `kubectl apply --server-side --force-conflicts` with a hotfix image.
    let hotfix = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "driver-location-web"},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "hotfix:1"}]}}}});
    let url = format!(
        "{}/apis/apps/v1/namespaces/{KUBE_NAMESPACE}/deployments/driver-location-web?fieldManager=kubectl&force=true",
        kube.url()
    );
    let response = reqwest::Client::new()
        .patch(url)
        .header("Content-Type", "application/apply-patch+yaml")
        .body(hotfix.to_string())
        .send()
        .await
        .expect("kubectl apply");
    assert!(response.status().is_success(), "{}", response.status());

    let o = ojek(d, None, &[&["plan"][..], &staging[..]].concat()).await;
    assert_eq!(code(&o), 0, "{}", err(&o));
    let field = ".spec.template.spec.containers[name=\"web\"].image";
    assert!(
        out(&o).contains(&format!("! {field} is owned by kubectl")),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("unless run with --force"), "{}", out(&o));

    let o = ojek(d, None, &apply(&["--wait", "0"])).await;
    assert_eq!(code(&o), 1, "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains("Deployment/driver-location-web: FAILED"),
        "{}",
        out(&o)
    );
    assert!(err(&o).contains("Re-run with --force"), "{}", err(&o));

    let o = ojek(d, None, &apply(&["--wait", "0", "--force"])).await;
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let deployment = kube
        .object("Deployment", KUBE_NAMESPACE, "driver-location-web")
        .expect("deployment");
    let image = &deployment["spec"]["template"]["spec"]["containers"][0]["image"];
    // Staging's image (the example overrides it there), not the hotfix.
    assert_eq!(image, "registry.gojek.io/fulfilment/driver-location:2.15.0-rc.1");

    // An image that cannot be pulled: the rollout fails, with the reason, exit 1.
    kube.set_controller(true);
    let manifest = d.join("driver-location.yaml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let broken = text.replace("driver-location:2.", "driver-location:fail-pull-2.");
    assert_ne!(text, broken);
    std::fs::write(&manifest, broken).expect("write");
    let o = ojek(d, None, &apply(&["--wait", "20s"])).await;
    assert_eq!(code(&o), 1, "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("rollout FAILED"), "{}", out(&o));
    assert!(out(&o).contains("ImagePullBackOff"), "{}", out(&o));
    assert!(
        err(&o).contains("cluster `staging (fake)`: the rollout did not succeed"),
        "{}",
        err(&o)
    );
}
