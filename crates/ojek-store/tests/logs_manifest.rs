//! Log settings set by app manifests (`logs:`), against real databases: every scenario runs on
//! SQLite and on PostgreSQL (see `common` for the harness). Saving a revision replaces the
//! app's manifest-set settings in the same transaction (audited when they change); they come
//! before the app's own settings and its team's; the API cannot change what a manifest sets.

use ojek_store::*;

mod common;
use common::*;

scenarios!(
    manifest_settings_come_first_and_follow_each_revision,
    manifest_settings_belong_to_the_app,
    changes_of_fields_the_manifest_sets_are_refused,
    bad_manifest_settings_save_nothing,
);

// ---- fixtures

fn settings(retention_days: Option<i64>, rate_limit: Option<i64>, level: Option<&str>) -> LogSettings {
    LogSettings {
        retention_days,
        rate_limit,
        level_filter: level.map(str::to_owned),
    }
}

/// A revision of `app` whose manifest's `logs:` section holds `logs`.
fn revision_with_logs(app: &str, team: &Team, note: &str, logs: LogSettings) -> NewRevision {
    NewRevision {
        log_settings: logs,
        ..new_revision(app, team, note)
    }
}

/// Saves the next revision of `app` (in `team`) with `logs`; returns its number.
async fn save(store: &Store, app: &str, team: &Team, logs: LogSettings, by: &Actor) -> i64 {
    let head = store.app(app).await.expect("read").expect("app").head;
    let new = NewRevision {
        expected_team_id: Some(team.id),
        ..revision_with_logs(app, team, &format!("rev {}", head + 1), logs)
    };
    store.save_revision(&new, head, by).await.expect("save").number
}

/// Each effective field's value and where it comes from.
async fn effective(
    store: &Store,
    team: &Team,
    app: &str,
) -> (
    (i64, SettingOrigin),
    (Option<i64>, SettingOrigin),
    (Option<String>, SettingOrigin),
) {
    let e = store
        .effective_log_settings(team.id, Some(app))
        .await
        .expect("effective");
    (
        (e.retention_days, e.origin.retention_days),
        (e.rate_limit, e.origin.rate_limit),
        (e.level_filter, e.origin.level_filter),
    )
}

/// The `logs.settings` audit entries, oldest first.
async fn settings_audit(store: &Store) -> Vec<AuditEntry> {
    let mut entries = all_audit(store).await;
    entries.retain(|e| e.action == "logs.settings");
    entries.reverse();
    entries
}

// ---- scenarios

