//! [`LocalKms`]: the embedded, file-backed default [`Kms`].
//!
//! Holds 256-bit master keys (UUID ids, ARNs `arn:PARTITION:kms:REGION:ACCOUNT:key/ID`),
//! aliases, states and rotation versions in a keystore directory ([`crate::keystore`]), wrapped
//! under a root secret. Blobs use the format in [`crate::blob`].
//!
//! Several instances and processes may share a keystore directory: changes are serialized by
//! the directory's lock and re-read under it ([`crate::keystore`]).
//!
//! # Keystore loss and rollback
//! Objects sealed under a key become unreadable if the key vanishes, so a keystore that went
//! missing or went back in time is refused, never silently replaced:
//! - [`LocalKmsConfig::require_existing`]: no `keystore.json` is an error
//!   ([`KeystoreError::Missing`]) and nothing is created — the CLI sets it when its home
//!   holds objects;
//! - every write increments the keystore's `generation` and then records it in
//!   `keystore.generation` (MACed under the root secret); a `keystore.json` older than the
//!   record ([`KeystoreError::RolledBack`]), or missing while the record says one was written
//!   ([`KeystoreError::Missing`]), is refused at open and at every re-read;
//! - [`LocalKmsConfig::accept_rollback`] is the way out after restoring an older backup on
//!   purpose: the keystore as found becomes the newest generation.
//!
//! Failures of the keystore itself (I/O with the operating system's error, a corrupt file or a
//! wrong root secret, an unusable root secret) are [`crate::KeystoreError`]s, which reach
//! callers as [`KmsError::Other`]; [`KmsError::keystore`] gets them back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use s3seal_gcm::{Aes256Gcm, DataKey};
use uuid::Uuid;

use crate::blob::{self, BlobHeader};
use crate::context::EncryptionContext;
use crate::error::{KeystoreError, KmsError};
use crate::key_id::{KeyRef, check_account};
use crate::keystore::{
    self, AliasRecord, FileStamp, KeyRecord, RootSecretSource, Sealer, StoreFile,
};
use crate::kms::{
    AWS_S3_MANAGED_ALIAS, DecryptedDataKey, GeneratedDataKey, KeyMetadata, KeyState, Kms,
    ReEncrypted, Requester, RotationInfo, SSE_S3_ALIAS,
};

/// How to open a [`LocalKms`].
#[derive(Debug, Clone)]
pub struct LocalKmsConfig {
    /// The keystore directory (created 0700 if absent).
    pub dir: PathBuf,
    /// ARN partition, default `aws`.
    pub partition: String,
    /// ARN Region, default `us-east-1`.
    pub region: String,
    /// The account management calls and [`LocalKms::requester`] use, default `000000000000`.
    pub account: String,
    /// Where the root secret comes from; default [`RootSecretSource::default_for`] `dir`.
    pub root_secret: RootSecretSource,
    /// Refuse to open when `dir/keystore.json` does not exist, instead of starting an empty
    /// keystore (see [`LocalKmsConfig::require_existing`]). Default `false`.
    pub require_existing: bool,
    /// Accept a keystore older than the newest generation written (see
    /// [`LocalKmsConfig::accept_rollback`]). Default `false`.
    pub accept_rollback: bool,
}

impl LocalKmsConfig {
    /// Defaults for `dir`.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        LocalKmsConfig {
            root_secret: RootSecretSource::default_for(&dir),
            dir,
            partition: "aws".to_owned(),
            region: "us-east-1".to_owned(),
            account: "000000000000".to_owned(),
            require_existing: false,
            accept_rollback: false,
        }
    }

    /// With `true`, [`LocalKms::open`] refuses with
    /// [`KeystoreError::Missing`] when there is no
    /// `keystore.json`, and creates nothing (no directory, lock file or root secret). Set it
    /// when the home holds objects: their data keys are wrapped under this keystore's keys, and
    /// a fresh empty keystore would orphan all of them.
    #[must_use]
    pub fn require_existing(mut self, require: bool) -> Self {
        self.require_existing = require;
        self
    }

    /// With `true`, [`LocalKms::open`] accepts a `keystore.json` older than the newest
    /// generation `keystore.generation` records (or no `keystore.json` where one was written,
    /// or a damaged `keystore.generation`) and records the keystore as it is now as the newest
    /// generation. For an operator who restored an older backup of `keystore.json` on purpose:
    /// keys created after that backup are gone, and objects sealed under them stay unreadable.
    /// Open once with it; later opens need it no more.
    #[must_use]
    pub fn accept_rollback(mut self, accept: bool) -> Self {
        self.accept_rollback = accept;
        self
    }

    /// Sets the Region.
    #[must_use]
    pub fn region(mut self, region: &str) -> Self {
        region.clone_into(&mut self.region);
        self
    }

    /// Sets the default account.
    #[must_use]
    pub fn account(mut self, account: &str) -> Self {
        account.clone_into(&mut self.account);
        self
    }

    /// Sets the root secret source.
    #[must_use]
    pub fn root_secret(mut self, source: RootSecretSource) -> Self {
        self.root_secret = source;
        self
    }
}

