//! The on-disk keystore of [`crate::LocalKms`]: the root secret, the keystore file's format and
//! its atomic replacement, and the generation record that detects a rolled-back keystore.
//!
//! # Files in the keystore directory `DIR`
//! | file | what |
//! |---|---|
//! | `root.key` | the root secret (unless it comes from the environment), 0600 |
//! | `keystore.json` | the keys and aliases, MACed (below), 0600; refused if group or others have any permission, or if larger than 16 MiB |
//! | `keystore.generation` | the newest keystore generation written, MACed (below), 0600 |
//! | `keystore.lock` | empty; its `flock` serializes opening and changes |
//! | `.keystore.json.tmp-PID-RANDOM` | a write in progress (or a dead writer's leftover) |
//!
//! # Root secret
//! 32 random bytes from the environment variable (hex or base64; default `S3SEAL_ROOT_KEY`) or
//! from a file (default `DIR/root.key`, 64 hex digits), created 0600 on first use: written to a
//! temporary file, fsynced, and published with a hard link that never replaces a file.
//! An all-zero secret is refused, and so is a root path that is not a regular file (checked
//! first: a directory is reported as one) or a root file with any permission for group or
//! others. A missing root file next to an existing keystore is an error that says to restore
//! it, never a silent new secret (which would orphan every key).
//!
//! # Keystore file (`DIR/keystore.json`)
//! ```text
//! S3SEAL-KEYSTORE 1 <64 hex: HMAC-SHA256(mac_key, "S3SEAL-KEYSTORE 1\n" ‖ body)>\n
//! <body: JSON object, see `StoreFile`>
//! ```
//! Body fields: `generation` (u64, incremented by every write; absent in files written before
//! it existed, read as 0), `partition`, `region`, `keys` (`id`, `account`, `description`,
//! `state`, `aws_managed`, `created`, `deletion`, `last_rotated`, `versions`), `aliases`
//! (`account`, `name` without `alias/`, `key_id`).
//! The MAC covers the body bytes as read. `wrap_key`, `mac_key` and `generation_key` are
//! HKDF-SHA256 expansions of the root secret (no salt; info `s3seal keystore v1 wrap` /
//! `… mac` / `… generation`). Each master key version is stored as hex of
//! `nonce(12) ‖ AES-256-GCM(wrap_key, key(32)) ‖ tag(16)`, AAD
//! `"s3seal master key v1" ‖ key id ‖ u32 BE version`.
//!
//! # Generation record (`DIR/keystore.generation`)
//! One line of ASCII, at most 4096 bytes read:
//! ```text
//! S3SEAL-KEYSTORE-GENERATION 1 <G: decimal u64> <64 hex: HMAC-SHA256(generation_key,
//!     "S3SEAL-KEYSTORE-GENERATION 1\n" ‖ u64 BE G)>\n
//! ```
//! (one line; fields separated by one space). `G` is the newest `generation` of
//! `keystore.json` ever written in this directory. Every change writes `keystore.json`
//! (generation `G + 1`) and *then* this file, both atomically and under the lock. So:
//! - keystore generation ≥ `G`: normal, or a crash between the two writes; the record is
//!   brought up to date at the next open;
//! - keystore generation < `G`: an older `keystore.json` was put back (keys created since are
//!   gone): refused ([`KeystoreError::RolledBack`]);
//! - no `keystore.json` but `G` > 0: refused ([`KeystoreError::Missing`]);
//! - no record (a directory from before generations existed, or a fresh one): accepted, and
//!   recorded at the next open or write.
//!
//! An operator who restored an older `keystore.json` on purpose opens once with
//! [`LocalKmsConfig::accept_rollback`](crate::LocalKmsConfig::accept_rollback), which
//! records the keystore's generation as found (and rewrites a damaged record). The record
//! detects a rollback of `keystore.json` alone; restoring the whole directory from an older
//! backup (both files) is a consistent older state and is not detected, nor is deleting the
//! record (it is recreated from the keystore at the next open; a forged lower number fails
//! its MAC). Versions before generations refuse a keystore that has the field (their body
//! parser denies unknown fields): going back to one needs the field removed and re-MACed.
//!
//! # Concurrency and crash safety
//! Processes sharing a directory serialize on an exclusive `flock` of `DIR/keystore.lock`
//! (`lock`): opening (root secret creation, leftover cleanup, first read, generation check)
//! and every change (re-read the file under the lock, apply the change, write the keystore,
//! then the generation record) happen under it, so no update is lost and the managed keys are
//! created exactly once. Every change rewrites the whole file: write to
//! `.keystore.json.tmp-PID-RANDOM`, fsync it, rename it over `keystore.json`, fsync the
//! directory (the generation record is written the same way). A crash before the rename
//! leaves the old file intact plus a temp file; since a writer holds the lock from creating
//! its temp file to the rename, a temp file seen by a holder of the lock is a dead writer's,
//! and the next open deletes it. A reader without the lock reads `keystore.generation`
//! before `keystore.json`, so a concurrent writer never makes it see a false rollback.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use s3seal_gcm::{Aes256Gcm, fill_random};
use subtle::ConstantTimeEq;
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{KeystoreError, KmsError};
use crate::kdf;
use crate::kms::KeyState;

