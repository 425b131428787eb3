//! The app editor: a Form tab and a YAML tab over the same manifest, the live preview of both
//! targets with click-to-explain, the problems list and the save bar.
//!
//! Saving is a plain form post (`POST /apps/{app}`, `POST /apps/new`) so it works without the
//! script; the script adds the preview, the form tab and keyboard shortcuts. An invalid
//! manifest or a conflicting save re-renders the editor with the user's text kept.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use ojek_store::{AppSummary, Revision, Role};
use serde::Deserialize;
use serde_json::Value;

use super::apps::readable_teams;
use super::view::{Problem, diff_view, problems_from, problems_list, query, time_ago};
use super::{Nav, PageForm, SignedIn, api_error_page, app_or_page, error_page_for, page};
use crate::api::ManifestInput;
use crate::api::apps::{create_app, load_revision, save as save_revision};
use crate::api::render::MANIFEST_FILE;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

/// What the editor page shows.
struct Editor {
    /// The app and its head revision; `None` for a new app.
    app: Option<(AppSummary, Revision)>,
    /// Manifest text in the editor.
    text: String,
    /// The revision the edit started from.
    base: i64,
    /// The revision whose `fromFile` files go with the manifest.
    files_from: Option<i64>,
    /// `fromFile` files (sent with previews).
    files: BTreeMap<String, String>,
    /// Save allowed.
    editable: bool,
    /// The message typed so far.
    message: String,
    /// Alerts above the editor.
    notices: Vec<Markup>,
    /// Problems found on save.
    problems: Vec<Problem>,
    /// Environments: (name, default target).
    environments: Vec<(String, String)>,
    /// The text is a refused save: leaving the page loses it.
    unsaved: bool,
}

/// Query of the editor page.
#[derive(Debug, Default, Deserialize)]
pub struct EditorQuery {
    /// The revision just saved (shows a notice).
    #[serde(default)]
    saved: Option<i64>,
    /// New app: the team to start in.
    #[serde(default)]
    team: Option<String>,
}

/// The fields of the editor's form post.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    /// Manifest text (the textarea).
    #[serde(default)]
    manifest: String,
    /// Revision message.
    #[serde(default)]
    message: String,
    /// The revision the edit started from.
    #[serde(default)]
    base: Option<i64>,
    /// Checked on a conflict: the user merged the other change; save on top of this revision.
    #[serde(default)]
    rebase: Option<i64>,
    /// Keep the `fromFile` files of this revision (default: `base`).
    #[serde(default)]
    files_from: Option<i64>,
}