struct State {
    file: StoreFile,
    /// Expanded master keys by id; version `i + 1` at index `i`.
    ciphers: HashMap<String, Vec<Aes256Gcm>>,
    /// The version of the keystore file this state was read from (`None`: no file yet).
    stamp: Option<FileStamp>,
}

/// The embedded file-backed KMS.
pub struct LocalKms {
    dir: PathBuf,
    account: String,
    requester: Requester,
    sealer: Sealer,
    state: RwLock<State>,
}

impl core::fmt::Debug for LocalKms {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LocalKms")
            .field("dir", &self.dir)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn to_time(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

const MANAGED_ALIASES: [&str; 2] = [AWS_S3_MANAGED_ALIAS, SSE_S3_ALIAS];

impl LocalKms {
    /// Opens (creating on first use) the keystore in `dir` with default settings.
    ///
    /// # Errors
    /// As [`LocalKms::open`].
    pub fn open_dir(dir: impl Into<PathBuf>) -> Result<Self, KmsError> {
        Self::open(LocalKmsConfig::new(dir))
    }

    /// Opens (creating on first use) a keystore.
    ///
    /// Removes temp files a crash left behind, loads the root secret, authenticates the keystore
    /// file, checks its generation against `keystore.generation` (recording it if the record
    /// is behind) and unwraps every master key.
    ///
    /// # Errors
    /// [`KmsError::Other`] with a [`KeystoreError`]: `Io`, `Corrupt` (damaged keystore or
    /// `keystore.generation`, wrong root secret, or a partition/Region other than the
    /// keystore's), `RootSecret` (also: `root.key` missing beside a keystore, or not a regular
    /// file), `Missing` (no `keystore.json` although [`LocalKmsConfig::require_existing`] is
    /// set or one was written), `RolledBack` (older than the newest generation written; see
    /// [`LocalKmsConfig::accept_rollback`]);
    /// [`KmsError::InvalidArgument`] for a malformed account.
    pub fn open(config: LocalKmsConfig) -> Result<Self, KmsError> {
        let requester = Requester::new(&config.account)
            .map_err(|_| KmsError::InvalidArgument("account must be 12 digits"))?;
        let dir = config.dir;
        // Checked before anything is created. A keystore file is never deleted by a writer, so
        // one seen here is still there under the lock.
        if config.require_existing && !store_exists(&dir)? {
            return Err(KeystoreError::Missing { generation: None }.into());
        }
        create_dir(&dir)?;
        // Under the directory's lock: no other process is creating the root secret or writing
        // a temp file meanwhile.
        let lock = keystore::lock(&dir)?;
        keystore::remove_leftovers(&dir)?;
        let exists = store_exists(&dir)?;
        let root = config.root_secret.load(exists)?;
        let sealer = Sealer::new(&root);
        drop(root);
        let recorded = keystore::read_generation_raw(&dir)?;
        let loaded = load_state(&dir, &sealer, &config.partition, &config.region)?;
        let found = loaded.as_ref().map(|st| st.file.generation);
        if let Some(generation) =
            check_generation(&sealer, recorded.as_deref(), found, config.accept_rollback)?
        {
            // The keystore is ahead of the record (a crash between the two writes, a keystore
            // from before generations, or an accepted rollback): record it now.
            keystore::write_generation(&dir, &sealer, generation)?;
        }
        let state = match loaded {
            Some(state) => state,
            None => State {
                file: StoreFile {
                    partition: config.partition,
                    region: config.region,
                    ..StoreFile::default()
                },
                ciphers: HashMap::new(),
                stamp: None,
            },
        };
        drop(lock);
        Ok(LocalKms {
            dir,
            account: config.account,
            requester,
            sealer,
            state: RwLock::new(state),
        })
    }

    /// Replaces the in-memory state with the keystore file as it is on disk now, if it changed
    /// since it was read (another process may have added keys, aliases or versions): one `stat`
    /// when it did not.
    fn refresh(&self) -> Result<(), KmsError> {
        let mut st = self.state.write().unwrap_or_else(PoisonError::into_inner);
        self.reload(&mut st)
    }

    /// Re-reads the keystore file if its stamp changed, refusing a rolled-back one. Needs no
    /// lock: `keystore.generation` is read first, and writers update it after the keystore.
    /// A keystore file that vanished leaves the state as it is (the next change rewrites it).
    fn reload(&self, st: &mut State) -> Result<(), KmsError> {
        if keystore::current_stamp(&self.dir)? == st.stamp {
            return Ok(());
        }
        let recorded = keystore::read_generation_raw(&self.dir)?;
        if let Some(fresh) =
            load_state(&self.dir, &self.sealer, &st.file.partition, &st.file.region)?
        {
            check_generation(
                &self.sealer,
                recorded.as_deref(),
                Some(fresh.file.generation),
                false,
            )?;
            *st = fresh;
        }
        Ok(())
    }

    /// The keystore directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A [`Requester`] in the default account.
    #[must_use]
    pub fn requester(&self) -> Requester {
        self.requester.clone()
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // State is only replaced whole after a successful write, so a poisoned lock still guards
        // a consistent value.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `f` to a copy of the keystore as it is on disk (re-read under the directory's
    /// lock, so no other process's update is lost), persists it with the next generation,
    /// publishes it, then records the generation in `keystore.generation`. An error writing
    /// that record is returned although the change itself is durable (and in the state); the
    /// next open or change records it.
    fn mutate<T>(
        &self,
        f: impl FnOnce(&mut StoreFile, &mut Vec<(String, Aes256Gcm)>) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let mut st = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let _lock = keystore::lock(&self.dir)?;
        self.reload(&mut st)?;
        let mut file = st.file.clone();
        let mut new_ciphers = Vec::new();
        let out = f(&mut file, &mut new_ciphers)?;
        file.generation = st
            .file
            .generation
            .checked_add(1)
            .ok_or_else(|| KmsError::corrupt("keystore generation overflow"))?;
        st.stamp = Some(keystore::write_store(&self.dir, &self.sealer, &file)?);
        let generation = file.generation;
        st.file = file;
        for (id, c) in new_ciphers {
            st.ciphers.entry(id).or_default().push(c);
        }
        // The change is durable from here. A crash before the record is updated leaves the
        // keystore one generation ahead of it, which the next open accepts and records.
        keystore::write_generation(&self.dir, &self.sealer, generation)?;
        Ok(out)
    }

    fn arn(file: &StoreFile, k: &KeyRecord) -> String {
        format!(
            "arn:{}:kms:{}:{}:key/{}",
            file.partition, file.region, k.account, k.id
        )
    }

    fn metadata(file: &StoreFile, k: &KeyRecord) -> KeyMetadata {
        KeyMetadata {
            arn: Self::arn(file, k),
            key_id: k.id.clone(),
            account: k.account.clone(),
            region: file.region.clone(),
            description: k.description.clone(),
            state: effective_state(k),
            aws_managed: k.aws_managed,
            creation_date: to_time(k.created),
            deletion_date: k.deletion.map(to_time),
            rotation: RotationInfo {
                current_version: u32::try_from(k.versions.len()).unwrap_or(u32::MAX),
                last_rotated: k.last_rotated.map(to_time),
            },
            aliases: file
                .aliases
                .iter()
                .filter(|a| a.key_id == k.id)
                .map(|a| a.name.clone())
                .collect(),
        }
    }

    /// Finds the key `r` names for `requester`, without state or account-rule checks.
    fn find<'a>(
        file: &'a StoreFile,
        r: &KeyRef,
        requester_account: &str,
    ) -> Result<&'a KeyRecord, KmsError> {
        let not_found = || KmsError::NotFound(r.to_string());
        let by_id = |id: &str, account: &str| {
            file.keys
                .iter()
                .find(|k| k.id.eq_ignore_ascii_case(id) && k.account == account)
        };
        let by_alias = |name: &str, account: &str| {
            file.aliases
                .iter()
                .find(|a| a.name == name && a.account == account)
                .and_then(|a| by_id(&a.key_id, account))
        };
        let k = match r {
            KeyRef::KeyId(id) => by_id(id, requester_account),
            KeyRef::AliasName(n) => by_alias(n, requester_account),
            KeyRef::KeyArn(a) | KeyRef::AliasArn(a)
                if a.partition != file.partition || a.region != file.region =>
            {
                None
            }
            KeyRef::KeyArn(a) => by_id(&a.name, &a.account),
            KeyRef::AliasArn(a) => by_alias(&a.name, &a.account),
        };
        match k {
            // A key past its deletion date is gone.
            Some(k) if k.deletion.is_some_and(|d| d <= now_secs()) => Err(not_found()),
            Some(k) => Ok(k),
            None => Err(not_found()),
        }
    }

    /// The managed alias `r` names and the account it lives in, if it names one.
    fn managed_alias<'a>(
        &self,
        r: &'a KeyRef,
        requester_account: &'a str,
    ) -> Option<(&'a str, &'a str)> {
        let (name, account) = match r {
            KeyRef::AliasName(n) => (n.as_str(), requester_account),
            KeyRef::AliasArn(a) => (a.name.as_str(), a.account.as_str()),
            _ => return None,
        };
        MANAGED_ALIASES.contains(&name).then_some((name, account))
    }

