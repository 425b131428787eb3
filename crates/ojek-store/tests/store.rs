//! The store against real databases: every scenario runs on SQLite and on PostgreSQL (see
//! `common` for the harness). Log secrets and settings are tested in `logs.rs`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ojek_store::*;
use sqlx::Connection;

mod common;
use common::*;

#[test]
fn test_urls_name_the_new_database() {
    assert_eq!(
        with_database("postgres://u:p@h:5/postgres", "t"),
        "postgres://u:p@h:5/t"
    );
    assert_eq!(with_database("postgres://h:5", "t"), "postgres://h:5/t");
    assert_eq!(
        with_database("postgresql://h/x?sslmode=disable", "t"),
        "postgresql://h/t?sslmode=disable"
    );
}

scenarios!(
    migrations_are_idempotent,
    users,
    teams_and_members,
    apps_and_revisions,
    stale_base_conflicts,
    concurrent_savers_from_one_base,
    concurrent_savers_that_rebase,
    list_apps_filters_and_pages,
    delete_app,
    team_guards_and_moves,
    search_folds_unicode,
    tokens,
    sessions,
    audit_log,
    failed_mutations_write_no_audit,
    platform_files,
    ping_and_close,
    deployments_start_finish_and_list,
    deployment_status_per_environment,
    deployments_finish_only_from_running,
    stale_deployments_are_interrupted,
    deployments_are_audited_when_finished,
    deployments_survive_app_deletion,
    deployments_migration_applies_on_top_of_0001,
);

// ---- scenarios

async fn migrations_are_idempotent(db: &TestDb) {
    let t = team(&db.store, "payments").await;
    // Reopening runs the migrator again: nothing to apply, data intact.
    let again = db.reopen().await;
    assert_eq!(
        again.team_by_name("payments").await.expect("read"),
        Some(t.clone())
    );
    // Replicas starting together against one database.
    let (a, b, c) = tokio::join!(db.reopen(), db.reopen(), db.reopen());
    for store in [a, b, c] {
        assert_eq!(store.teams().await.expect("teams"), vec![t.clone()]);
        store.close().await;
    }
    again.close().await;
    if db.store.kind() == DbKind::Postgres {
        // First start of several replicas on an empty database: the advisory lock lets exactly
        // one apply the migrations, the others wait and find them applied.
        let admin = std::env::var("OJEK_TEST_POSTGRES_URL").expect("set for PostgreSQL tests");
        let fresh = PgDatabase::create(&admin).await;
        let opened = futures_join_all((0..4).map(|_| {
            let url = fresh.url.clone();
            async move { Store::open(&url).await }
        }))
        .await;
        for store in opened {
            let store = store.expect("concurrent first start");
            assert_eq!(store.count_users().await.expect("count"), 0);
            store.close().await;
        }
    }
}

async fn users(db: &TestDb) {
    let store = &db.store;
    assert_eq!(store.count_users().await.expect("count"), 0);
    let ana = store
        .create_user("ana", "Ana", "argon2-ana", true, &Actor::system())
        .await
        .expect("create ana");
    assert!(ana.is_admin);
    assert!(ana.created_at > 0);
    let budi = user(store, "budi").await;
    assert!(!budi.is_admin);
    assert_ne!(ana.id, budi.id);

    let dup = store
        .create_user("ana", "Other", "h", false, &Actor::system())
        .await;
    assert!(
        matches!(&dup, Err(StoreError::AlreadyExists(what)) if what == "user ana"),
        "{dup:?}"
    );

    assert_eq!(store.user(ana.id).await.expect("user"), Some(ana.clone()));
    assert_eq!(store.user(ana.id + budi.id + 100).await.expect("user"), None);
    assert_eq!(
        store.user_by_name("ana").await.expect("by name"),
        Some((ana.clone(), "argon2-ana".into()))
    );
    assert_eq!(store.user_by_name("nobody").await.expect("by name"), None);
    assert_eq!(
        store.users().await.expect("users"),
        vec![ana.clone(), budi.clone()]
    );
    assert_eq!(store.count_users().await.expect("count"), 2);

    store
        .set_password(budi.id, "argon2-new", &actor(&ana))
        .await
        .expect("set password");
    assert_eq!(
        store.user_by_name("budi").await.expect("by name").map(|(_, h)| h),
        Some("argon2-new".into())
    );
    let missing = store.set_password(9999, "x", &actor(&ana)).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
}

async fn teams_and_members(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let budi = user(store, "budi").await;
    let pay = team(store, "payments").await;
    let food = team(store, "food").await;
    let dup = store.create_team("payments", &Actor::system()).await;
    assert!(
        matches!(&dup, Err(StoreError::AlreadyExists(w)) if w == "team payments"),
        "{dup:?}"
    );
    assert_eq!(
        store.teams().await.expect("teams"),
        vec![food.clone(), pay.clone()]
    );
    assert_eq!(
        store.team_by_name("food").await.expect("team"),
        Some(food.clone())
    );
    assert_eq!(store.team_by_name("nope").await.expect("team"), None);

    let by = actor(&ana);
    store
        .set_member(pay.id, budi.id, Some(Role::Editor), &by)
        .await
        .expect("add");
    store
        .set_member(food.id, budi.id, Some(Role::Viewer), &by)
        .await
        .expect("add");
    store
        .set_member(pay.id, ana.id, Some(Role::Admin), &by)
        .await
        .expect("add");
    let of_budi = store.memberships_of(budi.id).await.expect("memberships");
    let summary: Vec<_> = of_budi
        .iter()
        .map(|m| (m.team.name.as_str(), m.user.id, m.role))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("food", budi.id, Role::Viewer),
            ("payments", budi.id, Role::Editor)
        ]
    );
    assert_eq!(of_budi[0].team, food);
    assert_eq!(of_budi[0].user, budi);

    store
        .set_member(pay.id, budi.id, Some(Role::Admin), &by)
        .await
        .expect("promote");
    let members = store.members(pay.id).await.expect("members");
    let summary: Vec<_> = members
        .iter()
        .map(|m| (m.user.username.as_str(), m.role))
        .collect();
    assert_eq!(summary, vec![("ana", Role::Admin), ("budi", Role::Admin)]);

    store
        .set_member(pay.id, budi.id, None, &by)
        .await
        .expect("remove");
    let members = store.members(pay.id).await.expect("members");
    assert_eq!(
        members.iter().map(|m| m.user.id).collect::<Vec<_>>(),
        vec![ana.id]
    );

    let no_team = store
        .set_member(pay.id + food.id + 100, budi.id, Some(Role::Viewer), &by)
        .await;
    assert!(matches!(no_team, Err(StoreError::NotFound(_))), "{no_team:?}");
    let no_user = store
        .set_member(pay.id, ana.id + budi.id + 100, Some(Role::Viewer), &by)
        .await;
    assert!(matches!(no_user, Err(StoreError::NotFound(_))), "{no_user:?}");

    // Audit: before/after roles.
    let entries = all_audit(store).await;
    let member_entries: Vec<_> = entries
        .iter()
        .filter(|e| e.action.starts_with("member."))
        .collect();
    assert_eq!(member_entries.len(), 5);
    let remove = member_entries[0];
    assert_eq!(remove.action, "member.remove");
    assert_eq!(remove.team_id, Some(pay.id));
    assert_eq!(remove.team.as_deref(), Some("payments"));
    assert_eq!(json(&remove.before), serde_json::json!({"role": "admin"}));
    assert_eq!(remove.after, None);
    let promote = member_entries[1];
    assert_eq!(json(&promote.before), serde_json::json!({"role": "editor"}));
    assert_eq!(json(&promote.after), serde_json::json!({"role": "admin"}));
    assert_eq!(promote.actor_id, Some(ana.id));
    assert_eq!(promote.actor, "ana");
    assert_eq!(promote.via, "ui");
}

