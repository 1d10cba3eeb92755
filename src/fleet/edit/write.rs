//! Replaces a fleet file atomically: a temporary file in the same folder, fsync, rename, keeping the original's mode.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::EditError;

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EditError {
    let path = path.to_path_buf();
    move |source| EditError::Io { action, path, source }
}

/// Deletes the temporary file unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            // Best effort: the original file is untouched either way.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `text` to `path` so that readers see either the old file or the new one, never a mix.
///
/// The new file gets the old one's permissions (and, where allowed, its group). A symlink is followed: the file it
/// points to is replaced and the link is kept.
pub fn write_fleet_file(path: &Path, text: &str) -> Result<(), EditError> {
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).map_err(io("resolve the symlink", path))?,
        _ => path.to_path_buf(),
    };
    let original = match fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(io("read the permissions of", &target)(e)),
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io("write", &target)(std::io::Error::new(ErrorKind::InvalidInput, "not a file name")))?;

    let (mut file, mut temp) = create_temp(&dir, &name)?;
    if let Some(meta) = &original {
        keep_group(&file, meta);
        file.set_permissions(meta.permissions())
            .map_err(io("set the permissions of", &temp.path))?;
    }
    file.write_all(text.as_bytes()).map_err(io("write", &temp.path))?;
    file.sync_all().map_err(io("flush", &temp.path))?;
    drop(file);
    fs::rename(&temp.path, &target).map_err(io("replace", &target))?;
    temp.keep = true;
    sync_dir(&dir);
    Ok(())
}

/// Creates `.<name>.<random>.tmp` next to the target, never reusing an existing file.
fn create_temp(dir: &Path, name: &str) -> Result<(File, TempFile), EditError> {
    let mut last = None;
    for _ in 0..16 {
        let path = dir.join(format!(".{name}.{:08x}.tmp", fastrand::u32(..)));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, TempFile { path, keep: false })),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(io("create a temporary file in", dir)(e)),
        }
    }
    let e = last.unwrap_or_else(|| std::io::Error::from(ErrorKind::AlreadyExists));
    Err(io("create a temporary file in", dir)(e))
}

/// Gives the new file the original's group, so a group-readable file (0640) stays readable by that group.
#[cfg(unix)]
fn keep_group(file: &File, original: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    let same = file.metadata().is_ok_and(|m| m.gid() == original.gid());
    if !same {
        // Only the owner's own groups are allowed; otherwise the file keeps ours (as any editor would leave it).
        let _ = std::os::unix::fs::fchown(file, None, Some(original.gid()));
    }
}

#[cfg(not(unix))]
fn keep_group(_file: &File, _original: &fs::Metadata) {}

/// Makes the rename itself durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        // Best effort: the file is already in place; only a power cut right now could lose the rename.
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}