    /// Resolves `r`, creating `alias/aws/s3` and `alias/s3seal/sse-s3` on first use, and applies
    /// the bucket-owner rule. Returns a read guard and the key's index in it.
    fn resolve(
        &self,
        r: &KeyRef,
        requester: &Requester,
    ) -> Result<(RwLockReadGuard<'_, State>, usize), KmsError> {
        let lookup = |st: &State| {
            Self::find(&st.file, r, requester.account()).and_then(|k| {
                let arn = Self::arn(&st.file, k);
                requester.check_key_account(&k.account, &arn)?;
                st.file
                    .keys
                    .iter()
                    .position(|x| x.id == k.id)
                    .ok_or_else(|| KmsError::NotFound(r.to_string()))
            })
        };
        for attempt in 0..2 {
            let st = self.read();
            match lookup(&st) {
                Err(KmsError::NotFound(_)) => {}
                Ok(i) => return Ok((st, i)),
                Err(e) => return Err(e),
            }
            drop(st);
            if attempt == 0 {
                // Another process may have created the key or alias since we read the file.
                self.refresh()?;
            }
        }
        let Some((name, account)) = self.managed_alias(r, requester.account()) else {
            return Err(KmsError::NotFound(r.to_string()));
        };
        if let KeyRef::AliasArn(a) = r {
            let st = self.read();
            if a.partition != st.file.partition || a.region != st.file.region {
                return Err(KmsError::NotFound(r.to_string()));
            }
        }
        self.mutate(|file, new| {
            if file
                .aliases
                .iter()
                .any(|a| a.name == name && a.account == account)
            {
                return Ok(()); // created by a racing caller
            }
            let description = if name == AWS_S3_MANAGED_ALIAS {
                "Default key that protects my S3 objects when no other key is defined"
            } else {
                "s3seal root key for SSE-S3"
            };
            let i = self.new_key(file, new, account, description, true)?;
            file.aliases.push(AliasRecord {
                account: account.to_owned(),
                name: name.to_owned(),
                key_id: file.keys[i].id.clone(),
            });
            Ok(())
        })?;
        let st = self.read();
        let i = lookup(&st)?;
        Ok((st, i))
    }