/// The default environment variable holding the root secret.
pub const ROOT_KEY_ENV: &str = "S3SEAL_ROOT_KEY";
pub(crate) const STORE_FILE: &str = "keystore.json";
const ROOT_FILE: &str = "root.key";
const MAGIC_LINE: &str = "S3SEAL-KEYSTORE 1";
const TMP_PREFIX: &str = ".keystore.json.tmp-";
const LOCK_FILE: &str = "keystore.lock";
pub(crate) const GENERATION_FILE: &str = "keystore.generation";
const GENERATION_MAGIC: &str = "S3SEAL-KEYSTORE-GENERATION 1";
/// More than any well-formed `root.key` (64 hex digits or 44 base64 characters, plus
/// whitespace) or `keystore.generation`: reading stops here.
const SMALL_FILE_LIMIT: u64 = 4096;

/// Largest `keystore.json` read (16 MiB, tens of thousands of keys): reading stops one byte
/// past it, before the MAC is checked, so a huge or endless file is refused, not loaded.
pub(crate) const MAX_STORE_FILE: u64 = 16 << 20;

/// Refuses a keystore file with any permission for group or others: the keystore holds the
/// wrapped master keys, and is created 0600.
fn check_private(meta: &fs::Metadata) -> Result<(), KmsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(KeystoreError::Refused(
                "keystore.json is accessible by group or others (chmod 600 keystore.json)",
            )
            .into());
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

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
    /// [`KmsError::Other`] with [`KeystoreError::RootSecret`]
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
    /// [`KmsError::Other`] with [`KeystoreError::RootSecret`]
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

/// Refuses a root secret path that is not a regular file (a directory, FIFO, device or
/// socket), before its permissions are looked at. Asked of the path before opening it (opening
/// a FIFO would block) and of the opened file.
fn regular_root_file(meta: &fs::Metadata) -> Result<(), KmsError> {
    if meta.is_dir() {
        return Err(KmsError::root_secret(
            "root.key is a directory, not a file: move it aside and restore the root.key file \
             the keystore was written with",
        ));
    }
    if !meta.is_file() {
        return Err(KmsError::root_secret(
            "root.key is not a regular file (a FIFO, device or socket): replace it with the \
             root.key file the keystore was written with",
        ));
    }
    Ok(())
}

fn from_file(path: &Path, store_exists: bool) -> Result<RootSecret, KmsError> {
    let opened = match fs::metadata(path) {
        Ok(meta) => regular_root_file(&meta)
            .and_then(|()| File::open(path).map_err(KmsError::io("open root secret"))),
        Err(e) => Err(KmsError::io("open root secret")(e)),
    };
    match opened {
        Ok(f) => {
            let meta = f.metadata().map_err(KmsError::io("stat root secret"))?;
            regular_root_file(&meta)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if meta.permissions().mode() & 0o077 != 0 {
                    return Err(KmsError::root_secret(
                        "root secret file is accessible by group or others (chmod 600)",
                    ));
                }
            }
            let mut text = Zeroizing::new(String::new());
            f.take(SMALL_FILE_LIMIT)
                .read_to_string(&mut text)
                .map_err(KmsError::io("read root secret"))?;
            RootSecret::parse(&text)
        }
        Err(e)
            if e.keystore()
                .and_then(KeystoreError::io_error)
                .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
        {
            if store_exists {
                return Err(KmsError::root_secret(
                    "root.key is missing but keystore.json exists: restore root.key from the \
                     backup made with this keystore (without it no key can be unwrapped; a new \
                     root secret would orphan every key)",
                ));
            }
            create_root(path, store_exists)
        }
        Err(e) => Err(e),
    }
}