async fn manifest_settings_come_first_and_follow_each_revision(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let by = actor(&ana);
    let pay = team(store, "payments").await;
    store
        .create_app(&new_revision("checkout", &pay, "one"), &by)
        .await
        .expect("create");
    assert_eq!(
        store
            .manifest_log_settings(pay.id, "checkout")
            .await
            .expect("read"),
        None,
        "a manifest without `logs:` sets nothing"
    );
    store
        .set_log_settings(pay.id, None, &settings(Some(14), Some(500), None), &by)
        .await
        .expect("team");
    store
        .set_log_settings(
            pay.id,
            Some("checkout"),
            &settings(None, Some(2000), Some("warn")),
            &by,
        )
        .await
        .expect("app");
    let audited_before = settings_audit(store).await.len();

    // Revision 2 sets retention and level: they come before the app's and the team's.
    let two = save(
        store,
        "checkout",
        &pay,
        settings(Some(7), None, Some("error")),
        &by,
    )
    .await;
    assert_eq!(two, 2);
    assert_eq!(
        effective(store, &pay, "checkout").await,
        (
            (7, SettingOrigin::Manifest(2)),
            (Some(2000), SettingOrigin::App),
            (Some("error".into()), SettingOrigin::Manifest(2)),
        )
    );
    let manifest = store
        .manifest_log_settings(pay.id, "checkout")
        .await
        .expect("read")
        .expect("set by revision 2");
    assert_eq!(
        manifest,
        ManifestLogSettings {
            revision: 2,
            settings: settings(Some(7), None, Some("error")),
        }
    );
    assert_eq!(
        store.log_settings(pay.id, Some("checkout")).await.expect("read"),
        Some(settings(None, Some(2000), Some("warn"))),
        "the app's own settings stay as they were"
    );
    let audit = settings_audit(store).await;
    assert_eq!(audit.len(), audited_before + 1, "{audit:#?}");
    let entry = audit.last().expect("entry");
    assert_eq!(
        (entry.app.as_deref(), entry.team.as_deref(), entry.actor.as_str()),
        (Some("checkout"), Some("payments"), "ana")
    );
    assert_eq!(
        entry.target,
        "log settings of app checkout set by its manifest (revision 2)"
    );
    assert_eq!(entry.before, None);
    assert_eq!(
        json(&entry.after),
        serde_json::json!({"revision": 2, "retentionDays": 7, "rateLimit": null, "levelFilter": "error"})
    );
    // The revision itself is audited first, in the same transaction.
    let all = all_audit(store).await;
    assert_eq!(
        (all[0].action.as_str(), all[1].action.as_str()),
        ("logs.settings", "app.save")
    );

    // Revision 3 keeps the values: they now come from it, and nothing is audited.
    let three = save(
        store,
        "checkout",
        &pay,
        settings(Some(7), None, Some("error")),
        &by,
    )
    .await;
    assert_eq!(
        effective(store, &pay, "checkout").await.0,
        (7, SettingOrigin::Manifest(three))
    );
    assert_eq!(settings_audit(store).await.len(), audited_before + 1);

    // Revision 4 drops the retention: the team's applies again; the change is audited.
    let four = save(store, "checkout", &pay, settings(None, None, Some("error")), &by).await;
    assert_eq!(
        effective(store, &pay, "checkout").await,
        (
            (14, SettingOrigin::Team),
            (Some(2000), SettingOrigin::App),
            (Some("error".into()), SettingOrigin::Manifest(four)),
        )
    );
    let audit = settings_audit(store).await;
    let entry = audit.last().expect("entry");
    assert_eq!(
        (json(&entry.before), json(&entry.after)),
        (
            serde_json::json!({"revision": 3, "retentionDays": 7, "rateLimit": null, "levelFilter": "error"}),
            serde_json::json!({"revision": 4, "retentionDays": null, "rateLimit": null, "levelFilter": "error"}),
        )
    );

    // Revision 5 has no `logs:`: the manifest sets nothing any more (audited).
    let five = save(store, "checkout", &pay, LogSettings::default(), &by).await;
    assert_eq!(
        store
            .manifest_log_settings(pay.id, "checkout")
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        effective(store, &pay, "checkout").await,
        (
            (14, SettingOrigin::Team),
            (Some(2000), SettingOrigin::App),
            (Some("warn".into()), SettingOrigin::App),
        )
    );
    let audit = settings_audit(store).await;
    assert_eq!(audit.len(), audited_before + 3);
    let entry = audit.last().expect("entry");
    assert_eq!(
        entry.target,
        format!("log settings of app checkout set by its manifest (revision {five})")
    );
    assert_eq!(
        json(&entry.after),
        serde_json::json!({"revision": 5, "retentionDays": null, "rateLimit": null, "levelFilter": null})
    );
    // Another save without `logs:` changes nothing there.
    save(store, "checkout", &pay, LogSettings::default(), &by).await;
    assert_eq!(settings_audit(store).await.len(), audited_before + 3);

    // Restoring revision 2 (saving its manifest again) sets its values again.
    let restored = save(
        store,
        "checkout",
        &pay,
        settings(Some(7), None, Some("error")),
        &by,
    )
    .await;
    assert_eq!(
        effective(store, &pay, "checkout").await.0,
        (7, SettingOrigin::Manifest(restored))
    );
    assert_eq!(settings_audit(store).await.len(), audited_before + 4);

    // A new app's first revision sets them too.
    store
        .create_app(
            &revision_with_logs("ledger", &pay, "one", settings(None, Some(300), None)),
            &by,
        )
        .await
        .expect("create");
    assert_eq!(
        effective(store, &pay, "ledger").await.1,
        (Some(300), SettingOrigin::Manifest(1))
    );
    let audit = settings_audit(store).await;
    let entry = audit.last().expect("entry");
    assert_eq!(
        (entry.app.as_deref(), entry.before.as_deref()),
        (Some("ledger"), None)
    );

    // Every app of the team with settings, own or from its manifest.
    assert_eq!(
        store.apps_log_settings(pay.id).await.expect("list"),
        vec![
            AppLogSettings {
                app: "checkout".into(),
                own: Some(settings(None, Some(2000), Some("warn"))),
                manifest: Some(ManifestLogSettings {
                    revision: restored,
                    settings: settings(Some(7), None, Some("error")),
                }),
            },
            AppLogSettings {
                app: "ledger".into(),
                own: None,
                manifest: Some(ManifestLogSettings {
                    revision: 1,
                    settings: settings(None, Some(300), None),
                }),
            },
        ]
    );
    let all: Vec<(i64, String, i64)> = store
        .all_manifest_log_settings()
        .await
        .expect("all")
        .into_iter()
        .map(|(team, app, m)| (team, app, m.revision))
        .collect();
    assert_eq!(
        all,
        vec![
            (pay.id, "checkout".to_string(), restored),
            (pay.id, "ledger".to_string(), 1)
        ]
    );
}