    /// Adds a fresh Enabled key to `file` (its cipher to `new`); returns its index.
    fn new_key(
        &self,
        file: &mut StoreFile,
        new: &mut Vec<(String, Aes256Gcm)>,
        account: &str,
        description: &str,
        aws_managed: bool,
    ) -> Result<usize, KmsError> {
        let mut b = [0u8; 16];
        s3seal_gcm::fill_random(&mut b)?;
        let id = uuid::Builder::from_random_bytes(b).into_uuid().to_string();
        let (rec, cipher) = self.sealer.new_master(&id, 1)?;
        file.keys.push(KeyRecord {
            id: id.clone(),
            account: account.to_owned(),
            description: description.to_owned(),
            state: KeyState::Enabled,
            aws_managed,
            created: now_secs(),
            deletion: None,
            last_rotated: None,
            versions: vec![rec],
        });
        new.push((id, cipher));
        Ok(file.keys.len() - 1)
    }

    fn usable(k: &KeyRecord, arn: &str) -> Result<(), KmsError> {
        match effective_state(k) {
            KeyState::Enabled => Ok(()),
            KeyState::Disabled => Err(KmsError::Disabled(arn.to_owned())),
            _ => Err(KmsError::PendingDeletion(arn.to_owned())),
        }
    }

    fn seal(
        st: &State,
        i: usize,
        context: &EncryptionContext,
        dk: &DataKey,
    ) -> Result<(Vec<u8>, String), KmsError> {
        let k = &st.file.keys[i];
        let arn = Self::arn(&st.file, k);
        Self::usable(k, &arn)?;
        let ciphers = st
            .ciphers
            .get(&k.id)
            .ok_or_else(|| KmsError::corrupt("key without material"))?;
        let cipher = ciphers
            .last()
            .ok_or_else(|| KmsError::corrupt("key without material"))?;
        let header = BlobHeader {
            key_id: *Uuid::parse_str(&k.id)
                .map_err(|_| KmsError::corrupt("bad key id"))?
                .as_bytes(),
            key_version: u32::try_from(ciphers.len()).unwrap_or(u32::MAX),
        };
        Ok((blob::write(header, cipher, context, dk)?, arn))
    }

