//! Log producer secrets and log settings against real databases: every scenario runs on SQLite
//! and on PostgreSQL (see `common` for the harness).

use ojek_store::*;

mod common;
use common::*;

scenarios!(
    log_secrets_are_created_found_and_listed,
    log_secrets_are_revoked_within_their_team,
    log_secrets_rotate_in_one_transaction,
    concurrent_rotations_of_one_secret,
    app_secrets_follow_their_app,
    log_settings_upsert_and_resolve,
    log_settings_are_validated,
    app_log_settings_follow_their_app,
    concurrent_log_settings_of_one_team,
    log_mutations_are_audited,
    failed_log_mutations_write_no_audit,
);

// ---- fixtures

/// A stand-in for the SHA-256 of secret `label` (the store never sees secrets, only 32 bytes).
fn hash(label: &str) -> Vec<u8> {
    let mut h = vec![0u8; 32];
    h[..label.len()].copy_from_slice(label.as_bytes());
    h
}

/// Teams `payments` (with app `checkout`) and `gofood` (with app `menu`), and a user `ana`.
struct World {
    by: Actor,
    pay: Team,
    food: Team,
}

async fn world(store: &Store) -> World {
    let ana = user(store, "ana").await;
    let pay = team(store, "payments").await;
    let food = team(store, "gofood").await;
    let by = actor(&ana);
    for (app, team) in [("checkout", &pay), ("menu", &food)] {
        store
            .create_app(&new_revision(app, team, "one"), &by)
            .await
            .expect("create app");
    }
    World { by, pay, food }
}

async fn found(store: &Store, label: &str) -> Option<i64> {
    store
        .log_secret_by_hash(&hash(label))
        .await
        .expect("lookup")
        .map(|s| s.id)
}

fn settings(retention_days: Option<i64>, rate_limit: Option<i64>, level: Option<&str>) -> LogSettings {
    LogSettings {
        retention_days,
        rate_limit,
        level_filter: level.map(str::to_owned),
    }
}

/// Effective settings: each field's value and where it comes from.
fn effective(
    (retention_days, retention_origin): (i64, SettingOrigin),
    (rate_limit, rate_origin): (Option<i64>, SettingOrigin),
    (level, level_origin): (Option<&str>, SettingOrigin),
) -> EffectiveLogSettings {
    EffectiveLogSettings {
        retention_days,
        rate_limit,
        level_filter: level.map(str::to_owned),
        origin: LogSettingOrigins {
            retention_days: retention_origin,
            rate_limit: rate_origin,
            level_filter: level_origin,
        },
    }
}

async fn log_audit(store: &Store) -> Vec<AuditEntry> {
    let mut entries = all_audit(store).await;
    entries.retain(|e| e.action.starts_with("logs."));
    entries
}

// ---- secrets

