//! kubeconfig files: rename an LKE kubeconfig's entries to `lkeobs-<fleet>.<cluster>`, merge ours into a file
//! (others' entries untouched, ours replaced) and remove ours — under a file lock, atomically, mode 0600.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

mod api_check;
mod legacy;
pub use api_check::check_from_api;
pub use legacy::legacy_name;

#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    #[error("{path}: {what}: {source}")]
    Io {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The file or the API's kubeconfig is not a kubeconfig. Never carries its content (credentials).
    #[error("{what} is not a valid kubeconfig: {reason}")]
    Invalid { what: String, reason: String },
}

type Result<T> = std::result::Result<T, KubeconfigError>;

const SECTIONS: [(&str, &str); 3] = [("clusters", "cluster"), ("users", "user"), ("contexts", "context")];

fn invalid(what: &str, reason: impl Into<String>) -> KubeconfigError {
    KubeconfigError::Invalid {
        what: what.to_string(),
        reason: reason.into(),
    }
}

fn entries<'a>(doc: &'a Value, section: &str) -> impl Iterator<Item = &'a Value> {
    doc.get(section).and_then(Value::as_sequence).into_iter().flatten()
}

fn name_of(entry: &Value) -> Option<&str> {
    entry.get("name").and_then(Value::as_str)
}

/// One cluster's kubeconfig entries, renamed to `name` (cluster, user and context all carry it).
#[derive(Clone)]
pub struct Entry {
    pub name: String,
    cluster: Value,
    user: Value,
    context: Value,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The user entry holds a token: never shown.
        f.debug_struct("Entry")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Takes the current context of an API kubeconfig (LKE: `lke<id>-ctx` → `lke<id>` + `lke<id>-admin`) and renames it.
pub fn entry_from_api(yaml: &str, name: &str) -> Result<Entry> {
    let what = format!("the kubeconfig the API returned for {name}");
    check_from_api(yaml, &what)?;
    let doc: Value = serde_yaml_ng::from_str(yaml).map_err(|e| invalid(&what, e.to_string()))?;
    let current = doc.get("current-context").and_then(Value::as_str);
    let context = entries(&doc, "contexts")
        .find(|c| current.is_none_or(|cur| name_of(c) == Some(cur)))
        .ok_or_else(|| invalid(&what, "no context"))?;
    let inner = context
        .get("context")
        .ok_or_else(|| invalid(&what, "context without body"))?;
    let want = |key: &str| {
        inner
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&what, format!("context has no {key}")))
    };
    let (cluster_name, user_name) = (want("cluster")?, want("user")?);
    let find = |section: &str, n: &str| {
        entries(&doc, section)
            .find(|e| name_of(e) == Some(n))
            .cloned()
            .ok_or_else(|| invalid(&what, format!("no {section} entry {n}")))
    };
    let rename = |mut v: Value| {
        if let Some(m) = v.as_mapping_mut() {
            m.insert("name".into(), name.into());
        }
        v
    };
    let mut ctx = rename(context.clone());
    if let Some(body) = ctx.get_mut("context").and_then(Value::as_mapping_mut) {
        body.insert("cluster".into(), name.into());
        body.insert("user".into(), name.into());
    }
    Ok(Entry {
        name: name.to_string(),
        cluster: rename(find("clusters", cluster_name)?),
        user: rename(find("users", user_name)?),
        context: ctx,
    })
}

fn empty_config() -> Value {
    let mut m = Mapping::new();
    m.insert("apiVersion".into(), "v1".into());
    m.insert("kind".into(), "Config".into());
    m.insert("preferences".into(), Value::Mapping(Mapping::new()));
    for (section, _) in SECTIONS {
        m.insert(section.into(), Value::Sequence(Vec::new()));
    }
    m.insert("current-context".into(), "".into());
    Value::Mapping(m)
}

fn section_mut<'a>(doc: &'a mut Value, section: &str) -> Option<&'a mut Vec<Value>> {
    let m = doc.as_mapping_mut()?;
    if !matches!(m.get(section), Some(Value::Sequence(_))) {
        m.insert(section.into(), Value::Sequence(Vec::new()));
    }
    m.get_mut(section).and_then(Value::as_sequence_mut)
}

/// Replaces entries named like ours and appends ours; sets current-context only when `use_context` is given.
pub fn merge_into(doc: &mut Value, ours: &[Entry], use_context: Option<&str>) {
    // An older lkeobs' entry of the same cluster (same server) makes way for ours, current-context kept.
    for e in ours {
        if let Some(server) = e
            .cluster
            .get("cluster")
            .and_then(|c| c.get("server"))
            .and_then(Value::as_str)
        {
            legacy::drop_legacy(doc, &e.name, &[server.to_string()], &e.name);
        }
    }
    let names: Vec<&str> = ours.iter().map(|e| e.name.as_str()).collect();
    remove_from(doc, &names, false);
    for e in ours {
        for ((section, _), v) in SECTIONS.iter().zip([&e.cluster, &e.user, &e.context]) {
            if let Some(list) = section_mut(doc, section) {
                list.push(v.clone());
            }
        }
    }
    if let (Some(ctx), Some(m)) = (use_context, doc.as_mapping_mut()) {
        m.insert("current-context".into(), ctx.into());
    }
}

