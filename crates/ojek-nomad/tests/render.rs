//! Rendering apps for Nomad: the mapping, origins, unsupported fields, escape hatches.

mod common;

use common::{FULL, SMALL, jobs, ok, render};
use ojek_output::OriginKind;
use serde_json::{Value, json};

const S: i64 = 1_000_000_000;

fn group<'a>(job: &'a Value, name: &str) -> &'a Value {
    job["Job"]["TaskGroups"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["Name"] == name))
        .unwrap_or_else(|| panic!("no group {name}"))
}

fn task<'a>(g: &'a Value, name: &str) -> &'a Value {
    g["Tasks"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["Name"] == name))
        .unwrap_or_else(|| panic!("no task {name}"))
}

/// A one-process app whose process body is `body` (indented under the process).
fn app(kind: &str, body: &str, extra: &str) -> String {
    let body: String = body.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: shop\n  team: retail\nprocesses:\n  main:\n    kind: {kind}\n    image: shop:1\n{body}{extra}"
    )
}

/// Errors of a render that must fail, as text.
fn errors(manifest: &str, env: &str) -> String {
    match render(manifest, env) {
        Ok(r) => panic!("expected errors, rendered {} objects", r.objects.len()),
        Err(d) => d.to_string(),
    }
}

#[test]
fn jobs_per_process_kind() {
    let r = ok(FULL, "production");
    let ids: Vec<&str> = r.objects.iter().map(|d| d.name()).collect();
    assert_eq!(
        ids,
        [
            "payments-production",
            "payments-production-report",
            "payments-production-migrate-once"
        ]
    );
    let all = jobs(&r);
    assert_eq!(all[0]["Job"]["Type"], "service");
    let groups: Vec<&Value> = all[0]["Job"]["TaskGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| &g["Name"])
        .collect();
    assert_eq!(groups, ["web", "consumer"]);
    assert_eq!(all[1]["Job"]["Type"], "batch");
    assert_eq!(all[2]["Job"]["Type"], "batch");
    assert!(all[2]["Job"].get("Periodic").is_none());
    let job = &all[0]["Job"];
    assert_eq!(job["Region"], "jkt");
    assert_eq!(job["Datacenters"], json!(["jkt1", "jkt2"]));
    assert_eq!(
        job["Namespace"], "money-production",
        "the environment's namespace template"
    );
    assert_eq!(job["Meta"]["app"], "payments");
    assert_eq!(job["Meta"]["team"], "money");
    assert_eq!(job["Meta"]["env"], "production");
    assert_eq!(job["Meta"]["tier"], "backend");
    assert_eq!(job["Meta"]["example.com/owner"], "money-team");
    assert_eq!(job["Priority"], 70, "the targets.nomad merge patch applies");

    // Only cron and job processes: no service job.
    let cron_only = app("cron", "schedule: \"@midnight\"", "");
    let r = ok(&cron_only, "staging");
    assert_eq!(r.objects.len(), 1);
    let j = &r.objects[0].value["Job"];
    assert_eq!(j["ID"], "shop-staging-main");
    assert_eq!(j["Namespace"], "default");
    assert_eq!(
        j["Periodic"],
        json!({"Spec": "@daily", "SpecType": "cron", "ProhibitOverlap": true, "TimeZone": "UTC", "Enabled": true}),
        "unset concurrency forbids overlapping runs, as on Kubernetes"
    );
}

#[test]
fn groups_count_network_services_and_checks() {
    let all = jobs(&ok(FULL, "production"));
    let web = group(&all[0], "web");
    assert_eq!(web["Count"], 3);
    assert_eq!(
        web["Networks"],
        json!([{"Mode": "bridge", "DynamicPorts": [{"Label": "http", "To": 8080}, {"Label": "grpc", "To": 9090}]}])
    );
    let services = web["Services"].as_array().expect("services");
    assert_eq!(services.len(), 2);
    assert_eq!(services[0]["Name"], "payments-web");
    assert_eq!(services[0]["PortLabel"], "http");
    assert_eq!(services[0]["Provider"], "consul");
    assert_eq!(services[1]["Name"], "payments-web-grpc");
    let liveness = &services[0]["Checks"][0];
    assert_eq!(liveness["Type"], "http");
    assert_eq!(liveness["Path"], "/healthz");
    assert_eq!(liveness["Interval"], 15 * S);
    assert_eq!(liveness["Timeout"], 2 * S);
    assert_eq!(liveness["CheckRestart"], json!({"Limit": 5, "Grace": 20 * S}));
    let readiness = &services[1]["Checks"][0];
    assert_eq!(readiness["Type"], "grpc");
    assert_eq!(readiness["GRPCService"], "payments.v1.Payments");
    assert_eq!(readiness["Interval"], 10 * S, "Kubernetes' default period");
    assert_eq!(readiness["Timeout"], S);
    assert_eq!(readiness["FailuresBeforeCritical"], 2);
    assert_eq!(readiness["InitialStatus"], "critical");
    assert!(readiness.get("CheckRestart").is_none());

    // Traefik route tags.
    let tags = services[0]["Tags"].as_array().expect("tags");
    assert!(tags.contains(&json!("traefik.enable=true")));
    assert!(tags.contains(&json!(
        "traefik.http.routers.payments-production-web-0.rule=Host(`pay.example.com`) && PathPrefix(`/api`)"
    )));
    assert!(tags.contains(&json!("traefik.http.routers.payments-production-web-0.tls=true")));
    assert!(services[1]["Tags"].as_array().expect("tags").contains(&json!(
        "traefik.http.services.payments-web-grpc.loadbalancer.server.scheme=h2c"
    )));

    // A worker's exec liveness check rides on a port-less service.
    let consumer = group(&all[0], "consumer");
    assert!(consumer.get("Networks").is_none());
    let svc = &consumer["Services"][0];
    assert_eq!(svc["Name"], "payments-consumer");
    assert!(svc.get("PortLabel").is_none());
    assert_eq!(svc["Checks"][0]["Type"], "script");
    assert_eq!(svc["Checks"][0]["Command"], "/app/healthcheck");
    assert_eq!(svc["Checks"][0]["Args"], json!(["--quick"]));
    assert_eq!(svc["Checks"][0]["TaskName"], "consumer");
    assert_eq!(svc["Checks"][0]["CheckRestart"]["Limit"], 3);
}

#[test]
fn worker_checks_share_one_service_whatever_their_kinds() {
    let exec = "exec: {command: [/bin/check]}";
    let http = "http: {path: /ready, port: http}";
    for (liveness, readiness) in [(exec, http), (http, exec)] {
        let m = app(
            "worker",
            &format!(
                "ports: {{http: {{port: 8080}}}}\nhealth:\n  liveness: {{{liveness}}}\n  readiness: {{{readiness}}}"
            ),
            "",
        );
        let r = ok(&m, "production");
        let services = r.objects[0].value["Job"]["TaskGroups"][0]["Services"]
            .as_array()
            .expect("services");
        let names: Vec<&Value> = services.iter().map(|s| &s["Name"]).collect();
        assert_eq!(names, [&json!("shop-main")], "{services:?}");
        assert_eq!(services[0]["PortLabel"], "http");
        let types: Vec<&Value> = services[0]["Checks"]
            .as_array()
            .expect("checks")
            .iter()
            .map(|c| &c["Type"])
            .collect();
        assert_eq!(types.len(), 2, "{types:?}");
    }
}

#[test]
fn tasks_resources_files_and_volumes() {
    let all = jobs(&ok(FULL, "production"));
    let web = group(&all[0], "web");
    let main = task(web, "web");
    assert_eq!(main["Driver"], "docker");
    assert_eq!(main["User"], "1000");
    let config = &main["Config"];
    assert_eq!(config["image"], "registry.example.com/money/payments:1.4.2");
    assert_eq!(config["entrypoint"], json!(["/app/server"]));
    assert_eq!(config["args"], json!(["--port", "8080"]));
    assert_eq!(config["readonly_rootfs"], true);
    assert_eq!(config["cpu_hard_limit"], true, "limit = request is a hard cap");
    assert_eq!(
        main["Resources"],
        json!({"CPU": 1200, "MemoryMB": 256, "MemoryMaxMB": 512})
    );
    assert_eq!(main["KillTimeout"], 45 * S);
    assert_eq!(
        config["volumes"],
        json!(["local/volumes/cache:/var/cache/payments"])
    );
    let mounts = config["mount"].as_array().expect("mounts");
    assert_eq!(
        mounts[0],
        json!({"type": "bind", "source": "local/files/etc/payments/config.yaml", "target": "/etc/payments/config.yaml", "readonly": true})
    );
    assert_eq!(
        mounts[2],
        json!({"type": "tmpfs", "target": "/scratch", "readonly": false, "tmpfs_options": {"size": 67_108_864}})
    );
    assert_eq!(web["EphemeralDisk"]["SizeMB"], 300 + 1024);

    let templates = main["Templates"].as_array().expect("templates");
    let config_file = &templates[0];
    assert_eq!(config_file["DestPath"], "local/files/etc/payments/config.yaml");
    assert_eq!(config_file["Perms"], "600");
    assert_eq!(
        config_file["EmbeddedTmpl"], "listen: 8080\ngreeting: \"{{ hello }}\"\nprice: ${PRICE}\n",
        "content is kept as written"
    );
    assert!(
        config_file["LeftDelim"]
            .as_str()
            .is_some_and(|d| !d.contains("{{")),
        "other delimiters keep {{{{ literal"
    );
    assert_eq!(
        config_file["Uid"], 1000,
        "the file belongs to the user the task runs as"
    );

    // Persistent volume: a host volume per replica.
    let consumer = group(&all[0], "consumer");
    assert_eq!(
        consumer["Volumes"]["data"],
        json!({"Name": "data", "Type": "host", "Source": "production-payments-data", "ReadOnly": false, "PerAlloc": true})
    );
    assert_eq!(
        task(consumer, "consumer")["VolumeMounts"],
        json!([{"Volume": "data", "Destination": "/data", "ReadOnly": false}])
    );
    assert_eq!(
        task(consumer, "consumer")["Resources"],
        json!({"CPU": 600, "MemoryMB": 300})
    );

    // Sidecars and init containers.
    let proxy = task(web, "proxy");
    assert_eq!(proxy["Lifecycle"], json!({"Hook": "prestart", "Sidecar": true}));
    assert_eq!(proxy["Resources"], json!({"CPU": 240, "MemoryMB": 64}));
    let migrate = task(web, "migrate");
    assert_eq!(
        migrate["Lifecycle"],
        json!({"Hook": "prestart", "Sidecar": false})
    );
    assert_eq!(migrate["Config"]["entrypoint"], json!(["/app/migrate"]));
}

#[test]
fn env_literals_and_secret_templates() {
    let all = jobs(&ok(FULL, "production"));
    let main = task(group(&all[0], "web"), "web");
    assert_eq!(
        main["Env"],
        json!({"LOG_LEVEL": "info", "WORKERS": "4", "DEBUG": "false", "DB_HOST": "payments-db.service.consul"})
    );
    let templates = main["Templates"].as_array().expect("templates");
    let env_templates: Vec<&Value> = templates.iter().filter(|t| t["Envvars"] == true).collect();
    assert_eq!(env_templates.len(), 2);
    let db_url = env_templates[0];
    assert_eq!(db_url["DestPath"], "secrets/env/DB_URL.env");
    assert_eq!(db_url["ChangeMode"], "restart");
    assert_eq!(
        db_url["EmbeddedTmpl"],
        "DB_URL=\"postgres://app:{{ with nomadVar \"database/payments\" }}{{ .password | print | replaceAll \"\\\\\" \"\\\\\\\\\" | replaceAll \"\\\"\" \"\\\\\\\"\" | replaceAll \"\\n\" \"\\\\n\" | replaceAll \"\\t\" \"\\\\t\" }}{{ end }}@payments-db.service.consul:5432/payments\"\n",
        "a value mixing text and secrets is one line"
    );
    assert_eq!(
        env_templates[1]["EmbeddedTmpl"],
        "API_KEY=\"{{ with nomadVar \"secret/money/payments/stripe\" }}{{ index . \"api-key\" | print | replaceAll \"\\\\\" \"\\\\\\\\\" | replaceAll \"\\\"\" \"\\\\\\\"\" | replaceAll \"\\n\" \"\\\\n\" | replaceAll \"\\t\" \"\\\\t\" }}{{ end }}\"\n",
        "manifest secrets live under the profile's secretsPath"
    );
    // Without a secretsPath in the profile: nomad/jobs/{app}.
    let m = app("worker", "env:\n  TOKEN: {secret: api, key: token}", "");
    let t = &ok(&m, "staging").objects[0].value["Job"]["TaskGroups"][0]["Tasks"][0];
    assert_eq!(
        t["Templates"][0]["EmbeddedTmpl"],
        "TOKEN=\"{{ with nomadVar \"nomad/jobs/shop/api\" }}{{ .token | print | replaceAll \"\\\\\" \"\\\\\\\\\" | replaceAll \"\\\"\" \"\\\\\\\"\" | replaceAll \"\\n\" \"\\\\n\" | replaceAll \"\\t\" \"\\\\t\" }}{{ end }}\"\n"
    );
    assert!(t.get("Env").is_none());
}

#[test]
fn env_template_text_uses_only_dotenv_escapes() {
    // go-envparse reads only \\ \" \n \t in double quotes: no JSON escapes such as \u0026,
    // which toJSON writes for `&`, `<` and `>`.
    let db = "resources:\n  db:\n    type: postgres\n";
    let m = app(
        "worker",
        r#"env:
  X: "a&b<c> \"q\" \\ {{x}}\t${resources.db.password}\n""#,
        db,
    );
    let t = &ok(&m, "staging").objects[0].value["Job"]["TaskGroups"][0]["Tasks"][0];
    let line = t["Templates"][0]["EmbeddedTmpl"].as_str().expect("template");
    let secret = r#"{{ with nomadVar "database/shop" }}{{ .password | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"#;
    assert_eq!(
        line,
        format!("X=\"a&b<c> \\\"q\\\" \\\\ {{{{ \"{{{{\" }}}}x}}}}\\t{secret}\\n\"\n")
    );
    assert!(!line.contains("toJSON") && !line.contains("\\u"), "{line}");
    // Other control characters cannot be written: an error at the variable.
    let m = app("worker", "env:\n  X: \"a\\u0001${resources.db.password}\"", db);
    let text = errors(&m, "staging");
    assert!(text.contains("processes.main.env.X"), "{text}");
    assert!(text.contains("control character"), "{text}");
}

#[test]
fn invalid_variable_paths_are_errors() {
    let m = app("worker", "env:\n  TOKEN: {secret: api.v1, key: token}", "");
    let text = errors(&m, "staging");
    assert!(text.contains("processes.main.env.TOKEN"), "{text}");
    assert!(text.contains("nomad/jobs/shop/api.v1"), "{text}");
    assert!(text.contains("1 to 128 characters"), "{text}");
}

#[test]
fn no_secret_value_is_rendered() {
    // Secrets are references: the output names their Variable paths and keys, every variable
    // with a secret part is an env template (never an `Env` literal), and env templates read
    // secrets only through nomadVar.
    let r = ok(FULL, "production");
    let json_text = serde_json::to_string(&jobs(&r)).expect("json");
    let hcl_text: String = r
        .objects
        .iter()
        .map(|d| ojek_nomad::to_hcl(&d.value).expect("hcl"))
        .collect();
    for text in [&json_text, &hcl_text] {
        for name in [
            "database/payments",
            "secret/money/payments/stripe",
            "password",
            "api-key",
        ] {
            assert!(text.contains(name), "{name} missing");
        }
    }
    let mut templates = 0;
    for job in jobs(&r) {
        for g in job["Job"]["TaskGroups"].as_array().expect("groups") {
            for t in g["Tasks"].as_array().expect("tasks") {
                let env_templates: Vec<&str> = t["Templates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|x| x["Envvars"] == true)
                    .map(|x| x["EmbeddedTmpl"].as_str().expect("template"))
                    .collect();
                for tmpl in &env_templates {
                    templates += 1;
                    let var = tmpl.split('=').next().expect("name");
                    assert!(t["Env"].get(var).is_none(), "{var} is also an Env literal");
                    // Every action reads a Variable, ends its block, prints a key of it, or
                    // escapes braces.
                    for action in tmpl.split("{{").skip(1) {
                        let action = action.split("}}").next().expect("action").trim();
                        assert!(
                            action.starts_with("with nomadVar ")
                                || action == "end"
                                || action == "\"{{\""
                                || ((action.starts_with('.') || action.starts_with("index . "))
                                    && action.contains(" | print | replaceAll ")),
                            "unexpected action {action:?} in {tmpl}"
                        );
                    }
                }
                for (name, value) in t["Env"].as_object().into_iter().flatten() {
                    let value = value.as_str().expect("string");
                    assert!(!value.contains("nomadVar"), "{name}");
                }
            }
        }
    }
    assert!(templates >= 2, "DB_URL and API_KEY at least: {templates}");
    for (pointer, o) in r.objects[0].origins.iter() {
        assert!(
            o.note.matches("never rendered").count() <= 1,
            "{pointer}: {}",
            o.note
        );
    }
    let main = task(group(&r.objects[0].value, "web"), "web");
    assert!(main["Env"].get("DB_URL").is_none());
    assert!(main["Env"].get("API_KEY").is_none());
}

#[test]
fn scaling_update_and_disruption() {
    let all = jobs(&ok(FULL, "production"));
    let web = group(&all[0], "web");
    assert_eq!(
        web["Update"],
        json!({"MaxParallel": 1, "Canary": 1, "AutoPromote": false, "AutoRevert": true, "HealthCheck": "checks",
               "MinHealthyTime": 10 * S, "HealthyDeadline": 300 * S, "ProgressDeadline": 600 * S})
    );
    assert_eq!(web["Migrate"], json!({"MaxParallel": 1, "HealthCheck": "checks"}));
    assert_eq!(web["RestartPolicy"]["Mode"], "fail");
    assert_eq!(web["ReschedulePolicy"]["Unlimited"], true);

    let consumer = group(&all[0], "consumer");
    assert_eq!(consumer["Count"], 1, "starts at min");
    let scaling = &consumer["Scaling"];
    assert_eq!(scaling["Min"], 1);
    assert_eq!(scaling["Max"], 10);
    assert_eq!(scaling["Enabled"], true);
    assert_eq!(scaling["Type"], "horizontal");
    let checks = scaling["Policy"]["check"].as_array().expect("checks");
    assert_eq!(
        checks[0],
        json!({"cpu": [{"source": "nomad-apm", "query": "avg_cpu-allocated", "strategy": [{"target-value": [{"target": 70}]}]}]})
    );
    assert_eq!(
        checks[1],
        json!({"kafka-lag": [{"source": "prometheus",
            "query": "ceil(sum(kafka_consumergroup_lag{consumergroup=\"payments-events\",topic=\"events\"}) / 1000)",
            "strategy": [{"pass-through": [{}]}]}]})
    );

    // Percentages resolve against the count; recreate replaces everything at once.
    let m = app(
        "service",
        "ports: {http: {port: 80}}\nscaling: {replicas: 8}\nupdate: {maxSurge: 25%}",
        "",
    );
    assert_eq!(
        group(&ok(&m, "staging").objects[0].value, "main")["Update"]["MaxParallel"],
        2
    );
    let m = app(
        "service",
        "ports: {http: {port: 80}}\nscaling: {autoscale: {min: 2, max: 6, cpu: 80}}\ncpu: {request: 1}\nupdate: {strategy: recreate}",
        "",
    );
    let g = ok(&m, "staging").objects[0].value.clone();
    assert_eq!(group(&g, "main")["Update"]["MaxParallel"], 6);
    assert_eq!(group(&g, "main")["Count"], 2);
}

#[test]
fn batch_jobs_retries_and_schedule() {
    let all = jobs(&ok(FULL, "production"));
    let report = &all[1]["Job"];
    assert_eq!(report["ID"], "payments-production-report");
    assert_eq!(
        report["Periodic"],
        json!({"Spec": "30 2 * * *", "SpecType": "cron", "ProhibitOverlap": true, "TimeZone": "Asia/Jakarta", "Enabled": true})
    );
    let g = &report["TaskGroups"][0];
    assert_eq!(g["Count"], 1);
    assert_eq!(
        g["RestartPolicy"],
        json!({"Attempts": 2, "Delay": 15 * S, "Interval": 86_400 * S, "Mode": "fail"})
    );
    assert_eq!(g["ReschedulePolicy"], json!({"Attempts": 0, "Unlimited": false}));
    assert!(g.get("Update").is_none());
    assert!(g.get("Services").is_none());
    let once = &all[2]["Job"]["TaskGroups"][0];
    assert_eq!(
        once["RestartPolicy"]["Attempts"], 0,
        "no retries without `retries`, as on Kubernetes (backoffLimit 0)"
    );
    assert_eq!(
        once["ReschedulePolicy"],
        json!({"Attempts": 0, "Unlimited": false})
    );
}

#[test]
fn origins_point_at_manifest_platform_and_defaults() {
    let r = ok(FULL, "production");
    let doc = &r.objects[0];
    let origin = |p: &str| {
        doc.origin(p)
            .map(|(_, o)| o.clone())
            .unwrap_or_else(|| panic!("no origin for {p}"))
    };
    let count = origin("/Job/TaskGroups/0/Count");
    assert_eq!(count.field.as_deref(), Some("processes.web.scaling.replicas"));
    assert_eq!(count.kind, OriginKind::Manifest);
    assert!(count.location.is_some_and(|l| l.line > 1));
    let region = origin("/Job/Region");
    assert_eq!(region.kind, OriginKind::Platform);
    assert_eq!(region.field.as_deref(), Some("profiles.dc1.nomad.region"));
    let interval = origin("/Job/TaskGroups/0/Services/1/Checks/0/Interval");
    assert_eq!(interval.kind, OriginKind::Default);
    assert!(!interval.note.is_empty());
    let liveness = origin("/Job/TaskGroups/0/Services/0/Checks/0/Interval");
    assert_eq!(
        liveness.field.as_deref(),
        Some("processes.web.health.liveness.interval")
    );
    let env = origin("/Job/TaskGroups/0/Tasks/0/Env/DB_HOST");
    assert_eq!(env.field.as_deref(), Some("processes.web.env.DB_HOST"));
    assert!(env.note.contains("bindings.postgres.host.nomad"), "{}", env.note);
    let cpu = origin("/Job/TaskGroups/0/Tasks/0/Resources/CPU");
    assert!(cpu.note.contains("2400 MHz"), "{}", cpu.note);
    let patched = origin("/Job/Priority");
    assert_eq!(patched.kind, OriginKind::Patch);
    let file = origin("/Job/TaskGroups/0/Tasks/0/Templates/0/DestPath");
    assert_eq!(
        file.field.as_deref(),
        Some("processes.web.files[\"/etc/payments/config.yaml\"]")
    );
    // Every leaf has an origin of its own or from a traced ancestor, not just the object's.
    for d in &r.objects {
        for (p, _) in d.leaves() {
            let (at, _) = d.origin(&p).expect("origin");
            assert!(!at.is_empty(), "{p} of {} has only the object origin", d.id());
        }
    }
    // Image tags and fixed replicas are parameters.
    let params: Vec<&str> = doc.params.iter().map(|p| p.name.as_str()).collect();
    assert!(
        params.contains(&"web.image.tag") && params.contains(&"web.replicas"),
        "{params:?}"
    );
    let tag = doc
        .params
        .iter()
        .find(|p| p.name == "web.image.tag")
        .expect("tag");
    assert_eq!(
        tag.prefix.as_deref(),
        Some("registry.example.com/money/payments:")
    );
}

/// Manifest leaves that no origin names (itself or an ancestor below the process level)
/// and no diagnostic reports.
#[test]
fn every_manifest_field_is_traced() {
    let (resolved, platform) = common::load(FULL, "production");
    let src = ojek_output::Sources {
        app: &resolved,
        platform: &platform,
    };
    let r = ojek_nomad::render(&src).expect("render");
    let mut fields: Vec<String> = Vec::new();
    for d in &r.objects {
        fields.extend(d.origins.values().filter_map(|o| o.field.clone()));
    }
    let reported: Vec<String> = r.warnings.0.iter().filter_map(|d| d.path.clone()).collect();
    let mut leaves = Vec::new();
    collect(&resolved.node, ojek_spec::Path::root(), &mut leaves);
    let mut missing = Vec::new();
    for leaf in leaves {
        let text = leaf.to_string();
        if !text.starts_with("processes.") && !text.starts_with("metadata.") {
            continue;
        }
        let covered = (3..=leaf.0.len()).any(|n| {
            let prefix = ojek_spec::Path(leaf.0[..n].to_vec()).to_string();
            fields.contains(&prefix) || reported.contains(&prefix)
        }) || (leaf.0.len() == 2 && fields.contains(&text));
        if !covered {
            missing.push(text);
        }
    }
    assert!(missing.is_empty(), "untraced manifest fields: {missing:#?}");
}

fn collect(node: &ojek_spec::Node, path: ojek_spec::Path, out: &mut Vec<ojek_spec::Path>) {
    use ojek_spec::source::Value;
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => entries
            .iter()
            .for_each(|(k, v)| collect(v, path.key(&k.name), out)),
        Value::Seq(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| collect(v, path.index(i), out)),
        _ => out.push(path),
    }
}

#[test]
fn unsupported_fields_are_errors_naming_field_and_target() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "service",
            "ports: {http: {port: 80}}\nhealth:\n  startup: {http: {path: /}}",
            "",
            "processes.main.health.startup",
        ),
        (
            "worker",
            "placement:\n  tolerations: [{key: gpu}]",
            "",
            "processes.main.placement.tolerations",
        ),
        (
            "worker",
            "security: {runAsNonRoot: true}",
            "",
            "processes.main.security.runAsNonRoot",
        ),
        (
            "worker",
            "cpu: {request: 250m, limit: 1}",
            "",
            "processes.main.cpu.limit",
        ),
        (
            "cron",
            "schedule: \"@hourly\"\nconcurrency: replace",
            "",
            "processes.main.concurrency",
        ),
        ("job", "deadline: 1h", "", "processes.main.deadline"),
        (
            "service",
            "ports: {http: {port: 80}}\nupdate: {maxUnavailable: 0, maxSurge: 1}",
            "",
            "processes.main.update.maxUnavailable",
        ),
        (
            "service",
            "ports: {http: {port: 80}}\ndisruptionBudget: {maxUnavailable: 0}",
            "",
            "processes.main.disruptionBudget.maxUnavailable",
        ),
        (
            "worker",
            "initContainers:\n  a: {image: a:1}\n  b: {image: b:1}",
            "",
            "processes.main.initContainers.b",
        ),
        (
            "worker",
            "volumes: {data: {path: /d, type: persistent, size: 1Gi}}\nupdate: {canary: 1}",
            "",
            "processes.main.update.canary",
        ),
        (
            "service",
            "ports: {http: {port: 80}}\nhealth:\n  readiness: {http: {path: /}, interval: 500ms}",
            "",
            "processes.main.health.readiness.interval",
        ),
    ];
    for (kind, body, extra, path) in cases {
        let text = errors(&app(kind, body, extra), "staging");
        assert!(
            text.contains(&format!("error: {path}: nomad cannot express this")),
            "{path}:\n{text}"
        );
        assert!(text.contains("bestEffort"), "the hint offers bestEffort:\n{text}");
    }
    // Provider-specific: the built-in provider has no grpc/exec checks or failure thresholds.
    for (body, path) in [
        (
            "ports: {grpc: {port: 9000, protocol: grpc}}\nhealth:\n  liveness: {grpc: {}}",
            "processes.main.health.liveness.grpc",
        ),
        (
            "health:\n  liveness: {exec: {command: [x]}}",
            "processes.main.health.liveness.exec",
        ),
        (
            "ports: {http: {port: 80}}\nhealth:\n  readiness: {tcp: {}, failureThreshold: 2}",
            "processes.main.health.readiness.failureThreshold",
        ),
    ] {
        let text = errors(&app("worker", body, ""), "staging");
        assert!(
            text.contains(&format!("{path}: nomad cannot express this")),
            "{path}:\n{text}"
        );
    }
    // Fabio reads Consul only.
    let fabio = app(
        "service",
        "ports: {http: {port: 80}}\nroutes: [{host: a.example.com}]",
        "",
    );
    let r = ok(&fabio, "edge");
    assert_eq!(
        r.objects[0].value["Job"]["TaskGroups"][0]["Services"][0]["Tags"],
        json!(["urlprefix-a.example.com/"])
    );
}