async fn log_secrets_are_created_found_and_listed(db: &TestDb) {
    let store = &db.store;
    let World { by, pay, food } = world(store).await;

    let group = store
        .create_log_secret(pay.id, None, "fluent-bit", &hash("group"), &by)
        .await
        .expect("team secret");
    assert_eq!(
        (
            group.team_id,
            group.team.as_str(),
            group.app.as_deref(),
            group.name.as_str(),
            group.created_by.as_str(),
            group.revoked_at
        ),
        (pay.id, "payments", None, "fluent-bit", "ana", None)
    );
    let app = store
        .create_log_secret(pay.id, Some("checkout"), "checkout-shipper", &hash("app"), &by)
        .await
        .expect("app secret");
    assert_eq!(app.app.as_deref(), Some("checkout"));

    assert_eq!(
        store.log_secret_by_hash(&hash("group")).await.expect("lookup"),
        Some(group.clone())
    );
    assert_eq!(
        store.log_secret_by_hash(&hash("app")).await.expect("lookup"),
        Some(app.clone())
    );
    assert_eq!(found(store, "unknown").await, None);
    assert_eq!(
        store
            .log_secrets(pay.id)
            .await
            .expect("list")
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        vec![app.id, group.id],
        "newest first"
    );
    assert!(store.log_secrets(food.id).await.expect("list").is_empty());

    // The app must be the team's.
    for (team_id, app) in [(pay.id, "menu"), (food.id, "checkout"), (pay.id, "ghost")] {
        let r = store
            .create_log_secret(team_id, Some(app), "x", &hash("x"), &by)
            .await;
        assert!(
            matches!(&r, Err(StoreError::NotFound(what)) if what == &format!("app {app}")),
            "{app}: {r:?}"
        );
    }
    let no_team = store
        .create_log_secret(pay.id + food.id + 100, None, "x", &hash("x"), &by)
        .await;
    assert!(matches!(no_team, Err(StoreError::NotFound(_))), "{no_team:?}");

    // Names are unique per team; a hash is unique everywhere.
    let dup_name = store
        .create_log_secret(pay.id, Some("checkout"), "fluent-bit", &hash("other"), &by)
        .await;
    assert!(
        matches!(&dup_name, Err(StoreError::AlreadyExists(w)) if w == "log secret fluent-bit"),
        "{dup_name:?}"
    );
    store
        .create_log_secret(food.id, None, "fluent-bit", &hash("food"), &by)
        .await
        .expect("same name, other team");
    let dup_hash = store
        .create_log_secret(food.id, None, "another", &hash("group"), &by)
        .await;
    assert!(
        matches!(&dup_hash, Err(StoreError::AlreadyExists(w)) if w == "a log secret with this hash"),
        "{dup_hash:?}"
    );

    // Only hashes are stored, and names must say something.
    let plain = store
        .create_log_secret(pay.id, None, "plain", b"the secret itself", &by)
        .await;
    assert!(matches!(plain, Err(StoreError::InvalidInput(_))), "{plain:?}");
    let blank = store
        .create_log_secret(pay.id, None, " ", &hash("blank"), &by)
        .await;
    assert!(matches!(blank, Err(StoreError::InvalidInput(_))), "{blank:?}");
    assert_eq!(store.log_secrets(pay.id).await.expect("list").len(), 2);
}

async fn log_secrets_are_revoked_within_their_team(db: &TestDb) {
    let store = &db.store;
    let World { by, pay, food } = world(store).await;
    let secret = store
        .create_log_secret(pay.id, Some("checkout"), "shipper", &hash("s1"), &by)
        .await
        .expect("create");

    // The caller was authorised for gofood: payments' secret is out of reach.
    let wrong_team = store.revoke_log_secret(secret.id, food.id, &by).await;
    assert!(
        matches!(&wrong_team, Err(StoreError::NotFound(w)) if w == &format!("log secret {}", secret.id)),
        "{wrong_team:?}"
    );
    assert_eq!(found(store, "s1").await, Some(secret.id), "still works");

    store
        .revoke_log_secret(secret.id, pay.id, &by)
        .await
        .expect("revoke");
    assert_eq!(found(store, "s1").await, None, "a revoked hash is not found");
    let listed = store.log_secrets(pay.id).await.expect("list");
    assert_eq!(listed.len(), 1, "revoked secrets stay listed");
    assert!(listed[0].revoked_at.is_some());
    let twice = store.revoke_log_secret(secret.id, pay.id, &by).await;
    assert!(matches!(twice, Err(StoreError::NotFound(_))), "{twice:?}");
    let missing = store.revoke_log_secret(9999, pay.id, &by).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");

    // A revoked secret's name can be used again; its hash cannot.
    let again = store
        .create_log_secret(pay.id, None, "shipper", &hash("s2"), &by)
        .await
        .expect("reuse revoked name");
    assert_ne!(again.id, secret.id);
    let old_hash = store
        .create_log_secret(pay.id, None, "other", &hash("s1"), &by)
        .await;
    assert!(
        matches!(old_hash, Err(StoreError::AlreadyExists(_))),
        "{old_hash:?}"
    );
}

