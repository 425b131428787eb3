//! Authentication and authorisation: argon2 passwords, browser sessions (HttpOnly, SameSite
//! cookies; CSRF token per session), team-scoped API tokens, roles per team, and a login
//! rate limiter.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ojek_store::{Actor, ApiToken, Role, Team, User};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// Session cookie name.
pub const SESSION_COOKIE: &str = "ojek_session";
/// Header carrying the CSRF token for requests made by the UI's scripts.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Prefix of API tokens (lets secret scanners recognise them).
pub const TOKEN_PREFIX: &str = "ojek_";
/// How long a browser session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Current time, Unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A random URL-safe secret of 32 bytes.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a high-entropy secret (session cookies, API tokens: they need no slow hash).
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Hashes a password with argon2id (default parameters), on a blocking thread.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::bad_request(format!("cannot hash password: {e}")))
    })
    .await
    .map_err(|e| ApiError::bad_request(format!("cannot hash password: {e}")))?
}

/// Checks a password against an argon2 hash, on a blocking thread.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A password policy: at least 10 characters, at most 1,024.
pub fn check_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < 10 {
        return Err(ApiError::bad_request("a password needs at least 10 characters"));
    }
    if password.len() > 1024 {
        return Err(ApiError::bad_request("a password is at most 1,024 bytes"));
    }
    Ok(())
}

/// How a request was authenticated.
#[derive(Clone, Debug)]
pub enum Via {
    /// A browser session; mutations need its CSRF token.
    Session {
        /// The session's CSRF token.
        csrf: String,
    },
    /// An API token, scoped to one team.
    Token(ApiToken),
}

/// The authenticated user of a request, with their roles.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The user.
    pub user: User,
    /// Session or token.
    pub via: Via,
    /// The user's teams and roles.
    pub teams: HashMap<i64, (Team, Role)>,
}

impl Principal {
    /// The role this request acts with in a team: a platform admin (by session) is admin
    /// everywhere; a token acts only in its team, with at most its role and at most the
    /// owner's current role.
    pub fn role_in(&self, team_id: i64) -> Option<Role> {
        match &self.via {
            Via::Token(t) => {
                if t.team_id != team_id {
                    return None;
                }
                let owner = if self.user.is_admin {
                    Some(Role::Admin)
                } else {
                    self.teams.get(&team_id).map(|(_, r)| *r)
                };
                owner.map(|r| r.min(t.role))
            }
            Via::Session { .. } => {
                if self.user.is_admin {
                    Some(Role::Admin)
                } else {
                    self.teams.get(&team_id).map(|(_, r)| *r)
                }
            }
        }
    }

    /// True if the request may act with at least `role` in the team.
    pub fn can(&self, team_id: i64, role: Role) -> bool {
        self.role_in(team_id).is_some_and(|r| r >= role)
    }

    /// Platform administrator acting through a session (tokens are always team-scoped).
    pub fn is_platform_admin(&self) -> bool {
        self.user.is_admin && matches!(self.via, Via::Session { .. })
    }

    /// Teams this request may read (`None`: every team).
    pub fn readable_teams(&self) -> Option<Vec<i64>> {
        match &self.via {
            Via::Token(t) => Some(if self.role_in(t.team_id).is_some() {
                vec![t.team_id]
            } else {
                vec![]
            }),
            Via::Session { .. } if self.user.is_admin => None,
            Via::Session { .. } => Some(self.teams.keys().copied().collect()),
        }
    }

    /// The audit actor.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user.id),
            name: self.user.username.clone(),
            via: match &self.via {
                Via::Session { .. } => "ui".into(),
                Via::Token(t) => format!("token:{}", t.name),
            },
        }
    }

    /// The CSRF token of a session.
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf } => csrf,
            Via::Token(_) => "",
        }
    }
}

/// The value of one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// Authenticates a request from its headers: `Authorization: Bearer ojek_…` or the session
/// cookie. `Ok(None)`: no credentials; `Err`: bad credentials or the store failed.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Option<Principal>, ApiError> {
    let now = now_ms();
    // Any other Authorization scheme is refused rather than ignored: browsers attach cached
    // Basic/Negotiate credentials on their own, and the CSRF check trusts only Bearer.
    if headers.contains_key(header::AUTHORIZATION) && bearer(headers).is_none() {
        return Err(ApiError::unauthorized(
            "unsupported Authorization header: send `Authorization: Bearer <token>`",
        ));
    }
    let (user_id, via) = if let Some(token) = bearer(headers) {
        let Some(t) = state.store.token_by_hash(&secret_hash(token), now).await? else {
            return Err(ApiError::unauthorized("unknown, revoked or expired API token"));
        };
        (t.user_id, Via::Token(t))
    } else if let Some(cookie) = cookie(headers, SESSION_COOKIE) {
        match state.store.session(&secret_hash(cookie), now).await? {
            Some(s) => (s.user_id, Via::Session { csrf: s.csrf }),
            None => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    let Some(user) = state.store.user(user_id).await? else {
        return Ok(None);
    };
    let teams = state
        .store
        .memberships_of(user.id)
        .await?
        .into_iter()
        .map(|m| (m.team.id, (m.team, m.role)))
        .collect();
    Ok(Some(Principal { user, via, teams }))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        match authenticate(state, &parts.headers).await? {
            Some(p) => {
                parts.extensions.insert(p.clone());
                Ok(p)
            }
            None => Err(ApiError::unauthorized(
                "sign in, or send `Authorization: Bearer <token>` (create tokens under Settings)",
            )),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(Some(p.clone()));
        }
        let p = authenticate(state, &parts.headers).await?;
        if let Some(p) = &p {
            parts.extensions.insert(p.clone());
        }
        Ok(p)
    }
}