/// The environments of the platform (empty when it cannot be loaded: the preview says why).
async fn environments(state: &AppState) -> Vec<(String, String)> {
    match state.platform().await {
        Ok(p) => p
            .platform
            .environments
            .iter()
            .map(|(name, e)| (name.clone(), e.target.as_str().to_string()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// `GET /apps/{app}`.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(name): Path<String>,
    Query(q): Query<EditorQuery>,
) -> Response {
    let app = match app_or_page(&state, &p, &name, Role::Viewer).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let head = match load_revision(&state, &app, None).await {
        Ok(r) => r,
        Err(e) => return api_error_page(&p, e),
    };
    let mut notices = Vec::new();
    if let Some(n) = q.saved {
        notices.push(html! {
            div.alert.success #saved-notice role="status" {
                "Saved revision " (n) ". "
                @if n > 1 { a href={ "/apps/" (app.name) "/history" (query(&[("from", (n - 1).to_string()), ("to", n.to_string())])) } { "See what changed" } }
            }
        });
    }
    let editor = Editor {
        text: head.manifest.clone(),
        base: head.number,
        files_from: None,
        files: head.files.clone(),
        editable: p.can(app.team_id, Role::Editor),
        message: String::new(),
        notices,
        problems: Vec::new(),
        environments: environments(&state).await,
        unsaved: false,
        app: Some((app, head)),
    };
    render(&p, &editor).into_response()
}

/// A starter manifest for a new app of `team`.
fn starter(team: &str) -> String {
    format!(
        "apiVersion: ojek.dev/v1
kind: App
metadata:
  name: my-app
  team: {team}
  description: What this app does, in one line.

processes:
  web:
    kind: service
    image: registry.example.com/{team}/my-app:1.0.0
    ports:
      http: {{port: 8080}}
    cpu:
      request: 100m
    memory:
      request: 128Mi
      limit: 256Mi
    scaling:
      replicas: 2
"
    )
}

/// `GET /apps/new`: the editor with a starter manifest for one of the user's teams.
pub async fn new_app(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Query(q): Query<EditorQuery>,
) -> Response {
    let teams = match readable_teams(&state, &p).await {
        Ok(t) => t,
        Err(e) => return api_error_page(&p, e),
    };
    let editable: Vec<&str> = teams
        .iter()
        .filter(|(_, r)| *r >= Role::Editor)
        .map(|(t, _)| t.name.as_str())
        .collect();
    let team = match q.team.as_deref() {
        Some(t) if editable.contains(&t) => t,
        _ => match editable.first() {
            Some(t) => *t,
            None => {
                return error_page_for(
                    &p,
                    StatusCode::FORBIDDEN,
                    "Creating an app needs the editor role in a team; you have none. Ask a team admin.",
                );
            }
        },
    };
    let editor = Editor {
        app: None,
        text: starter(team),
        base: 0,
        files_from: None,
        files: BTreeMap::new(),
        editable: true,
        message: String::new(),
        notices: vec![html! {
            div.alert.info role="note" {
                "Start from this manifest: set "
                code { "metadata.name" } " and " code { "metadata.team" }
                " (one of: " (editable.join(", ")) "), then describe your processes. The preview on the right updates as you type."
            }
        }],
        problems: Vec::new(),
        environments: environments(&state).await,
        unsaved: false,
    };
    render(&p, &editor).into_response()
}

/// Browsers send a textarea's line breaks as CRLF; manifests are stored with LF.
fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// `POST /apps/new`: creates the app (revision 1), or shows the editor again with the problems.
pub async fn create(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    PageForm(f): PageForm<SaveForm>,
) -> Response {
    let input = ManifestInput {
        manifest: normalise(&f.manifest),
        message: f.message.clone(),
        ..Default::default()
    };
    let text = input.manifest.clone();
    match create_app(&state, &p, input).await {
        Ok((app, rev, _)) => {
            Redirect::to(&format!("/apps/{}?saved={}", app.name, rev.number)).into_response()
        }
        Err(e)
            if matches!(
                e.status,
                StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT | StatusCode::FORBIDDEN
            ) =>
        {
            let editor = Editor {
                app: None,
                text,
                base: 0,
                files_from: None,
                files: BTreeMap::new(),
                editable: true,
                message: f.message,
                notices: vec![failure_notice(&e)],
                problems: problems_from(e.details.as_ref().and_then(|d| d.get("diagnostics"))),
                environments: environments(&state).await,
                unsaved: true,
            };
            (e.status, render(&p, &editor)).into_response()
        }
        Err(e) => api_error_page(&p, e),
    }
}

/// `POST /apps/{app}`: saves a new revision (303 to the editor with a notice), or shows the
/// editor again with the user's text and the problems (422) or the other change (409).
pub async fn save(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(name): Path<String>,
    PageForm(f): PageForm<SaveForm>,
) -> Response {
    let app = match app_or_page(&state, &p, &name, Role::Editor).await {
        Ok(a) => a,
        Err(page) => return page,
    };
    let Some(base) = f.rebase.or(f.base) else {
        return error_page_for(
            &p,
            StatusCode::BAD_REQUEST,
            "The form has no base revision; reload the editor.",
        );
    };
    let files_from = f.files_from.unwrap_or(base);
    let files = match state.store.revision(&app.name, files_from).await {
        Ok(Some(r)) => r.files,
        Ok(None) => match load_revision(&state, &app, None).await {
            Ok(r) => r.files,
            Err(e) => return api_error_page(&p, e),
        },
        Err(e) => return api_error_page(&p, e.into()),
    };
    let input = ManifestInput {
        manifest: normalise(&f.manifest),
        files: files.clone(),
        message: f.message.clone(),
        base_revision: Some(base),
        ..Default::default()
    };
    let text = input.manifest.clone();
    let e = match save_revision(&state, &p, &app.name, input).await {
        Ok((rev, _)) => {
            return Redirect::to(&format!("/apps/{}?saved={}", app.name, rev.number)).into_response();
        }
        Err(e) => e,
    };
    if !matches!(
        e.status,
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT | StatusCode::FORBIDDEN
    ) {
        return api_error_page(&p, e);
    }
    // Show the editor again: the user's text, their base, and what went wrong.
    let head = match load_revision(&state, &app, None).await {
        Ok(r) => r,
        Err(e) => return api_error_page(&p, e),
    };
    let notice = if e.status == StatusCode::CONFLICT {
        conflict_notice(&app.name, base, &e)
    } else {
        failure_notice(&e)
    };
    let editor = Editor {
        text,
        base,
        files_from: Some(files_from),
        files,
        editable: true,
        message: f.message,
        notices: vec![notice],
        problems: problems_from(e.details.as_ref().and_then(|d| d.get("diagnostics"))),
        environments: environments(&state).await,
        unsaved: true,
        app: Some((app, head)),
    };
    (e.status, render(&p, &editor)).into_response()
}

/// The notice of a refused save (invalid manifest, rename, team not editable, name taken).
fn failure_notice(e: &ApiError) -> Markup {
    let count = e
        .details
        .as_ref()
        .and_then(|d| d.get("diagnostics"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|d| d["severity"] == "error").count())
        .unwrap_or(0);
    html! {
        div.alert.error #save-error role="alert" {
            strong { "Nothing was saved. " }
            @if count > 0 {
                "The manifest has " (count) " error" @if count != 1 { "s" } "; fix "
                @if count == 1 { "it" } @else { "them" } " (see Problems below) and save again."
            } @else {
                (e.message)
            }
        }
    }
}

/// The notice of a conflicting save: who saved what since the user's base, and the diff.
fn conflict_notice(app: &str, base: i64, e: &ApiError) -> Markup {
    let current = e.details.as_ref().and_then(|d| d.get("current"));
    let number = current.and_then(|c| c["number"].as_i64()).unwrap_or(base + 1);
    let author = current.and_then(|c| c["author"].as_str()).unwrap_or("someone");
    let message = current.and_then(|c| c["message"].as_str()).unwrap_or("");
    let diff = e.details.as_ref().and_then(|d| d["diff"].as_str()).unwrap_or("");
    html! {
        div.alert.warning.conflict #conflict role="alert" {
            p { strong { "Nothing was saved: " (author) " saved revision " (number) " since you opened revision " (base) "." } }
            @if !message.is_empty() { p { "Their message: “" (message) "”" } }
            p {
                "Your text is kept below. Merge their change into it, then tick the box and save. "
                a href={ "/apps/" (app) "/revisions/" (number) } target="_blank" rel="noopener" { "Open revision " (number) " in a new tab" }
            }
            details open {
                summary { "Their change: revision " (base) " → " (number) }
                (diff_view(diff))
            }
            label.check {
                input #rebase type="checkbox" name="rebase" value=(number) form="editor";
                " I have merged their change: save on top of revision " (number)
            }
        }
    }
}

