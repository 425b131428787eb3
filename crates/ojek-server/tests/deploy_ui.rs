//! The deploy pages over HTTP, against the fake clusters: each environment's card, the plan
//! page (what would change, the button pinned to the planned revision), deploying with a form
//! post that runs in the background, the deployment page while running and after, a failed
//! rollout's reason, rolling back through its plan, and who may do what.

#[macro_use]
mod common;

use std::time::Duration;

use common::clusters::*;
use common::{Client, Db, Resp};
use reqwest::Method;

both!(deploy_pages_on_kubernetes, platform_page);

async fn form(client: &Client, path: &str, fields: &[(&str, &str)]) -> Resp {
    let body = serde_urlencoded::to_string(fields).expect("form");
    client
        .raw(Method::POST, path, "application/x-www-form-urlencoded", body)
        .await
}

/// Where a 303 goes.
fn location(resp: &Resp) -> String {
    assert_eq!(resp.status.as_u16(), 303, "a redirect; body: {}", resp.text);
    resp.header("location").expect("location").to_string()
}

/// Polls a deployment page until it no longer says it is running; returns the final page.
async fn finished(client: &Client, path: &str) -> String {
    for _ in 0..300 {
        let page = client.get(path).await;
        assert_eq!(page.status.as_u16(), 200, "{}", page.text);
        if !page.text.contains("id=\"running\"") {
            assert!(
                !page.text.contains("http-equiv=\"refresh\""),
                "a finished page stops refreshing"
            );
            return page.text;
        }
        assert!(
            page.text.contains("<meta http-equiv=\"refresh\" content=\"2\">"),
            "a running page refreshes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the deployment at {path} did not finish");
}

/// The text of the element with this id (tags replaced by spaces, whitespace collapsed), for
/// assertions on one part of a page.
fn section(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in the page: {html}"));
    let tag_start = html[..start].rfind('<').expect("tag");
    let name: String = html[tag_start + 1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let close = format!("</{name}>");
    let end = html[start..].find(&close).map_or(html.len(), |e| start + e);
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[tag_start..end].chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn deploy_pages_on_kubernetes(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let (kube, nomad) = fake_clusters(&s).await;
    let (editor, viewer, outsider) = setup(&s).await;
    let deploy_page = format!("/apps/{APP}/deploy");

    // The overview: every environment of the platform, its target and cluster; nothing deployed.
    let page = editor.get(&deploy_page).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text);
    let staging = section(&page.text, "env-staging");
    assert!(staging.contains("kubernetes"), "{staging}");
    assert!(staging.contains("cluster staging (fake)"), "{staging}");
    assert!(staging.contains("Not deployed by ojek yet."), "{staging}");
    let dc = section(&page.text, "env-production-dc");
    assert!(dc.contains("nomad") && dc.contains(&nomad.url()), "{dc}");
    let production = section(&page.text, "env-production");
    assert!(
        production.contains("cluster production (gke-production)"),
        "{production}"
    );
    assert!(page.text.contains("No deployments yet."));
    assert!(page.text.contains("Plan &amp; deploy…"));

    // The plan page: what would be created, and the button for revision 1 to staging.
    let plan_path = format!("/apps/{APP}/deploy/plan?environment=staging&revision=1");
    let plan = editor.get(&plan_path).await;
    assert_eq!(plan.status.as_u16(), 200, "{}", plan.text);
    let text = section(&plan.text, "plan-text");
    assert!(text.contains("+ Deployment/driver-location-web"), "{text}");
    assert!(
        plan.text
            .contains("<span class=\"line add\">+ Deployment/driver-location-web\n</span>")
    );
    assert!(section(&plan.text, "deploy-form").contains("Deploy revision 1 to staging"));
    assert!(kube.objects("Deployment").is_empty(), "a plan writes nothing");

    // A viewer plans but gets no button, and cannot post one; another team sees a 404.
    let viewer_plan = viewer.get(&plan_path).await;
    assert_eq!(viewer_plan.status.as_u16(), 200);
    assert!(viewer_plan.text.contains("id=\"plan-text\""));
    assert!(!viewer_plan.text.contains("id=\"deploy-form\""));
    let refused = form(
        &viewer,
        &deploy_page,
        &[("environment", "staging"), ("revision", "1")],
    )
    .await;
    assert_eq!(refused.status.as_u16(), 403, "{}", refused.text);
    let hidden = outsider.get(&deploy_page).await;
    assert_eq!(hidden.status.as_u16(), 404);
    assert!(!hidden.text.contains("staging (fake)"));
    let hidden = form(
        &outsider,
        &deploy_page,
        &[("environment", "staging"), ("revision", "1")],
    )
    .await;
    assert_eq!(hidden.status.as_u16(), 404);
    // Without the CSRF token the post is refused before anything runs.
    let forged = form(
        &editor.without_csrf(),
        &deploy_page,
        &[("environment", "staging"), ("revision", "1")],
    )
    .await;
    assert_eq!(forged.status.as_u16(), 403);
    assert!(
        s.store()
            .deployments(APP, None, None, 10)
            .await
            .expect("history")
            .is_empty()
    );

    // The button carries the platform file's version the plan was made with; when the file
    // changed since, the deploy is refused (409) and nothing is recorded.
    let planned_version = s
        .store()
        .platform(ojek_server::state::PLATFORM)
        .await
        .expect("read")
        .expect("file")
        .version;
    assert!(
        plan.text
            .contains(&format!("name=\"platform\" value=\"{planned_version}\""))
    );
    let older = (planned_version - 1).to_string();
    let stale = form(
        &editor,
        &deploy_page,
        &[
            ("environment", "staging"),
            ("revision", "1"),
            ("platform", &older),
        ],
    )
    .await;
    assert_eq!(stale.status.as_u16(), 409, "{}", stale.text);
    assert!(
        stale.text.contains("The platform file changed since the plan"),
        "{}",
        stale.text
    );
    assert!(
        s.store()
            .deployments(APP, None, None, 10)
            .await
            .expect("history")
            .is_empty()
    );

    // Deploy: the post answers at once with the deployment's page, which ends succeeded.
    let version = planned_version.to_string();
    let resp = form(
        &editor,
        &deploy_page,
        &[
            ("environment", "staging"),
            ("revision", "1"),
            ("platform", &version),
        ],
    )
    .await;
    let first = location(&resp);
    assert!(first.starts_with(&format!("/apps/{APP}/deployments/")), "{first}");
    let done = finished(&editor, &first).await;
    assert!(
        section(&done, "facts").contains("succeeded"),
        "{}",
        section(&done, "facts")
    );
    assert!(
        section(&done, "summary").starts_with("revision 1 on staging (fake)"),
        "{done}"
    );
    let objects = section(&done, "objects");
    assert!(
        objects.contains("Deployment/driver-location-web (fulfilment-staging) created"),
        "{objects}"
    );
    assert!(
        section(&done, "rollouts").contains("Deployment/driver-location-web"),
        "{done}"
    );
    assert_eq!(kube_image(&kube), STAGING_IMAGE);

    // Live status: the workloads as the cluster has them, with the revision they came from;
    // the same through the API.
    let live = viewer
        .get(&format!("/apps/{APP}/deploy/live?environment=staging"))
        .await;
    assert_eq!(live.status.as_u16(), 200, "{}", live.text);
    let workloads = section(&live.text, "live-workloads");
    assert!(
        workloads
            .contains("Deployment/driver-location-web ready 1 / 1 1 1 of 1 replicas updated and available"),
        "{workloads}"
    );
    let api = viewer
        .get(&format!("/api/apps/{APP}/live?environment=staging"))
        .await
        .expect(200);
    assert_eq!(api["revision"], 1);
    assert_eq!(api["workloads"][0]["state"], "ready", "{api}");
    assert_eq!(api["workloads"][0]["revision"], "1", "{api}");
    outsider
        .get(&format!("/api/apps/{APP}/live?environment=staging"))
        .await
        .expect_error(404, "not_found");

    // The card says what runs; the history lists it.
    let page = viewer.get(&deploy_page).await;
    let staging = section(&page.text, "env-staging");
    assert!(staging.contains("Runs revision 1"), "{staging}");
    assert!(staging.contains("deployed by edna"), "{staging}");
    let history = section(&page.text, "deployments");
    assert!(history.contains("staging deploy r1 succeeded"), "{history}");

    // Revision 2 with an image that cannot be pulled: the page says why the rollout failed.
    save_revision(
        &editor,
        manifest().replace(STAGING_IMAGE, "registry.gojek.io/fail-pull:1"),
        1,
    )
    .await;
    let plan = editor
        .get(&format!("/apps/{APP}/deploy/plan?environment=staging"))
        .await;
    let text = section(&plan.text, "plan-text");
    assert!(text.contains("~ Deployment/driver-location-web"), "{text}");
    assert!(
        text.contains("+ spec.template.spec.containers[name=web].image: registry.gojek.io/fail-pull:1"),
        "{text}"
    );
    let resp = form(
        &editor,
        &deploy_page,
        &[("environment", "staging"), ("revision", "2")],
    )
    .await;
    let failed_page = finished(&editor, &location(&resp)).await;
    assert!(section(&failed_page, "facts").contains("failed"), "{failed_page}");
    let rollouts = section(&failed_page, "rollouts");
    assert!(rollouts.contains("ImagePullBackOff"), "{rollouts}");
    let page = editor.get(&deploy_page).await;
    let staging = section(&page.text, "env-staging");
    assert!(
        staging.contains("Runs revision 1"),
        "what runs is the last success: {staging}"
    );
    assert!(staging.contains("Last attempt"), "{staging}");
    assert!(staging.contains("deploy revision 2 failed"), "{staging}");

    // After the failed deploy, rolling back goes to what ran before it: revision 1.
    let back_to_one = format!("/apps/{APP}/deploy/plan?environment=staging&amp;revision=1&amp;rollback=1");
    assert!(page.text.contains(&back_to_one), "{staging}");
    assert!(section(&page.text, "rollback-staging").contains("Roll back to 1"));
    // Revision 3 fixes the image; deploy it, then roll back to 1 through the card's link.
    let v3 = "registry.gojek.io/fulfilment/driver-location:2.16.0";
    save_revision(&editor, manifest().replace(STAGING_IMAGE, v3), 2).await;
    let resp = form(
        &editor,
        &deploy_page,
        &[("environment", "staging"), ("revision", "3")],
    )
    .await;
    let done = finished(&editor, &location(&resp)).await;
    assert!(section(&done, "facts").contains("succeeded"), "{done}");
    assert_eq!(kube_image(&kube), v3);
    let page = editor.get(&deploy_page).await;
    let link = format!("/apps/{APP}/deploy/plan?environment=staging&amp;revision=1&amp;rollback=1");
    assert!(
        page.text.contains(&link),
        "the card links to the rollback plan: {}",
        section(&page.text, "env-staging")
    );
    let plan = editor.get(&link.replace("&amp;", "&")).await;
    assert_eq!(plan.status.as_u16(), 200, "{}", plan.text);
    assert!(
        plan.text.contains("roll back staging to revision 1"),
        "{}",
        plan.text
    );
    let text = section(&plan.text, "plan-text");
    assert!(
        text.contains(&format!("- spec.template.spec.containers[name=web].image: {v3}")),
        "{text}"
    );
    let button = section(&plan.text, "deploy-form");
    assert!(button.contains("Roll back revision 1 to staging"), "{button}");
    assert!(plan.text.contains(&format!("action=\"/apps/{APP}/rollback\"")));
    let resp = form(
        &editor,
        &format!("/apps/{APP}/rollback"),
        &[("environment", "staging"), ("revision", "1")],
    )
    .await;
    let back = finished(&editor, &location(&resp)).await;
    assert!(
        section(&back, "facts").contains("rollback to revision 1 in staging"),
        "{}",
        section(&back, "facts")
    );
    assert!(section(&back, "facts").contains("succeeded"));
    assert_eq!(kube_image(&kube), STAGING_IMAGE);

    // Nomad: the card's plan and a deploy to production-dc.
    let plan = editor
        .get(&format!("/apps/{APP}/deploy/plan?environment=production-dc"))
        .await;
    assert_eq!(plan.status.as_u16(), 200, "{}", plan.text);
    assert!(
        section(&plan.text, "plan-text").contains(&format!("+ Job: \"{NOMAD_JOB}\"")),
        "{}",
        section(&plan.text, "plan-text")
    );
    assert!(!plan.text.contains("id=\"prune\""), "no prune option for Nomad");
    let resp = form(
        &editor,
        &deploy_page,
        &[("environment", "production-dc"), ("revision", "3")],
    )
    .await;
    let done = finished(&editor, &location(&resp)).await;
    assert!(section(&done, "facts").contains("succeeded"), "{done}");
    assert!(section(&done, "jobs").contains(NOMAD_JOB), "{done}");
    assert!(nomad.job(NOMAD_NAMESPACE, NOMAD_JOB).is_some());
    let live = editor
        .get(&format!("/apps/{APP}/deploy/live?environment=production-dc"))
        .await;
    assert_eq!(live.status.as_u16(), 200, "{}", live.text);
    let jobs = section(&live.text, "live-jobs");
    assert!(
        jobs.contains(&format!("{NOMAD_JOB} ({NOMAD_NAMESPACE}) running 0 3")),
        "{jobs}"
    );
    assert!(jobs.contains("successful"), "{jobs}");
    let refused = form(
        &editor,
        &deploy_page,
        &[
            ("environment", "production-dc"),
            ("revision", "3"),
            ("prune", "1"),
        ],
    )
    .await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.text);

    // An unreachable cluster: the plan page says so (503) and names the cluster.
    let mut kube = kube;
    kube.stop().await;
    let live = editor
        .get(&format!("/apps/{APP}/deploy/live?environment=staging"))
        .await;
    assert_eq!(live.status.as_u16(), 503, "{}", live.text);
    assert!(
        section(&live.text, "live-error").contains("staging (fake)"),
        "{}",
        live.text
    );
    let plan = editor
        .get(&format!("/apps/{APP}/deploy/plan?environment=staging"))
        .await;
    assert_eq!(plan.status.as_u16(), 503, "{}", plan.text);
    assert!(
        section(&plan.text, "plan-error").contains("staging (fake)"),
        "{}",
        section(&plan.text, "plan-error")
    );
    assert!(!plan.text.contains("id=\"deploy-form\""));

    // Malformed input: a revision that is not a number, a deployment of another app.
    let bad = editor
        .get(&format!("/apps/{APP}/deploy/plan?environment=staging&revision=x"))
        .await;
    assert_eq!(bad.status.as_u16(), 400);
    let missing = editor.get(&format!("/apps/{APP}/deployments/999999")).await;
    assert_eq!(missing.status.as_u16(), 404);
}

async fn platform_page(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let (_kube, nomad) = fake_clusters(&s).await;
    let (_editor, viewer, _outsider) = setup(&s).await;
    let admin = s.admin_session().await;
    let version = |s: &common::TestServer| {
        let store = s.store().clone();
        async move {
            store
                .platform(ojek_server::state::PLATFORM)
                .await
                .expect("read")
                .expect("file")
        }
    };
    let before = version(&s).await;

    // Everyone signed in sees where each environment deploys and the file, read-only.
    let page = viewer.get("/platform").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text);
    let clusters = section(&page.text, "clusters-table");
    assert!(
        clusters.contains("staging kubernetes staging (fake) "),
        "{clusters}"
    );
    assert!(
        clusters.contains(&format!(
            "production-dc nomad rendered only (no cluster) {}",
            nomad.url()
        )),
        "{clusters}"
    );
    assert!(page.text.contains("id=\"platform-text\""));
    assert!(!page.text.contains("id=\"platform-form\""));
    // Connection checks are for platform admins: no buttons, and the query is ignored.
    assert!(!clusters.contains("Check"), "{clusters}");
    let ignored = viewer.get("/platform?check=staging:kubernetes").await;
    assert_eq!(ignored.status.as_u16(), 200);
    assert!(!ignored.text.contains("id=\"check-result\""));
    // Nothing of an unknown environment is echoed, even to an admin.
    let odd = admin
        .get("/platform?check=%3Cb%3Enowhere%3C%2Fb%3E:kubernetes")
        .await;
    assert!(!odd.text.contains("id=\"check-result\"") && !odd.text.contains("nowhere"));

    // The fakes answer; production's kubeconfig does not exist here.
    let page = admin.get("/platform").await;
    let clusters = section(&page.text, "clusters-table");
    assert!(
        clusters.contains("staging kubernetes staging (fake) Check"),
        "{clusters}"
    );
    let ok = admin.get("/platform?check=staging:kubernetes").await;
    let result = section(&ok.text, "check-result");
    assert!(
        result.starts_with("staging · kubernetes: staging (fake) answers: Kubernetes v1."),
        "{result}"
    );
    let ok = admin.get("/platform?check=production-dc:nomad").await;
    let result = section(&ok.text, "check-result");
    assert!(
        result.contains("answers; the token can list jobs (0 in namespace"),
        "{result}"
    );
    let bad = admin.get("/platform?check=production:kubernetes").await;
    let result = section(&bad.text, "check-result");
    assert!(
        result.contains("production (gke-production)") && result.contains("cannot load its configuration"),
        "{result}"
    );
    assert!(bad.text.contains("class=\"alert error\" id=\"check-result\""));

    // Only platform admins may save; a viewer's post is refused and nothing changes.
    let fields = |content: &str, base: i64| {
        serde_urlencoded::to_string([("content", content.to_string()), ("base", base.to_string())])
            .expect("form")
    };
    let refused = viewer
        .raw(
            Method::POST,
            "/platform",
            "application/x-www-form-urlencoded",
            fields(&before.content, before.version),
        )
        .await;
    assert_eq!(refused.status.as_u16(), 403);

    // An admin: the form; a broken file is refused with its line and the text kept.
    let page = admin.get("/platform").await;
    assert!(page.text.contains("id=\"platform-form\""));
    let broken = before
        .content
        .replacen("    target: kubernetes\n", "    target: kubernets\n", 1);
    let resp = admin
        .raw(
            Method::POST,
            "/platform",
            "application/x-www-form-urlencoded",
            fields(&broken, before.version),
        )
        .await;
    assert_eq!(resp.status.as_u16(), 422, "{}", resp.text);
    let problems = section(&resp.text, "problems-list");
    assert!(problems.contains("kubernets"), "{problems}");
    assert!(resp.text.contains("target: kubernets"), "the text is kept");
    assert_eq!(version(&s).await.version, before.version, "nothing saved");

    // A valid change saves a new version (a browser's CRLF lines stored as LF); a save from the
    // old version is then a conflict.
    let changed = format!("{}\n# reviewed\n", before.content);
    let resp = admin
        .raw(
            Method::POST,
            "/platform",
            "application/x-www-form-urlencoded",
            fields(&changed.replace('\n', "\r\n"), before.version),
        )
        .await;
    assert_eq!(resp.status.as_u16(), 303, "{}", resp.text);
    let after = version(&s).await;
    assert_eq!(after.version, before.version + 1);
    assert_eq!(after.content, changed);
    assert_eq!(
        resp.header("location"),
        Some(format!("/platform?saved={}", after.version).as_str())
    );
    let stale = admin
        .raw(
            Method::POST,
            "/platform",
            "application/x-www-form-urlencoded",
            fields(&before.content, before.version),
        )
        .await;
    assert_eq!(stale.status.as_u16(), 409, "{}", stale.text);
    assert!(
        section(&stale.text, "save-error").contains("Someone saved the platform file after you opened it")
    );
    assert_eq!(version(&s).await.content, changed);
}