/// Creates the root secret file: the secret is written to a temporary file (0600) and fsynced,
/// then published with a hard link, which never replaces a file. A process killed at any
/// point leaves no partial `root.key` (only a temporary file, removed on the next open), and
/// of several processes creating it at once one wins and the others read the winner's.
fn create_root(path: &Path, store_exists: bool) -> Result<RootSecret, KmsError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let secret = RootSecret::generate()?;
    let mut rnd = [0u8; 8];
    fill_random(&mut rnd)?;
    let tmp = dir.join(format!(
        ".root.key.tmp-{}-{}",
        std::process::id(),
        hex::encode(rnd)
    ));
    let mut text = Zeroizing::new(hex::encode(secret.0));
    text.push('\n');
    let written = write_new_synced(&tmp, text.as_bytes(), "write root secret");
    let linked = written.and_then(|()| match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(KmsError::io("create root secret")(e)),
    });
    // The temporary name goes either way. (Its prefix is not the keystore's temporary prefix,
    // which an opening process removes: that could race with a creator. A process killed
    // here leaves a `.root.key.tmp-*` file holding a secret nothing was ever sealed under.)
    let _ = fs::remove_file(&tmp);
    if linked? {
        sync_dir(dir)?;
        Ok(secret)
    } else {
        // Another process published its secret first: use that one.
        from_file(path, store_exists)
    }
}

/// The keys derived from the root secret.
pub(crate) struct Sealer {
    wrap: Aes256Gcm,
    mac_key: Zeroizing<[u8; 32]>,
    generation_key: Zeroizing<[u8; 32]>,
}

impl Sealer {
    pub(crate) fn new(root: &RootSecret) -> Self {
        let wrap_key = root.expand(b"s3seal keystore v1 wrap");
        Sealer {
            wrap: Aes256Gcm::new(&wrap_key),
            mac_key: root.expand(b"s3seal keystore v1 mac"),
            generation_key: root.expand(b"s3seal keystore v1 generation"),
        }
    }

    fn mac(&self, body: &[u8]) -> [u8; 32] {
        kdf::hmac_sha256(&self.mac_key, &[MAGIC_LINE.as_bytes(), b"\n", body])
    }