#[test]
fn best_effort_turns_errors_into_warnings() {
    let m = app(
        "service",
        "ports: {http: {port: 80}}\nhealth:\n  startup: {http: {path: /}}\nplacement:\n  tolerations: [{key: gpu}]",
        "bestEffort:\n  - processes.main.health.startup\n  - processes.main.placement\n",
    );
    let r = ok(&m, "staging");
    let text = r.warnings.to_string();
    assert_eq!(r.warnings.0.len(), 2, "{text}");
    assert!(text.contains("warning: processes.main.health.startup: nomad cannot express this; dropped (listed in bestEffort)"), "{text}");
    assert!(text.contains("processes.main.placement.tolerations"), "{text}");
    let g = &r.objects[0].value["Job"]["TaskGroups"][0];
    assert!(g.get("Constraints").is_none());
}

#[test]
fn unsupported_canary_is_left_out_under_best_effort() {
    let m = app(
        "worker",
        "volumes: {data: {path: /d, type: persistent, size: 1Gi}}\nupdate: {canary: 1}",
        "bestEffort:\n  - processes.main.update.canary\n",
    );
    let r = ok(&m, "staging");
    assert!(
        r.warnings.to_string().contains("processes.main.update.canary"),
        "{}",
        r.warnings
    );
    let g = &r.objects[0].value["Job"]["TaskGroups"][0];
    assert!(g["Update"].get("Canary").is_none(), "{}", g["Update"]);
    assert!(g["Update"].get("AutoPromote").is_none(), "{}", g["Update"]);
    assert_eq!(g["Volumes"]["data"]["PerAlloc"], true);
    let read_only = r.objects[0]
        .origins
        .get_key_value("/Job/TaskGroups/0/Volumes/data/ReadOnly")
        .map(|(_, o)| o)
        .expect("ReadOnly origin");
    assert_eq!(read_only.field.as_deref(), Some("processes.main.volumes.data"));
}

