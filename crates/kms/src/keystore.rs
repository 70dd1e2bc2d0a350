//! The on-disk keystore of [`crate::LocalKms`]: the root secret, the keystore file's format and
//! its atomic replacement.
//!
//! # Root secret
//! 32 random bytes from the environment variable (hex or base64; default `S3SEAL_ROOT_KEY`) or
//! from a file (default `DIR/root.key`, 64 hex digits), created 0600 with `O_EXCL` on first use.
//! An all-zero secret is refused, and so is a root file with any permission for group or others. A missing
//! root file next to an existing keystore is an error, never a silent new secret (which would
//! orphan every key).
//!
//! # Keystore file (`DIR/keystore.json`)
//! ```text
//! S3SEAL-KEYSTORE 1 <64 hex: HMAC-SHA256(mac_key, "S3SEAL-KEYSTORE 1\n" ‖ body)>\n
//! <body: JSON, see `StoreFile`>
//! ```
//! The MAC covers the body bytes as read. `wrap_key` and `mac_key` are HKDF-SHA256 expansions of
//! the root secret (info `s3seal keystore v1 wrap` / `… mac`). Each master key version is stored
//! as hex of `nonce(12) ‖ AES-256-GCM(wrap_key, key(32)) ‖ tag(16)`, AAD
//! `"s3seal master key v1" ‖ key id ‖ u32 BE version`.
//!
//! # Concurrency and crash safety
//! Processes sharing a directory serialize on an exclusive `flock` of `DIR/keystore.lock`
//! ([`lock`]): opening (root secret creation, leftover cleanup, first read) and every change
//! (re-read the file under the lock, apply the change, write) happen under it, so no update is
//! lost and the managed keys are created exactly once. Every change rewrites the whole file:
//! write to `.keystore.json.tmp-PID-RANDOM`, fsync it, rename it over `keystore.json`, fsync
//! the directory. A crash before the rename leaves the old file intact plus a temp file; since
//! a writer holds the lock from creating its temp file to the rename, a temp file seen by a
//! holder of the lock is a dead writer's, and the next open deletes it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use s3seal_gcm::{Aes256Gcm, fill_random};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::KmsError;
use crate::kdf;
use crate::kms::KeyState;

/// The default environment variable holding the root secret.
pub const ROOT_KEY_ENV: &str = "S3SEAL_ROOT_KEY";
pub(crate) const STORE_FILE: &str = "keystore.json";
const ROOT_FILE: &str = "root.key";
const MAGIC_LINE: &str = "S3SEAL-KEYSTORE 1";
const TMP_PREFIX: &str = ".keystore.json.tmp-";
const LOCK_FILE: &str = "keystore.lock";

/// Takes the keystore directory's cross-process lock: an exclusive `flock` of
/// `DIR/keystore.lock` (created 0600), held until the returned file is dropped. Blocks while
/// another process (or another `LocalKms` on the same directory) holds it.
pub(crate) fn lock(dir: &Path) -> Result<File, KmsError> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let f = opts
        .open(dir.join(LOCK_FILE))
        .map_err(KmsError::io("open keystore lock"))?;
    f.lock().map_err(KmsError::io("lock keystore"))?;
    Ok(f)
}

/// The keystore's 256-bit root secret.
///
/// # Security
/// Zeroized on drop; `Debug` prints `RootSecret(<redacted>)`; never all-zero.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RootSecret([u8; 32]);

impl core::fmt::Debug for RootSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RootSecret(<redacted>)")
    }
}