    fn generation_mac(&self, generation: u64) -> [u8; 32] {
        kdf::hmac_sha256(
            &self.generation_key,
            &[
                GENERATION_MAGIC.as_bytes(),
                b"\n",
                &generation.to_be_bytes(),
            ],
        )
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
    /// Incremented by every write; absent (0) in keystores written before it existed.
    #[serde(default)]
    pub generation: u64,
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
    let f = match File::open(dir.join(STORE_FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(KmsError::io("read keystore")(e)),
    };
    let meta = f.metadata().map_err(KmsError::io("stat keystore"))?;
    check_private(&meta)?;
    let stamp = FileStamp::of(&meta);
    let too_large = || -> KmsError {
        KeystoreError::Refused(
            "keystore.json is larger than 16 MiB: not a keystore this build wrote",
        )
        .into()
    };
    if meta.len() > MAX_STORE_FILE {
        return Err(too_large());
    }
    let mut raw = Vec::new();
    f.take(MAX_STORE_FILE + 1)
        .read_to_end(&mut raw)
        .map_err(KmsError::io("read keystore"))?;
    if raw.len() as u64 > MAX_STORE_FILE {
        return Err(too_large());
    }
    parse_store(sealer, &raw).map(|file| Some((file, stamp)))
}

/// Authenticates and parses the bytes of `keystore.json`: the header line's MAC over the body
/// as read, then the body's JSON.
fn parse_store(sealer: &Sealer, raw: &[u8]) -> Result<StoreFile, KmsError> {
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
        .map_err(|_| KmsError::corrupt("authenticated body is not a keystore"))
}

/// Checks an authenticated keystore body against the opener's partition and Region and unwraps
/// every master key version: key id → versions, version `i + 1` at index `i`.
pub(crate) fn unwrap_keys(
    file: &StoreFile,
    sealer: &Sealer,
    partition: &str,
    region: &str,
) -> Result<HashMap<String, Vec<Aes256Gcm>>, KmsError> {
    if file.partition != partition || file.region != region {
        return Err(KmsError::corrupt(
            "keystore was created for another partition or Region",
        ));
    }
    let mut ciphers = HashMap::new();
    for k in &file.keys {
        let mut v = Vec::with_capacity(k.versions.len());
        for (i, rec) in k.versions.iter().enumerate() {
            let version =
                u32::try_from(i + 1).map_err(|_| KmsError::corrupt("too many key versions"))?;
            v.push(sealer.open_master(&k.id, version, rec)?);
        }
        if v.is_empty() || Uuid::parse_str(&k.id).is_err() {
            return Err(KmsError::corrupt("key record without material or id"));
        }
        ciphers.insert(k.id.clone(), v);
    }
    Ok(ciphers)
}

/// What a keystore file holds, as [`parse_keystore`] read it (no key material).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeystoreContents {
    /// The body's `generation`.
    pub generation: u64,
    /// Each key's id (UUID text) and number of material versions, in file order.
    pub keys: Vec<(String, usize)>,
    /// Each alias as `(account, name without "alias/", target key id)`, in file order.
    pub aliases: Vec<(String, String, String)>,
}

/// Authenticates, parses and unwraps the bytes of a `keystore.json` under `root`, as
/// [`LocalKms::open`](crate::LocalKms::open) does with the file, without touching the
/// filesystem (`docs/FORMAT.md` §11).
///
/// # Errors
/// [`KmsError::Other`] with [`KeystoreError::Corrupt`]: no header line, another magic or
/// version, a wrong MAC, a body that is not the schema, another partition or Region, a master
/// key version that does not authenticate, a key without material or with a malformed id.
pub fn parse_keystore(
    root: &RootSecret,
    raw: &[u8],
    partition: &str,
    region: &str,
) -> Result<KeystoreContents, KmsError> {
    let sealer = Sealer::new(root);
    let file = parse_store(&sealer, raw)?;
    unwrap_keys(&file, &sealer, partition, region)?;
    Ok(KeystoreContents {
        generation: file.generation,
        keys: file
            .keys
            .iter()
            .map(|k| (k.id.clone(), k.versions.len()))
            .collect(),
        aliases: file
            .aliases
            .iter()
            .map(|a| (a.account.clone(), a.name.clone(), a.key_id.clone()))
            .collect(),
    })
}

/// Parses and authenticates the bytes of `keystore.generation` under `root`: the newest
/// keystore generation written (`docs/FORMAT.md` §11).
///
/// # Errors
/// [`KmsError::Other`] with [`KeystoreError::Corrupt`] for anything but the one canonical line
/// with the right MAC.
pub fn parse_generation_record(root: &RootSecret, raw: &[u8]) -> Result<u64, KmsError> {
    parse_generation(&Sealer::new(root), raw)
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

/// Reads `DIR/keystore.generation` as it is (at most [`SMALL_FILE_LIMIT`] bytes), without
/// checking it; `None` if absent. Read it *before* `keystore.json` when not holding [`lock`]:
/// writers update the keystore first, so the number read then is never ahead of the keystore
/// read after it unless the keystore was rolled back.
pub(crate) fn read_generation_raw(dir: &Path) -> Result<Option<Vec<u8>>, KmsError> {
    let f = match File::open(dir.join(GENERATION_FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(KmsError::io("read keystore generation")(e)),
    };
    let mut raw = Vec::new();
    f.take(SMALL_FILE_LIMIT)
        .read_to_end(&mut raw)
        .map_err(KmsError::io("read keystore generation"))?;
    Ok(Some(raw))
}

/// Parses and authenticates the bytes of `keystore.generation`: the newest keystore generation
/// written.
pub(crate) fn parse_generation(sealer: &Sealer, raw: &[u8]) -> Result<u64, KmsError> {
    let bad = || {
        KmsError::corrupt(
            "keystore.generation is damaged or was written under another root secret (restore \
             it with keystore.json, or open once with rollback accepted to rewrite it)",
        )
    };
    let line = core::str::from_utf8(raw)
        .ok()
        .and_then(|t| t.strip_suffix('\n'))
        .and_then(|t| t.strip_prefix(GENERATION_MAGIC))
        .and_then(|t| t.strip_prefix(' '))
        .ok_or_else(bad)?;
    let (number, mac_hex) = line.split_once(' ').ok_or_else(bad)?;
    // Canonical decimal only: one spelling per number.
    if number.is_empty()
        || !number.bytes().all(|b| b.is_ascii_digit())
        || (number.len() > 1 && number.starts_with('0'))
    {
        return Err(bad());
    }
    let generation: u64 = number.parse().map_err(|_| bad())?;
    let mac = hex::decode(mac_hex).map_err(|_| bad())?;
    if mac.len() != 32 || !bool::from(sealer.generation_mac(generation).ct_eq(&mac)) {
        return Err(bad());
    }
    Ok(generation)
}

/// Atomically replaces `DIR/keystore.generation` with `generation`. Call while holding
/// [`lock`], after the keystore file of that generation is in place.
pub(crate) fn write_generation(
    dir: &Path,
    sealer: &Sealer,
    generation: u64,
) -> Result<(), KmsError> {
    let line = format!(
        "{GENERATION_MAGIC} {generation} {}\n",
        hex::encode(sealer.generation_mac(generation))
    );
    write_atomic(dir, GENERATION_FILE, line.as_bytes())
}

/// Creates `path` (0600; never an existing file), writes `bytes` and fsyncs it.
fn write_new_synced(path: &Path, bytes: &[u8], what: &'static str) -> Result<(), KmsError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(KmsError::io(what))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(KmsError::io(what))
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
        write_new_synced(&tmp, bytes, "write keystore temp file")?;
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

    /// A keystore written before generations existed (no `generation` field, no
    /// `keystore.generation`) opens as generation 0; the next change makes it generation 1 and
    /// records that.
    #[test]
    fn a_keystore_without_a_generation_field_loads_and_gets_one() {
        let d = tempfile::tempdir().unwrap();
        let root = RootSecret::parse(&"5a".repeat(32)).unwrap();
        let cfg = || {
            crate::LocalKmsConfig::new(d.path()).root_secret(RootSecretSource::Secret(root.clone()))
        };
        let arn = crate::LocalKms::open(cfg())
            .unwrap()
            .create_key("old")
            .unwrap()
            .arn;
        // Rewrite it as the previous version wrote it: the body without the field, no record.
        let sealer = Sealer::new(&root);
        let (file, _) = read_store(d.path(), &sealer).unwrap().unwrap();
        let mut value = serde_json::to_value(&file).unwrap();
        assert_eq!(
            value.as_object_mut().unwrap().remove("generation"),
            Some(serde_json::json!(1))
        );
        let body = serde_json::to_vec_pretty(&value).unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("generation"));
        let mut old = format!("{MAGIC_LINE} {}\n", hex::encode(sealer.mac(&body))).into_bytes();
        old.extend_from_slice(&body);
        fs::write(d.path().join(STORE_FILE), &old).unwrap();
        fs::remove_file(d.path().join(GENERATION_FILE)).unwrap();

        let kms = crate::LocalKms::open(cfg()).unwrap();
        let k = crate::KeyRef::parse(&arn).unwrap();
        assert_eq!(kms.describe(&k).unwrap().description, "old");
        assert_eq!(
            fs::read(d.path().join(STORE_FILE)).unwrap(),
            old,
            "open did not rewrite it"
        );
        kms.create_key("new").unwrap();
        let (file, _) = read_store(d.path(), &sealer).unwrap().unwrap();
        assert_eq!(file.generation, 1);
        let raw = fs::read(d.path().join(GENERATION_FILE)).unwrap();
        assert_eq!(parse_generation(&sealer, &raw).unwrap(), 1);
        assert!(raw.starts_with(b"S3SEAL-KEYSTORE-GENERATION 1 1 "));
        assert_eq!(crate::LocalKms::open(cfg()).unwrap().list_keys().len(), 2);
    }

    #[test]
    fn a_generation_record_is_authenticated() {
        let d = tempfile::tempdir().unwrap();
        let sealer = Sealer::new(&RootSecret::parse(&"5a".repeat(32)).unwrap());
        let other = Sealer::new(&RootSecret::parse(&"77".repeat(32)).unwrap());
        write_generation(d.path(), &sealer, 7).unwrap();
        let raw = fs::read(d.path().join(GENERATION_FILE)).unwrap();
        assert_eq!(parse_generation(&sealer, &raw).unwrap(), 7);
        assert!(parse_generation(&other, &raw).is_err());
        let text = String::from_utf8(raw.clone()).unwrap();
        for bad in [
            text.replace(" 7 ", " 8 "),
            text.replace(" 7 ", " +7 "),
            text.replace(" 7 ", " 07 "),
            text.trim_end().to_owned(),
            text.replace("GENERATION 1", "GENERATION 2"),
            String::new(),
        ] {
            assert!(
                parse_generation(&sealer, bad.as_bytes()).is_err(),
                "{bad:?}"
            );
        }
    }
}