#[test]
fn replace_concurrency_under_best_effort_forbids_overlap() {
    let m = app(
        "cron",
        "schedule: \"@hourly\"\nconcurrency: replace",
        "bestEffort:\n  - processes.main.concurrency\n",
    );
    let r = ok(&m, "staging");
    assert!(
        r.warnings.to_string().contains("processes.main.concurrency"),
        "{}",
        r.warnings
    );
    assert_eq!(r.objects[0].value["Job"]["Periodic"]["ProhibitOverlap"], true);
    let (_, origin) = r.objects[0]
        .origins
        .get_key_value("/Job/Periodic/ProhibitOverlap")
        .expect("ProhibitOverlap origin");
    assert_eq!(origin.field.as_deref(), Some("processes.main.concurrency"));
}

#[test]
fn fabio_tls_route_origin_is_the_route() {
    let m = app(
        "service",
        "ports: {http: {port: 80}}\nroutes: [{host: a.example.com, tls: true}]",
        "",
    );
    let r = ok(&m, "edge");
    let (_, o) = r.objects[0]
        .origins
        .get_key_value("/Job/TaskGroups/0/Services/0/Tags/0")
        .expect("tag origin");
    assert_eq!(o.field.as_deref(), Some("processes.main.routes[0]"));
    assert_eq!(o.inputs, ["processes.main.routes[0].tls"]);
    assert!(o.note.contains("tls: Fabio"), "{}", o.note);
}