async fn log_secrets_rotate_in_one_transaction(db: &TestDb) {
    let store = &db.store;
    let World { by, pay, food } = world(store).await;
    let old = store
        .create_log_secret(pay.id, Some("checkout"), "shipper", &hash("old"), &by)
        .await
        .expect("create");

    let new = store
        .rotate_log_secret(old.id, &hash("new"), pay.id, &by)
        .await
        .expect("rotate");
    assert_ne!(new.id, old.id);
    assert_eq!(
        (new.team_id, new.app.as_deref(), new.name.as_str(), new.revoked_at),
        (pay.id, Some("checkout"), "shipper", None),
        "same name, team and app"
    );
    assert_eq!(found(store, "old").await, None, "the old one is revoked");
    assert_eq!(found(store, "new").await, Some(new.id), "the new one works");
    let listed = store.log_secrets(pay.id).await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|s| (s.id, s.revoked_at.is_some()))
            .collect::<Vec<_>>(),
        vec![(new.id, false), (old.id, true)]
    );

    // Nothing changes when a rotation fails.
    let wrong_team = store
        .rotate_log_secret(new.id, &hash("newer"), food.id, &by)
        .await;
    assert!(
        matches!(wrong_team, Err(StoreError::NotFound(_))),
        "{wrong_team:?}"
    );
    let revoked = store.rotate_log_secret(old.id, &hash("newer"), pay.id, &by).await;
    assert!(matches!(revoked, Err(StoreError::NotFound(_))), "{revoked:?}");
    let taken = store.rotate_log_secret(new.id, &hash("old"), pay.id, &by).await;
    assert!(matches!(taken, Err(StoreError::AlreadyExists(_))), "{taken:?}");
    let plain = store
        .rotate_log_secret(new.id, b"plain secret", pay.id, &by)
        .await;
    assert!(matches!(plain, Err(StoreError::InvalidInput(_))), "{plain:?}");
    assert_eq!(found(store, "new").await, Some(new.id), "still the live one");
    assert_eq!(found(store, "newer").await, None);
    assert_eq!(store.log_secrets(pay.id).await.expect("list"), listed);

    // A team secret rotates into a team secret.
    let group = store
        .create_log_secret(pay.id, None, "group", &hash("g1"), &by)
        .await
        .expect("create");
    let rotated = store
        .rotate_log_secret(group.id, &hash("g2"), pay.id, &by)
        .await
        .expect("rotate");
    assert_eq!((rotated.app, rotated.name.as_str()), (None, "group"));
    assert_eq!(found(store, "g2").await, Some(rotated.id));
}

async fn concurrent_rotations_of_one_secret(db: &TestDb) {
    let store = &db.store;
    let World { by, pay, .. } = world(store).await;
    let secret = store
        .create_log_secret(pay.id, None, "shipper", &hash("start"), &by)
        .await
        .expect("create");
    let results = futures_join_all((0..4).map(|i| {
        let (store, by, team) = (store.clone(), by.clone(), pay.id);
        async move {
            store
                .rotate_log_secret(secret.id, &hash(&format!("next-{i}")), team, &by)
                .await
        }
    }))
    .await;
    let winners: Vec<&LogSecret> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in results.iter().filter(|r| r.is_err()) {
        assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    }
    let live: Vec<LogSecret> = store
        .log_secrets(pay.id)
        .await
        .expect("list")
        .into_iter()
        .filter(|s| s.revoked_at.is_none())
        .collect();
    assert_eq!(live, vec![winners[0].clone()], "exactly one live secret");
    let rotations = log_audit(store)
        .await
        .iter()
        .filter(|e| e.action == "logs.secret.rotate")
        .count();
    assert_eq!(rotations, 1);
}

async fn app_secrets_follow_their_app(db: &TestDb) {
    let store = &db.store;
    let World { by, pay, food } = world(store).await;
    store
        .create_app(&new_revision("ledger", &pay, "one"), &by)
        .await
        .expect("create app");
    let checkout = store
        .create_log_secret(pay.id, Some("checkout"), "checkout", &hash("checkout"), &by)
        .await
        .expect("create");
    let ledger = store
        .create_log_secret(pay.id, Some("ledger"), "ledger", &hash("ledger"), &by)
        .await
        .expect("create");
    let group = store
        .create_log_secret(pay.id, None, "group", &hash("group"), &by)
        .await
        .expect("create");

    // checkout moves to gofood: its payments secret no longer writes for it.
    let mut moving = new_revision("checkout", &food, "moved");
    moving.expected_team_id = Some(pay.id);
    store.save_revision(&moving, 1, &by).await.expect("move");
    assert_eq!(found(store, "checkout").await, None);
    assert_eq!(found(store, "group").await, Some(group.id));
    let rotate = store
        .rotate_log_secret(checkout.id, &hash("checkout-2"), pay.id, &by)
        .await;
    assert!(
        matches!(&rotate, Err(StoreError::NotFound(w)) if w == "app checkout"),
        "{rotate:?}"
    );
    let after_failed_rotation = store.log_secrets(pay.id).await.expect("list");
    assert!(
        after_failed_rotation.iter().all(|s| s.revoked_at.is_none()),
        "the failed rotation revoked nothing"
    );
    // Back in payments, it works again.
    let mut back = new_revision("checkout", &pay, "back");
    back.expected_team_id = Some(food.id);
    store.save_revision(&back, 2, &by).await.expect("move back");
    assert_eq!(found(store, "checkout").await, Some(checkout.id));

    // ledger is deleted: its secret goes with it; the others stay.
    store
        .delete_app("ledger", Some(pay.id), &by)
        .await
        .expect("delete");
    assert_eq!(found(store, "ledger").await, None);
    let ids: Vec<i64> = store
        .log_secrets(pay.id)
        .await
        .expect("list")
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![group.id, checkout.id]);
    assert_ne!(ledger.id, 0);
    // A new ledger starts without secrets.
    store
        .create_app(&new_revision("ledger", &pay, "again"), &by)
        .await
        .expect("create again");
    assert_eq!(found(store, "ledger").await, None);
}