async fn manifest_settings_belong_to_the_app(db: &TestDb) {
    let store = &db.store;
    let by = Actor::system();
    let pay = team(store, "payments").await;
    let food = team(store, "gofood").await;
    store
        .create_app(
            &revision_with_logs("checkout", &pay, "one", settings(Some(90), None, None)),
            &by,
        )
        .await
        .expect("create");
    // Asked as another team's app, nothing applies.
    assert_eq!(
        effective(store, &food, "checkout").await.0,
        (30, SettingOrigin::Default)
    );
    assert_eq!(
        store
            .manifest_log_settings(food.id, "checkout")
            .await
            .expect("read"),
        None
    );
    // Moved to gofood by a revision that keeps `logs:`: the settings move with the app.
    let new = NewRevision {
        expected_team_id: Some(pay.id),
        ..revision_with_logs("checkout", &food, "move", settings(Some(90), None, None))
    };
    store.save_revision(&new, 1, &by).await.expect("move");
    assert_eq!(
        effective(store, &food, "checkout").await.0,
        (90, SettingOrigin::Manifest(2))
    );
    assert_eq!(
        effective(store, &pay, "checkout").await.0,
        (30, SettingOrigin::Default)
    );
    assert_eq!(store.apps_log_settings(pay.id).await.expect("list"), vec![]);
    assert_eq!(store.apps_log_settings(food.id).await.expect("list").len(), 1);
    // Deleted with the app; an app created again under the name starts with nothing.
    store
        .delete_app("checkout", Some(food.id), &by)
        .await
        .expect("delete");
    assert!(store.all_manifest_log_settings().await.expect("all").is_empty());
    store
        .create_app(&new_revision("checkout", &food, "again"), &by)
        .await
        .expect("create again");
    assert_eq!(
        effective(store, &food, "checkout").await.0,
        (30, SettingOrigin::Default)
    );
}