    fn open_blob(
        &self,
        blob_bytes: &[u8],
        context: &EncryptionContext,
        expected_key_arn: Option<&str>,
    ) -> Result<DecryptedDataKey, KmsError> {
        let h = blob::read_header(blob_bytes)?;
        let id = Uuid::from_bytes(h.key_id).to_string();
        let known = |st: &State| {
            st.ciphers
                .get(&id)
                .is_some_and(|v| usize::try_from(h.key_version).is_ok_and(|n| n <= v.len()))
        };
        if !known(&self.read()) {
            // A key (or key version) another process made since we read the file.
            self.refresh()?;
        }
        let st = self.read();
        let k = st
            .file
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or(KmsError::InvalidCiphertext)?;
        let arn = Self::arn(&st.file, k);
        if expected_key_arn.is_some_and(|e| e != arn) {
            return Err(KmsError::IncorrectKey);
        }
        if k.deletion.is_some_and(|d| d <= now_secs()) {
            return Err(KmsError::NotFound(arn));
        }
        Self::usable(k, &arn)?;
        let cipher = h
            .key_version
            .checked_sub(1)
            .and_then(|v| st.ciphers.get(&k.id)?.get(usize::try_from(v).ok()?))
            .ok_or(KmsError::InvalidCiphertext)?;
        let plaintext = blob::open(blob_bytes, cipher, context)?;
        Ok(DecryptedDataKey {
            plaintext,
            key_arn: arn,
        })
    }

    // ---- management API (the CLI's) ----

    /// Creates an Enabled customer managed key in the default account.
    ///
    /// # Errors
    /// Keystore write errors.
    pub fn create_key(&self, description: &str) -> Result<KeyMetadata, KmsError> {
        self.create_key_in(&self.account.clone(), description)
    }

    /// Creates an Enabled customer managed key in `account`.
    ///
    /// # Errors
    /// [`KmsError::InvalidArgument`] for a malformed account; keystore write errors.
    pub fn create_key_in(&self, account: &str, description: &str) -> Result<KeyMetadata, KmsError> {
        check_account(account)
            .map_err(|_| KmsError::InvalidArgument("account must be 12 digits"))?;
        self.mutate(|file, new| {
            let i = self.new_key(file, new, account, description, false)?;
            Ok(Self::metadata(file, &file.keys[i]))
        })
    }

    /// Every key, in creation order.
    #[must_use]
    pub fn list_keys(&self) -> Vec<KeyMetadata> {
        let st = self.read();
        st.file
            .keys
            .iter()
            .map(|k| Self::metadata(&st.file, k))
            .collect()
    }

