//! The fake's objects: one map keyed by kind, namespace and name, a global resourceVersion
//! counter, uids, and the garbage collector's part of deletion (ownerReferences).
//!
//! Synchronous; the server and the simulated controllers share it behind one mutex.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::apply;
use super::discovery::{self, ResourceType};

/// How a DELETE treats the object's dependents (`propagationPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagation {
    /// Dependents deleted first, then the owner.
    Foreground,
    /// Owner deleted, then its dependents (the fake does both at once).
    Background,
    /// Owner deleted; dependents keep running with the ownerReference removed.
    Orphan,
}

impl Propagation {
    /// Parses `Foreground`, `Background` or `Orphan`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Foreground" => Some(Self::Foreground),
            "Background" => Some(Self::Background),
            "Orphan" => Some(Self::Orphan),
            _ => None,
        }
    }
}

type Key = (String, String, String);

/// All objects of the fake cluster.
#[derive(Debug)]
pub(crate) struct Store {
    objects: BTreeMap<Key, Value>,
    revision: u64,
    sequence: u64,
    seed: u64,
}

/// The current time as Kubernetes writes it (`2025-01-01T00:00:00Z`).
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn key(kind: &str, namespace: &str, name: &str) -> Key {
    (kind.to_string(), namespace.to_string(), name.to_string())
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or_default()
}