impl RootSecret {
    /// Wraps 32 secret bytes.
    ///
    /// # Errors
    /// [`KmsError::Other`] with [`KeystoreError::RootSecret`](crate::KeystoreError::RootSecret)
    /// if they are all zero.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, KmsError> {
        let s = RootSecret(bytes);
        if bool::from(s.0.ct_eq(&[0u8; 32])) {
            return Err(KmsError::root_secret("all-zero root secret refused"));
        }
        Ok(s)
    }

    /// A fresh random secret.
    ///
    /// # Errors
    /// [`KmsError::Random`] if the OS generator fails.
    pub fn generate() -> Result<Self, KmsError> {
        let mut b = [0u8; 32];
        fill_random(&mut b)?;
        let s = Self::from_bytes(b);
        b.zeroize();
        s
    }

    /// Parses 64 hex digits or base64 (standard, padded) of 32 bytes; surrounding whitespace is
    /// ignored.
    ///
    /// # Errors
    /// [`KmsError::Other`] with [`KeystoreError::RootSecret`](crate::KeystoreError::RootSecret)
    /// if it is neither, or all zero.
    pub fn parse(text: &str) -> Result<Self, KmsError> {
        use base64::Engine as _;
        let t = text.trim();
        let bytes = Zeroizing::new(if t.len() == 64 {
            hex::decode(t).map_err(|_| KmsError::root_secret("not 64 hex digits"))?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(|_| KmsError::root_secret("neither hex nor base64"))?
        });
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KmsError::root_secret("not 32 bytes"))?;
        Self::from_bytes(arr)
    }

    fn expand(&self, info: &[u8]) -> Zeroizing<[u8; 32]> {
        kdf::hkdf_sha256(None, &self.0, info)
    }
}

/// Where the root secret comes from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RootSecretSource {
    /// The environment variable if set, else the file (created on first use).
    EnvOrFile {
        /// Variable name, e.g. [`ROOT_KEY_ENV`].
        var: String,
        /// File path, e.g. `DIR/root.key`.
        path: PathBuf,
    },
    /// Only this environment variable.
    Env(String),
    /// Only this file (created on first use).
    File(PathBuf),
    /// A secret the caller already holds (tests, or a secret manager).
    Secret(RootSecret),
}

impl RootSecretSource {
    /// The default for a keystore directory: `S3SEAL_ROOT_KEY`, else `DIR/root.key`.
    #[must_use]
    pub fn default_for(dir: &Path) -> Self {
        RootSecretSource::EnvOrFile {
            var: ROOT_KEY_ENV.to_owned(),
            path: dir.join(ROOT_FILE),
        }
    }

    pub(crate) fn load(&self, store_exists: bool) -> Result<RootSecret, KmsError> {
        match self {
            RootSecretSource::Secret(s) => Ok(s.clone()),
            RootSecretSource::Env(var) => {
                from_env(var)?.ok_or_else(|| KmsError::root_secret("root secret variable not set"))
            }
            RootSecretSource::File(path) => from_file(path, store_exists),
            RootSecretSource::EnvOrFile { var, path } => match from_env(var)? {
                Some(s) => Ok(s),
                None => from_file(path, store_exists),
            },
        }
    }
}

fn from_env(var: &str) -> Result<Option<RootSecret>, KmsError> {
    match std::env::var(var) {
        Ok(v) => {
            let v = Zeroizing::new(v);
            RootSecret::parse(&v).map(Some)
        }
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(KmsError::root_secret("root secret variable is not UTF-8"))
        }
    }
}

fn from_file(path: &Path, store_exists: bool) -> Result<RootSecret, KmsError> {
    match File::open(path) {
        Ok(f) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = f
                    .metadata()
                    .map_err(KmsError::io("stat root secret"))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(KmsError::root_secret(
                        "root secret file is accessible by group or others (chmod 600)",
                    ));
                }
            }
            drop(f);
            let text =
                Zeroizing::new(fs::read_to_string(path).map_err(KmsError::io("read root secret"))?);
            RootSecret::parse(&text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if store_exists {
                return Err(KmsError::root_secret(
                    "root secret file missing but a keystore exists",
                ));
            }
            let secret = RootSecret::generate()?;
            let mut opts = OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts
                .open(path)
                .map_err(KmsError::io("create root secret"))?;
            let mut text = Zeroizing::new(hex::encode(secret.0));
            text.push('\n');
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(KmsError::io("write root secret"))?;
            if let Some(parent) = path.parent() {
                sync_dir(parent)?;
            }
            Ok(secret)
        }
        Err(e) => Err(KmsError::io("open root secret")(e)),
    }
}