#[test]
fn durations_too_long_for_nomad_are_errors() {
    for (body, path) in [
        (
            "ports: {http: {port: 80}}\nshutdownGracePeriod: 3000000h",
            "processes.main.shutdownGracePeriod",
        ),
        (
            "ports: {http: {port: 80}}\nhealth:\n  liveness: {http: {path: /}, interval: 3000000h}",
            "processes.main.health.liveness.interval",
        ),
        (
            "ports: {http: {port: 80}}\nhealth:\n  liveness: {http: {path: /}, initialDelay: 3000000h}",
            "processes.main.health.liveness.initialDelay",
        ),
    ] {
        let text = errors(&app("service", body, ""), "staging");
        assert!(
            text.contains(path) && text.contains("too long for Nomad"),
            "{path}:\n{text}"
        );
    }
}

#[test]
fn platform_problems_are_clear_errors() {
    let m = app(
        "worker",
        "scaling: {autoscale: {min: 0, max: 5, kafkaLag: {topic: t, lag: 10}}}",
        "resources:\n  t: {type: kafka-topic}\n",
    );
    let text = errors(&m, "staging");
    assert!(
        text.contains("processes.main.scaling.autoscale.kafkaLag") && text.contains("lagMetricsSource"),
        "{text}"
    );
    let text = errors(&app("worker", "", ""), "k8s-only");
    assert!(text.contains("has no `nomad` settings"), "{text}");
    let text = errors(&app("worker", "", ""), "prod");
    assert!(text.contains("no environment `prod`"), "{text}");
}