async fn apps_and_revisions(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let ops = team(store, "ops").await;
    let by = actor(&ana);

    let first = new_revision("checkout", &pay, "first");
    let (app, rev1) = store.create_app(&first, &by).await.expect("create app");
    assert_eq!(app.name, "checkout");
    assert_eq!((app.team_id, app.team.as_str()), (pay.id, "payments"));
    assert_eq!(app.head, 1);
    assert_eq!(app.description, "checkout service");
    assert_eq!(app.updated_by, "ana");
    assert_eq!(rev1.number, 1);
    assert_eq!(rev1.manifest, first.manifest);
    assert_eq!(rev1.files, first.files);
    assert_eq!(rev1.author_id, Some(ana.id));
    assert_eq!(store.app("checkout").await.expect("app"), Some(app.clone()));
    assert_eq!(
        store.revision("checkout", 1).await.expect("rev"),
        Some(rev1.clone())
    );

    let dup = store
        .create_app(&new_revision("checkout", &pay, "again"), &by)
        .await;
    assert!(
        matches!(&dup, Err(StoreError::AlreadyExists(w)) if w == "app checkout"),
        "{dup:?}"
    );
    let mut no_team = new_revision("orphan", &pay, "x");
    no_team.team_id = pay.id + ops.id + 100;
    let no_team = store.create_app(&no_team, &by).await;
    assert!(matches!(no_team, Err(StoreError::NotFound(_))), "{no_team:?}");
    assert_eq!(store.app("orphan").await.expect("app"), None);

    // Save on the head: revision 2; the app may move team and change description.
    let mut second = new_revision("checkout", &ops, "second");
    second.description = "Checkout, now run by ops".into();
    second.files.clear();
    let rev2 = store.save_revision(&second, 1, &by).await.expect("save");
    assert_eq!(rev2.number, 2);
    assert_eq!(rev2.manifest, second.manifest);
    let app2 = store.app("checkout").await.expect("app").expect("exists");
    assert_eq!((app2.head, app2.team_id, app2.team.as_str()), (2, ops.id, "ops"));
    assert_eq!(app2.description, "Checkout, now run by ops");
    assert!(app2.updated_at >= app.updated_at);
    // Old revisions are immutable.
    assert_eq!(
        store.revision("checkout", 1).await.expect("rev"),
        Some(rev1.clone())
    );
    assert_eq!(
        store.revision("checkout", 2).await.expect("rev"),
        Some(rev2.clone())
    );
    assert_eq!(store.revision("checkout", 3).await.expect("rev"), None);
    assert_eq!(store.revision("nope", 1).await.expect("rev"), None);

    let third = new_revision("checkout", &ops, "third");
    store.save_revision(&third, 2, &by).await.expect("save 3");
    let listed = store.revisions("checkout", None, 50).await.expect("revisions");
    assert_eq!(listed.iter().map(|r| r.number).collect::<Vec<_>>(), vec![3, 2, 1]);
    assert!(listed.iter().all(|r| r.manifest.is_empty() && r.files.is_empty()));
    assert_eq!(listed[2].message, "first");
    assert_eq!(listed[2].author, "ana");
    let page = store.revisions("checkout", Some(3), 1).await.expect("revisions");
    assert_eq!(page.iter().map(|r| r.number).collect::<Vec<_>>(), vec![2]);

    let missing = store
        .save_revision(&new_revision("ghost", &pay, "x"), 1, &by)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
    let mut bad_team = new_revision("checkout", &pay, "x");
    bad_team.team_id = pay.id + ops.id + 100;
    let bad_team = store.save_revision(&bad_team, 3, &by).await;
    assert!(matches!(bad_team, Err(StoreError::NotFound(_))), "{bad_team:?}");
    assert_eq!(store.app("checkout").await.expect("app").map(|a| a.head), Some(3));
}

async fn stale_base_conflicts(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let by = actor(&ana);
    store
        .create_app(&new_revision("checkout", &pay, "one"), &by)
        .await
        .expect("create");
    let two = new_revision("checkout", &pay, "two");
    let rev2 = store.save_revision(&two, 1, &by).await.expect("save");

    for stale in [1, 0, 7] {
        let err = store
            .save_revision(&new_revision("checkout", &pay, "late"), stale, &by)
            .await;
        match err {
            Err(StoreError::Conflict(head)) => assert_eq!(*head, rev2, "conflict carries the whole head"),
            other => panic!("expected Conflict, got {other:?}"),
        }
    }
    assert_eq!(store.app("checkout").await.expect("app").map(|a| a.head), Some(2));
    assert_eq!(
        store
            .revisions("checkout", None, 10)
            .await
            .expect("revisions")
            .len(),
        2
    );
}

async fn concurrent_savers_from_one_base(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let by = actor(&ana);
    store
        .create_app(&new_revision("checkout", &pay, "base"), &by)
        .await
        .expect("create");

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, by, new) = (
                store.clone(),
                by.clone(),
                new_revision("checkout", &pay, &format!("writer {i}")),
            );
            tokio::spawn(async move { (i, store.save_revision(&new, 1, &by).await) })
        })
        .collect();
    let mut winners = Vec::new();
    let mut conflicts = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            (i, Ok(rev)) => winners.push((i, rev)),
            (_, Err(StoreError::Conflict(head))) => conflicts.push(*head),
            (i, Err(e)) => panic!("writer {i}: unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one saver wins");
    assert_eq!(conflicts.len(), 7);
    let (winner, rev) = &winners[0];
    assert_eq!(rev.number, 2);
    assert_eq!(rev.message, format!("writer {winner}"));
    for head in &conflicts {
        assert_eq!(head, rev, "every loser sees the winner's revision");
    }
    let listed = store.revisions("checkout", None, 100).await.expect("revisions");
    assert_eq!(listed.iter().map(|r| r.number).collect::<Vec<_>>(), vec![2, 1]);
    let saves = all_audit(store)
        .await
        .into_iter()
        .filter(|e| e.action == "app.save")
        .count();
    assert_eq!(saves, 1, "only the winner is audited");
}

async fn concurrent_savers_that_rebase(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let by = actor(&ana);
    store
        .create_app(&new_revision("checkout", &pay, "base"), &by)
        .await
        .expect("create");

    // Each writer retries on Conflict from the head it was told about: all eight land, one
    // after another, none lost.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, by, new) = (
                store.clone(),
                by.clone(),
                new_revision("checkout", &pay, &format!("writer {i}")),
            );
            tokio::spawn(async move {
                let mut base = 1;
                for _ in 0..100 {
                    match store.save_revision(&new, base, &by).await {
                        Ok(rev) => return rev.number,
                        Err(StoreError::Conflict(head)) => base = head.number,
                        Err(e) => panic!("writer {i}: unexpected {e}"),
                    }
                }
                panic!("writer {i} never got through");
            })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for t in tasks {
        assert!(
            numbers.insert(t.await.expect("task")),
            "two writers got one number"
        );
    }
    assert_eq!(numbers, (2..=9).collect::<BTreeSet<i64>>());
    let listed = store.revisions("checkout", None, 100).await.expect("revisions");
    assert_eq!(
        listed.iter().map(|r| r.number).collect::<Vec<_>>(),
        (1..=9).rev().collect::<Vec<i64>>()
    );
    let messages: BTreeSet<String> = listed.iter().map(|r| r.message.clone()).collect();
    let expected: BTreeSet<String> = (0..8)
        .map(|i| format!("writer {i}"))
        .chain(["base".to_owned()])
        .collect();
    assert_eq!(messages, expected, "no lost update");
    assert_eq!(store.app("checkout").await.expect("app").map(|a| a.head), Some(9));
}