    /// Every alias as `(account, "alias/NAME", key ARN)`.
    #[must_use]
    pub fn list_aliases(&self) -> Vec<(String, String, String)> {
        let st = self.read();
        st.file
            .aliases
            .iter()
            .filter_map(|a| {
                let k = st.file.keys.iter().find(|k| k.id == a.key_id)?;
                Some((
                    a.account.clone(),
                    format!("alias/{}", a.name),
                    Self::arn(&st.file, k),
                ))
            })
            .collect()
    }

    /// Describes a key resolved in the default account.
    ///
    /// # Errors
    /// [`KmsError::NotFound`].
    pub fn describe(&self, key: &KeyRef) -> Result<KeyMetadata, KmsError> {
        self.describe_key(key, &self.requester())
    }

    /// The AWS managed key `alias/aws/s3` of the default account, created on first use.
    ///
    /// # Errors
    /// Keystore write errors on first use.
    pub fn aws_s3_managed_key(&self) -> Result<KeyMetadata, KmsError> {
        self.default_sse_kms_key(&self.requester())
    }

    /// The SSE-S3 root key `alias/s3seal/sse-s3` of the default account, created on first use.
    ///
    /// # Errors
    /// Keystore write errors on first use.
    pub fn sse_s3_root_key(&self) -> Result<KeyMetadata, KmsError> {
        self.sse_s3_key(&self.requester())
    }

    fn alias_name(alias: &str) -> Result<String, KmsError> {
        let bad = || KmsError::InvalidAlias(alias.to_owned());
        match KeyRef::parse(alias) {
            Ok(KeyRef::AliasName(n)) if !n.starts_with("aws/") => Ok(n),
            _ => Err(bad()),
        }
    }

    /// Points `alias` (`alias/NAME`) at `target`, in the target key's account.
    ///
    /// # Errors
    /// [`KmsError::InvalidAlias`] if malformed, reserved (`alias/aws/…`) or already present;
    /// [`KmsError::NotFound`] for the target.
    pub fn create_alias(&self, alias: &str, target: &KeyRef) -> Result<(), KmsError> {
        self.set_alias(alias, target, false)
    }

    /// Re-points an existing `alias` at `target` (same account).
    ///
    /// # Errors
    /// As [`LocalKms::create_alias`]; [`KmsError::NotFound`] if the alias does not exist.
    pub fn update_alias(&self, alias: &str, target: &KeyRef) -> Result<(), KmsError> {
        self.set_alias(alias, target, true)
    }

    fn set_alias(&self, alias: &str, target: &KeyRef, update: bool) -> Result<(), KmsError> {
        let name = Self::alias_name(alias)?;
        let account = self.account.clone();
        self.mutate(|file, _| {
            let k = Self::find(file, target, &account)?;
            let (key_id, key_account) = (k.id.clone(), k.account.clone());
            let existing = file
                .aliases
                .iter_mut()
                .find(|a| a.name == name && a.account == key_account);
            match (existing, update) {
                (Some(a), true) => a.key_id = key_id,
                (None, false) => file.aliases.push(AliasRecord {
                    account: key_account,
                    name: name.clone(),
                    key_id,
                }),
                (Some(_), false) => return Err(KmsError::InvalidAlias(alias.to_owned())),
                (None, true) => return Err(KmsError::NotFound(alias.to_owned())),
            }
            Ok(())
        })
    }

    /// Deletes `alias` in the default account (the key is untouched).
    ///
    /// # Errors
    /// [`KmsError::InvalidAlias`], [`KmsError::NotFound`].
    pub fn delete_alias(&self, alias: &str) -> Result<(), KmsError> {
        let name = Self::alias_name(alias)?;
        self.mutate(|file, _| {
            let before = file.aliases.len();
            file.aliases
                .retain(|a| !(a.name == name && a.account == self.account));
            if file.aliases.len() == before {
                return Err(KmsError::NotFound(alias.to_owned()));
            }
            Ok(())
        })
    }