#[test]
fn escape_hatch_patches_and_raw_jobs() {
    let extra = "targets:\n  nomad:\n    patches:\n      - select: {kind: Job, name: shop-staging}\n        jsonPatch:\n          - {op: add, path: /Job/TaskGroups/0/Meta, value: {x: y}}\n    objects:\n      - Job: {ID: other, Type: batch}\n";
    let m = app("worker", "", extra);
    let r = ok(&m, "staging");
    assert_eq!(r.objects.len(), 2);
    assert_eq!(
        r.objects[0].value["Job"]["TaskGroups"][0]["Meta"],
        json!({"x": "y"})
    );
    assert_eq!(r.objects[1].name(), "other");
    assert_eq!(
        r.objects[1].origin("/Job/ID").map(|(_, o)| o.kind),
        Some(OriginKind::Raw)
    );
    let bad = app(
        "worker",
        "",
        "targets:\n  nomad:\n    patches:\n      - select: {kind: Job, name: nope}\n        mergePatch: {Job: {Priority: 1}}\n",
    );
    let text = errors(&bad, "staging");
    assert!(
        text.contains("selects no generated object") && text.contains("Job/shop-staging"),
        "{text}"
    );
}

#[test]
fn nomad_provider_profile() {
    let r = ok(SMALL, "staging");
    let g = &r.objects[0].value["Job"]["TaskGroups"][0];
    assert_eq!(g["Services"][0]["Provider"], "nomad");
    assert_eq!(g["Services"][0]["Checks"][0]["Type"], "http");
    assert_eq!(
        g["Services"][0]["Tags"],
        json!([
            "traefik.enable=true",
            "traefik.http.routers.hello-staging-web-0.rule=Host(`hello.example.com`)"
        ])
    );
    assert_eq!(g["Tasks"][0]["Resources"], json!({"CPU": 100, "MemoryMB": 300}));
    assert_eq!(g["Tasks"][0]["KillTimeout"], 30 * S);
}

#[test]
fn rendering_is_deterministic() {
    for (m, env) in [(FULL, "production"), (SMALL, "staging")] {
        let a = serde_json::to_string(&ok(m, env)).expect("json");
        let b = serde_json::to_string(&ok(m, env)).expect("json");
        assert_eq!(a, b);
        let ha: Vec<String> = ok(m, env)
            .objects
            .iter()
            .map(|d| ojek_nomad::to_hcl(&d.value).expect("hcl"))
            .collect();
        let hb: Vec<String> = ok(m, env)
            .objects
            .iter()
            .map(|d| ojek_nomad::to_hcl(&d.value).expect("hcl"))
            .collect();
        assert_eq!(ha, hb);
    }
}
