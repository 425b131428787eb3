//! `sqlx::migrate!` embeds `migrations/` at compile time; rebuild when a migration is added or
//! edited (cargo would otherwise not notice a new file).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