// ---- settings

async fn log_settings_upsert_and_resolve(db: &TestDb) {
    let store = &db.store;
    let World { by, pay, food } = world(store).await;
    store
        .create_app(&new_revision("ledger", &pay, "one"), &by)
        .await
        .expect("create app");
    let defaults = EffectiveLogSettings::resolve(None, None);
    assert_eq!(
        defaults,
        effective(
            (30, SettingOrigin::Default),
            (None, SettingOrigin::Default),
            (None, SettingOrigin::Default),
        )
    );

    // Nothing stored.
    assert_eq!(store.log_settings(pay.id, None).await.expect("read"), None);
    assert_eq!(
        store.log_settings(pay.id, Some("checkout")).await.expect("read"),
        None
    );
    assert_eq!(
        store
            .effective_log_settings(pay.id, Some("checkout"))
            .await
            .expect("effective"),
        defaults
    );
    assert!(store.all_log_settings().await.expect("all").is_empty());

    // The team's settings, then an override for checkout.
    let team_settings = settings(Some(14), Some(500), None);
    store
        .set_log_settings(pay.id, None, &team_settings, &by)
        .await
        .expect("team settings");
    let checkout_settings = settings(None, Some(2000), Some("warn"));
    store
        .set_log_settings(pay.id, Some("checkout"), &checkout_settings, &by)
        .await
        .expect("app settings");
    assert_eq!(
        store.log_settings(pay.id, None).await.expect("read"),
        Some(team_settings.clone())
    );
    assert_eq!(
        store.log_settings(pay.id, Some("checkout")).await.expect("read"),
        Some(checkout_settings),
        "as stored: unset fields stay unset"
    );
    assert_eq!(
        store.log_settings(pay.id, Some("ledger")).await.expect("read"),
        None
    );
    assert_eq!(
        store
            .effective_log_settings(pay.id, Some("checkout"))
            .await
            .expect("effective"),
        effective(
            (14, SettingOrigin::Team),
            (Some(2000), SettingOrigin::App),
            (Some("warn"), SettingOrigin::App),
        )
    );
    let team_wide = effective(
        (14, SettingOrigin::Team),
        (Some(500), SettingOrigin::Team),
        (None, SettingOrigin::Default),
    );
    assert_eq!(
        store
            .effective_log_settings(pay.id, Some("ledger"))
            .await
            .expect("effective"),
        team_wide,
        "an app without overrides gets its team's"
    );
    assert_eq!(
        store
            .effective_log_settings(pay.id, None)
            .await
            .expect("effective"),
        team_wide
    );
    assert_eq!(
        store
            .effective_log_settings(food.id, Some("menu"))
            .await
            .expect("effective"),
        defaults,
        "other teams are untouched"
    );
    // checkout's override is payments': asked as gofood's app, it is not found.
    assert_eq!(
        store
            .effective_log_settings(food.id, Some("checkout"))
            .await
            .expect("effective"),
        defaults
    );

    // Upsert: the row is replaced as a whole.
    let replaced = settings(Some(7), None, Some("trace"));
    store
        .set_log_settings(pay.id, Some("checkout"), &replaced, &by)
        .await
        .expect("replace");
    assert_eq!(
        store.log_settings(pay.id, Some("checkout")).await.expect("read"),
        Some(replaced.clone())
    );
    assert_eq!(
        store
            .effective_log_settings(pay.id, Some("checkout"))
            .await
            .expect("effective"),
        effective(
            (7, SettingOrigin::App),
            (Some(500), SettingOrigin::Team),
            (Some("trace"), SettingOrigin::App),
        )
    );

    // Every row, for the retention job: by team, the team's row first.
    let menu_settings = settings(Some(90), None, None);
    store
        .set_log_settings(food.id, Some("menu"), &menu_settings, &by)
        .await
        .expect("menu");
    store
        .set_log_settings(pay.id, Some("ledger"), &settings(Some(3650), None, None), &by)
        .await
        .expect("ledger");
    assert_eq!(
        store.all_log_settings().await.expect("all"),
        vec![
            (pay.id, None, team_settings),
            (pay.id, Some("checkout".to_owned()), replaced),
            (
                pay.id,
                Some("ledger".to_owned()),
                settings(Some(3650), None, None)
            ),
            (food.id, Some("menu".to_owned()), menu_settings),
        ]
    );

    // Settings that say nothing are stored as such: everything is inherited.
    store
        .set_log_settings(pay.id, Some("checkout"), &LogSettings::default(), &by)
        .await
        .expect("clear");
    assert_eq!(
        store.log_settings(pay.id, Some("checkout")).await.expect("read"),
        Some(LogSettings::default())
    );
    assert_eq!(
        store
            .effective_log_settings(pay.id, Some("checkout"))
            .await
            .expect("effective"),
        team_wide
    );
}

