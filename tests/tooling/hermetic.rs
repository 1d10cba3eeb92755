//! The one way tests start a program (lkeobs itself, or a client such as kubectl): from an empty
//! environment, with HOME, KUBECONFIG and the XDG folders in a folder of the test's own, so no test reads or
//! writes the developer's kubeconfig, state or credentials.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A test's own HOME, KUBECONFIG and state folder.
#[derive(Debug, Clone)]
pub struct Sandbox {
    root: PathBuf,
}

impl Sandbox {
    /// A fresh folder under the test target's temp dir (left for `cargo clean`).
    pub fn new() -> Sandbox {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("hermetic")
            .join(format!("{}-{n}", std::process::id()));
        Sandbox::at(&root)
    }

    /// The sandbox laid out in `root` (a test's temp dir): `home/`, `state/`, `kube/config`.
    pub fn at(root: &Path) -> Sandbox {
        std::fs::create_dir_all(root.join("home")).expect("sandbox home");
        Sandbox {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    /// `XDG_STATE_HOME`: lkeobs' state cache lives under it.
    pub fn state(&self) -> PathBuf {
        self.root.join("state")
    }

    /// `KUBECONFIG`.
    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("kube").join("config")
    }

    /// `program` with an empty environment but PATH, the sandbox's HOME, XDG folders and KUBECONFIG, and
    /// NO_COLOR. Tests add what else a run needs (a token, `LINODE_URL`) with `.env`.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let home = self.home();
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_STATE_HOME", self.state())
            .env("KUBECONFIG", self.kubeconfig())
            .env("NO_COLOR", "1");
        cmd
    }

    /// Starts a server in the background from `cmd` (made by [`Sandbox::command`]), run in the sandbox's root
    /// with its output in `<root>/<name>.log`; it is killed when the returned handle is dropped.
    pub fn background(&self, name: &str, mut cmd: Command) -> Background {
        let log = self.root.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("server log");
        let err = out.try_clone().expect("server log");
        cmd.current_dir(&self.root)
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Background { child, log }
    }

    /// The lkeobs binary in this sandbox.
    pub fn lkeobs(&self) -> Command {
        self.command(lkeobs_bin())
    }
}

/// A server started by [`Sandbox::background`]; killed and reaped on drop.
#[derive(Debug)]
pub struct Background {
    child: std::process::Child,
    log: PathBuf,
}

impl Background {
    /// What the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The built lkeobs binary.
pub fn lkeobs_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("lkeobs")
}
