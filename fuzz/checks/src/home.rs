//! Scratch directories, the testkit keystore and the engines the stateful checks share: opened
//! once per process, under `/dev/shm` when it exists (no disk flushes in the hot loop).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue};
use md5::{Digest, Md5};
use s3seal::kms::{LocalKms, LocalKmsConfig};
use s3seal::policy::headers::names;
use s3seal::{ChunkSize, Engine, EngineBuilder, EngineConfig};
use tempfile::TempDir;

/// The repository's `testkit/` (golden files, and the keystore `home/`).
pub(crate) fn testkit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testkit")
}

/// The SSE-C key of the testkit's SSE-C cases (`testkit/sse_c.key`).
pub(crate) const SSE_C_KEY: &[u8; 32] = b"s3seal testkit SSE-C key, 32 B!!";

/// The account of the testkit keystore (the `s3seal` command's).
pub(crate) const ACCOUNT: &str = "000000000000";

const PREFIX: &str = "s3seal-fuzz-";

/// A new scratch directory, removed on drop. Directories a dead process left behind (a fuzzer
/// stopped by a signal never drops its statics) are removed first.
pub(crate) fn scratch() -> TempDir {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix(PREFIX)
                .and_then(|r| r.split('-').next())
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid
                && pid != std::process::id()
                && !Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempdir_in(base)
        .expect("scratch directory")
}

/// A copy of `testkit/home` (root secret, keystore, generation record) in a scratch directory,
/// opened once: every golden object and sealed file of the testkit decrypts under it.
pub(crate) fn local_kms() -> Arc<LocalKms> {
    static KMS: OnceLock<(TempDir, Arc<LocalKms>)> = OnceLock::new();
    KMS.get_or_init(|| {
        let dir = scratch();
        for f in ["root.key", "keystore.json", "keystore.generation"] {
            std::fs::copy(testkit().join("home").join(f), dir.path().join(f))
                .expect("copy testkit/home");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Git keeps the files 0644; LocalKms refuses secret files others can read.
            for f in ["root.key", "keystore.json"] {
                std::fs::set_permissions(
                    dir.path().join(f),
                    std::fs::Permissions::from_mode(0o600),
                )
                .expect("chmod 600");
            }
        }
        let kms = LocalKms::open(LocalKmsConfig::new(dir.path())).expect("open testkit keystore");
        (dir, Arc::new(kms))
    })
    .1
    .clone()
}

/// The engine with `threads` rayon threads and chunk size `2^chunk_log2` over [`local_kms`]
/// (parts of any size accepted, SSE-C allowed without TLS), built once per pair.
pub(crate) fn engine(chunk_log2: u8, threads: usize) -> Arc<Engine> {
    type Engines = Mutex<HashMap<(u8, usize), Arc<Engine>>>;
    static ENGINES: OnceLock<Engines> = OnceLock::new();
    let mut map = ENGINES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry((chunk_log2, threads))
        .or_insert_with(|| {
            let config = EngineConfig {
                chunk: ChunkSize::from_log2(chunk_log2).expect("chunk size 12..=22"),
                min_part_size: 0,
                allow_insecure_sse_c: true,
                ..EngineConfig::default()
            };
            Arc::new(
                EngineBuilder::from_local(local_kms())
                    .threads(threads)
                    .config(config)
                    .build()
                    .expect("engine"),
            )
        })
        .clone()
}

/// The three SSE-C request headers for `key`.
pub(crate) fn sse_c_headers(key: &[u8; 32]) -> HeaderMap {
    let mut h = HeaderMap::new();
    let v = |s: String| HeaderValue::from_str(&s).expect("base64 is a header value");
    h.insert(names::SSE_C_ALGORITHM, HeaderValue::from_static("AES256"));
    h.insert(names::SSE_C_KEY, v(STANDARD.encode(key)));
    h.insert(names::SSE_C_KEY_MD5, v(STANDARD.encode(Md5::digest(key))));
    h
}