async fn log_settings_are_validated(db: &TestDb) {
    let store = &db.store;
    let World { by, pay, food } = world(store).await;
    for bad in [
        settings(Some(0), None, None),
        settings(Some(3651), None, None),
        settings(None, Some(0), None),
        settings(None, Some(-10), None),
        settings(None, None, Some("warning")),
        settings(None, None, Some("WARN")),
    ] {
        let r = store.set_log_settings(pay.id, None, &bad, &by).await;
        assert!(matches!(r, Err(StoreError::InvalidInput(_))), "{bad:?}: {r:?}");
    }
    for (team_id, app) in [(pay.id, "menu"), (food.id, "checkout"), (pay.id, "ghost")] {
        let r = store
            .set_log_settings(team_id, Some(app), &settings(Some(7), None, None), &by)
            .await;
        assert!(
            matches!(&r, Err(StoreError::NotFound(w)) if w == &format!("app {app}")),
            "{app}: {r:?}"
        );
    }
    let no_team = store
        .set_log_settings(pay.id + food.id + 100, None, &settings(Some(7), None, None), &by)
        .await;
    assert!(matches!(no_team, Err(StoreError::NotFound(_))), "{no_team:?}");
    assert!(store.all_log_settings().await.expect("all").is_empty());
    // The bounds themselves are allowed.
    for ok in [settings(Some(1), Some(1), None), settings(Some(3650), None, None)] {
        store
            .set_log_settings(pay.id, None, &ok, &by)
            .await
            .expect("in range");
    }
}

async fn app_log_settings_follow_their_app(db: &TestDb) {
    let store = &db.store;
    let World { by, pay, food } = world(store).await;
    let checkout = settings(Some(3), None, None);
    store
        .set_log_settings(pay.id, Some("checkout"), &checkout, &by)
        .await
        .expect("set");

    // Moved to gofood: payments' override no longer applies, anywhere.
    let mut moving = new_revision("checkout", &food, "moved");
    moving.expected_team_id = Some(pay.id);
    store.save_revision(&moving, 1, &by).await.expect("move");
    assert_eq!(
        store.log_settings(pay.id, Some("checkout")).await.expect("read"),
        None
    );
    assert!(store.all_log_settings().await.expect("all").is_empty());
    assert_eq!(
        store
            .effective_log_settings(food.id, Some("checkout"))
            .await
            .expect("effective"),
        EffectiveLogSettings::resolve(None, None)
    );
    // gofood may set its own.
    store
        .set_log_settings(food.id, Some("checkout"), &settings(Some(9), None, None), &by)
        .await
        .expect("set by the new team");
    assert_eq!(
        store.all_log_settings().await.expect("all"),
        vec![(
            food.id,
            Some("checkout".to_owned()),
            settings(Some(9), None, None)
        )]
    );

    // Deleted: its settings go with it; a new app of that name starts with none.
    store
        .delete_app("checkout", Some(food.id), &by)
        .await
        .expect("delete");
    assert!(store.all_log_settings().await.expect("all").is_empty());
    store
        .create_app(&new_revision("checkout", &pay, "again"), &by)
        .await
        .expect("create again");
    assert_eq!(
        store.log_settings(pay.id, Some("checkout")).await.expect("read"),
        None
    );
}