/// The keys derived from the root secret.
pub(crate) struct Sealer {
    wrap: Aes256Gcm,
    mac_key: Zeroizing<[u8; 32]>,
}

impl Sealer {
    pub(crate) fn new(root: &RootSecret) -> Self {
        let wrap_key = root.expand(b"s3seal keystore v1 wrap");
        Sealer {
            wrap: Aes256Gcm::new(&wrap_key),
            mac_key: root.expand(b"s3seal keystore v1 mac"),
        }
    }

    fn mac(&self, body: &[u8]) -> [u8; 32] {
        kdf::hmac_sha256(&self.mac_key, &[MAGIC_LINE.as_bytes(), b"\n", body])
    }

    fn master_aad(id: &str, version: u32) -> Vec<u8> {
        let mut aad = b"s3seal master key v1".to_vec();
        aad.extend_from_slice(id.as_bytes());
        aad.extend_from_slice(&version.to_be_bytes());
        aad
    }

    /// Wraps a fresh master key version; returns the hex record and the expanded key.
    pub(crate) fn new_master(
        &self,
        id: &str,
        version: u32,
    ) -> Result<(String, Aes256Gcm), KmsError> {
        let mut key = Zeroizing::new([0u8; 32]);
        fill_random(key.as_mut_slice())?;
        let cipher = Aes256Gcm::new(&key);
        let mut rec = vec![0u8; 12];
        fill_random(&mut rec)?;
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&rec);
        let mut buf = *key;
        let tag =
            self.wrap
                .seal_in_place_separate_tag(&nonce, &Self::master_aad(id, version), &mut buf);
        rec.extend_from_slice(&buf);
        buf.zeroize();
        rec.extend_from_slice(&tag?);
        Ok((hex::encode(rec), cipher))
    }

    /// Unwraps a master key version record.
    pub(crate) fn open_master(
        &self,
        id: &str,
        version: u32,
        rec: &str,
    ) -> Result<Aes256Gcm, KmsError> {
        let bad = || KmsError::corrupt("master key record does not authenticate");
        let raw = hex::decode(rec).map_err(|_| bad())?;
        if raw.len() != 60 {
            return Err(bad());
        }
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&raw[..12]);
        let mut buf = Zeroizing::new([0u8; 32]);
        buf.copy_from_slice(&raw[12..44]);
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&raw[44..]);
        self.wrap
            .open_in_place(
                &nonce,
                &Self::master_aad(id, version),
                buf.as_mut_slice(),
                &tag,
            )
            .map_err(|_| bad())?;
        Ok(Aes256Gcm::new(&buf))
    }
}

/// One master key as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct KeyRecord {
    pub id: String,
    pub account: String,
    pub description: String,
    pub state: KeyState,
    pub aws_managed: bool,
    pub created: u64,
    pub deletion: Option<u64>,
    pub last_rotated: Option<u64>,
    /// Wrapped material, version `i + 1` at index `i`.
    pub versions: Vec<String>,
}

/// One alias as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AliasRecord {
    pub account: String,
    /// Without `alias/`.
    pub name: String,
    pub key_id: String,
}

/// The keystore body.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreFile {
    pub partition: String,
    pub region: String,
    pub keys: Vec<KeyRecord>,
    pub aliases: Vec<AliasRecord>,
}

/// One version of the keystore file. Every rewrite renames a new file over the old one, so its
/// inode changes (and with it the stamp), whatever its size and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    inode: (u64, u64),
}

impl FileStamp {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let inode = (0, 0);
        FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        }
    }
}

/// The stamp of `DIR/keystore.json` as it is now; `None` if there is none. One `stat`: cheap
/// enough to ask before every re-read.
pub(crate) fn current_stamp(dir: &Path) -> Result<Option<FileStamp>, KmsError> {
    match fs::metadata(dir.join(STORE_FILE)) {
        Ok(m) => Ok(Some(FileStamp::of(&m))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KmsError::io("stat keystore")(e)),
    }
}

