//! [`MotoServer`]: moto's KMS-API server (PyPI `moto[server]`) on loopback, for tests of
//! [`AwsKms`] (features `testing` and `aws`).
//!
//! [`MotoServer::start`] creates a virtualenv `pyenv-moto` in the directory it is given (tests
//! pass `env!("CARGO_TARGET_TMPDIR")`, under `target/`), installs `moto[server]` into it with
//! pip unless it is there already (serialized across test processes by a lock file), starts
//! `moto_server -H 127.0.0.1 -p PORT` on a free port, waits until it answers, and kills it on
//! drop. Every failure (no `python3`, pip failing, the server not coming up) is a panic naming
//! the step and the log file: tests that need the server fail, they never skip.
//!
//! Where moto differs from AWS KMS (moto 5.2): disabled and pending-deletion keys still
//! generate and decrypt; `Decrypt` with a `KeyId` that is not the blob's answers
//! `AccessDeniedException` where AWS answers `IncorrectKeyException`; the `alias/aws/s3` key
//! it makes is `KeyManager: CUSTOMER`; `DisableKey`, `EnableKey`, `ScheduleKeyDeletion` and
//! `CancelKeyDeletion` fail (500) on a key ARN; the account is the request's
//! (`x-moto-account-id` header or access key), never the one in a key or alias ARN, so one
//! client sees one account.

use std::fs::{File, OpenOptions};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::aws::{AwsCredentials, AwsKms, AwsKmsConfig};

/// moto's default account, which every request without an account header uses.
pub const MOTO_ACCOUNT: &str = "123456789012";
/// The Region tests use.
pub const MOTO_REGION: &str = "us-east-1";

/// A running `moto_server`, killed on drop.
#[derive(Debug)]
pub struct MotoServer {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

fn run(cmd: &mut Command, what: &str, log: &Path, limit: Duration) {
    let out = File::create(log).unwrap_or_else(|e| panic!("{what}: cannot create {log:?}: {e}"));
    let err = out
        .try_clone()
        .unwrap_or_else(|e| panic!("{what}: log file: {e}"));
    let mut child = cmd
        .stdout(out)
        .stderr(err)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start ({e}); see {log:?}"));
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(s)) if s.success() => return,
            Ok(Some(s)) => panic!("{what} failed ({s}); see {log:?}"),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {limit:?}; see {log:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// The `moto_server` executable of the virtualenv in `dir`, created and installed if needed.
fn moto_server_exe(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {dir:?}: {e}"));
    let venv = dir.join("pyenv-moto");
    let exe = venv.join("bin").join("moto_server");
    let ready = venv.join(".s3seal-installed");
    // One installer at a time across test processes; the others wait, then reuse it.
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("pyenv-moto.lock"))
        .unwrap_or_else(|e| panic!("cannot open the venv lock in {dir:?}: {e}"));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock the venv lock: {e}"));
    if !(exe.exists() && ready.exists()) {
        let python = std::env::var("S3SEAL_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        run(
            Command::new(&python).args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
            &dir.join("pyenv-moto-venv.log"),
            Duration::from_secs(120),
        );
        run(
            Command::new(venv.join("bin").join("pip")).args([
                "install",
                "--disable-pip-version-check",
                "moto[server]",
            ]),
            "pip install 'moto[server]'",
            &dir.join("pyenv-moto-pip.log"),
            Duration::from_secs(900),
        );
        assert!(exe.exists(), "pip installed moto but {exe:?} is missing");
        File::create(&ready).unwrap_or_else(|e| panic!("cannot mark {venv:?} ready: {e}"));
    }
    let _ = lock.unlock();
    exe
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind 127.0.0.1:0: {e}"));
    l.local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"))
        .port()
}

impl MotoServer {
    /// Starts a fresh server (empty state), with its virtualenv in `dir`.
    ///
    /// # Panics
    /// If the virtualenv cannot be made, pip fails, or the server does not answer within 60 s.
    #[must_use]
    pub fn start(dir: &Path) -> MotoServer {
        let exe = moto_server_exe(dir);
        let mut last = String::new();
        for attempt in 0..3 {
            let port = free_port();
            let log = dir.join(format!("moto-server-{port}.log"));
            let out = File::create(&log).unwrap_or_else(|e| panic!("{log:?}: {e}"));
            let err = out.try_clone().unwrap_or_else(|e| panic!("{log:?}: {e}"));
            let child = Command::new(&exe)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {exe:?}: {e}"));
            let mut server = MotoServer {
                child: Some(child),
                port,
                log,
            };
            match server.wait_ready(Duration::from_secs(60)) {
                Ok(()) => return server,
                Err(why) => last = format!("attempt {attempt}: {why}"),
            }
        }
        panic!("moto_server did not start: {last}");
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let start = Instant::now();
        loop {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(s)) = c.try_wait()
            {
                return Err(format!("exited with {s}; see {:?}", self.log));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(format!(
                    "no answer on {addr} in {limit:?}; see {:?}",
                    self.log
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's process id, e.g. to stop (`SIGSTOP`) and continue it.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends `signal` (`STOP`, `CONT`, …) to the server with `kill(1)`.
    ///
    /// # Panics
    /// If the server is gone or `kill` fails.
    pub fn signal(&self, signal: &str) {
        let pid = self
            .pid()
            .unwrap_or_else(|| panic!("moto_server already stopped"));
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal} {pid} failed");
    }

    /// Kills the server now (its state is lost).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The settings of a client of this server: static test credentials, [`MOTO_REGION`],
    /// [`MOTO_ACCOUNT`], short timeouts (1 s per attempt, 4 s per operation) and 3 attempts.
    #[must_use]
    pub fn config(&self) -> AwsKmsConfig {
        AwsKmsConfig::new()
            .endpoint(&self.endpoint())
            .region(MOTO_REGION)
            .account(MOTO_ACCOUNT)
            .credentials(AwsCredentials::fixed("testing", "testing"))
            .connect_timeout(Duration::from_millis(500))
            .attempt_timeout(Duration::from_secs(1))
            .operation_timeout(Duration::from_secs(4))
            .max_attempts(3)
            .backoff(Duration::from_millis(20), Duration::from_millis(200))
    }

    /// A client of this server with [`MotoServer::config`].
    ///
    /// # Panics
    /// If the client cannot be built.
    #[must_use]
    pub fn kms(&self) -> AwsKms {
        AwsKms::new(self.config()).unwrap_or_else(|e| panic!("AwsKms for moto: {e}"))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // A stopped (SIGSTOP) server still dies of SIGKILL.
        self.stop();
        // The log is kept when a test failed, for its tracebacks.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}