async fn list_apps_filters_and_pages(db: &TestDb) {
    let store = &db.store;
    let by = Actor::system();
    let a = team(store, "alpha").await;
    let b = team(store, "beta").await;
    let c = team(store, "gamma").await;
    let mut made: Vec<(String, i64, String)> = Vec::new(); // name, team, description
    let descriptions = [
        "Payments API",
        "50% off coupons",
        "500 offers",
        "under_score job",
        "back\\slash",
        "Plain",
    ];
    for i in 0..30 {
        let t = [&a, &b, &c][i % 3];
        let name = format!("app-{:02}", (i * 7) % 30);
        let description = format!("{} {i}", descriptions[i % descriptions.len()]);
        let mut new = new_revision(&name, t, "x");
        new.description = description.clone();
        store.create_app(&new, &by).await.expect("create");
        made.push((name, t.id, description));
    }
    made.sort();

    let names = |apps: &[AppSummary]| apps.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
    let expect = |keep: &dyn Fn(&(String, i64, String)) -> bool| {
        made.iter()
            .filter(|m| keep(m))
            .map(|m| m.0.clone())
            .collect::<Vec<_>>()
    };
    let list = |filter: AppFilter| async move { store.list_apps(&filter).await.expect("list") };

    // Everything, by name, in pages.
    let mut paged = Vec::new();
    for offset in [0, 10, 20, 30] {
        let (page, total) = list(AppFilter {
            limit: 10,
            offset,
            ..Default::default()
        })
        .await;
        assert_eq!(total, 30);
        assert_eq!(page.len(), if offset == 30 { 0 } else { 10 });
        paged.extend(names(&page));
    }
    assert_eq!(paged, expect(&|_| true));

    let (page, total) = list(AppFilter {
        team_ids: Some(vec![a.id, c.id]),
        limit: 500,
        ..Default::default()
    })
    .await;
    let want = expect(&|m| m.1 == a.id || m.1 == c.id);
    assert_eq!((names(&page), total), (want.clone(), want.len() as i64));
    assert!(
        page.iter()
            .all(|p| p.team == if p.team_id == a.id { "alpha" } else { "gamma" })
    );

    let (page, total) = list(AppFilter {
        team_ids: Some(vec![]),
        limit: 500,
        ..Default::default()
    })
    .await;
    assert_eq!((page.len(), total), (0, 0));

    let (page, total) = list(AppFilter {
        team: Some("beta".into()),
        limit: 3,
        ..Default::default()
    })
    .await;
    let want = expect(&|m| m.1 == b.id);
    assert_eq!(total, want.len() as i64);
    assert_eq!(names(&page), want[..3]);

    let (page, total) = list(AppFilter {
        team_ids: Some(vec![a.id]),
        team: Some("beta".into()),
        limit: 500,
        ..Default::default()
    })
    .await;
    assert_eq!((page.len(), total), (0, 0), "filters combine");

    // Search: case-insensitive, name or description, wildcards literal.
    for term in ["PAYMENTS", "app-1", "50%", "under_", "_", "%", "back\\s", "zzz"] {
        let (page, total) = list(AppFilter {
            search: Some(term.into()),
            limit: 500,
            ..Default::default()
        })
        .await;
        let needle = term.to_lowercase();
        let want = expect(&|m| m.0.to_lowercase().contains(&needle) || m.2.to_lowercase().contains(&needle));
        assert_eq!(names(&page), want, "search {term:?}");
        assert_eq!(total, want.len() as i64, "search {term:?}");
    }
    let (fifty, _) = list(AppFilter {
        search: Some("50%".into()),
        limit: 500,
        ..Default::default()
    })
    .await;
    assert!(
        !fifty.is_empty() && fifty.iter().all(|a| a.description.contains("50%")),
        "% is literal"
    );

    // Page sizes are clamped to 1..=500.
    let (page, total) = list(AppFilter::default()).await;
    assert_eq!((page.len(), total), (1, 30));
}

async fn delete_app(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let by = actor(&ana);
    store
        .create_app(&new_revision("checkout", &pay, "one"), &by)
        .await
        .expect("create");
    let two = new_revision("checkout", &pay, "two");
    store.save_revision(&two, 1, &by).await.expect("save");
    store
        .create_app(&new_revision("other", &pay, "one"), &by)
        .await
        .expect("create");

    store.delete_app("checkout", None, &by).await.expect("delete");
    assert_eq!(store.app("checkout").await.expect("app"), None);
    assert_eq!(store.revision("checkout", 1).await.expect("rev"), None);
    assert!(
        store
            .revisions("checkout", None, 10)
            .await
            .expect("revisions")
            .is_empty()
    );
    assert!(
        store.app("other").await.expect("app").is_some(),
        "other apps stay"
    );
    let again = store.delete_app("checkout", None, &by).await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");

    let entry = &all_audit(store).await[0];
    assert_eq!(
        (entry.action.as_str(), entry.app.as_deref()),
        ("app.delete", Some("checkout"))
    );
    assert_eq!(
        json(&entry.before),
        serde_json::json!({"revision": 2, "manifest": two.manifest, "files": two.files})
    );
    assert_eq!(entry.after, None);

    // The name is free again, and numbering starts over.
    let (app, rev) = store
        .create_app(&new_revision("checkout", &pay, "new"), &by)
        .await
        .expect("recreate");
    assert_eq!((app.head, rev.number), (1, 1));
}

async fn tokens(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let budi = user(store, "budi").await;
    let pay = team(store, "payments").await;
    let by = actor(&ana);
    let now = now_ms();

    let ci = store
        .create_token("ci", ana.id, pay.id, Role::Editor, b"hash-ci", None, &by)
        .await
        .expect("create token");
    assert_eq!(
        (ci.name.as_str(), ci.team.as_str(), ci.role, ci.last_used_at),
        ("ci", "payments", Role::Editor, None)
    );
    let dup = store
        .create_token("ci", ana.id, pay.id, Role::Viewer, b"hash-2", None, &by)
        .await;
    assert!(
        matches!(&dup, Err(StoreError::AlreadyExists(w)) if w == "token ci"),
        "{dup:?}"
    );
    // Another user may use the name.
    store
        .create_token(
            "ci",
            budi.id,
            pay.id,
            Role::Viewer,
            b"hash-budi",
            None,
            &actor(&budi),
        )
        .await
        .expect("same name, other user");
    let no_team = store
        .create_token("x", ana.id, pay.id + 100, Role::Viewer, b"hash-x", None, &by)
        .await;
    assert!(matches!(no_team, Err(StoreError::NotFound(_))), "{no_team:?}");
    let no_user = store
        .create_token(
            "x",
            ana.id + budi.id + 100,
            pay.id,
            Role::Viewer,
            b"hash-y",
            None,
            &by,
        )
        .await;
    assert!(matches!(no_user, Err(StoreError::NotFound(_))), "{no_user:?}");

    let found = store
        .token_by_hash(b"hash-ci", now)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.id, ci.id);
    assert_eq!(found.last_used_at, Some(now));
    // Written at most once a minute: reads stay reads.
    let soon_after = store
        .token_by_hash(b"hash-ci", now + 5)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(soon_after.last_used_at, Some(now));
    let minute_later = store
        .token_by_hash(b"hash-ci", now + 60_000)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(minute_later.last_used_at, Some(now + 60_000));
    let listed = store.tokens_of(ana.id).await.expect("tokens");
    let ci_listed = listed.iter().find(|t| t.id == ci.id).expect("listed");
    assert_eq!(
        ci_listed.last_used_at,
        Some(now + 60_000),
        "stored, not only returned"
    );
    assert_eq!(store.token_by_hash(b"unknown", now).await.expect("lookup"), None);

    // Expiry: found before, not at or after.
    let soon = store
        .create_token(
            "soon",
            ana.id,
            pay.id,
            Role::Viewer,
            b"hash-soon",
            Some(now + 60_000),
            &by,
        )
        .await
        .expect("create");
    assert!(
        store
            .token_by_hash(b"hash-soon", now + 59_999)
            .await
            .expect("lookup")
            .is_some()
    );
    assert_eq!(
        store
            .token_by_hash(b"hash-soon", now + 60_000)
            .await
            .expect("lookup"),
        None
    );
    let expired = store
        .create_token(
            "old",
            ana.id,
            pay.id,
            Role::Viewer,
            b"hash-old",
            Some(now - 1),
            &by,
        )
        .await
        .expect("create");
    assert_eq!(store.token_by_hash(b"hash-old", now).await.expect("lookup"), None);

    let live: Vec<i64> = store
        .tokens_of(ana.id)
        .await
        .expect("tokens")
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(live, vec![soon.id, ci.id], "newest first; expired not listed");
    // An expired token's name can be reused.
    store
        .create_token("old", ana.id, pay.id, Role::Viewer, b"hash-old-2", None, &by)
        .await
        .expect("reuse expired name");
    assert_ne!(expired.id, 0);

    // Revocation: only by the owner, once.
    let wrong_owner = store.revoke_token(ci.id, budi.id, &by).await;
    assert!(
        matches!(wrong_owner, Err(StoreError::NotFound(_))),
        "{wrong_owner:?}"
    );
    store.revoke_token(ci.id, ana.id, &by).await.expect("revoke");
    assert_eq!(store.token_by_hash(b"hash-ci", now).await.expect("lookup"), None);
    let twice = store.revoke_token(ci.id, ana.id, &by).await;
    assert!(matches!(twice, Err(StoreError::NotFound(_))), "{twice:?}");
    assert!(
        !store
            .tokens_of(ana.id)
            .await
            .expect("tokens")
            .iter()
            .any(|t| t.id == ci.id)
    );
    store
        .create_token("ci", ana.id, pay.id, Role::Editor, b"hash-ci-2", None, &by)
        .await
        .expect("reuse revoked name");

    let entries = all_audit(store).await;
    let revoke = entries
        .iter()
        .find(|e| e.action == "token.revoke")
        .expect("revoke audited");
    assert_eq!(
        (revoke.team_id, revoke.target.as_str()),
        (Some(pay.id), "token ci")
    );
    for e in &entries {
        let text = format!("{:?}{:?}", e.before, e.after);
        assert!(
            !text.contains("hash-"),
            "token hashes never reach the audit log: {text}"
        );
    }
}

