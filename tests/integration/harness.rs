//! The `Txdeploy` builder: runs the real binary in an empty temporary directory with a clean
//! environment, and a sentinel TCP listener as the AWS endpoint that counts every connection;
//! plus where the moto emulator is, and stack names that never collide. The adapter tests'
//! fixture and request capture live in `harness/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsString;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub mod adapter_fixture;
pub mod capture_requests;
pub mod moto_session;

pub(crate) use adapter_fixture::{AdapterFixture, moto_or_skip};
pub(crate) use capture_requests::{CaptureRequests, add_interceptor};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_txdeploy");

/// `tests/fixtures`, absolute.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// A listener on 127.0.0.1 that no one should ever connect to: it stands in for AWS, so a
/// connection means txdeploy made an AWS call.
pub struct Sentinel {
    listener: TcpListener,
    url: String,
}

impl Sentinel {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        Self { listener, url }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connections made so far. The kernel completes the handshake and queues a connection
    /// even when the client closed it since, so none is missed.
    pub fn connections(&self) -> usize {
        let mut n = 0;
        loop {
            match self.listener.accept() {
                Ok(_) => n += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return n,
                Err(e) => panic!("sentinel accept failed: {e}"),
            }
        }
    }
}

/// One planned run of the binary.
pub struct Txdeploy {
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    unset: Vec<String>,
    dir: tempfile::TempDir,
    sentinel: Sentinel,
}

impl Default for Txdeploy {
    fn default() -> Self {
        Self::new()
    }
}

impl Txdeploy {
    pub fn new() -> Self {
        Self {
            args: Vec::new(),
            env: Vec::new(),
            unset: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
            sentinel: Sentinel::start(),
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `--config <tests/fixtures/NAME>`.
    pub fn fixture(self, name: &str) -> Self {
        let path = fixtures_dir().join(name);
        assert!(path.is_file(), "no fixture {}", path.display());
        self.arg("--config").arg(path)
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Leaves a variable the harness sets by default (e.g. `AWS_ENDPOINT_URL`) unset.
    pub fn unset(mut self, key: &str) -> Self {
        self.unset.push(key.to_owned());
        self
    }

    /// Writes a file into the working directory (e.g. `txdeploy.toml`).
    pub fn file(self, name: &str, contents: &str) -> Self {
        std::fs::write(self.dir.path().join(name), contents).unwrap();
        self
    }

    /// Runs the binary and waits for it.
    pub fn run(self) -> Run {
        let mut cmd = Command::new(BIN);
        cmd.args(&self.args)
            .current_dir(self.dir.path())
            .env_clear();
        // A clean, offline environment: no inherited TXDEPLOY_*, CI or AWS settings; static
        // credentials and no instance metadata, so the sentinel is the only place to connect.
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".into(), self.dir.path().display().to_string()),
            ("AWS_ENDPOINT_URL".into(), self.sentinel.url().to_owned()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_MAX_ATTEMPTS".into(), "1".into()),
        ];
        env.retain(|(k, _)| !self.unset.contains(k));
        env.retain(|(k, _)| !self.env.iter().any(|(o, _)| o == k));
        env.extend(self.env.iter().cloned());
        cmd.envs(env);
        let output = cmd.output().unwrap();
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            aws_connections: self.sentinel.connections(),
            _dir: self.dir,
        }
    }
}

/// What a run did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Connections the sentinel AWS endpoint received.
    pub aws_connections: usize,
    _dir: tempfile::TempDir,
}

impl Run {
    fn context(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "unexpected exit code\n{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn no_aws_calls(&self) -> &Self {
        assert_eq!(
            self.aws_connections,
            0,
            "txdeploy connected to AWS\n{}",
            self.context()
        );
        self
    }

    /// stdout as one JSON document.
    #[track_caller]
    pub fn stdout_json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", self.context()))
    }
}

// ---- the moto emulator ----

/// The moto endpoint from `TXDEPLOY_TEST_ENDPOINT`; `None` when emulator tests should skip.
pub fn moto_endpoint() -> Option<String> {
    std::env::var("TXDEPLOY_TEST_ENDPOINT")
        .ok()
        .filter(|url| !url.is_empty())
}

/// A short stack prefix unique to this process and call (lowercase letters and digits), so
/// tests can share one moto server in parallel. Short, because bucket names append the
/// account and region and must stay within 63 characters.
pub fn unique_stack() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("t{:x}{:x}{n}", std::process::id() % 0xffff, nanos % 0xfffff)
}