/// The editor page.
fn render(p: &Principal, ed: &Editor) -> Markup {
    let (title, action, mode) = match &ed.app {
        Some((a, _)) => (a.name.clone(), format!("/apps/{}", a.name), "edit"),
        None => ("New app".to_string(), "/apps/new".to_string(), "new"),
    };
    let files_json = serde_json::to_string(&ed.files).unwrap_or_else(|_| "{}".into());
    let line_count = ed.text.split('\n').count();
    let errors = ed.problems.iter().filter(|d| d.severity == "error").count();
    let body = html! {
        div.editor-head {
            div {
                h1 {
                    (title)
                    @if let Some((a, _)) = &ed.app { " " a.badge.team href={ "/apps?team=" (a.team) } { (a.team) } }
                }
                @if let Some((_, head)) = &ed.app {
                    p.meta #revision-meta {
                        "revision " (head.number) " by " (head.author) ", " (time_ago(head.created_at))
                        @if !head.message.is_empty() { " — " span.rev-message { (head.message) } }
                    }
                }
            }
            @if let Some((a, _)) = &ed.app {
                nav.head-links aria-label="App" {
                    a.btn.small #deploy-link href={ "/apps/" (a.name) "/deploy" } { "Deploy" }
                    a.btn.small #history-link href={ "/apps/" (a.name) "/history" } { "History" }
                    a.btn.small #experiments-link href={ "/apps/" (a.name) "/experiments" } { "Experiments" }
                    a.btn.small #audit-link href={ "/audit?app=" (a.name) } { "Audit" }
                }
            }
        }
        @if !ed.editable {
            div.alert.info #read-only role="note" {
                "You can read this app, preview and explain it, but saving needs the editor role in its team."
            }
        }
        @for n in &ed.notices { (n) }
        form.editor #editor method="post" action=(action)
            data-mode=(mode)
            data-app=[ed.app.as_ref().map(|(a, _)| a.name.as_str())]
            data-editable=(if ed.editable { "true" } else { "false" })
            data-unsaved=(if ed.unsaved { "true" } else { "false" })
            data-manifest-file=(MANIFEST_FILE)
            data-files=(files_json) {
            input type="hidden" name="csrf" value=(p.csrf());
            @if ed.app.is_some() {
                input #base type="hidden" name="base" value=(ed.base);
                @if let Some(n) = ed.files_from { input type="hidden" name="files_from" value=(n); }
            }
            div.editor-grid {
                section.pane.source-pane aria-label="Manifest" {
                    div.pane-head {
                        div.tabs role="tablist" aria-label="Edit the manifest as" {
                            button.tab #tab-form type="button" role="tab" aria-selected="false" aria-controls="panel-form" tabindex="-1" { "Form" }
                            button.tab #tab-yaml type="button" role="tab" aria-selected="true" aria-controls="panel-yaml" { "YAML" }
                        }
                        span.pane-hint #editor-hint { "Tab indents · Esc then Tab leaves · " kbd { "Ctrl" } "+" kbd { "S" } " saves" }
                    }
                    div.form-panel #panel-form role="tabpanel" aria-labelledby="tab-form" hidden {
                        p.muted { "The form needs JavaScript; edit the YAML instead." }
                    }
                    div.yaml-panel #panel-yaml role="tabpanel" aria-labelledby="tab-yaml" {
                        div.code-editor {
                            div.gutter #yaml-gutter aria-hidden="true" {
                                @for i in 1..=line_count {
                                    @let marked = ed.problems.iter().find(|d| d.line == Some(i as u32));
                                    @match marked {
                                        Some(d) if d.severity == "error" => span.gl.error { (i) },
                                        Some(_) => span.gl.warning { (i) },
                                        None => span.gl { (i) },
                                    }
                                }
                            }
                            // The leading newline is eaten by the HTML parser, so a manifest that
                            // starts with a blank line keeps it.
                            textarea #manifest name="manifest" wrap="off" spellcheck="false" autocapitalize="off"
                                autocomplete="off" aria-label="Manifest (YAML)" aria-describedby="editor-hint"
                                readonly[!ed.editable] { "\n" (ed.text) }
                        }
                    }
                }
                section.pane.preview-pane aria-labelledby="preview-title" {
                    div.pane-head {
                        h2 #preview-title { "Preview" }
                        label.env-select {
                            span { "Environment" }
                            select #environment {
                                @for (name, target) in &ed.environments {
                                    option value=(name) { (name) " · " (target) }
                                }
                            }
                        }
                        span.status #preview-status role="status" aria-live="polite" { "waiting for the script…" }
                    }
                    div.preview-grid {
                        (target_panel("kubernetes", "Kubernetes"))
                        (target_panel("nomad", "Nomad"))
                    }
                }
            }
            section.problems #problems aria-labelledby="problems-title" {
                h2 #problems-title {
                    "Problems "
                    span.count #problems-count data-errors=(errors) { (ed.problems.len()) }
                }
                ul.problem-list #problems-list { (problems_list(&ed.problems)) }
                @if ed.problems.is_empty() { p.muted #problems-empty { "No problems found." } }
            }
            @if ed.editable {
                div.save-bar {
                    label.visually-hidden for="message" { "Message" }
                    input #message type="text" name="message" value=(ed.message) maxlength="2000"
                        placeholder="Describe your change (Ctrl+Enter saves)" autocomplete="off";
                    button.btn.primary #save type="submit" aria-keyshortcuts="Control+S Meta+S" {
                        @if mode == "new" { "Create app" } @else { "Save" }
                    }
                }
            }
        }
        aside.explain #explain-panel role="dialog" aria-labelledby="explain-title" hidden {
            div.explain-head {
                h2 #explain-title { "Explain" }
                button.btn.small.icon #explain-close type="button" aria-label="Close (Esc)" { "×" }
            }
            div.explain-body #explain-body {}
        }
    };
    page(p, &format!("{title} · editor"), Nav::Apps, "editor", body)
}

/// One preview panel: title, format toggle (Nomad) and the output.
fn target_panel(id: &str, label: &str) -> Markup {
    html! {
        div.target #{ "target-" (id) } {
            div.target-head {
                h3 { (label) }
                @if id == "nomad" {
                    div.seg role="group" aria-label="Nomad format" {
                        button.seg-btn #nomad-hcl type="button" aria-pressed="true" { "HCL" }
                        button.seg-btn #nomad-json type="button" aria-pressed="false" title="The JSON API form, written as YAML; click a field to explain it" { "API" }
                    }
                }
                span.target-meta #{ "meta-" (id) } {}
            }
            pre.code.numbered.preview #{ "preview-" (id) } tabindex="0"
                aria-label={ (label) " output. Click a line, or move with the arrow keys and press Enter, to see where it comes from." } {}
        }
    }
}