    fn change_key(
        &self,
        key: &KeyRef,
        f: impl FnOnce(&mut KeyRecord, &mut Vec<(String, Aes256Gcm)>, &Sealer) -> Result<(), KmsError>,
    ) -> Result<KeyMetadata, KmsError> {
        let account = self.account.clone();
        self.mutate(|file, new| {
            let id = Self::find(file, key, &account)?.id.clone();
            let i = file
                .keys
                .iter()
                .position(|k| k.id == id)
                .ok_or_else(|| KmsError::NotFound(key.to_string()))?;
            f(&mut file.keys[i], new, &self.sealer)?;
            Ok(Self::metadata(file, &file.keys[i]))
        })
    }

    /// Adds a new key material version; new blobs use it, older blobs still decrypt.
    ///
    /// # Errors
    /// [`KmsError::NotFound`]; [`KmsError::InvalidState`] unless Enabled.
    pub fn rotate_key(&self, key: &KeyRef) -> Result<KeyMetadata, KmsError> {
        self.change_key(key, |k, new, sealer| {
            if effective_state(k) != KeyState::Enabled {
                return Err(KmsError::InvalidState(k.id.clone()));
            }
            let version = u32::try_from(k.versions.len() + 1)
                .map_err(|_| KmsError::InvalidState(k.id.clone()))?;
            let (rec, cipher) = sealer.new_master(&k.id, version)?;
            k.versions.push(rec);
            k.last_rotated = Some(now_secs());
            new.push((k.id.clone(), cipher));
            Ok(())
        })
    }

    /// Disables a key: it refuses every cryptographic operation.
    ///
    /// # Errors
    /// [`KmsError::NotFound`]; [`KmsError::InvalidState`] for AWS managed keys or a key pending
    /// deletion.
    pub fn disable_key(&self, key: &KeyRef) -> Result<KeyMetadata, KmsError> {
        self.change_key(key, |k, _, _| {
            if k.aws_managed || k.state == KeyState::PendingDeletion {
                return Err(KmsError::InvalidState(k.id.clone()));
            }
            k.state = KeyState::Disabled;
            Ok(())
        })
    }

    /// Enables a disabled key.
    ///
    /// # Errors
    /// [`KmsError::NotFound`]; [`KmsError::InvalidState`] for a key pending deletion (cancel
    /// the deletion first).
    pub fn enable_key(&self, key: &KeyRef) -> Result<KeyMetadata, KmsError> {
        self.change_key(key, |k, _, _| {
            if k.state == KeyState::PendingDeletion {
                return Err(KmsError::InvalidState(k.id.clone()));
            }
            k.state = KeyState::Enabled;
            Ok(())
        })
    }

    /// Schedules deletion after `pending_days` (7 to 30, as KMS). The key refuses every
    /// operation meanwhile and is gone afterwards.
    ///
    /// # Errors
    /// [`KmsError::InvalidArgument`] for a window outside 7..=30; [`KmsError::NotFound`];
    /// [`KmsError::InvalidState`] for AWS managed keys.
    pub fn schedule_key_deletion(
        &self,
        key: &KeyRef,
        pending_days: u32,
    ) -> Result<KeyMetadata, KmsError> {
        if !(7..=30).contains(&pending_days) {
            return Err(KmsError::InvalidArgument(
                "pending window must be 7 to 30 days",
            ));
        }
        self.change_key(key, |k, _, _| {
            if k.aws_managed {
                return Err(KmsError::InvalidState(k.id.clone()));
            }
            k.state = KeyState::PendingDeletion;
            k.deletion = Some(now_secs() + u64::from(pending_days) * 86_400);
            Ok(())
        })
    }

    /// Cancels a scheduled deletion; the key becomes Disabled, as in KMS.
    ///
    /// # Errors
    /// [`KmsError::NotFound`]; [`KmsError::InvalidState`] unless pending deletion.
    pub fn cancel_key_deletion(&self, key: &KeyRef) -> Result<KeyMetadata, KmsError> {
        self.change_key(key, |k, _, _| {
            if k.state != KeyState::PendingDeletion {
                return Err(KmsError::InvalidState(k.id.clone()));
            }
            k.state = KeyState::Disabled;
            k.deletion = None;
            Ok(())
        })
    }
}