async fn concurrent_log_settings_of_one_team(db: &TestDb) {
    let store = &db.store;
    let World { by, pay, .. } = world(store).await;
    let results = futures_join_all((1..=4).map(|days| {
        let (store, by, team) = (store.clone(), by.clone(), pay.id);
        async move {
            store
                .set_log_settings(team, None, &settings(Some(days), None, None), &by)
                .await
        }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let stored = store
        .log_settings(pay.id, None)
        .await
        .expect("read")
        .expect("one row");
    // Each setter read what the one before it wrote: one creation, then a chain of changes
    // ending in what is stored.
    let entries = log_audit(store).await;
    assert_eq!(entries.len(), 4);
    let state = |text: &Option<String>| text.as_ref().map(|_| json(text));
    assert_eq!(state(&entries[3].before), None, "{entries:?}");
    for pair in entries.windows(2) {
        assert_eq!(state(&pair[0].before), state(&pair[1].after), "{entries:?}");
    }
    assert_eq!(json(&entries[0].after), serde_json::json!(stored));
}

// ---- audit

async fn log_mutations_are_audited(db: &TestDb) {
    let store = &db.store;
    let World { by, pay, .. } = world(store).await;
    let secret = store
        .create_log_secret(pay.id, Some("checkout"), "shipper", &hash("a"), &by)
        .await
        .expect("create");
    let rotated = store
        .rotate_log_secret(secret.id, &hash("b"), pay.id, &by)
        .await
        .expect("rotate");
    store
        .revoke_log_secret(rotated.id, pay.id, &by)
        .await
        .expect("revoke");
    let group = store
        .create_log_secret(pay.id, None, "group", &hash("c"), &by)
        .await
        .expect("create");
    let first = settings(Some(14), None, None);
    store
        .set_log_settings(pay.id, None, &first, &by)
        .await
        .expect("set");
    let second = settings(Some(14), Some(100), Some("info"));
    store
        .set_log_settings(pay.id, None, &second, &by)
        .await
        .expect("change");
    // The same again changes nothing and is not audited.
    store
        .set_log_settings(pay.id, None, &second, &by)
        .await
        .expect("same");
    store
        .set_log_settings(pay.id, Some("checkout"), &settings(Some(1), None, None), &by)
        .await
        .expect("app");

    let entries = log_audit(store).await;
    let summary: Vec<(&str, Option<i64>, Option<&str>, &str)> = entries
        .iter()
        .rev()
        .map(|e| (e.action.as_str(), e.team_id, e.app.as_deref(), e.target.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "logs.secret.create",
                Some(pay.id),
                Some("checkout"),
                "log secret shipper of app checkout"
            ),
            (
                "logs.secret.rotate",
                Some(pay.id),
                Some("checkout"),
                "log secret shipper of app checkout"
            ),
            (
                "logs.secret.revoke",
                Some(pay.id),
                Some("checkout"),
                "log secret shipper of app checkout"
            ),
            ("logs.secret.create", Some(pay.id), None, "log secret group"),
            (
                "logs.settings",
                Some(pay.id),
                None,
                "log settings of team payments"
            ),
            (
                "logs.settings",
                Some(pay.id),
                None,
                "log settings of team payments"
            ),
            (
                "logs.settings",
                Some(pay.id),
                Some("checkout"),
                "log settings of app checkout"
            ),
        ]
    );
    let [
        app_settings,
        changed,
        set,
        created_group,
        revoked,
        rotation,
        created,
    ] = &entries[..]
    else {
        panic!("seven entries: {entries:?}");
    };
    assert!(entries.iter().all(|e| e.actor == "ana" && e.via == "ui"));
    let checkout = serde_json::json!("checkout");
    assert_eq!(created.before, None);
    assert_eq!(
        json(&created.after),
        serde_json::json!({"id": secret.id, "name": "shipper", "app": checkout})
    );
    assert_eq!(
        (json(&rotation.before), json(&rotation.after)),
        (
            serde_json::json!({"id": secret.id, "name": "shipper", "app": checkout}),
            serde_json::json!({"id": rotated.id, "name": "shipper", "app": checkout})
        )
    );
    assert_eq!(
        (json(&revoked.before), revoked.after.clone()),
        (
            serde_json::json!({"id": rotated.id, "name": "shipper", "app": checkout}),
            None
        )
    );
    assert_eq!(
        json(&created_group.after),
        serde_json::json!({"id": group.id, "name": "group", "app": null})
    );
    assert_eq!(
        (set.before.clone(), json(&set.after)),
        (
            None,
            serde_json::json!({"retentionDays": 14, "rateLimit": null, "levelFilter": null})
        )
    );
    assert_eq!(
        (json(&changed.before), json(&changed.after)),
        (
            serde_json::json!({"retentionDays": 14, "rateLimit": null, "levelFilter": null}),
            serde_json::json!({"retentionDays": 14, "rateLimit": 100, "levelFilter": "info"})
        )
    );
    assert_eq!(app_settings.before, None);
    // Hashes never reach the audit log.
    for e in &entries {
        let text = format!("{:?}{:?}", e.before, e.after);
        assert!(!text.to_lowercase().contains("hash"), "{text}");
    }
}

async fn failed_log_mutations_write_no_audit(db: &TestDb) {
    let store = &db.store;
    let World { by, pay, food } = world(store).await;
    let secret = store
        .create_log_secret(pay.id, Some("checkout"), "shipper", &hash("live"), &by)
        .await
        .expect("create");
    let revoked = store
        .create_log_secret(pay.id, None, "old", &hash("revoked"), &by)
        .await
        .expect("create");
    store
        .revoke_log_secret(revoked.id, pay.id, &by)
        .await
        .expect("revoke");
    let kept = settings(Some(14), None, None);
    store
        .set_log_settings(pay.id, None, &kept, &by)
        .await
        .expect("set");
    let audit_before = all_audit(store).await;
    let secrets_before = store.log_secrets(pay.id).await.expect("list");

    let failures = [
        // Secrets.
        store
            .create_log_secret(pay.id, Some("menu"), "x", &hash("x1"), &by)
            .await
            .err(),
        store
            .create_log_secret(pay.id, None, "shipper", &hash("x2"), &by)
            .await
            .err(),
        store
            .create_log_secret(food.id, None, "x", &hash("live"), &by)
            .await
            .err(),
        store
            .create_log_secret(pay.id, None, "x", b"short", &by)
            .await
            .err(),
        store.revoke_log_secret(secret.id, food.id, &by).await.err(),
        store.revoke_log_secret(revoked.id, pay.id, &by).await.err(),
        store
            .rotate_log_secret(secret.id, &hash("x3"), food.id, &by)
            .await
            .err(),
        store
            .rotate_log_secret(secret.id, &hash("revoked"), pay.id, &by)
            .await
            .err(),
        store
            .rotate_log_secret(revoked.id, &hash("x4"), pay.id, &by)
            .await
            .err(),
        // Settings.
        store
            .set_log_settings(pay.id, None, &settings(Some(0), None, None), &by)
            .await
            .err(),
        store
            .set_log_settings(pay.id, None, &settings(Some(14), None, Some("loud")), &by)
            .await
            .err(),
        store
            .set_log_settings(pay.id, Some("menu"), &settings(Some(7), None, None), &by)
            .await
            .err(),
        store
            .set_log_settings(9999, None, &settings(Some(7), None, None), &by)
            .await
            .err(),
    ];
    for (i, f) in failures.iter().enumerate() {
        assert!(f.is_some(), "mutation {i} should fail");
    }
    assert_eq!(
        all_audit(store).await,
        audit_before,
        "failed mutations leave the audit log as it was"
    );
    assert_eq!(store.log_secrets(pay.id).await.expect("list"), secrets_before);
    assert!(store.log_secrets(food.id).await.expect("list").is_empty());
    assert_eq!(found(store, "live").await, Some(secret.id));
    assert_eq!(
        store.all_log_settings().await.expect("all"),
        vec![(pay.id, None, kept)]
    );
}