async fn sessions(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let now = now_ms();
    store
        .create_session(b"cookie-1", ana.id, "csrf-1", now + 1000)
        .await
        .expect("create");
    store
        .create_session(b"cookie-2", ana.id, "csrf-2", now + 1000)
        .await
        .expect("create");
    let s = store
        .session(b"cookie-1", now)
        .await
        .expect("session")
        .expect("live");
    assert_eq!(
        s,
        Session {
            user_id: ana.id,
            csrf: "csrf-1".into(),
            expires_at: now + 1000
        }
    );
    assert_eq!(
        store.session(b"cookie-1", now + 1000).await.expect("session"),
        None,
        "expired"
    );
    assert_eq!(store.session(b"other", now).await.expect("session"), None);
    let no_user = store
        .create_session(b"cookie-3", ana.id + 100, "c", now + 1000)
        .await;
    assert!(matches!(no_user, Err(StoreError::NotFound(_))), "{no_user:?}");

    store.delete_session(b"cookie-1").await.expect("delete");
    assert_eq!(store.session(b"cookie-1", now).await.expect("session"), None);
    assert!(store.session(b"cookie-2", now).await.expect("session").is_some());

    // A new password ends every session of the user.
    store
        .set_password(ana.id, "new-hash", &Actor::system())
        .await
        .expect("set password");
    assert_eq!(store.session(b"cookie-2", now).await.expect("session"), None);

    // Expired sessions are forgotten when new ones are made.
    store
        .create_session(b"stale", ana.id, "c", now - 1)
        .await
        .expect("create");
    store
        .create_session(b"fresh", ana.id, "c", now + 1000)
        .await
        .expect("create");
    assert_eq!(
        store.session(b"stale", i64::MIN).await.expect("session"),
        None,
        "expired row deleted"
    );
}