async fn changes_of_fields_the_manifest_sets_are_refused(db: &TestDb) {
    let store = &db.store;
    let ana = user(store, "ana").await;
    let by = actor(&ana);
    let pay = team(store, "payments").await;
    store
        .create_app(&new_revision("checkout", &pay, "one"), &by)
        .await
        .expect("create");
    store
        .set_log_settings(pay.id, Some("checkout"), &settings(Some(60), None, None), &by)
        .await
        .expect("own settings first");
    let two = save(store, "checkout", &pay, settings(Some(7), Some(100), None), &by).await;
    let audited = all_audit(store).await.len();

    // Changing, setting or clearing a field the manifest sets: refused, nothing written.
    for (attempt, refused) in [
        (settings(Some(60), Some(50), None), vec!["rateLimit"]),
        (settings(None, None, None), vec!["retentionDays"]),
        (
            settings(Some(1), Some(1), Some("info")),
            vec!["retentionDays", "rateLimit"],
        ),
    ] {
        match store
            .set_log_settings(pay.id, Some("checkout"), &attempt, &by)
            .await
        {
            Err(StoreError::SetByManifest {
                app,
                revision,
                fields,
            }) => {
                assert_eq!((app.as_str(), revision), ("checkout", two));
                assert_eq!(fields, refused, "{attempt:?}");
            }
            other => panic!("{attempt:?}: {other:?}"),
        }
    }
    let err = store
        .set_log_settings(pay.id, Some("checkout"), &settings(Some(60), Some(50), None), &by)
        .await
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "rateLimit of app checkout is set by its manifest (revision 2): change the manifest's `logs:` \
         section instead"
    );
    assert_eq!(all_audit(store).await.len(), audited, "nothing audited");
    assert_eq!(
        store.log_settings(pay.id, Some("checkout")).await.expect("read"),
        Some(settings(Some(60), None, None))
    );

    // Fields the manifest leaves alone can change, the others staying as stored.
    store
        .set_log_settings(
            pay.id,
            Some("checkout"),
            &settings(Some(60), None, Some("debug")),
            &by,
        )
        .await
        .expect("level is not the manifest's");
    assert_eq!(
        effective(store, &pay, "checkout").await,
        (
            (7, SettingOrigin::Manifest(two)),
            (Some(100), SettingOrigin::Manifest(two)),
            (Some("debug".into()), SettingOrigin::App),
        )
    );
    // The team's settings are not the app's.
    store
        .set_log_settings(pay.id, None, &settings(Some(3), Some(5), None), &by)
        .await
        .expect("team");
    // Once the manifest drops a field, the API may change it again.
    save(store, "checkout", &pay, settings(None, Some(100), None), &by).await;
    store
        .set_log_settings(
            pay.id,
            Some("checkout"),
            &settings(Some(21), None, Some("debug")),
            &by,
        )
        .await
        .expect("retention is no longer the manifest's");
    assert_eq!(
        effective(store, &pay, "checkout").await.0,
        (21, SettingOrigin::App)
    );
}

async fn bad_manifest_settings_save_nothing(db: &TestDb) {
    let store = &db.store;
    let by = Actor::system();
    let pay = team(store, "payments").await;
    for bad in [
        settings(Some(0), None, None),
        settings(Some(3651), None, None),
        settings(None, Some(0), None),
        settings(None, None, Some("loud")),
    ] {
        let err = store
            .create_app(&revision_with_logs("checkout", &pay, "one", bad.clone()), &by)
            .await
            .expect_err("invalid");
        assert!(matches!(err, StoreError::InvalidInput(_)), "{bad:?}: {err:?}");
    }
    assert_eq!(store.app("checkout").await.expect("read"), None);
    store
        .create_app(
            &revision_with_logs("checkout", &pay, "one", settings(Some(10), None, None)),
            &by,
        )
        .await
        .expect("create");
    let audited = all_audit(store).await.len();
    let bad = NewRevision {
        expected_team_id: Some(pay.id),
        ..revision_with_logs("checkout", &pay, "two", settings(None, None, Some("WARN")))
    };
    assert!(matches!(
        store.save_revision(&bad, 1, &by).await,
        Err(StoreError::InvalidInput(_))
    ));
    // A save from a stale base changes neither the revision nor the settings.
    let first = NewRevision {
        expected_team_id: Some(pay.id),
        ..revision_with_logs("checkout", &pay, "two", settings(Some(20), None, None))
    };
    store.save_revision(&first, 1, &by).await.expect("save");
    let stale = NewRevision {
        expected_team_id: Some(pay.id),
        ..revision_with_logs("checkout", &pay, "stale", settings(Some(99), None, None))
    };
    assert!(matches!(
        store.save_revision(&stale, 1, &by).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .manifest_log_settings(pay.id, "checkout")
            .await
            .expect("read"),
        Some(ManifestLogSettings {
            revision: 2,
            settings: settings(Some(20), None, None),
        })
    );
    assert_eq!(
        all_audit(store).await.len(),
        audited + 2,
        "only the good save: app.save and logs.settings"
    );
}