/// Removes entries named `names`; a current-context pointing at one of them is cleared when `clear_current`.
/// An older lkeobs' entry of one of those clusters goes too when its server is the cluster's (as this file or
/// `known_servers` knows it).
pub fn remove_ours(doc: &mut Value, names: &[&str], known_servers: &[String], clear_current: bool) {
    let mut servers: Vec<String> = names.iter().filter_map(|n| legacy::server_of(doc, n)).collect();
    servers.extend(known_servers.iter().cloned());
    for name in names {
        // A current-context on an old name is cleared, as one on the new name is below.
        legacy::drop_legacy(doc, name, &servers, "");
    }
    remove_from(doc, names, clear_current);
}

/// The servers of the clusters named `names` in the kubeconfig at `path` (none when it cannot be read).
pub fn servers_in_file(path: &Path, names: &[&str]) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let Ok(doc) = serde_yaml_ng::from_str::<Value>(&text) else {
        return Vec::new();
    };
    names.iter().filter_map(|n| legacy::server_of(&doc, n)).collect()
}

/// Removes entries named `names`; a current-context pointing at one of them is cleared when `clear_current`.
pub fn remove_from(doc: &mut Value, names: &[&str], clear_current: bool) {
    for (section, _) in SECTIONS {
        if let Some(list) = section_mut(doc, section) {
            list.retain(|e| name_of(e).is_none_or(|n| !names.contains(&n)));
        }
    }
    if clear_current
        && let Some(m) = doc.as_mapping_mut()
        && m.get("current-context")
            .and_then(Value::as_str)
            .is_some_and(|c| names.contains(&c))
    {
        m.insert("current-context".into(), "".into());
    }
}

/// The file `--merge` writes: the first path of `$KUBECONFIG`, else `~/.kube/config`.
pub fn default_path(kubeconfig_env: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    kubeconfig_env
        .and_then(|v| std::env::split_paths(v).find(|p| !p.as_os_str().is_empty()))
        .or_else(|| home.map(|h| h.join(".kube").join("config")))
}

fn io(path: &Path, what: &'static str) -> impl FnOnce(std::io::Error) -> KubeconfigError {
    let path = path.to_path_buf();
    move |source| KubeconfigError::Io { path, what, source }
}

/// Opens a new temporary file next to `file_name` in `dir` with mode 0600: a random name, created with
/// `create_new` (`O_EXCL`: never an existing file, never through a symlink someone planted there).
fn create_temp(dir: &Path, file_name: &str) -> Result<(File, PathBuf)> {
    let mut last = None;
    for _ in 0..16 {
        let tmp = dir.join(format!(".{file_name}.lkeobs-{:08x}.tmp", fastrand::u32(..)));
        match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp) {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(io(&tmp, "create")(e)),
        }
    }
    let e = last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AlreadyExists));
    Err(io(dir, "create a temporary file in")(e))
}

/// Writes `bytes` to `path` atomically (a new temp file in the same folder, fsync, rename) with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir, "create the folder"))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (mut f, tmp) = create_temp(dir, &file_name)?;
    let result = (|| {
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io(&tmp, "set mode 0600 on"))?;
        f.write_all(bytes).map_err(io(&tmp, "write"))?;
        f.sync_all().map_err(io(&tmp, "sync"))?;
        std::fs::rename(&tmp, path).map_err(io(path, "replace"))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Holds an exclusive lock on `<path>.lock` while it lives (released on drop).
struct Lock(File);

fn lock(path: &Path) -> Result<Lock> {
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir, "create the folder"))?;
    }
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(io(&lock_path, "open the lock file"))?;
    // std's advisory lock (flock on Unix): blocks until other lkeobs processes and threads are done.
    f.lock().map_err(io(&lock_path, "lock"))?;
    Ok(Lock(f))
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Reads a kubeconfig (a missing or empty file is an empty config).
fn read(path: &Path) -> Result<Value> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(empty_config()),
        Ok(text) => {
            let v: Value =
                serde_yaml_ng::from_str(&text).map_err(|e| invalid(&path.display().to_string(), e.to_string()))?;
            if v.is_mapping() {
                Ok(v)
            } else {
                Err(invalid(&path.display().to_string(), "not a mapping"))
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(empty_config()),
        Err(e) => Err(io(path, "read")(e)),
    }
}

/// Locks, reads, changes and atomically rewrites `path` (mode 0600).
fn update(path: &Path, change: impl FnOnce(&mut Value)) -> Result<()> {
    let _lock = lock(path)?;
    let mut doc = read(path)?;
    change(&mut doc);
    let text = serde_yaml_ng::to_string(&doc).map_err(|e| invalid("the merged kubeconfig", e.to_string()))?;
    write_private(path, text.as_bytes())
}

/// Merges our entries into the kubeconfig at `path` (see [`merge_into`]).
pub fn merge_file(path: &Path, ours: &[Entry], use_context: Option<&str>) -> Result<()> {
    update(path, |doc| merge_into(doc, ours, use_context))
}

/// Removes our entries (and an older lkeobs' entries of the same clusters, see [`remove_ours`]) from the
/// kubeconfig at `path` (teardown, remove-edge). A missing file is left missing.
pub fn remove_from_file(path: &Path, names: &[&str], known_servers: &[String]) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    update(path, |doc| remove_ours(doc, names, known_servers, true))
}

/// A standalone kubeconfig holding only our entries (for `--out` and the state cache).
pub fn standalone(ours: &[Entry], use_context: Option<&str>) -> Result<String> {
    let mut doc = empty_config();
    merge_into(&mut doc, ours, use_context.or(ours.first().map(|e| e.name.as_str())));
    serde_yaml_ng::to_string(&doc).map_err(|e| invalid("the kubeconfig", e.to_string()))
}

#[cfg(test)]
mod tests;