async fn audit_log(db: &TestDb) {
    let store = &db.store;
    let admin = user(store, "admin").await;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let food = team(store, "food").await;
    let by = actor(&admin);
    store
        .create_app(&new_revision("checkout", &pay, "one"), &by)
        .await
        .expect("create");
    let two = new_revision("checkout", &pay, "two");
    store.save_revision(&two, 1, &by).await.expect("save");
    store
        .create_app(&new_revision("menu", &food, "one"), &by)
        .await
        .expect("create");
    let ana_login = Actor {
        via: "ui".into(),
        ..actor(&ana)
    };
    store
        .record(&ana_login, "login", None, None, "user ana")
        .await
        .expect("record");
    store
        .record(&Actor::system(), "login.failed", None, None, "user eve")
        .await
        .expect("record");

    let all = all_audit(store).await;
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "login.failed",
            "login",
            "app.create",
            "app.save",
            "app.create",
            "team.create",
            "team.create",
            "user.create",
            "user.create"
        ]
    );
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert!(all.windows(2).all(|w| w[0].at >= w[1].at));
    let user_create = all
        .iter()
        .find(|e| e.action == "user.create")
        .expect("user.create");
    assert!(
        !format!("{:?}", user_create.after).contains("hash-of"),
        "no password hashes"
    );

    let save = &all[3];
    assert_eq!(
        (save.team_id, save.team.as_deref(), save.app.as_deref()),
        (Some(pay.id), Some("payments"), Some("checkout"))
    );
    assert_eq!(save.target, "app checkout rev 2");
    assert_eq!(save.actor, "admin");
    assert_eq!(save.actor_id, Some(admin.id));
    assert_eq!(
        json(&save.before),
        serde_json::json!({
            "revision": 1,
            "manifest": manifest("checkout", "payments", "one"),
            "files": {"config/app.toml": "note = \"one\"\n"},
        })
    );
    assert_eq!(
        json(&save.after),
        serde_json::json!({"revision": 2, "manifest": two.manifest, "files": two.files})
    );
    let create = &all[4];
    assert_eq!(create.before, None);
    assert_eq!(json(&create.after)["revision"], 1);

    // A team member sees the team's entries and their own.
    let read = |filter: AuditFilter| async move { store.audit(&filter).await.expect("audit") };
    let for_ana = read(AuditFilter {
        team_ids: Some(vec![pay.id]),
        actor_id: Some(ana.id),
        limit: 100,
        ..Default::default()
    })
    .await;
    let got: Vec<(&str, Option<i64>)> = for_ana.iter().map(|e| (e.action.as_str(), e.team_id)).collect();
    assert_eq!(
        got,
        vec![
            ("login", None),
            ("app.save", Some(pay.id)),
            ("app.create", Some(pay.id)),
            ("team.create", Some(pay.id))
        ]
    );
    let none = read(AuditFilter {
        team_ids: Some(vec![]),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert!(none.is_empty());
    let only_own = read(AuditFilter {
        team_ids: Some(vec![]),
        actor_id: Some(ana.id),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(
        only_own.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["login"]
    );

    let menu = read(AuditFilter {
        app: Some("menu".into()),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(menu.iter().map(|e| e.id).collect::<Vec<_>>(), vec![all[2].id]);

    // Cursor pagination.
    let first = read(AuditFilter {
        limit: 4,
        ..Default::default()
    })
    .await;
    let rest = read(AuditFilter {
        before: Some(first.last().expect("a page").id),
        limit: 500,
        ..Default::default()
    })
    .await;
    assert_eq!(first.iter().chain(&rest).cloned().collect::<Vec<_>>(), all);
    let min_one = read(AuditFilter::default()).await;
    assert_eq!(min_one, all[..1]);
}

async fn failed_mutations_write_no_audit(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let by = actor(&ana);
    store
        .create_app(&new_revision("checkout", &pay, "one"), &by)
        .await
        .expect("create");
    store
        .save_revision(&new_revision("checkout", &pay, "two"), 1, &by)
        .await
        .expect("save");
    store
        .save_platform("default", "a: 1\n", None, &by)
        .await
        .expect("platform");
    store
        .create_token("ci", ana.id, pay.id, Role::Viewer, b"h", None, &by)
        .await
        .expect("token");
    let before = all_audit(store).await;

    let failures = [
        store
            .save_revision(&new_revision("checkout", &pay, "late"), 1, &by)
            .await
            .err(),
        store
            .save_revision(&new_revision("ghost", &pay, "x"), 1, &by)
            .await
            .err(),
        store
            .create_app(&new_revision("checkout", &pay, "dup"), &by)
            .await
            .err(),
        store.create_user("ana", "Ana", "h", false, &by).await.err(),
        store.create_team("payments", &by).await.err(),
        store
            .create_token("ci", ana.id, pay.id, Role::Viewer, b"h2", None, &by)
            .await
            .err(),
        store.save_platform("default", "a: 2\n", None, &by).await.err(),
        store.save_platform("default", "a: 2\n", Some(9), &by).await.err(),
        store.delete_app("ghost", None, &by).await.err(),
        store.revoke_token(9999, ana.id, &by).await.err(),
        store.set_member(pay.id, 9999, Some(Role::Admin), &by).await.err(),
    ];
    for (i, f) in failures.iter().enumerate() {
        assert!(f.is_some(), "mutation {i} should fail");
    }
    assert_eq!(
        all_audit(store).await,
        before,
        "failed mutations leave the audit log as it was"
    );
    // And they left no half-written data.
    assert_eq!(store.app("checkout").await.expect("app").map(|a| a.head), Some(2));
    assert_eq!(store.app("ghost").await.expect("app"), None);
    assert_eq!(
        store
            .platform("default")
            .await
            .expect("platform")
            .map(|p| p.version),
        Some(1)
    );
}

async fn platform_files(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let by = actor(&ana);
    assert_eq!(store.platform("default").await.expect("read"), None);
    let v1 = store
        .save_platform("default", "clusters: {}\n", None, &by)
        .await
        .expect("create");
    assert_eq!((v1.version, v1.updated_by.as_str()), (1, "ana"));
    assert_eq!(store.platform("default").await.expect("read"), Some(v1.clone()));
    let dup = store.save_platform("default", "x", None, &by).await;
    assert!(
        matches!(&dup, Err(StoreError::AlreadyExists(w)) if w == "platform file default"),
        "{dup:?}"
    );

    let v2 = store
        .save_platform("default", "clusters: {a: 1}\n", Some(1), &by)
        .await
        .expect("save");
    assert_eq!(v2.version, 2);
    assert_eq!(store.platform("default").await.expect("read"), Some(v2.clone()));
    match store.save_platform("default", "late", Some(1), &by).await {
        Err(StoreError::PlatformConflict(current)) => assert_eq!(*current, v2),
        other => panic!("expected PlatformConflict, got {other:?}"),
    }
    let missing = store.save_platform("staging", "x", Some(1), &by).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");

    // Concurrent editors of one version: one wins.
    let results = futures_join_all((0..6).map(|i| {
        let (store, by) = (store.clone(), by.clone());
        async move {
            store
                .save_platform("default", &format!("v: {i}\n"), Some(2), &by)
                .await
        }
    }))
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(_) | Err(StoreError::PlatformConflict(_))))
    );
    assert_eq!(
        store.platform("default").await.expect("read").map(|p| p.version),
        Some(3)
    );

    let saves: Vec<_> = all_audit(store)
        .await
        .into_iter()
        .filter(|e| e.action == "platform.save")
        .collect();
    assert_eq!(saves.len(), 3);
    assert_eq!(
        json(&saves[1].before),
        serde_json::json!({"version": 1, "content": "clusters: {}\n"})
    );
    assert_eq!(
        json(&saves[1].after),
        serde_json::json!({"version": 2, "content": "clusters: {a: 1}\n"})
    );
}

async fn ping_and_close(db: &TestDb) {
    let store = db.reopen().await;
    store.ping().await.expect("ping");
    store.close().await;
    let down = store.ping().await;
    assert!(matches!(down, Err(StoreError::Unavailable(_))), "{down:?}");
    db.store.ping().await.expect("other stores unaffected");
}

// ---- single-engine cases

#[tokio::test]
async fn postgres_that_is_down_is_unavailable_quickly() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let started = Instant::now();
    let result = Store::open(&format!("postgres://ojek:secret@127.0.0.1:{port}/ojek")).await;
    let took = started.elapsed();
    match result {
        Err(StoreError::Unavailable(why)) => {
            assert!(
                !why.contains("secret"),
                "the password stays out of messages: {why}"
            );
            assert!(
                why.contains(&port.to_string()),
                "the message names the server: {why}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn in_memory_sqlite_keeps_its_data() {
    let store = Store::open("sqlite::memory:").await.expect("open");
    let t = store
        .create_team("payments", &Actor::system())
        .await
        .expect("team");
    // Several calls, each needing the pool's single connection.
    for _ in 0..3 {
        assert_eq!(store.teams().await.expect("teams"), vec![t.clone()]);
    }
    let other = Store::open("sqlite::memory:").await.expect("open");
    assert!(
        other.teams().await.expect("teams").is_empty(),
        "each in-memory store is its own database"
    );
}

#[tokio::test]
async fn unknown_urls_are_refused() {
    let err = Store::open("mysql://localhost/ojek").await;
    assert!(
        matches!(err, Err(StoreError::Database(ref m)) if m.contains("unsupported")),
        "{err:?}"
    );
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("new.db");
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    store.ping().await.expect("ping");
    assert!(path.exists());
    store.create_team("t", &Actor::system()).await.expect("write");
    assert!(
        dir.path().join("new.db-wal").exists(),
        "journal is a write-ahead log"
    );
}

/// Saves and deletes name the team the caller was authorised for: an app that has moved (or
/// was re-created by another team) is not touched. A move is audited for both teams, and an
/// actor's entries in a team are only visible to that team's readers.
async fn team_guards_and_moves(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let food = team(store, "gofood").await;
    let by = actor(&ana);
    store
        .create_app(&new_revision("checkout", &pay, "one"), &by)
        .await
        .expect("create");
    let audit_len = all_audit(store).await.len();

    // The caller thinks the app is in gofood: refused, nothing written.
    let mut wrong = new_revision("checkout", &pay, "two");
    wrong.expected_team_id = Some(food.id);
    let r = store.save_revision(&wrong, 1, &by).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    assert_eq!(store.app("checkout").await.expect("app").expect("exists").head, 1);
    assert_eq!(all_audit(store).await.len(), audit_len);

    // A move from payments to gofood: saved, audited for both teams.
    let mut moving = new_revision("checkout", &food, "moved");
    moving.expected_team_id = Some(pay.id);
    let rev = store.save_revision(&moving, 1, &by).await.expect("move");
    assert_eq!(rev.number, 2);
    assert_eq!(
        store.app("checkout").await.expect("app").expect("exists").team_id,
        food.id
    );
    let audit = all_audit(store).await;
    let (moved, saved) = (&audit[0], &audit[1]);
    assert_eq!((moved.action.as_str(), moved.team_id), ("app.move", Some(pay.id)));
    assert!(moved.target.contains("moved to team gofood"), "{}", moved.target);
    assert_eq!(
        (saved.action.as_str(), saved.team_id),
        ("app.save", Some(food.id))
    );
    let for_payments = store
        .audit(&AuditFilter {
            team_ids: Some(vec![pay.id]),
            actor_id: Some(ana.id),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert!(for_payments.iter().any(|e| e.action == "app.move"));
    assert!(
        !for_payments.iter().any(|e| e.action == "app.save"),
        "the save in gofood is not payments' business, even for its author"
    );

    // Deleting with the old team fails; with the current one it works.
    let r = store.delete_app("checkout", Some(pay.id), &by).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    assert!(store.app("checkout").await.expect("app").is_some());
    store
        .delete_app("checkout", Some(food.id), &by)
        .await
        .expect("delete");
    assert!(store.app("checkout").await.expect("app").is_none());
}

/// Search folds case beyond ASCII the same way on both engines.
async fn search_folds_unicode(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let mut new = new_revision("uber-eats", &pay, "one");
    new.description = "Über schnelle Lieferung".into();
    store.create_app(&new, &actor(&ana)).await.expect("create");
    for term in ["über", "ÜBER", "Lieferung", "UBER-EATS"] {
        let (apps, total) = store
            .list_apps(&AppFilter {
                search: Some(term.into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!((apps.len(), total), (1, 1), "search {term:?}");
    }
}

// ---- deployments

fn new_deployment(app: &str, revision: i64, environment: &str) -> NewDeployment {
    NewDeployment {
        app: app.into(),
        revision,
        environment: environment.into(),
        target: DeployTarget::Kubernetes,
        cluster: "prod-eu".into(),
        kind: DeployKind::Apply,
        expected_team_id: None,
    }
}

/// An app `name` of team `team` with revisions 1..=`revisions`.
async fn app_with_revisions(store: &Store, name: &str, team: &Team, revisions: i64, by: &Actor) {
    store
        .create_app(&new_revision(name, team, "rev 1"), by)
        .await
        .expect("create app");
    for n in 2..=revisions {
        store
            .save_revision(&new_revision(name, team, &format!("rev {n}")), n - 1, by)
            .await
            .expect("save revision");
    }
}

/// Starts and finishes one deployment.
async fn deploy(store: &Store, new: &NewDeployment, result: DeployResult, by: &Actor) -> DeploymentRecord {
    let started = store.start_deployment(new, by).await.expect("start deployment");
    let hash = (result != DeployResult::Unreachable).then(|| format!("sha256:rev{}", new.revision));
    store
        .finish_deployment(
            started.id,
            result,
            hash.as_deref(),
            &format!("{} rev {}", result.as_str(), new.revision),
            &serde_json::json!({"objects": []}),
            by,
        )
        .await
        .expect("finish deployment")
}

fn ids(records: &[DeploymentRecord]) -> Vec<i64> {
    records.iter().map(|r| r.id).collect()
}

async fn deployments_start_finish_and_list(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let by = Actor {
        via: "token:ci".into(),
        ..actor(&ana)
    };
    app_with_revisions(store, "checkout", &pay, 3, &by).await;

    let mut new = new_deployment("checkout", 2, "production");
    new.cluster = "https://deployer:s3cret@k8s.example:6443".into();
    new.target = DeployTarget::Nomad;
    let started = store.start_deployment(&new, &by).await.expect("start");
    assert_eq!(started.result, DeployResult::Running);
    assert_eq!((started.app.as_str(), started.team_id), ("checkout", pay.id));
    assert_eq!(
        (started.environment.as_str(), started.revision),
        ("production", 2)
    );
    assert_eq!(
        (started.target, started.kind),
        (DeployTarget::Nomad, DeployKind::Apply)
    );
    assert_eq!(
        started.cluster, "https://deployer:***@k8s.example:6443",
        "credentials redacted"
    );
    assert_eq!(
        (started.actor_id, started.actor.as_str(), started.via.as_str()),
        (Some(ana.id), "ana", "token:ci")
    );
    assert!(started.started_at > 0);
    assert_eq!(
        (started.finished_at, &started.hash, started.summary.as_str()),
        (None, &None, "")
    );
    assert_eq!(started.report, None);
    assert_eq!(
        store.deployment(started.id).await.expect("read"),
        Some(started.clone())
    );

    // One attempt at a time per app and environment; other environments are free.
    let busy = store.start_deployment(&new, &by).await;
    assert!(
        matches!(&busy, Err(StoreError::AlreadyExists(w)) if w == "a running deployment of app checkout to production"),
        "{busy:?}"
    );
    let staging = store
        .start_deployment(&new_deployment("checkout", 3, "staging"), &by)
        .await
        .expect("another environment");

    let report = serde_json::json!({"applied": ["Deployment/checkout"], "failed": []});
    let finished = store
        .finish_deployment(
            started.id,
            DeployResult::Succeeded,
            Some("sha256:abc"),
            "applied 1 object\nrolled out",
            &report,
            &by,
        )
        .await
        .expect("finish");
    assert_eq!(finished.result, DeployResult::Succeeded);
    assert_eq!(finished.hash.as_deref(), Some("sha256:abc"));
    assert_eq!(finished.summary, "applied 1 object rolled out", "one line");
    assert_eq!(finished.report, Some(report.clone()));
    assert!(finished.finished_at.is_some_and(|f| f >= finished.started_at));
    assert_eq!(
        store.deployment(finished.id).await.expect("read"),
        Some(finished.clone())
    );
    store
        .finish_deployment(
            staging.id,
            DeployResult::Timeout,
            Some("sha256:def"),
            "slow",
            &report,
            &by,
        )
        .await
        .expect("finish staging");

    // Newest first, without reports; by environment; in pages.
    let mut all = vec![staging.id, started.id];
    for (rev, env) in [(3, "production"), (1, "production"), (2, "staging")] {
        all.insert(
            0,
            deploy(
                store,
                &new_deployment("checkout", rev, env),
                DeployResult::Failed,
                &by,
            )
            .await
            .id,
        );
    }
    let listed = store.deployments("checkout", None, None, 50).await.expect("list");
    assert_eq!(ids(&listed), all);
    assert!(
        listed.iter().all(|d| d.report.is_none()),
        "lists leave reports out"
    );
    assert_eq!(listed[4].summary, "applied 1 object rolled out");
    let prod = store
        .deployments("checkout", Some("production"), None, 50)
        .await
        .expect("list");
    assert_eq!(ids(&prod), vec![all[1], all[2], all[4]]);
    assert!(prod.iter().all(|d| d.environment == "production"));
    let page1 = store.deployments("checkout", None, None, 2).await.expect("page");
    assert_eq!(ids(&page1), all[..2].to_vec());
    let page2 = store
        .deployments("checkout", None, Some(page1[1].id), 2)
        .await
        .expect("page");
    assert_eq!(ids(&page2), all[2..4].to_vec());
    let page3 = store
        .deployments("checkout", None, Some(page2[1].id), 2)
        .await
        .expect("page");
    assert_eq!(ids(&page3), all[4..].to_vec());
    assert!(
        store
            .deployments("ghost", None, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .deployments("checkout", Some("nowhere"), None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(store.deployment(9999).await.expect("read"), None);

    // What cannot be started.
    let other = team(store, "ops").await;
    let failures = [
        store
            .start_deployment(&new_deployment("ghost", 1, "production"), &by)
            .await,
        store
            .start_deployment(&new_deployment("checkout", 4, "production"), &by)
            .await,
        store
            .start_deployment(&new_deployment("checkout", 0, "production"), &by)
            .await,
        store
            .start_deployment(
                &NewDeployment {
                    expected_team_id: Some(other.id),
                    ..new_deployment("checkout", 1, "production")
                },
                &by,
            )
            .await,
    ];
    for f in &failures {
        assert!(matches!(f, Err(StoreError::NotFound(_))), "{f:?}");
    }
    let no_env = store
        .start_deployment(&new_deployment("checkout", 1, " "), &by)
        .await;
    assert!(matches!(no_env, Err(StoreError::InvalidInput(_))), "{no_env:?}");
    let in_team = store
        .start_deployment(
            &NewDeployment {
                expected_team_id: Some(pay.id),
                ..new_deployment("checkout", 1, "production")
            },
            &by,
        )
        .await
        .expect("start in the expected team");
    assert_eq!(in_team.team_id, pay.id);
}

async fn deployment_status_per_environment(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let by = actor(&ana);
    app_with_revisions(store, "checkout", &pay, 3, &by).await;
    app_with_revisions(store, "other", &pay, 1, &by).await;
    assert!(
        store
            .current_deployments("checkout")
            .await
            .expect("status")
            .is_empty()
    );
    assert!(
        store
            .current_deployments("ghost")
            .await
            .expect("status")
            .is_empty()
    );

    let ok1 = deploy(
        store,
        &new_deployment("checkout", 1, "production"),
        DeployResult::Succeeded,
        &by,
    )
    .await;
    let ok2 = deploy(
        store,
        &new_deployment("checkout", 2, "production"),
        DeployResult::Succeeded,
        &by,
    )
    .await;
    // The cluster was unreachable for revision 3: nothing is recorded as deployed.
    let down = deploy(
        store,
        &new_deployment("checkout", 3, "production"),
        DeployResult::Unreachable,
        &by,
    )
    .await;
    assert_eq!((down.result, &down.hash), (DeployResult::Unreachable, &None));
    let staging_down = deploy(
        store,
        &new_deployment("checkout", 3, "staging"),
        DeployResult::Unreachable,
        &by,
    )
    .await;
    let dev = store
        .start_deployment(&new_deployment("checkout", 3, "dev"), &by)
        .await
        .expect("start");
    let partial = deploy(
        store,
        &new_deployment("checkout", 2, "qa"),
        DeployResult::Succeeded,
        &by,
    )
    .await;
    deploy(
        store,
        &new_deployment("checkout", 3, "qa"),
        DeployResult::Partial,
        &by,
    )
    .await;
    deploy(
        store,
        &new_deployment("other", 1, "production"),
        DeployResult::Succeeded,
        &by,
    )
    .await;

    let status = store.current_deployments("checkout").await.expect("status");
    let envs: Vec<&str> = status.iter().map(|s| s.environment.as_str()).collect();
    assert_eq!(
        envs,
        vec!["dev", "production", "qa", "staging"],
        "by environment name"
    );
    let prod = &status[1];
    assert_eq!(prod.last.id, down.id);
    assert_eq!(prod.last.result, DeployResult::Unreachable);
    assert_eq!(prod.last_succeeded.as_ref().map(|d| d.id), Some(ok2.id));
    assert_eq!(prod.last_succeeded.as_ref().map(|d| d.revision), Some(2));
    assert_ne!(prod.last_succeeded.as_ref().map(|d| d.id), Some(ok1.id));
    assert_eq!(
        (status[0].last.id, status[0].last.result),
        (dev.id, DeployResult::Running)
    );
    assert_eq!(status[0].last_succeeded, None);
    assert_eq!(status[2].last.result, DeployResult::Partial);
    assert_eq!(status[2].last_succeeded.as_ref().map(|d| d.id), Some(partial.id));
    assert_eq!(status[3].last.id, staging_down.id);
    assert_eq!(status[3].last_succeeded, None, "unreachable is never deployed");
    assert!(status.iter().all(|s| s.last.report.is_none()));
    let other = store.current_deployments("other").await.expect("status");
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].last.app, "other");
}

async fn deployments_finish_only_from_running(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let by = actor(&ana);
    app_with_revisions(store, "checkout", &pay, 1, &by).await;
    let started = store
        .start_deployment(&new_deployment("checkout", 1, "production"), &by)
        .await
        .expect("start");
    let report = serde_json::json!({});
    let as_running = store
        .finish_deployment(started.id, DeployResult::Running, None, "x", &report, &by)
        .await;
    assert!(
        matches!(as_running, Err(StoreError::InvalidInput(_))),
        "{as_running:?}"
    );
    let done = store
        .finish_deployment(
            started.id,
            DeployResult::Failed,
            None,
            "apply failed",
            &report,
            &by,
        )
        .await
        .expect("finish");
    let audit_before = all_audit(store).await;

    let again = store
        .finish_deployment(
            started.id,
            DeployResult::Succeeded,
            Some("h"),
            "late",
            &report,
            &by,
        )
        .await;
    assert!(
        matches!(&again, Err(StoreError::InvalidInput(m)) if m.contains("already finished (failed)")),
        "{again:?}"
    );
    let missing = store
        .finish_deployment(9999, DeployResult::Succeeded, None, "x", &report, &by)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
    assert_eq!(
        store.deployment(started.id).await.expect("read"),
        Some(done),
        "unchanged"
    );
    assert_eq!(
        all_audit(store).await,
        audit_before,
        "failed finishes write no audit entry"
    );

    // Two finishers racing: exactly one wins.
    let racing = store
        .start_deployment(&new_deployment("checkout", 1, "production"), &by)
        .await
        .expect("start");
    let finishers = futures_join_all((0..4).map(|i| {
        let (store, by) = (store.clone(), by.clone());
        async move {
            let result = if i % 2 == 0 {
                DeployResult::Succeeded
            } else {
                DeployResult::Failed
            };
            store
                .finish_deployment(racing.id, result, None, "race", &serde_json::json!({}), &by)
                .await
        }
    }))
    .await;
    assert_eq!(finishers.iter().filter(|f| f.is_ok()).count(), 1, "{finishers:?}");
    let audited = all_audit(store).await;
    assert_eq!(
        audited.len(),
        audit_before.len() + 1,
        "one audit entry for the winner"
    );
}

async fn stale_deployments_are_interrupted(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let by = actor(&ana);
    app_with_revisions(store, "checkout", &pay, 2, &by).await;
    let done = deploy(
        store,
        &new_deployment("checkout", 1, "production"),
        DeployResult::Succeeded,
        &by,
    )
    .await;
    let stuck = store
        .start_deployment(&new_deployment("checkout", 2, "production"), &by)
        .await
        .expect("start");
    let rollback = store
        .start_deployment(
            &NewDeployment {
                kind: DeployKind::Rollback,
                ..new_deployment("checkout", 1, "staging")
            },
            &by,
        )
        .await
        .expect("start");

    // Young running deployments (another replica may be at work) are left alone.
    let none = store.finish_stale_deployments(3_600_000).await.expect("stale");
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(
        store.deployment(stuck.id).await.expect("read").map(|d| d.result),
        Some(DeployResult::Running)
    );
    let blocked = store
        .start_deployment(&new_deployment("checkout", 2, "production"), &by)
        .await;
    assert!(
        matches!(blocked, Err(StoreError::AlreadyExists(_))),
        "{blocked:?}"
    );

    let audit_before = all_audit(store).await.len();
    let finished = store.finish_stale_deployments(0).await.expect("stale");
    assert_eq!(ids(&finished), vec![stuck.id, rollback.id]);
    for d in &finished {
        assert_eq!(d.result, DeployResult::Failed);
        assert_eq!(d.summary, "interrupted");
        assert_eq!(d.report, None);
        assert!(d.finished_at.is_some());
        assert_eq!(d.hash, None);
    }
    assert_eq!(
        store.deployment(stuck.id).await.expect("read").as_ref(),
        Some(&finished[0])
    );
    assert_eq!(
        store.deployment(done.id).await.expect("read"),
        Some(done.clone()),
        "finished ones untouched"
    );
    let audit = all_audit(store).await;
    assert_eq!(audit.len(), audit_before + 2);
    assert_eq!(
        audit[..2]
            .iter()
            .map(|e| (e.action.as_str(), e.actor.as_str()))
            .collect::<Vec<_>>(),
        vec![("deploy.rollback", "system"), ("deploy.apply", "system")]
    );
    assert_eq!(json(&audit[1].after)["result"], "failed");
    // Nothing is running any more: a new attempt may start, the old one cannot be finished.
    store
        .start_deployment(&new_deployment("checkout", 2, "production"), &by)
        .await
        .expect("no longer blocked");
    let late = store
        .finish_deployment(
            stuck.id,
            DeployResult::Succeeded,
            None,
            "x",
            &serde_json::json!({}),
            &by,
        )
        .await;
    assert!(matches!(late, Err(StoreError::InvalidInput(_))), "{late:?}");
    let status = store.current_deployments("checkout").await.expect("status");
    assert_eq!(status[0].last_succeeded.as_ref().map(|d| d.id), Some(done.id));
    assert!(
        store.finish_stale_deployments(-5).await.is_ok(),
        "a negative age is 0"
    );
}

async fn deployments_are_audited_when_finished(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let by = actor(&ana);
    app_with_revisions(store, "checkout", &pay, 3, &by).await;
    let before = all_audit(store).await.len();

    let started = store
        .start_deployment(&new_deployment("checkout", 2, "production"), &by)
        .await
        .expect("start");
    assert_eq!(all_audit(store).await.len(), before, "starting is not audited");
    let first = store
        .finish_deployment(
            started.id,
            DeployResult::Succeeded,
            Some("sha256:two"),
            "ok",
            &serde_json::json!({}),
            &by,
        )
        .await
        .expect("finish");
    let entry = &all_audit(store).await[0];
    assert_eq!(entry.action, "deploy.apply");
    assert_eq!(
        (entry.team_id, entry.team.as_deref()),
        (Some(pay.id), Some("payments"))
    );
    assert_eq!(entry.app.as_deref(), Some("checkout"));
    assert_eq!(entry.target, "app checkout rev 2 to production");
    assert_eq!(
        (entry.actor.as_str(), entry.actor_id, entry.via.as_str()),
        ("ana", Some(ana.id), "ui")
    );
    assert_eq!(entry.at, first.finished_at.expect("finished"));
    assert_eq!(entry.before, None, "nothing was deployed there before");
    assert_eq!(
        json(&entry.after),
        serde_json::json!({"deployment": first.id, "revision": 2, "result": "succeeded", "hash": "sha256:two"})
    );

    deploy(
        store,
        &new_deployment("checkout", 3, "production"),
        DeployResult::Unreachable,
        &by,
    )
    .await;
    deploy(
        store,
        &new_deployment("checkout", 3, "staging"),
        DeployResult::Succeeded,
        &by,
    )
    .await;
    let rollback = NewDeployment {
        kind: DeployKind::Rollback,
        ..new_deployment("checkout", 1, "production")
    };
    let back = deploy(store, &rollback, DeployResult::Succeeded, &by).await;
    let audit = all_audit(store).await;
    assert_eq!(
        audit[..3].iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["deploy.rollback", "deploy.apply", "deploy.apply"]
    );
    assert_eq!(audit[2].target, "app checkout rev 3 to production");
    assert_eq!(json(&audit[2].after)["result"], "unreachable");
    assert_eq!(json(&audit[2].after)["hash"], serde_json::Value::Null);
    assert_eq!(audit[0].target, "app checkout rev 1 to production");
    // Before: what production ran, not the unreachable attempt nor another environment.
    assert_eq!(
        json(&audit[0].before),
        serde_json::json!({"deployment": first.id, "revision": 2, "result": "succeeded", "hash": "sha256:two"})
    );
    assert_eq!(json(&audit[0].after)["deployment"], back.id);
    // Team readers see them; the app filter finds them.
    let team_view = store
        .audit(&AuditFilter {
            team_ids: Some(vec![pay.id]),
            app: Some("checkout".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(
        team_view
            .iter()
            .filter(|e| e.action.starts_with("deploy."))
            .count(),
        4
    );
}

async fn deployments_survive_app_deletion(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let food = team(store, "food").await;
    let by = actor(&ana);
    app_with_revisions(store, "checkout", &pay, 2, &by).await;
    let done = deploy(
        store,
        &new_deployment("checkout", 2, "production"),
        DeployResult::Succeeded,
        &by,
    )
    .await;
    let running = store
        .start_deployment(&new_deployment("checkout", 1, "staging"), &by)
        .await
        .expect("start");

    store.delete_app("checkout", None, &by).await.expect("delete");
    assert_eq!(
        store.deployment(done.id).await.expect("read"),
        Some(done.clone()),
        "kept"
    );
    // A deploy in flight while the app was deleted still finishes and is audited for its team.
    let finished = store
        .finish_deployment(
            running.id,
            DeployResult::Succeeded,
            Some("h"),
            "ok",
            &serde_json::json!({}),
            &by,
        )
        .await
        .expect("finish after delete");
    assert_eq!((finished.app.as_str(), finished.team_id), ("checkout", pay.id));
    let entry = &all_audit(store).await[0];
    assert_eq!(
        (entry.action.as_str(), entry.team_id),
        ("deploy.apply", Some(pay.id))
    );

    // The name is free again: the new app (another team's) starts with an empty history.
    app_with_revisions(store, "checkout", &food, 1, &by).await;
    assert!(
        store
            .deployments("checkout", None, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .current_deployments("checkout")
            .await
            .expect("status")
            .is_empty()
    );
    let fresh = deploy(
        store,
        &new_deployment("checkout", 1, "production"),
        DeployResult::Succeeded,
        &by,
    )
    .await;
    assert_eq!(fresh.team_id, food.id);
    assert_eq!(
        ids(&store.deployments("checkout", None, None, 10).await.expect("list")),
        vec![fresh.id]
    );
    let entry = &all_audit(store).await[0];
    assert_eq!(
        entry.before, None,
        "the deleted app's deployments are not the new app's past"
    );
    // The old records are still there, under the old team.
    assert_eq!(
        store.deployment(done.id).await.expect("read").map(|d| d.team_id),
        Some(pay.id)
    );
    let reopened = db.reopen().await;
    assert_eq!(reopened.deployment(done.id).await.expect("read"), Some(done));
    reopened.close().await;
}

/// A database created before deployments existed (only `0001` applied, with data) gets `0002`
/// on the next start and keeps its data; starting again applies nothing.
async fn deployments_migration_applies_on_top_of_0001(db: &TestDb) {
    let engine = match db.store.kind() {
        DbKind::Sqlite => "sqlite",
        DbKind::Postgres => "postgres",
    };
    // Only the first migration, read from the same file the store embeds (same checksum).
    let only_first = tempfile::tempdir().expect("temporary directory");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(engine)
        .join("0001_initial.sql");
    std::fs::copy(&source, only_first.path().join("0001_initial.sql")).expect("copy 0001");
    let migrator = sqlx::migrate::Migrator::new(only_first.path())
        .await
        .expect("migrator");
    assert_eq!(migrator.iter().count(), 1);

    let sqlite_dir = tempfile::tempdir().expect("temporary directory");
    let _pg;
    let old_data = [
        "INSERT INTO teams (name, created_at) VALUES ('payments', 1)",
        "INSERT INTO apps (name, team_id, description, search, head, created_at, updated_at, updated_by) \
         SELECT 'checkout', id, 'old', 'checkout\nold', 1, 1, 1, 'ana' FROM teams",
        "INSERT INTO revisions (app_id, number, author, created_at, message, manifest, files) \
         SELECT id, 1, 'ana', 1, 'first', 'kind: old', '{}' FROM apps",
    ];
    let url = match db.store.kind() {
        DbKind::Sqlite => {
            let url = format!("sqlite://{}?mode=rwc", sqlite_dir.path().join("old.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
            migrator.run(&pool).await.expect("apply 0001");
            for sql in old_data {
                sqlx::query(sql).execute(&pool).await.expect("old data");
            }
            pool.close().await;
            url
        }
        DbKind::Postgres => {
            let admin = std::env::var("OJEK_TEST_POSTGRES_URL").expect("set for PostgreSQL tests");
            let pg = PgDatabase::create(&admin).await;
            let pool = sqlx::PgPool::connect(&pg.url).await.expect("connect");
            migrator.run(&pool).await.expect("apply 0001");
            for sql in old_data {
                sqlx::query(sql).execute(&pool).await.expect("old data");
            }
            pool.close().await;
            let url = pg.url.clone();
            _pg = pg;
            url
        }
    };

    let store = Store::open(&url)
        .await
        .expect("open migrates to the newest version");
    let app = store.app("checkout").await.expect("app").expect("old app kept");
    assert_eq!((app.team.as_str(), app.head), ("payments", 1));
    assert_eq!(
        store
            .revision("checkout", 1)
            .await
            .expect("rev")
            .map(|r| r.manifest),
        Some("kind: old".to_owned())
    );
    let by = Actor::system();
    let done = deploy(
        &store,
        &new_deployment("checkout", 1, "production"),
        DeployResult::Succeeded,
        &by,
    )
    .await;
    store.close().await;

    let again = Store::open(&url).await.expect("reopen: nothing to apply");
    assert_eq!(again.deployment(done.id).await.expect("read"), Some(done));
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .expect("applied migrations");
    assert_eq!(versions, vec![1, 2, 3, 4], "every later migration applied on top");
    conn.close().await.ok();
    again.close().await;
}