impl Store {
    /// A store with the namespaces every cluster has: `default`, `kube-system`, `kube-public`.
    pub fn new() -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7);
        let mut store = Self {
            objects: BTreeMap::new(),
            revision: 1,
            sequence: 0,
            seed,
        };
        for ns in ["default", "kube-system", "kube-public"] {
            if let Some(rt) = discovery::by_kind("Namespace") {
                let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
                store.create(rt, obj);
            }
        }
        store
    }

    /// The current resourceVersion of the whole store (what a LIST reports).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    fn next_revision(&mut self) -> String {
        self.revision += 1;
        self.revision.to_string()
    }

    fn next(&mut self) -> u64 {
        self.sequence += 1;
        // splitmix64: distinct, random-looking values without a dependency.
        let mut z = self
            .seed
            .wrapping_add(self.sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A new uid in UUID form.
    pub fn uid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    /// A random-looking suffix like the ones controllers add to pod names (`7d9f5`).
    pub fn suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut n = self.next();
        (0..len)
            .map(|_| {
                let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
                n /= ALPHABET.len() as u64;
                c
            })
            .collect()
    }

    /// The object `namespace/name` of `kind` (`namespace` is "" for cluster-scoped kinds).
    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(&key(kind, namespace, name))
    }

    /// Objects of `kind`, in one namespace or all, ordered by namespace and name.
    pub fn list(&self, kind: &str, namespace: Option<&str>) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|((k, ns, _), _)| k == kind && namespace.is_none_or(|n| n == ns))
            .map(|(_, v)| v)
            .collect()
    }

    /// Whether the namespace exists.
    pub fn namespace_exists(&self, namespace: &str) -> bool {
        self.get("Namespace", "", namespace).is_some()
    }

    /// Fills the fields a server sets on create (uid, creationTimestamp, generation 1,
    /// resourceVersion) without storing: what a dry run answers.
    pub fn prepare_create(&mut self, rt: &ResourceType, mut obj: Value, dry_run: bool) -> Value {
        let uid = self.uid();
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("uid".into(), json!(uid));
            meta.insert("creationTimestamp".into(), json!(now()));
            meta.insert("generation".into(), json!(1));
            if !dry_run {
                meta.insert("resourceVersion".into(), json!((self.revision + 1).to_string()));
            }
        }
        if let Some(o) = obj.as_object_mut() {
            o.insert("apiVersion".into(), json!(rt.api_version()));
            o.insert("kind".into(), json!(rt.kind));
        }
        obj
    }

    /// Stores a new object, filling the server-set fields.
    pub fn create(&mut self, rt: &ResourceType, obj: Value) -> Value {
        let mut obj = self.prepare_create(rt, obj, false);
        let rv = self.next_revision();
        obj["metadata"]["resourceVersion"] = json!(rv);
        let k = key(rt.kind, meta_str(&obj, "namespace"), meta_str(&obj, "name"));
        self.objects.insert(k, obj.clone());
        obj
    }

    /// What an update of `old` to `new` stores: a new resourceVersion, and a new generation if
    /// anything outside metadata and status changed. `None` if nothing changed at all.
    pub fn prepare_update(&self, old: &Value, mut new: Value) -> Option<Value> {
        if apply::without_times(old) == apply::without_times(&new) {
            return None;
        }
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
        let bump = apply::spec_changed(old, &new);
        if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert(
                "generation".into(),
                json!(if bump { generation + 1 } else { generation }),
            );
            meta.insert(
                "resourceVersion".into(),
                old["metadata"]["resourceVersion"].clone(),
            );
        }
        Some(new)
    }

    /// Stores `new` in place of `old` (see [`Store::prepare_update`]); returns what is stored.
    pub fn update(&mut self, old: &Value, new: Value) -> Value {
        let Some(mut new) = self.prepare_update(old, new) else {
            return old.clone();
        };
        new["metadata"]["resourceVersion"] = json!(self.next_revision());
        let k = key(
            new["kind"].as_str().unwrap_or_default(),
            meta_str(&new, "namespace"),
            meta_str(&new, "name"),
        );
        self.objects.insert(k, new.clone());
        new
    }

    /// Replaces the `status` of an object; no write (and no new resourceVersion) if unchanged.
    pub fn set_status(&mut self, kind: &str, namespace: &str, name: &str, status: Value) -> Option<Value> {
        let old = self.get(kind, namespace, name)?.clone();
        if old.get("status") == Some(&status) {
            return Some(old);
        }
        let mut new = old;
        new["status"] = status;
        new["metadata"]["resourceVersion"] = json!(self.next_revision());
        self.objects.insert(key(kind, namespace, name), new.clone());
        Some(new)
    }

    /// Removes one object, nothing else.
    fn remove(&mut self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        self.objects.remove(&key(kind, namespace, name))
    }

    /// Objects whose ownerReferences name `uid`.
    fn dependents(&self, uid: &str) -> Vec<Key> {
        self.objects
            .iter()
            .filter(|(_, o)| {
                o["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Deletes an object and, unless `Orphan`, its dependents (recursively) and, for a
    /// namespace, everything in it. Returns the deleted object.
    pub fn delete(&mut self, kind: &str, namespace: &str, name: &str, policy: Propagation) -> Option<Value> {
        let obj = self.remove(kind, namespace, name)?;
        self.next_revision();
        let uid = meta_str(&obj, "uid").to_string();
        for (k, ns, n) in self.dependents(&uid) {
            match policy {
                Propagation::Orphan => {
                    if let Some(dep) = self.objects.get(&(k.clone(), ns.clone(), n.clone())).cloned() {
                        let mut freed = dep.clone();
                        if let Some(refs) = freed["metadata"]["ownerReferences"].as_array_mut() {
                            refs.retain(|r| r["uid"] != uid.as_str());
                            if refs.is_empty()
                                && let Some(meta) = freed["metadata"].as_object_mut()
                            {
                                meta.shift_remove("ownerReferences");
                            }
                        }
                        freed["metadata"]["resourceVersion"] = json!(self.next_revision());
                        self.objects.insert((k, ns, n), freed);
                    }
                }
                Propagation::Background | Propagation::Foreground => {
                    self.delete(&k, &ns, &n, Propagation::Background);
                }
            }
        }
        if kind == "Namespace" {
            let inside: Vec<Key> = self
                .objects
                .keys()
                .filter(|(_, ns, _)| ns == name)
                .cloned()
                .collect();
            for (k, ns, n) in inside {
                self.delete(&k, &ns, &n, Propagation::Background);
            }
        }
        Some(obj)
    }

    /// Records an Event about `involved`, or counts a repeat of the same one.
    pub fn event(&mut self, involved: &Value, kind: &str, reason: &str, message: &str, component: &str) {
        let Some(rt) = discovery::by_kind("Event") else {
            return;
        };
        let namespace = meta_str(involved, "namespace").to_string();
        let uid = meta_str(involved, "uid").to_string();
        let time = now();
        let repeat = self
            .list("Event", Some(&namespace))
            .into_iter()
            .find(|e| {
                e["involvedObject"]["uid"] == uid.as_str() && e["reason"] == reason && e["message"] == message
            })
            .cloned();
        if let Some(old) = repeat {
            let mut new = old.clone();
            new["count"] = json!(old["count"].as_i64().unwrap_or(1) + 1);
            new["lastTimestamp"] = json!(time);
            self.update(&old, new);
            return;
        }
        let name = format!("{}.{}", meta_str(involved, "name"), self.suffix(8));
        let event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": involved["apiVersion"],
                "kind": involved["kind"],
                "name": meta_str(involved, "name"),
                "namespace": namespace,
                "uid": uid,
                "resourceVersion": involved["metadata"]["resourceVersion"],
            },
            "reason": reason,
            "message": message,
            "type": kind,
            "source": {"component": component},
            "reportingComponent": component,
            "reportingInstance": "",
            "firstTimestamp": time,
            "lastTimestamp": time,
            "count": 1,
        });
        self.create(rt, event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_and_suffixes_differ() {
        let mut s = Store::new();
        let (a, b) = (s.uid(), s.uid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(s.suffix(5).len(), 5);
    }

    #[test]
    fn orphan_keeps_dependents_without_the_owner_reference() {
        let mut s = Store::new();
        let (Some(dep), Some(pod)) = (discovery::by_kind("Deployment"), discovery::by_kind("Pod")) else {
            panic!("kinds served")
        };
        let d = s.create(dep, json!({"metadata": {"name": "web", "namespace": "default"}}));
        let refs = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": d["metadata"]["uid"]}]);
        s.create(
            pod,
            json!({"metadata": {"name": "web-1", "namespace": "default", "ownerReferences": refs}}),
        );
        s.delete("Deployment", "default", "web", Propagation::Orphan);
        let kept = s.get("Pod", "default", "web-1").expect("orphaned pod kept");
        assert!(kept["metadata"].get("ownerReferences").is_none());
    }
}
