//! The fake Nomad agent over raw HTTP: status codes, plain-text errors, headers, namespaces
//! and the JSON shapes of Nomad's API, independent of ojek's client.

use std::time::Duration;

use ojek_fake_cluster::nomad::{FakeNomad, FakeNomadOptions};
use serde_json::{Value, json};

fn job(id: &str, image: &str) -> Value {
    json!({"Job": {"ID": id, "Type": "service", "Datacenters": ["dc1"],
        "TaskGroups": [{"Name": "web", "Count": 2, "Update": {"AutoRevert": true},
            "Tasks": [{"Name": "web", "Driver": "docker", "Config": {"image": image, "args": ["serve"]}}]}]}})
}

async fn start(options: FakeNomadOptions) -> (FakeNomad, reqwest::Client) {
    let fake = FakeNomad::start(options).await.expect("start");
    (fake, reqwest::Client::new())
}

async fn body(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn register_read_and_index_headers() {
    let (fake, http) = start(FakeNomadOptions::default()).await;
    let url = fake.url();
    let reply: Value = http
        .post(format!("{url}/v1/jobs"))
        .json(&job("web", "a:1"))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let jmi = reply["JobModifyIndex"].as_u64().expect("JobModifyIndex");
    assert!(reply["EvalID"].as_str().is_some_and(|e| e.len() == 36), "{reply}");

    let response = http.get(format!("{url}/v1/job/web")).send().await.expect("read");
    assert_eq!(response.status(), 200);
    let index: u64 = response.headers()["X-Nomad-Index"]
        .to_str()
        .expect("header")
        .parse()
        .expect("number");
    let stored: Value = response.json().await.expect("json");
    assert_eq!(stored["ModifyIndex"].as_u64(), Some(index));
    assert_eq!(stored["JobModifyIndex"].as_u64(), Some(jmi));
    assert_eq!(stored["Namespace"], "default");
    assert_eq!(stored["Region"], "global");
    assert_eq!(stored["Priority"], 50);
    assert_eq!(stored["Version"], 0);

    let (status, text) = body(http.get(format!("{url}/v1/job/nope")).send().await.expect("read")).await;
    assert_eq!((status, text.as_str()), (404, "job not found"));

    // Stale EnforceIndex: Nomad's RPC error text, as HTTP 500.
    let mut request = job("web", "a:2");
    request["EnforceIndex"] = json!(true);
    request["JobModifyIndex"] = json!(jmi + 5);
    let (status, text) = body(
        http.post(format!("{url}/v1/jobs"))
            .json(&request)
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(
        text,
        format!(
            "Enforcing job modify index {}: job exists with conflicting job modify index: {jmi}",
            jmi + 5
        )
    );
    let mut request = job("fresh", "a:2");
    request["EnforceIndex"] = json!(true);
    request["JobModifyIndex"] = json!(3);
    let (_, text) = body(
        http.post(format!("{url}/v1/jobs"))
            .json(&request)
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(text, "Enforcing job modify index 3: job does not exist");
}

#[tokio::test]
async fn plan_diff_has_nomads_shape() {
    let (fake, http) = start(FakeNomadOptions::default()).await;
    let url = fake.url();
    http.post(format!("{url}/v1/jobs"))
        .json(&job("web", "a:1"))
        .send()
        .await
        .expect("register");
    let mut request = job("web", "a:2");
    request["Diff"] = json!(true);
    let plan: Value = http
        .post(format!("{url}/v1/job/web/plan"))
        .json(&request)
        .send()
        .await
        .expect("plan")
        .json()
        .await
        .expect("json");
    let diff = &plan["Diff"];
    assert_eq!(diff["Type"], "Edited");
    assert_eq!(diff["ID"], "web");
    let group = &diff["TaskGroups"][0];
    assert_eq!(group["Updates"], json!({"create/destroy update": 2}));
    assert_eq!(
        plan["Annotations"]["DesiredTGUpdates"]["web"]["DestructiveUpdate"],
        2
    );
    let config = &group["Tasks"][0]["Objects"][0];
    assert_eq!(config["Name"], "Config");
    assert!(config["Fields"].as_array().expect("fields").contains(&json!({
        "Type": "Edited", "Name": "image", "Old": "a:1", "New": "a:2", "Annotations": null
    })));
    assert_eq!(plan["FailedTGAllocs"], Value::Null);

    // Too big for any node: the plan says so.
    let mut huge = job("huge", "a:1");
    huge["Job"]["TaskGroups"][0]["Tasks"][0]["Resources"] = json!({"CPU": 100, "MemoryMB": 100_000});
    let plan: Value = http
        .post(format!("{url}/v1/job/huge/plan"))
        .json(&huge)
        .send()
        .await
        .expect("plan")
        .json()
        .await
        .expect("json");
    assert_eq!(plan["FailedTGAllocs"]["web"]["DimensionExhausted"]["memory"], 3);

    let (status, text) = body(
        http.post(format!("{url}/v1/job/other/plan"))
            .json(&request)
            .send()
            .await
            .expect("plan"),
    )
    .await;
    assert_eq!((status, text.as_str()), (400, "Job ID does not match"));
}

#[tokio::test]
async fn namespaces_keep_jobs_apart_and_lists_filter_by_prefix() {
    let (fake, http) = start(FakeNomadOptions::default()).await;
    let url = fake.url();
    for (ns, id) in [("default", "web"), ("payments", "web"), ("default", "worker")] {
        let mut request = job(id, "a:1");
        request["Job"]["Namespace"] = json!(ns);
        http.post(format!("{url}/v1/jobs"))
            .json(&request)
            .send()
            .await
            .expect("register");
    }
    let list = |q: &'static str| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let jobs: Vec<Value> = http
                .get(format!("{url}/v1/jobs{q}"))
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("json");
            jobs.iter()
                .map(|j| {
                    format!(
                        "{}/{}",
                        j["Namespace"].as_str().unwrap_or("?"),
                        j["ID"].as_str().unwrap_or("?")
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("").await, ["default/web", "default/worker"]);
    assert_eq!(list("?prefix=wo").await, ["default/worker"]);
    assert_eq!(list("?namespace=payments").await, ["payments/web"]);
    assert_eq!(
        list("?namespace=*&prefix=web").await,
        ["default/web", "payments/web"]
    );
    let (status, _) = body(
        http.get(format!("{url}/v1/job/worker?namespace=payments"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn deployments_allocations_and_versions() {
    let (fake, http) = start(FakeNomadOptions {
        deployment_delay: Duration::from_secs(3600),
        ..FakeNomadOptions::default()
    })
    .await;
    let url = fake.url();
    http.post(format!("{url}/v1/jobs"))
        .json(&job("web", "a:1"))
        .send()
        .await
        .expect("v0");
    http.post(format!("{url}/v1/jobs"))
        .json(&job("web", "a:2"))
        .send()
        .await
        .expect("v1");
    let deployments: Vec<Value> = http
        .get(format!("{url}/v1/job/web/deployments"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let statuses: Vec<&str> = deployments.iter().filter_map(|d| d["Status"].as_str()).collect();
    assert_eq!(statuses, ["running", "cancelled"]);
    assert_eq!(
        deployments[1]["StatusDescription"],
        "Cancelled due to newer version of job"
    );
    fake.settle();
    let latest: Value = http
        .get(format!("{url}/v1/job/web/deployment"))
        .send()
        .await
        .expect("latest")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (latest["Status"].as_str(), latest["JobVersion"].as_u64()),
        (Some("successful"), Some(1))
    );

    let allocs: Vec<Value> = http
        .get(format!("{url}/v1/job/web/allocations"))
        .send()
        .await
        .expect("allocs")
        .json()
        .await
        .expect("json");
    assert_eq!(allocs.len(), 4);
    let current: Vec<&Value> = allocs.iter().filter(|a| a["JobVersion"] == 1).collect();
    assert!(
        current
            .iter()
            .all(|a| a["ClientStatus"] == "running" && a["DesiredStatus"] == "run")
    );
    let old: Vec<&Value> = allocs.iter().filter(|a| a["JobVersion"] == 0).collect();
    assert!(
        old.iter()
            .all(|a| a["DesiredStatus"] == "stop" && a["ClientStatus"] == "complete")
    );
    assert_eq!(current[0]["Name"], "web.web[0]");
    let events: Vec<&str> = current[0]["TaskStates"]["web"]["Events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["Type"].as_str())
        .collect();
    assert_eq!(events, ["Received", "Task Setup", "Started"]);
    let id = current[0]["ID"].as_str().expect("id");
    let alloc: Value = http
        .get(format!("{url}/v1/allocation/{id}"))
        .send()
        .await
        .expect("alloc")
        .json()
        .await
        .expect("json");
    assert_eq!(
        alloc["Job"]["TaskGroups"][0]["Tasks"][0]["Config"]["image"],
        "a:2"
    );

    let versions: Value = http
        .get(format!("{url}/v1/job/web/versions?diffs=true"))
        .send()
        .await
        .expect("v")
        .json()
        .await
        .expect("json");
    assert_eq!(versions["Versions"][0]["Version"], 1);
    assert_eq!(versions["Versions"][0]["Stable"], true);
    assert_eq!(versions["Diffs"][0]["Type"], "Edited");
}

#[tokio::test]
async fn tokens_regions_and_faults() {
    let (mut fake, http) = start(FakeNomadOptions {
        acl_token: Some("t0ken".into()),
        region: "jkt".into(),
        ..FakeNomadOptions::default()
    })
    .await;
    let url = fake.url();
    let (status, text) = body(http.get(format!("{url}/v1/jobs")).send().await.expect("get")).await;
    assert_eq!((status, text.as_str()), (403, "Permission denied"));
    let with_token = |path: &str| http.get(format!("{url}{path}")).header("X-Nomad-Token", "t0ken");
    assert_eq!(with_token("/v1/jobs").send().await.expect("get").status(), 200);
    let bearer = http
        .get(format!("{url}/v1/jobs"))
        .bearer_auth("t0ken")
        .send()
        .await
        .expect("get");
    assert_eq!(bearer.status(), 200);

    let (status, text) = body(with_token("/v1/jobs?region=sgp").send().await.expect("get")).await;
    assert_eq!((status, text.as_str()), (500, "No path to region"));
    assert_eq!(
        with_token("/v1/jobs?region=jkt")
            .send()
            .await
            .expect("get")
            .status(),
        200
    );

    fake.fail_next(2, 503);
    for _ in 0..2 {
        let (status, text) = body(with_token("/v1/jobs").send().await.expect("get")).await;
        assert_eq!((status, text.as_str()), (503, "injected failure (503)"));
    }
    assert_eq!(with_token("/v1/jobs").send().await.expect("get").status(), 200);
    assert!(
        fake.requests().iter().any(|r| r == "GET /v1/jobs?region=sgp"),
        "{:?}",
        fake.requests()
    );

    fake.stop().await;
    assert!(
        http.get(format!("{url}/v1/jobs")).send().await.is_err(),
        "stopped fake refuses connections"
    );
}