/// Reads and authenticates `DIR/keystore.json`, with the stamp of the version read; `None` if
/// absent.
pub(crate) fn read_store(
    dir: &Path,
    sealer: &Sealer,
) -> Result<Option<(StoreFile, FileStamp)>, KmsError> {
    let mut f = match File::open(dir.join(STORE_FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(KmsError::io("read keystore")(e)),
    };
    let stamp = FileStamp::of(&f.metadata().map_err(KmsError::io("stat keystore"))?);
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut raw).map_err(KmsError::io("read keystore"))?;
    let nl = raw
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| KmsError::corrupt("no header line"))?;
    let (line, body) = (&raw[..nl], &raw[nl + 1..]);
    let line = core::str::from_utf8(line).map_err(|_| KmsError::corrupt("bad header"))?;
    let mac_hex = line
        .strip_prefix(MAGIC_LINE)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| KmsError::corrupt("not an s3seal keystore, or unknown version"))?;
    let mac = hex::decode(mac_hex).map_err(|_| KmsError::corrupt("bad header MAC"))?;
    if mac.len() != 32 || !bool::from(sealer.mac(body).ct_eq(&mac)) {
        return Err(KmsError::corrupt(
            "integrity check failed (damaged file or a different root secret)",
        ));
    }
    serde_json::from_slice(body)
        .map(|file| Some((file, stamp)))
        .map_err(|_| KmsError::corrupt("authenticated body is not a keystore"))
}

/// Atomically replaces `DIR/keystore.json` with `store`; returns the stamp of the new file
/// (exact while the caller holds [`lock`]).
pub(crate) fn write_store(
    dir: &Path,
    sealer: &Sealer,
    store: &StoreFile,
) -> Result<FileStamp, KmsError> {
    let body = serde_json::to_vec_pretty(store)
        .map_err(|_| KmsError::corrupt("keystore does not serialize"))?;
    let mut out = format!("{MAGIC_LINE} {}\n", hex::encode(sealer.mac(&body))).into_bytes();
    out.extend_from_slice(&body);
    write_atomic(dir, STORE_FILE, &out)?;
    current_stamp(dir)?.ok_or_else(|| KmsError::corrupt("keystore vanished after its write"))
}

/// Temp file, fsync, rename, fsync dir.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), KmsError> {
    let mut rnd = [0u8; 8];
    fill_random(&mut rnd)?;
    let tmp = dir.join(format!(
        "{TMP_PREFIX}{}-{}",
        std::process::id(),
        hex::encode(rnd)
    ));
    let res = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(KmsError::io("create keystore temp file"))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(KmsError::io("write keystore temp file"))?;
        drop(f);
        fs::rename(&tmp, dir.join(name)).map_err(KmsError::io("rename keystore"))?;
        sync_dir(dir)
    })();
    if res.is_err() {
        // Best effort: a leftover temp file is harmless and removed on the next open.
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// Deletes temp files left by a crash before rename. Call only while holding [`lock`]: then
/// no live writer has a temp file. Returns how many were removed.
pub(crate) fn remove_leftovers(dir: &Path) -> Result<usize, KmsError> {
    let mut n = 0;
    for entry in fs::read_dir(dir).map_err(KmsError::io("list keystore dir"))? {
        let entry = entry.map_err(KmsError::io("list keystore dir"))?;
        if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            fs::remove_file(entry.path()).map_err(KmsError::io("remove leftover temp file"))?;
            n += 1;
        }
    }
    Ok(n)
}

fn sync_dir(dir: &Path) -> Result<(), KmsError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(KmsError::io("fsync keystore dir"))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_secret_parsing_refuses_zero_and_junk() {
        assert!(RootSecret::parse(&"00".repeat(32)).is_err());
        assert!(RootSecret::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").is_err());
        assert!(RootSecret::parse(&"ab".repeat(32)).is_ok());
        assert!(RootSecret::parse("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=").is_ok());
        assert!(RootSecret::parse("short").is_err());
        assert_eq!(
            format!("{:?}", RootSecret::parse(&"ab".repeat(32)).unwrap()),
            "RootSecret(<redacted>)"
        );
    }
}