/// Reads, authenticates and unwraps the keystore file of `dir`; `None` if there is none yet.
fn load_state(
    dir: &Path,
    sealer: &Sealer,
    partition: &str,
    region: &str,
) -> Result<Option<State>, KmsError> {
    let Some((file, stamp)) = keystore::read_store(dir, sealer)? else {
        return Ok(None);
    };
    let ciphers = keystore::unwrap_keys(&file, sealer, partition, region)?;
    Ok(Some(State {
        file,
        ciphers,
        stamp: Some(stamp),
    }))
}

/// Compares the keystore's generation (`found`; `None`: no keystore file) with the newest
/// generation written (`recorded`: the bytes of `keystore.generation`; `None`: no such file).
/// Returns the generation to record now, if the record is behind, absent where it should be
/// written, or being reset by `accept`.
///
/// - keystore ahead of (or equal to) the record: fine; ahead is a crash between the keystore's
///   write and the record's, or a keystore from before generations existed: record it;
/// - keystore behind the record: rolled back: [`KeystoreError::RolledBack`] unless `accept`;
/// - no keystore, record above 0: [`KeystoreError::Missing`] unless `accept`;
/// - no record: nothing to compare with (it was never written, or was lost with the rest of
///   the directory): accepted and recorded;
/// - damaged record: [`KeystoreError::Corrupt`] unless `accept`.
fn check_generation(
    sealer: &Sealer,
    recorded: Option<&[u8]>,
    found: Option<u64>,
    accept: bool,
) -> Result<Option<u64>, KmsError> {
    let (recorded, damaged) = match recorded.map(|raw| keystore::parse_generation(sealer, raw)) {
        None => (None, false),
        Some(Ok(g)) => (Some(g), false),
        Some(Err(_)) if accept => (None, true),
        Some(Err(e)) => return Err(e),
    };
    let current = found.unwrap_or(0);
    match (found, recorded) {
        (None, Some(r)) if r > 0 && !accept => Err(KeystoreError::Missing {
            generation: Some(r),
        }
        .into()),
        (Some(k), Some(r)) if k < r && !accept => Err(KeystoreError::RolledBack {
            found: k,
            recorded: r,
        }
        .into()),
        (_, Some(r)) if r == current => Ok(None),
        (_, Some(_)) => Ok(Some(current)),
        (_, None) if current > 0 || damaged => Ok(Some(current)),
        (_, None) => Ok(None),
    }
}

fn store_exists(dir: &Path) -> Result<bool, KmsError> {
    dir.join(keystore::STORE_FILE)
        .try_exists()
        .map_err(KmsError::io("stat keystore"))
}

fn effective_state(k: &KeyRecord) -> KeyState {
    k.state
}

fn create_dir(dir: &Path) -> Result<(), KmsError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(KmsError::io("create keystore dir"))
}

impl Kms for LocalKms {
    fn generate_data_key(
        &self,
        key: &KeyRef,
        requester: &Requester,
        context: &EncryptionContext,
    ) -> Result<GeneratedDataKey, KmsError> {
        let (st, i) = self.resolve(key, requester)?;
        let plaintext = DataKey::generate()?;
        let (ciphertext_blob, key_arn) = Self::seal(&st, i, context, &plaintext)?;
        Ok(GeneratedDataKey {
            plaintext,
            ciphertext_blob,
            key_arn,
        })
    }

    fn decrypt(
        &self,
        blob: &[u8],
        context: &EncryptionContext,
        expected_key_arn: Option<&str>,
    ) -> Result<DecryptedDataKey, KmsError> {
        self.open_blob(blob, context, expected_key_arn)
    }

    fn re_encrypt(
        &self,
        blob: &[u8],
        source_context: &EncryptionContext,
        dest_key: &KeyRef,
        requester: &Requester,
        dest_context: &EncryptionContext,
    ) -> Result<ReEncrypted, KmsError> {
        let src = self.open_blob(blob, source_context, None)?;
        let (st, i) = self.resolve(dest_key, requester)?;
        let (ciphertext_blob, key_arn) = Self::seal(&st, i, dest_context, &src.plaintext)?;
        Ok(ReEncrypted {
            ciphertext_blob,
            source_key_arn: src.key_arn,
            key_arn,
        })
    }

    fn describe_key(&self, key: &KeyRef, requester: &Requester) -> Result<KeyMetadata, KmsError> {
        let (st, i) = self.resolve(key, requester)?;
        Ok(Self::metadata(&st.file, &st.file.keys[i]))
    }
}