/// True for methods that change state (CSRF applies to them).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Constant-time comparison of two secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Login throttling: after `MAX_FAILURES` sign-in attempts that did not succeed for one user
/// name from one address (or `MAX_FAILURES * 4` from one address) within `WINDOW`, further
/// attempts get 429 until the window ends. In memory, per replica, keyed by the peer address:
/// behind a reverse proxy all users share the proxy's address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<(IpAddr, String), (u32, Instant)>>,
}

/// Failed logins allowed per window.
pub const MAX_FAILURES: u32 = 5;
/// The throttling window.
pub const WINDOW: Duration = Duration::from_secs(300);

/// Longest user name kept as a throttling key (longer names are cut).
const MAX_KEY: usize = 64;

fn key(ip: IpAddr, user: &str) -> (IpAddr, String) {
    let user: String = user.chars().take(MAX_KEY).collect::<String>().to_lowercase();
    (ip, user)
}

impl LoginLimiter {
    /// Counts a sign-in attempt before the password is checked, so parallel attempts cannot
    /// slip past the limit; `Err(seconds)` when this address or user name must wait.
    /// [`succeeded`](Self::succeeded) forgets the attempts of a successful sign-in.
    pub fn attempt(&self, ip: IpAddr, user: &str) -> Result<(), u64> {
        let now = Instant::now();
        let k = key(ip, user);
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, start)| now.duration_since(*start) < WINDOW);
        let mut per_ip = 0;
        let mut wait = Duration::ZERO;
        for (_, (n, start)) in map.iter().filter(|((i, _), _)| *i == ip) {
            per_ip += n;
            wait = wait.max(WINDOW.saturating_sub(now.duration_since(*start)));
        }
        let per_user = map.get(&k).map_or(0, |(n, _)| *n);
        if per_user >= MAX_FAILURES || per_ip >= MAX_FAILURES * 4 {
            let left = map
                .get(&k)
                .filter(|_| per_ip < MAX_FAILURES * 4)
                .map_or(wait, |(_, start)| {
                    WINDOW.saturating_sub(now.duration_since(*start))
                });
            return Err(left.as_secs().max(1));
        }
        map.entry(k).or_insert((0, now)).0 += 1;
        Ok(())
    }

    /// Forgets the attempts of a user after a successful sign-in.
    pub fn succeeded(&self, ip: IpAddr, user: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&key(ip, user));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_max_failures_per_user() {
        let l = LoginLimiter::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..MAX_FAILURES {
            assert!(l.attempt(ip, "ana").is_ok());
        }
        let wait = l.attempt(ip, "ANA").expect_err("blocked");
        assert!(wait > 0 && wait <= WINDOW.as_secs());
        // Another user from the same address is not blocked yet.
        assert!(l.attempt(ip, "budi").is_ok());
        l.succeeded(ip, "ana");
        assert!(l.attempt(ip, "ana").is_ok());
    }

    #[test]
    fn limiter_blocks_an_address_spraying_user_names() {
        let l = LoginLimiter::default();
        let ip: IpAddr = [10, 0, 0, 9].into();
        for i in 0..MAX_FAILURES * 4 {
            assert!(l.attempt(ip, &format!("user{i}")).is_ok());
        }
        assert!(l.attempt(ip, "someone-else").is_err());
        assert!(l.attempt([10, 0, 0, 8].into(), "someone-else").is_ok());
    }

    #[test]
    fn limiter_counts_attempts_before_the_password_check() {
        // Attempts in flight count: the sixth is refused even if none has failed yet.
        let l = LoginLimiter::default();
        let ip: IpAddr = [127, 0, 0, 2].into();
        let results: Vec<bool> = (0..60).map(|_| l.attempt(ip, "admin").is_ok()).collect();
        assert_eq!(results.iter().filter(|ok| **ok).count(), MAX_FAILURES as usize);
        // Very long names are cut to a bounded key.
        let long = "x".repeat(100_000);
        assert!(l.attempt(ip, &long).is_ok());
        let map = l.failures.lock().expect("lock");
        assert!(map.keys().all(|(_, u)| u.len() <= MAX_KEY));
    }

    #[test]
    fn same_secret_compares_whole_strings() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), h.clone()).await);
        assert!(!verify_password("wrong horse battery".into(), h).await);
    }
}
