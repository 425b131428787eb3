//! Seeding shared by the `ojek` binary's tests: what the server's API would create, written
//! straight into its database.

#![allow(dead_code)]

use ojek_server::auth::secret_hash;
use ojek_store::{Actor, Role, Store};
use sha2::{Digest, Sha256};

/// Stores a producer secret (its SHA-256, as the server does) for `app` of the demo team
/// `team`.
pub async fn log_secret(store: &Store, team: &str, app: &str, name: &str, secret: &str) {
    let team = store.team_by_name(team).await.expect("store").expect("demo team");
    store
        .create_log_secret(
            team.id,
            Some(app),
            name,
            &Sha256::digest(secret.as_bytes()),
            &Actor::system(),
        )
        .await
        .expect("log secret");
}

/// Stores `token` (a full API token, prefix included) as a viewer token of `user` in `team`.
pub async fn viewer_token(store: &Store, user: &str, team: &str, name: &str, token: &str) {
    let (user, _) = store.user_by_name(user).await.expect("store").expect("user");
    let team = store.team_by_name(team).await.expect("store").expect("team");
    store
        .create_token(
            name,
            user.id,
            team.id,
            Role::Viewer,
            &secret_hash(token),
            None,
            &Actor::system(),
        )
        .await
        .expect("token");
}
