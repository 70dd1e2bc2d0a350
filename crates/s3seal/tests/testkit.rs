//! The testkit (`testkit/` at the workspace root): known-answer files for every wire format of
//! `docs/FORMAT.md` — object envelopes and sealed bytes in every mode (so DSSE parts, layer
//! records and sealed parts too), KMS blobs, sealed files and the keystore — and one `fail_`
//! case per "condition ⇒ error" line of its decryption rules. `testkit/MANIFEST` says what each
//! file must decode to (plaintext length and SHA-256) or the exact error it must give.
//!
//! [`testkit_decodes`] reads every case; a change to any format's bytes fails it. Sealed files
//! are also read by the `s3seal` binary itself (`crates/cli/tests/testkit.rs`), including the
//! `fail_file_*` cases whose errors are the CLI's.
//!
//! [`regenerate_testkit`] rewrites the folder from fixed keys (the root secret, the SSE-C keys and
//! the plaintexts are constants here; salts, nonces and object ids are drawn at generation and
//! then fixed by the files). Run it by hand only when a format version changes:
//! `cargo test -p s3seal --test testkit -- --ignored regenerate_testkit`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderValue};
use s3seal::kms::{EncryptionContext, KeyRef, Kms, LocalKms};
use s3seal::policy::{
    BucketEncryption, BucketKind, BucketPolicy, CustomerKey, ObjectIdentity, SseAlgorithm,
    derive_object_key,
};
use s3seal::{
    ChunkSize, CompletedPart, Engine, EngineBuilder, EngineConfig, ObjectEnvelope, Request,
};
use sha2::{Digest, Sha256};

/// The root secret of `testkit/home` (test only: it protects nothing).
const ROOT_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// The SSE-C key of the SSE-C cases (`testkit/sse_c.key`).
const SSE_C_KEY: [u8; 32] = *b"s3seal testkit SSE-C key, 32 B!!";
/// Another SSE-C key (`testkit/sse_c_other.key`).
const SSE_C_OTHER: [u8; 32] = *b"s3seal testkit: some other key!!";
const OWNER: &str = "000000000000";
const REGION: &str = "us-east-1";
const BUCKET: &str = "testkit-bucket";
const DIR_BUCKET: &str = "testkit--use1-az4--x-s3";
const FSX_AP: &str = "testkit-fsx-ap";
const KEY: &str = "photos/cat.jpg";
/// The sealed file's pseudo bucket and key (`crates/cli/src/sealed_file.rs`).
const FILE_BUCKET: &str = "s3seal-file";
const FILE_KEY: &str = "file";

fn testkit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testkit")
}

/// The plaintext of every case: byte `i` is `i mod 251`.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

// ---------------------------------------------------------------------------------------------
// The manifest

/// One case: its fields in order.
#[derive(Clone, Debug, Default)]
struct Case(Vec<(String, String)>);

impl Case {
    fn new(name: &str, kind: &str) -> Self {
        Case(vec![
            ("name".into(), name.into()),
            ("kind".into(), kind.into()),
        ])
    }

    fn set(mut self, k: &str, v: impl Into<String>) -> Self {
        let v = v.into();
        match self.0.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((k.into(), v)),
        }
        self
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    fn req(&self, k: &str) -> &str {
        self.get(k)
            .unwrap_or_else(|| panic!("{}: no field {k}", self.name()))
    }

    fn name(&self) -> &str {
        self.get("name").unwrap_or("?")
    }
}

fn parse_manifest(text: &str) -> Vec<Case> {
    text.split("\n\n")
        .map(|block| {
            Case(
                block
                    .lines()
                    .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                    .map(|l| {
                        let (k, v) = l.split_once(" = ").expect("`field = value`");
                        (k.to_owned(), v.to_owned())
                    })
                    .collect(),
            )
        })
        .filter(|c| !c.0.is_empty())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// A copy of a keystore directory (opening one may write `keystore.lock` and the generation
/// record; the testkit stays untouched), with `root.key` made 0600 as `LocalKms` demands.
fn copy_home(src: &Path) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), t.path().join(entry.file_name())).unwrap();
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // As the keystore demands (git keeps 0644): its secret-bearing files 0600.
        for f in ["root.key", "keystore.json"] {
            let p = t.path().join(f);
            if p.exists() {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
    }
    t
}

fn new_engine(kms: Arc<LocalKms>) -> Engine {
    let config = EngineConfig {
        chunk: ChunkSize::MIN,
        min_part_size: 4096,
        ..EngineConfig::default()
    };
    EngineBuilder::new(kms)
        .threads(2)
        .config(config)
        .build()
        .unwrap()
}

fn bucket_policy(name: &str, kind: &str) -> BucketPolicy {
    let kind = match kind {
        "general" => BucketKind::GeneralPurpose,
        "directory" => BucketKind::Directory,
        "fsx" => BucketKind::FsxAccessPoint,
        other => panic!("bucket kind {other}"),
    };
    BucketPolicy::new(name, kind, OWNER, REGION)
}

fn header_map(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn sse_c_headers(key: &[u8]) -> HeaderMap {
    header_map(&[
        (
            "x-amz-server-side-encryption-customer-algorithm",
            "AES256".into(),
        ),
        ("x-amz-server-side-encryption-customer-key", B64.encode(key)),
        (
            "x-amz-server-side-encryption-customer-key-md5",
            B64.encode(md5::Md5::digest(key)),
        ),
    ])
}

/// Splits a sealed file (`S3SF`) into envelope and sealed bytes, as `docs/FORMAT.md` says.
fn split_sealed_file(f: &[u8]) -> (&[u8], &[u8]) {
    assert_eq!(&f[..8], b"S3SF\x01\0\0\0");
    let n = u32::from_be_bytes(f[8..12].try_into().unwrap()) as usize;
    (&f[12..12 + n], &f[12 + n..])
}

/// Checks one case; `Err` says how it went wrong.
fn check(dir: &Path, c: &Case) -> Result<(), String> {
    let read = |f: &str| std::fs::read(dir.join(f)).map_err(|e| format!("{f}: {e}"));
    let expect = c.get("expect");
    let plain_ok = |body: &[u8]| -> Result<(), String> {
        match expect {
            Some(e) => Err(format!("decoded, but should fail with {e}")),
            None => {
                let (len, sha) = (c.req("plaintext_len"), c.req("plaintext_sha256"));
                if body.len().to_string() != len || sha256_hex(body) != sha {
                    return Err("plaintext differs".into());
                }
                if body != pattern(body.len()).as_slice() {
                    return Err("plaintext is not the pattern".into());
                }
                Ok(())
            }
        }
    };
    let failed = |got: String| -> Result<(), String> {
        match expect {
            Some(e) if e == got => Ok(()),
            Some(e) => Err(format!("expected {e}, got {got}")),
            None => Err(format!("failed: {got}")),
        }
    };
    match c.req("kind") {
        "object" | "sealed-file" => {
            if c.req("kind") == "sealed-file" && expect.is_some() {
                // The CLI's own errors: checked by crates/cli/tests/testkit.rs.
                return Ok(());
            }
            // `home = fresh`: a new, empty keystore (an SSE-C file needs nothing but its key).
            let home = match c.get("home") {
                Some("fresh") => tempfile::tempdir().unwrap(),
                _ => copy_home(&dir.join("home")),
            };
            let kms = Arc::new(LocalKms::open_dir(home.path()).map_err(|e| e.to_string())?);
            let engine = new_engine(kms);
            let (bucket, key, env, sealed);
            let file;
            if c.req("kind") == "sealed-file" {
                file = read(c.req("file"))?;
                let (e, s) = split_sealed_file(&file);
                (env, sealed) = (e.to_vec(), s.to_vec());
                bucket = bucket_policy(FILE_BUCKET, "general");
                key = FILE_KEY;
            } else {
                (env, sealed) = (read(c.req("envelope"))?, read(c.req("sealed"))?);
                bucket = bucket_policy(c.req("bucket"), c.req("bucket_kind"));
                key = c.req("key");
            }
            let headers = match c.get("sse_c_key") {
                Some(f) => sse_c_headers(&read(f)?),
                None => HeaderMap::new(),
            };
            let req = Request {
                bucket: &bucket,
                key,
                headers: &headers,
                secure_transport: true,
            };
            match engine.get_object(&req, &env, &sealed, None) {
                Ok(o) => plain_ok(&o.body),
                Err(e) => failed(format!("{e:?}")),
            }
        }
        "kms-blob" => {
            let home = copy_home(&dir.join("home"));
            let kms = LocalKms::open_dir(home.path()).map_err(|e| e.to_string())?;
            let blob = read(c.req("file"))?;
            let ctx = EncryptionContext::from_json(c.req("context")).unwrap();
            match kms.decrypt(&blob, &ctx, c.get("expected_key_arn")) {
                Ok(d) => match expect {
                    Some(e) => Err(format!("decrypted, but should fail with {e}")),
                    None if hex::encode(d.plaintext.as_bytes()) != c.req("data_key") => {
                        Err("data key differs".into())
                    }
                    None if d.key_arn != c.req("key_arn") => Err("key ARN differs".into()),
                    None => Ok(()),
                },
                Err(e) => failed(format!("{e:?}")),
            }
        }
        "keystore" => {
            let home = copy_home(&dir.join(c.req("dir")));
            match LocalKms::open_dir(home.path()) {
                Ok(kms) => {
                    if let Some(e) = expect {
                        return Err(format!("opened, but should fail with {e}"));
                    }
                    let mut keys: Vec<String> = kms
                        .list_keys()
                        .iter()
                        .map(|k| format!("{}#{}", k.arn, k.rotation.current_version))
                        .collect();
                    keys.sort();
                    let mut aliases: Vec<String> = kms
                        .list_aliases()
                        .iter()
                        .map(|(_, alias, arn)| format!("{alias}->{arn}"))
                        .collect();
                    aliases.sort();
                    if keys.join(" ") != c.req("keys") {
                        return Err(format!("keys differ: {}", keys.join(" ")));
                    }
                    if aliases.join(" ") != c.req("aliases") {
                        return Err(format!("aliases differ: {}", aliases.join(" ")));
                    }
                    Ok(())
                }
                Err(e) => failed(e.to_string()),
            }
        }
        other => Err(format!("unknown kind {other}")),
    }
}

fn check_all(dir: &Path) -> (usize, usize) {
    let cases = parse_manifest(&std::fs::read_to_string(dir.join("MANIFEST")).unwrap());
    let mut errors = Vec::new();
    let mut named = std::collections::BTreeSet::new();
    for c in &cases {
        for (k, v) in &c.0 {
            if matches!(
                k.as_str(),
                "file" | "envelope" | "sealed" | "dir" | "sse_c_key"
            ) {
                named.insert(v.split('/').next().unwrap().to_owned());
            }
        }
        assert_eq!(
            c.name().starts_with("fail_"),
            c.get("expect").is_some(),
            "{}: fail_ cases, and only they, name an error",
            c.name()
        );
        if let Err(e) = check(dir, c) {
            errors.push(format!("{}: {e}", c.name()));
        }
    }
    assert!(
        errors.is_empty(),
        "testkit cases failed:\n{}",
        errors.join("\n")
    );
    // Every file in the folder is a case's (or the README, or the manifest).
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            named.contains(&name) || name == "README.md" || name == "MANIFEST",
            "testkit/{name} is not named by any case"
        );
    }
    let fails = cases
        .iter()
        .filter(|c| c.name().starts_with("fail_"))
        .count();
    (cases.len(), fails)
}

#[test]
fn testkit_decodes() {
    let (all, fails) = check_all(&testkit());
    assert!(all >= 80 && fails >= 60, "{all} cases, {fails} fail_ cases");
}

// ---------------------------------------------------------------------------------------------
// Regeneration

/// Field offsets of an envelope (each at its u16 length prefix, or its first byte).
struct Off {
    bucket: usize,
    key: usize,
    key_arn: usize,
    ctx: usize,
    key_material: usize,
    plaintext_len: usize,
    parts: usize,
    etag: usize,
}

fn offsets(e: &[u8]) -> Off {
    let at = |i: usize| usize::from(u16::from_be_bytes([e[i], e[i + 1]]));
    let mut i = 24;
    let bucket = i;
    i += 2 + at(i);
    let key = i;
    i += 2 + at(i);
    let key_arn = i;
    i += 2 + at(i);
    let ctx = i;
    let n = at(i);
    i += 2;
    for _ in 0..2 * n {
        i += 2 + at(i);
    }
    let key_material = i;
    i += 2 + at(i);
    i += 2 + at(i); // manifest key
    i += 32; // salt
    let plaintext_len = i;
    i += 8;
    let parts = i;
    i += 2 + 26 * at(i);
    Off {
        bucket,
        key,
        key_arn,
        ctx,
        key_material,
        plaintext_len,
        parts,
        etag: i,
    }
}

/// An object as stored.
#[derive(Clone)]
struct Obj {
    bucket: &'static str,
    kind: &'static str,
    env: Vec<u8>,
    sealed: Vec<u8>,
    sse_c: bool,
}

struct Gen {
    dir: PathBuf,
    cases: Vec<Case>,
    /// Files already written, by content: a case whose envelope (or sealed bytes) is another
    /// case's names that case's file instead of a copy.
    written: BTreeMap<Vec<u8>, String>,
}

impl Gen {
    fn file(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir.join(name), bytes).unwrap();
    }

    /// Writes `bytes` as `name`, unless a file with these bytes exists; returns the file's name.
    fn once(&mut self, name: String, bytes: &[u8]) -> String {
        if let Some(f) = self.written.get(bytes) {
            return f.clone();
        }
        self.file(&name, bytes);
        self.written.insert(bytes.to_vec(), name.clone());
        name
    }

    fn object(&mut self, name: &str, o: &Obj, len: Option<usize>, expect: Option<&str>) {
        let env = self.once(format!("{name}.envelope"), &o.env);
        let sealed = self.once(format!("{name}.sealed"), &o.sealed);
        let mut c = Case::new(name, "object")
            .set("bucket", o.bucket)
            .set("bucket_kind", o.kind)
            .set("key", KEY)
            .set("envelope", env)
            .set("sealed", sealed);
        if o.sse_c {
            c = c.set("sse_c_key", "sse_c.key");
        }
        self.push(c, len, expect);
    }

    fn push(&mut self, mut c: Case, len: Option<usize>, expect: Option<&str>) {
        if let Some(len) = len {
            c = c
                .set("plaintext_len", len.to_string())
                .set("plaintext_sha256", sha256_hex(&pattern(len)));
        }
        if let Some(e) = expect {
            c = c.set("expect", e);
        }
        self.cases.push(c);
    }

    fn sealed_file(
        &mut self,
        name: &str,
        bytes: &[u8],
        c: Case,
        len: Option<usize>,
        e: Option<&str>,
    ) {
        let f = self.once(format!("{name}.s3sf"), bytes);
        self.push(c.set("file", f), len, e);
    }

    fn keystore(&mut self, name: &str, mutate: impl FnOnce(&Path), expect: &str) {
        let d = self.dir.join(name);
        std::fs::create_dir(&d).unwrap();
        for f in ["root.key", "keystore.json", "keystore.generation"] {
            std::fs::copy(self.dir.join("home").join(f), d.join(f)).unwrap();
        }
        mutate(&d);
        self.cases.push(
            Case::new(name, "keystore")
                .set("dir", name)
                .set("expect", expect),
        );
    }
}

fn sealed_file_bytes(env: &[u8], sealed: &[u8]) -> Vec<u8> {
    let mut f = b"S3SF\x01\0\0\0".to_vec();
    f.extend_from_slice(&(env.len() as u32).to_be_bytes());
    f.extend_from_slice(env);
    f.extend_from_slice(sealed);
    f
}

fn put(
    engine: &Engine,
    b: &BucketPolicy,
    key: &str,
    h: &HeaderMap,
    len: usize,
) -> (Vec<u8>, Vec<u8>) {
    let req = Request {
        bucket: b,
        key,
        headers: h,
        secure_transport: true,
    };
    let w = engine.put_object(&req, &pattern(len)).unwrap();
    (w.envelope_bytes, w.sealed.to_vec())
}

/// A multipart object of `parts` (sizes), plaintext the pattern across all parts.
/// `part_h`: the headers of UploadPart (S3 takes only the SSE-C triple there).
fn multipart(
    engine: &Engine,
    b: &BucketPolicy,
    h: &HeaderMap,
    part_h: &HeaderMap,
    parts: &[usize],
) -> (Vec<u8>, Vec<u8>) {
    let req = Request {
        bucket: b,
        key: KEY,
        headers: h,
        secure_transport: true,
    };
    let part_req = Request {
        headers: part_h,
        ..req
    };
    let data = pattern(parts.iter().sum());
    let up = engine.create_multipart_upload(&req).unwrap();
    let (mut state, mut sealed, mut done, mut at) = (up.state, Vec::new(), Vec::new(), 0);
    for (i, &n) in parts.iter().enumerate() {
        let p = engine
            .upload_part(&part_req, &state, i as u32 + 1, &data[at..at + n])
            .unwrap();
        at += n;
        state = p.state;
        sealed.extend_from_slice(&p.sealed);
        done.push(CompletedPart {
            part_number: i as u32 + 1,
            etag: p.etag,
        });
    }
    let c = engine
        .complete_multipart_upload(&part_req, &state, &done)
        .unwrap();
    (c.envelope_bytes, sealed)
}

/// `HMAC-SHA256(HKDF-SHA256(no salt, root, info), parts…)`: the keystore's MACs.
fn keystore_mac(info: &[u8], parts: &[&[u8]]) -> String {
    let root = hex::decode(ROOT_HEX).unwrap();
    let mut k = [0u8; 32];
    Hkdf::<Sha256>::new(None, &root)
        .expand(info, &mut k)
        .unwrap();
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&k).unwrap();
    for p in parts {
        m.update(p);
    }
    hex::encode(m.finalize().into_bytes())
}

/// Rewrites `keystore.json` in `d` with `f` applied to its body, MACed again.
fn remac_keystore(d: &Path, f: impl FnOnce(String) -> String) {
    let raw = std::fs::read_to_string(d.join("keystore.json")).unwrap();
    let (_, body) = raw.split_once('\n').unwrap();
    let body = f(body.to_owned());
    let mac = keystore_mac(
        b"s3seal keystore v1 mac",
        &[b"S3SEAL-KEYSTORE 1\n", body.as_bytes()],
    );
    std::fs::write(
        d.join("keystore.json"),
        format!("S3SEAL-KEYSTORE 1 {mac}\n{body}"),
    )
    .unwrap();
}

/// The envelope with `f` applied, its MAC recomputed under the SSE-C object's data key.
fn remac_sse_c(env: &[u8], f: impl FnOnce(&mut ObjectEnvelope)) -> Vec<u8> {
    let mut e = ObjectEnvelope::from_bytes(env).unwrap();
    let id = hex::encode(e.object_id);
    let key = derive_object_key(
        &CustomerKey::from_bytes(SSE_C_KEY),
        &e.salt,
        &ObjectIdentity {
            bucket: &e.bucket,
            key: &e.key,
            version: &id,
        },
    );
    f(&mut e);
    e.seal_mac(Some(&key)).unwrap();
    e.to_bytes().unwrap()
}

fn flip(mut b: Vec<u8>, at: usize) -> Vec<u8> {
    b[at] ^= 0x01;
    b
}

fn set(mut b: Vec<u8>, at: usize, bytes: &[u8]) -> Vec<u8> {
    b[at..at + bytes.len()].copy_from_slice(bytes);
    b
}

#[test]
#[ignore = "rewrites testkit/: run by hand only when a format version changes"]
#[expect(clippy::too_many_lines, reason = "one list of every case")]
fn regenerate_testkit() {
    let dir = testkit();
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "README.md" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            std::fs::remove_dir_all(entry.path()).unwrap();
        } else {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    let mut g = Gen {
        dir: dir.clone(),
        cases: Vec::new(),
        written: BTreeMap::new(),
    };
    g.file("sse_c.key", &SSE_C_KEY);
    g.file("sse_c_other.key", &SSE_C_OTHER);

    // The keystore: the fixed root secret, one customer managed key (alias/testkit) rotated
    // once, and the managed keys the engine creates on first use.
    let home = dir.join("home");
    std::fs::create_dir(&home).unwrap();
    {
        use std::io::Write as _;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(home.join("root.key")).unwrap();
        writeln!(f, "{ROOT_HEX}").unwrap();
    }
    let kms = Arc::new(LocalKms::open_dir(&home).unwrap());
    let cmk = kms
        .create_key("s3seal testkit customer managed key")
        .unwrap();
    kms.create_alias("alias/testkit", &KeyRef::parse(&cmk.arn).unwrap())
        .unwrap();
    let engine = new_engine(kms.clone());
    let general = bucket_policy(BUCKET, "general");
    let mut directory = bucket_policy(DIR_BUCKET, "directory");
    directory.set_encryption(BucketEncryption {
        algorithm: SseAlgorithm::AwsKms,
        kms_key: Some(KeyRef::parse(&cmk.arn).unwrap()),
        bucket_key: true,
        blocked: None,
    });
    let fsx = bucket_policy(FSX_AP, "fsx");
    let sse = "x-amz-server-side-encryption";
    let kid = "x-amz-server-side-encryption-aws-kms-key-id";
    let bk = "x-amz-server-side-encryption-bucket-key-enabled";
    let ctx_h = "x-amz-server-side-encryption-context";
    let s3_h = header_map(&[(sse, "AES256".into())]);
    let kms_h = header_map(&[
        (sse, "aws:kms".into()),
        (kid, "alias/testkit".into()),
        (
            ctx_h,
            B64.encode(r#"{"department":"finance","project":"testkit"}"#),
        ),
    ]);
    let kms_file_h = header_map(&[(sse, "aws:kms".into()), (kid, "alias/testkit".into())]);
    let bk_h = header_map(&[
        (sse, "aws:kms".into()),
        (kid, "alias/testkit".into()),
        (bk, "true".into()),
    ]);
    let dsse_h = header_map(&[(sse, "aws:kms:dsse".into()), (kid, "alias/testkit".into())]);
    let ssec_h = sse_c_headers(&SSE_C_KEY);
    let none = HeaderMap::new();

    // Objects, every mode. 10,000 bytes in 4 KiB chunks: three chunks, the last partial.
    let obj = |b: &BucketPolicy, kind: &'static str, h: &HeaderMap, len: usize| {
        let (env, sealed) = put(&engine, b, KEY, h, len);
        Obj {
            bucket: BUCKET,
            kind,
            env,
            sealed,
            sse_c: false,
        }
    };
    let s3 = obj(&general, "general", &s3_h, 10_000);
    let empty = obj(&general, "general", &s3_h, 0);
    let kmso = obj(&general, "general", &kms_h, 10_000);
    let bko = obj(&general, "general", &bk_h, 10_000);
    let dsse = obj(&general, "general", &dsse_h, 10_000);
    let ssec = Obj {
        sse_c: true,
        ..obj(&general, "general", &ssec_h, 10_000)
    };
    let diro = Obj {
        bucket: DIR_BUCKET,
        ..obj(&directory, "directory", &none, 10_000)
    };
    let fsxo = Obj {
        bucket: FSX_AP,
        ..obj(&fsx, "fsx", &none, 10_000)
    };
    let mp = |h: &HeaderMap, sse_c: bool| {
        let part_h = if sse_c {
            ssec_h.clone()
        } else {
            HeaderMap::new()
        };
        let (env, sealed) = multipart(&engine, &general, h, &part_h, &[5000, 5000]);
        Obj {
            bucket: BUCKET,
            kind: "general",
            env,
            sealed,
            sse_c,
        }
    };
    let s3mp = mp(&s3_h, false);
    let dssemp = mp(&dsse_h, false);
    let ssecmp = mp(&ssec_h, true);
    for (name, o, len) in [
        ("object_sse_s3", &s3, 10_000),
        ("object_sse_s3_empty", &empty, 0),
        ("object_sse_s3_multipart", &s3mp, 10_000),
        ("object_sse_kms", &kmso, 10_000),
        ("object_sse_kms_bucket_key", &bko, 10_000),
        ("object_sse_kms_directory_bucket", &diro, 10_000),
        ("object_dsse_kms", &dsse, 10_000),
        ("object_dsse_kms_multipart", &dssemp, 10_000),
        ("object_sse_c", &ssec, 10_000),
        ("object_sse_c_multipart", &ssecmp, 10_000),
        ("object_fsx", &fsxo, 10_000),
    ] {
        g.object(name, o, Some(len), None);
    }

    // Sealed files, every mode.
    let file_bucket = bucket_policy(FILE_BUCKET, "general");
    let sf = |h: &HeaderMap, len: usize| {
        let (env, sealed) = put(&engine, &file_bucket, FILE_KEY, h, len);
        sealed_file_bytes(&env, &sealed)
    };
    let file_ssec = sf(&ssec_h, 10_000);
    for (name, bytes, len, sse_c) in [
        ("file_sse_s3", sf(&s3_h, 10_000), 10_000, false),
        ("file_sse_s3_empty", sf(&s3_h, 0), 0, false),
        ("file_sse_kms", sf(&kms_file_h, 10_000), 10_000, false),
        ("file_sse_kms_bucket_key", sf(&bk_h, 10_000), 10_000, false),
        ("file_dsse_kms", sf(&dsse_h, 10_000), 10_000, false),
        ("file_sse_c", file_ssec.clone(), 10_000, true),
    ] {
        let mut c = Case::new(name, "sealed-file");
        if sse_c {
            // Decrypted in an empty home: an SSE-C file needs nothing but its key.
            c = c.set("sse_c_key", "sse_c.key").set("home", "fresh");
        }
        g.sealed_file(name, &bytes, c, Some(len), None);
    }

    // KMS blobs: one per material version of alias/testkit.
    let blob_ctx =
        EncryptionContext::from_pairs([("aws:s3:arn", format!("arn:aws:s3:::{BUCKET}/{KEY}"))]);
    let requester = kms.requester();
    let testkit_ref = KeyRef::parse("alias/testkit").unwrap();
    let v1 = kms
        .generate_data_key(&testkit_ref, &requester, &blob_ctx)
        .unwrap();
    kms.rotate_key(&testkit_ref).unwrap();
    let v2 = kms
        .generate_data_key(&testkit_ref, &requester, &blob_ctx)
        .unwrap();
    let blob_case = |name: &str, file: &str| {
        Case::new(name, "kms-blob")
            .set("file", file)
            .set("context", blob_ctx.to_json())
    };
    for (name, d) in [
        ("kms_blob_key_version_1", &v1),
        ("kms_blob_key_version_2", &v2),
    ] {
        let f = format!("{name}.bin");
        g.file(&f, &d.ciphertext_blob);
        g.cases.push(
            blob_case(name, &f)
                .set("key_arn", &d.key_arn)
                .set("data_key", hex::encode(d.plaintext.as_bytes())),
        );
    }
    let sse_s3_arn = kms.sse_s3_key(&requester).unwrap().arn;
    let blob = v1.ciphertext_blob.clone();
    let mut blob_fail = |name: &str, bytes: Vec<u8>, c: fn(Case) -> Case, expect: &str| {
        let f = format!("{name}.bin");
        g.file(&f, &bytes);
        g.cases.push(c(blob_case(name, &f)).set("expect", expect));
    };
    let ic = "InvalidCiphertext";
    let same = |c: Case| c;
    blob_fail("fail_kms_blob_short", blob[..85].to_vec(), same, ic);
    blob_fail("fail_kms_blob_long", [&blob[..], &[0]].concat(), same, ic);
    blob_fail("fail_kms_blob_magic", set(blob.clone(), 0, b"X"), same, ic);
    blob_fail(
        "fail_kms_blob_version_2",
        set(blob.clone(), 4, &[2]),
        same,
        ic,
    );
    blob_fail(
        "fail_kms_blob_algorithm_2",
        set(blob.clone(), 5, &[2]),
        same,
        ic,
    );
    blob_fail(
        "fail_kms_blob_unknown_key",
        flip(blob.clone(), 21),
        same,
        ic,
    );
    blob_fail(
        "fail_kms_blob_key_version_0",
        set(blob.clone(), 22, &[0; 4]),
        same,
        ic,
    );
    blob_fail(
        "fail_kms_blob_key_version_3",
        set(blob.clone(), 22, &[0, 0, 0, 3]),
        same,
        ic,
    );
    blob_fail(
        "fail_kms_blob_key_version_swapped",
        set(blob.clone(), 22, &[0, 0, 0, 2]),
        same,
        ic,
    );
    blob_fail("fail_kms_blob_nonce", flip(blob.clone(), 30), same, ic);
    blob_fail("fail_kms_blob_ciphertext", flip(blob.clone(), 40), same, ic);
    blob_fail("fail_kms_blob_tag", flip(blob.clone(), 85), same, ic);
    blob_fail(
        "fail_kms_blob_context_extra_pair",
        blob.clone(),
        |c| {
            let mut ctx = EncryptionContext::from_json(c.req("context")).unwrap();
            ctx.insert("extra", "1");
            c.set("context", ctx.to_json())
        },
        ic,
    );
    blob_fail(
        "fail_kms_blob_context_missing",
        blob.clone(),
        |c| c.set("context", "{}"),
        ic,
    );
    blob_fail(
        "fail_kms_blob_other_key_expected",
        blob.clone(),
        |c| {
            c.set(
                "expected_key_arn",
                "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000",
            )
        },
        "IncorrectKey",
    );

    // Envelope rules.
    let o = offsets(&s3.env);
    let with_env = |base: &Obj, env: Vec<u8>| Obj {
        env,
        ..base.clone()
    };
    let with_sealed = |base: &Obj, sealed: Vec<u8>| Obj {
        sealed,
        ..base.clone()
    };
    let env_fails: Vec<(&str, Obj, &str)> = vec![
        (
            "fail_envelope_magic",
            with_env(&s3, set(s3.env.clone(), 0, b"X")),
            "Envelope(BadMagic)",
        ),
        (
            "fail_envelope_version_2",
            with_env(&s3, set(s3.env.clone(), 4, &[2])),
            "Envelope(UnsupportedVersion(2))",
        ),
        (
            "fail_envelope_mode_6",
            with_env(&s3, set(s3.env.clone(), 5, &[6])),
            "Envelope(BadMode(6))",
        ),
        (
            "fail_envelope_reserved_flag",
            with_env(&s3, set(s3.env.clone(), 6, &[4])),
            "Envelope(BadFlags(4))",
        ),
        (
            "fail_envelope_chunk_size_23",
            with_env(&s3, set(s3.env.clone(), 7, &[23])),
            "Envelope(BadChunkSize)",
        ),
        (
            "fail_envelope_chunk_size_11",
            with_env(&s3, set(s3.env.clone(), 7, &[11])),
            "Envelope(BadChunkSize)",
        ),
        (
            "fail_envelope_truncated",
            with_env(&s3, s3.env[..s3.env.len() - 1].to_vec()),
            "Envelope(Truncated)",
        ),
        (
            "fail_envelope_trailing_byte",
            with_env(&s3, [&s3.env[..], &[0]].concat()),
            "Envelope(TrailingData)",
        ),
        (
            "fail_envelope_field_too_long",
            with_env(&s3, set(s3.env.clone(), o.bucket, &0x8001u16.to_be_bytes())),
            "Envelope(FieldTooLong)",
        ),
        (
            "fail_envelope_not_utf8",
            with_env(&s3, set(s3.env.clone(), o.key + 2, &[0xff])),
            "Envelope(BadUtf8)",
        ),
        (
            "fail_envelope_object_moved",
            with_env(&s3, set(s3.env.clone(), o.key + 2, b"P")),
            "ObjectMoved",
        ),
        (
            "fail_envelope_upload_flag",
            with_env(&s3, set(s3.env.clone(), 6, &[2])),
            "Integrity",
        ),
        (
            "fail_envelope_fsx_mode_elsewhere",
            with_env(&s3, set(s3.env.clone(), 5, &[5])),
            "Integrity",
        ),
        (
            "fail_envelope_foreign_sse_s3_key",
            with_env(
                &s3,
                flip(
                    s3.env.clone(),
                    o.key_arn + 2 + s3.env[o.key_arn + 1] as usize - 1,
                ),
            ),
            "Integrity",
        ),
        (
            "fail_envelope_object_id",
            with_env(&s3, flip(s3.env.clone(), 8)),
            "Envelope(MacMismatch)",
        ),
        (
            "fail_envelope_kms_blob",
            with_env(&s3, flip(s3.env.clone(), o.key_material + 2 + 85)),
            "Kms(InvalidCiphertext)",
        ),
        (
            "fail_envelope_etag",
            with_env(&s3, flip(s3.env.clone(), o.etag + 2)),
            "Envelope(MacMismatch)",
        ),
        (
            "fail_envelope_mac",
            with_env(&s3, flip(s3.env.clone(), s3.env.len() - 1)),
            "Envelope(MacMismatch)",
        ),
        (
            "fail_envelope_plaintext_length",
            with_env(&s3, flip(s3.env.clone(), o.plaintext_len + 7)),
            "Envelope(MacMismatch)",
        ),
    ];
    for (name, ob, e) in env_fails {
        g.object(name, &ob, None, Some(e));
    }
    // The FSx envelope on a general purpose bucket.
    g.object(
        "fail_envelope_fsx_on_general_bucket",
        &Obj {
            kind: "general",
            ..fsxo.clone()
        },
        None,
        Some("Integrity"),
    );
    // Contexts (the SSE-KMS object: aws:s3:arn, department, project).
    let ko = offsets(&kmso.env);
    let pair = |e: &[u8], at: usize| {
        let l1 = usize::from(u16::from_be_bytes([e[at], e[at + 1]]));
        let l2 = usize::from(u16::from_be_bytes([e[at + 2 + l1], e[at + 3 + l1]]));
        at..at + 4 + l1 + l2
    };
    let p1 = pair(&kmso.env, ko.ctx + 2);
    let p2 = pair(&kmso.env, p1.end);
    let e = &kmso.env;
    let swapped = [&e[..p1.start], &e[p2.clone()], &e[p1.clone()], &e[p2.end..]].concat();
    let repeated = [&e[..p1.end], &e[p1.clone()], &e[p2.end..]].concat();
    g.object(
        "fail_envelope_context_order",
        &with_env(&kmso, swapped),
        None,
        Some("Envelope(BadContext)"),
    );
    g.object(
        "fail_envelope_context_repeated",
        &with_env(&kmso, repeated),
        None,
        Some("Envelope(BadContext)"),
    );
    g.object(
        "fail_envelope_context_count_65",
        &with_env(&kmso, set(e.clone(), ko.ctx, &65u16.to_be_bytes())),
        None,
        Some("Envelope(FieldTooLong)"),
    );
    // "finance" → "financf": the blob's context no longer matches.
    let fin = e.windows(7).position(|w| w == b"finance").unwrap();
    g.object(
        "fail_envelope_context_value",
        &with_env(&kmso, flip(e.clone(), fin + 6)),
        None,
        Some("Kms(InvalidCiphertext)"),
    );
    // Multipart manifests (parts 1 and 2, 5000 bytes each).
    let mo = offsets(&s3mp.env);
    let m = &s3mp.env;
    let part2 = mo.parts + 2 + 26;
    g.object(
        "fail_manifest_order",
        &with_env(
            &s3mp,
            set(set(m.clone(), mo.parts + 2, &[0, 2]), part2, &[0, 1]),
        ),
        None,
        Some("Envelope(BadParts)"),
    );
    g.object(
        "fail_manifest_repeated_part",
        &with_env(&s3mp, set(m.clone(), part2, &[0, 1])),
        None,
        Some("Envelope(BadParts)"),
    );
    g.object(
        "fail_manifest_part_0",
        &with_env(&s3mp, set(m.clone(), mo.parts + 2, &[0, 0])),
        None,
        Some("Envelope(BadParts)"),
    );
    g.object(
        "fail_manifest_part_10001",
        &with_env(&s3mp, set(m.clone(), part2, &10_001u16.to_be_bytes())),
        None,
        Some("Envelope(BadParts)"),
    );
    g.object(
        "fail_manifest_sum",
        &with_env(&s3mp, flip(m.clone(), mo.plaintext_len + 7)),
        None,
        Some("Envelope(BadParts)"),
    );
    // DSSE layer record.
    let dso = offsets(&dsse.env);
    g.object(
        "fail_layer_record_magic",
        &with_env(&dsse, flip(dsse.env.clone(), dso.key_material + 2)),
        None,
        Some("Integrity"),
    );
    g.object(
        "fail_layer_record_roles_swapped",
        &with_env(&dsse, set(dsse.env.clone(), dso.key_material + 2 + 6, &[2])),
        None,
        Some("Integrity"),
    );
    // SSE-C.
    g.object(
        "fail_sse_c_wrong_key",
        &ssec,
        None,
        Some("Policy(SseCKeyMismatch)"),
    );
    let last = g.cases.len() - 1;
    g.cases[last] = g.cases[last].clone().set("sse_c_key", "sse_c_other.key");
    g.object(
        "fail_sse_c_no_key",
        &Obj {
            sse_c: false,
            ..ssec.clone()
        },
        None,
        Some("Policy(SseCKeyRequired)"),
    );
    g.object(
        "fail_sse_c_key_arn_set",
        &with_env(
            &ssec,
            remac_sse_c(&ssec.env, |e| e.key_arn.clone_from(&sse_s3_arn)),
        ),
        None,
        Some("Integrity"),
    );
    g.object(
        "fail_sse_c_verifier_length",
        &with_env(
            &ssec,
            remac_sse_c(&ssec.env, |e| {
                e.key_material.pop();
            }),
        ),
        None,
        Some("Envelope(FieldTooLong)"),
    );
    let so = offsets(&s3.env);
    let s3_blob = s3.env[so.key_material + 2..so.key_material + 2 + 86].to_vec();
    let forged = {
        let mut env = ObjectEnvelope::from_bytes(&ssec.env).unwrap();
        env.manifest_key = s3_blob;
        env.key_arn.clone_from(&sse_s3_arn);
        env.to_bytes().unwrap()
    };
    g.object(
        "fail_sse_c_manifest_key_added",
        &with_env(&ssec, forged),
        None,
        Some("Kms(InvalidCiphertext)"),
    );
    g.object(
        "fail_sse_c_mac",
        &with_env(&ssec, flip(ssec.env.clone(), ssec.env.len() - 1)),
        None,
        Some("Envelope(MacMismatch)"),
    );

    // Sealed bytes (4 KiB chunks: 4112 sealed bytes each).
    let s = &s3.sealed;
    let c0 = 76..76 + 4112;
    let c1 = c0.end..c0.end + 4112;
    let swapped = [&s[..76], &s[c1.clone()], &s[c0.clone()], &s[c1.end..]].concat();
    for (name, sealed, e) in [
        (
            "fail_sealed_truncated",
            s[..s.len() - 1].to_vec(),
            "LengthMismatch",
        ),
        (
            "fail_sealed_trailing_byte",
            [&s[..], &[0]].concat(),
            "LengthMismatch",
        ),
        (
            "fail_sealed_last_chunk_dropped",
            s[..c1.end].to_vec(),
            "LengthMismatch",
        ),
        ("fail_sealed_magic", set(s.clone(), 0, b"X"), "Integrity"),
        (
            "fail_sealed_version_2",
            set(s.clone(), 4, &[2]),
            "Integrity",
        ),
        (
            "fail_sealed_algorithm_2",
            set(s.clone(), 5, &[2]),
            "Integrity",
        ),
        (
            "fail_sealed_chunk_size",
            set(s.clone(), 6, &[13]),
            "Integrity",
        ),
        (
            "fail_sealed_reserved_flag",
            set(s.clone(), 7, &[2]),
            "Integrity",
        ),
        (
            "fail_sealed_layer_flag",
            set(s.clone(), 7, &[1]),
            "Integrity",
        ),
        (
            "fail_sealed_part_number",
            set(s.clone(), 11, &[1]),
            "Integrity",
        ),
        ("fail_sealed_salt", flip(s.clone(), 12), "Integrity"),
        ("fail_sealed_commitment", flip(s.clone(), 44), "Integrity"),
        (
            "fail_sealed_ciphertext",
            flip(s.clone(), 76 + 100),
            "Integrity",
        ),
        (
            "fail_sealed_tag",
            flip(s.clone(), 76 + 4096 + 3),
            "Integrity",
        ),
        (
            "fail_sealed_last_tag",
            flip(s.clone(), s.len() - 1),
            "Integrity",
        ),
        ("fail_sealed_chunks_swapped", swapped, "Integrity"),
    ] {
        g.object(name, &with_sealed(&s3, sealed), None, Some(e));
    }
    g.object(
        "fail_sealed_empty_object_tag",
        &with_sealed(&empty, flip(empty.sealed.clone(), 91)),
        None,
        Some("Integrity"),
    );
    let ms = &s3mp.sealed;
    let half = ms.len() / 2;
    g.object(
        "fail_multipart_header_digest",
        &with_sealed(&s3mp, flip(ms.clone(), half + 12)),
        None,
        Some("Integrity"),
    );
    g.object(
        "fail_multipart_parts_swapped",
        &with_sealed(&s3mp, [&ms[half..], &ms[..half]].concat()),
        None,
        Some("Integrity"),
    );
    let ds = &dsse.sealed;
    let dc0 = 152 + 4096;
    let dswapped = [&ds[76..152], &ds[..76], &ds[152..]].concat();
    for (name, sealed) in [
        ("fail_dsse_inner_tag", flip(ds.clone(), dc0 + 2)),
        ("fail_dsse_outer_tag", flip(ds.clone(), dc0 + 16 + 2)),
        ("fail_dsse_ciphertext", flip(ds.clone(), 152 + 9)),
        ("fail_dsse_outer_layer_flag", set(ds.clone(), 7, &[0])),
        ("fail_dsse_inner_header", flip(ds.clone(), 76 + 20)),
        ("fail_dsse_headers_swapped", dswapped),
        ("fail_dsse_truncated", ds[..ds.len() - 1].to_vec()),
    ] {
        let e = if name == "fail_dsse_truncated" {
            "LengthMismatch"
        } else {
            "Integrity"
        };
        g.object(name, &with_sealed(&dsse, sealed), None, Some(e));
    }

    // Sealed files: the container's own rules (the CLI's errors).
    let f = &file_ssec;
    let n = u32::from_be_bytes(f[8..12].try_into().unwrap()) as usize;
    let sfail = |name: &str| {
        Case::new(name, "sealed-file")
            .set("sse_c_key", "sse_c.key")
            .set("home", "fresh")
    };
    for (name, bytes, e) in [
        (
            "fail_file_magic",
            set(f.clone(), 0, b"X"),
            "error: not an s3seal sealed file (bad magic)",
        ),
        (
            "fail_file_truncated_header",
            f[..11].to_vec(),
            "error: sealed file truncated (header)",
        ),
        (
            "fail_file_version_3",
            set(f.clone(), 4, &[3]),
            "error: unsupported sealed file version 3",
        ),
        (
            "fail_file_padding_not_zero",
            [&f[..4], &[2, 0, 0, 1], &f[8..12 + n], &[1], &f[12 + n..]].concat(),
            "error: sealed file: padding bytes are not zero",
        ),
        (
            "fail_file_reserved",
            set(f.clone(), 6, &[1]),
            "error: sealed file: reserved header bytes are not zero",
        ),
        (
            "fail_file_envelope_too_large",
            set(f.clone(), 8, &(256 * 1024 + 1u32).to_be_bytes()),
            "error: sealed file: envelope too large",
        ),
        (
            "fail_file_truncated_envelope",
            f[..12 + n - 1].to_vec(),
            "error: sealed file truncated (envelope)",
        ),
        (
            "fail_file_truncated_sealed",
            f[..f.len() - 1].to_vec(),
            "error: InternalError: stored object failed authentication",
        ),
        (
            "fail_file_trailing_byte",
            [&f[..], &[0]].concat(),
            "error: InternalError: sealed object length does not match its envelope",
        ),
        (
            "fail_file_chunk",
            flip(f.clone(), 12 + n + 76 + 5),
            "error: InternalError: stored object failed authentication",
        ),
        (
            "fail_file_envelope_mac",
            flip(f.clone(), 12 + n - 1),
            "error: InternalError: stored envelope: envelope authentication failed",
        ),
    ] {
        g.sealed_file(name, &bytes, sfail(name), None, Some(e));
    }
    g.sealed_file(
        "fail_file_sse_c_wrong_key",
        f,
        sfail("fail_file_sse_c_wrong_key").set("sse_c_key", "sse_c_other.key"),
        None,
        Some("error: AccessDenied: Access Denied"),
    );
    g.sealed_file(
        "fail_file_sse_c_no_key",
        f,
        Case::new("fail_file_sse_c_no_key", "sealed-file").set("home", "fresh"),
        None,
        Some("error: InvalidRequest: The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."),
    );

    // The keystore: the home as written, then its rules.
    drop(engine);
    drop(kms);
    let _ = std::fs::remove_file(home.join("keystore.lock"));
    {
        let kms = LocalKms::open_dir(&home).unwrap();
        let mut keys: Vec<String> = kms
            .list_keys()
            .iter()
            .map(|k| format!("{}#{}", k.arn, k.rotation.current_version))
            .collect();
        keys.sort();
        let mut aliases: Vec<String> = kms
            .list_aliases()
            .iter()
            .map(|(_, alias, arn)| format!("{alias}->{arn}"))
            .collect();
        aliases.sort();
        g.cases.push(
            Case::new("keystore", "keystore")
                .set("dir", "home")
                .set("keys", keys.join(" "))
                .set("aliases", aliases.join(" ")),
        );
    }
    let _ = std::fs::remove_file(home.join("keystore.lock"));
    let corrupt =
        "keystore is corrupt: integrity check failed (damaged file or a different root secret)";
    g.keystore(
        "fail_keystore_body",
        |d| {
            let raw = std::fs::read_to_string(d.join("keystore.json")).unwrap();
            std::fs::write(
                d.join("keystore.json"),
                raw.replacen("testkit", "testkiT", 1),
            )
            .unwrap();
        },
        corrupt,
    );
    g.keystore(
        "fail_keystore_mac",
        |d| {
            let raw = std::fs::read_to_string(d.join("keystore.json")).unwrap();
            let i = "S3SEAL-KEYSTORE 1 ".len();
            let c = if raw.as_bytes()[i] == b'0' { "1" } else { "0" };
            std::fs::write(
                d.join("keystore.json"),
                format!("{}{c}{}", &raw[..i], &raw[i + 1..]),
            )
            .unwrap();
        },
        corrupt,
    );
    g.keystore(
        "fail_keystore_wrong_root_secret",
        |d| {
            std::fs::write(d.join("root.key"), format!("{}\n", "11".repeat(32))).unwrap();
        },
        corrupt,
    );
    g.keystore(
        "fail_keystore_version_2",
        |d| {
            let raw = std::fs::read_to_string(d.join("keystore.json")).unwrap();
            std::fs::write(
                d.join("keystore.json"),
                raw.replacen("S3SEAL-KEYSTORE 1", "S3SEAL-KEYSTORE 2", 1),
            )
            .unwrap();
        },
        "keystore is corrupt: not an s3seal keystore, or unknown version",
    );
    g.keystore(
        "fail_keystore_master_key_record",
        |d| {
            remac_keystore(d, |body| {
                let i = body.find("\"versions\": [").unwrap();
                let j = body[i..].find('"').unwrap() + i; // the "versions" key's quote
                let q = body[j + 10..].find('"').unwrap() + j + 10 + 1; // first record's first digit
                let c = if body.as_bytes()[q] == b'0' { "1" } else { "0" };
                format!("{}{c}{}", &body[..q], &body[q + 1..])
            });
        },
        "keystore is corrupt: master key record does not authenticate",
    );
    g.keystore(
        "fail_keystore_key_id_swapped",
        |d| {
            // A master key record moved to another key id: its AAD names the id.
            remac_keystore(d, |body| {
                let ids: Vec<&str> = body
                    .match_indices("\"id\": \"")
                    .map(|(i, m)| &body[i + m.len()..i + m.len() + 36])
                    .collect();
                let (a, b) = (ids[0].to_owned(), ids[1].to_owned());
                body.replacen(&a, "TMP-ID", 1)
                    .replacen(&b, &a, 1)
                    .replacen("TMP-ID", &b, 1)
            });
        },
        "keystore is corrupt: master key record does not authenticate",
    );
    g.keystore(
        "fail_keystore_unknown_field",
        |d| {
            remac_keystore(d, |body| body.replacen('{', "{\n  \"extra\": 1,", 1));
        },
        "keystore is corrupt: authenticated body is not a keystore",
    );
    g.keystore(
        "fail_keystore_region",
        |d| {
            remac_keystore(d, |body| body.replacen("\"us-east-1\"", "\"eu-west-1\"", 1));
        },
        "keystore is corrupt: keystore was created for another partition or Region",
    );
    g.keystore(
        "fail_keystore_rolled_back",
        |d| {
            let raw = std::fs::read_to_string(d.join("keystore.generation")).unwrap();
            let g: u64 = raw.split(' ').nth(2).unwrap().parse().unwrap();
            let next = g + 1;
            let mac = keystore_mac(
                b"s3seal keystore v1 generation",
                &[b"S3SEAL-KEYSTORE-GENERATION 1\n", &next.to_be_bytes()],
            );
            std::fs::write(
                d.join("keystore.generation"),
                format!("S3SEAL-KEYSTORE-GENERATION 1 {next} {mac}\n"),
            )
            .unwrap();
        },
        "ROLLED BACK (filled in below)",
    );
    g.keystore("fail_keystore_generation_mac", |d| {
        let raw = std::fs::read_to_string(d.join("keystore.generation")).unwrap();
        let c = if raw.as_bytes()[raw.len() - 2] == b'0' { "1" } else { "0" };
        std::fs::write(d.join("keystore.generation"), format!("{}{c}\n", &raw[..raw.len() - 2])).unwrap();
    }, "keystore is corrupt: keystore.generation is damaged or was written under another root secret (restore it with keystore.json, or open once with rollback accepted to rewrite it)");
    g.keystore("fail_keystore_generation_not_canonical", |d| {
        let raw = std::fs::read_to_string(d.join("keystore.generation")).unwrap();
        std::fs::write(d.join("keystore.generation"), raw.replacen("GENERATION 1 ", "GENERATION 1 0", 1)).unwrap();
    }, "keystore is corrupt: keystore.generation is damaged or was written under another root secret (restore it with keystore.json, or open once with rollback accepted to rewrite it)");

    // The rolled-back message names the generations: take it from the files.
    let gen_of = |f: &str| -> u64 {
        let raw = std::fs::read_to_string(dir.join("fail_keystore_rolled_back").join(f)).unwrap();
        if f == "keystore.generation" {
            raw.split(' ').nth(2).unwrap().parse().unwrap()
        } else {
            let i = raw.find("\"generation\": ").unwrap() + 14;
            raw[i..].split(',').next().unwrap().trim().parse().unwrap()
        }
    };
    let (found, recorded) = (gen_of("keystore.json"), gen_of("keystore.generation"));
    let rolled =
        s3seal::kms::KmsError::from(s3seal::kms::KeystoreError::RolledBack { found, recorded })
            .to_string();
    for c in &mut g.cases {
        if c.name() == "fail_keystore_rolled_back" {
            *c = c.clone().set("expect", rolled.clone());
        }
    }

    let mut out = String::from(
        "# s3seal testkit: known-answer files for every wire format of docs/FORMAT.md.\n\
         # One block per case. Plaintext byte i is i mod 251; a case without `expect` must\n\
         # decode to plaintext_len bytes with SHA-256 plaintext_sha256, a fail_ case must give\n\
         # exactly the error `expect` names. See README.md for the kinds and the fixed keys.\n",
    );
    for c in &g.cases {
        out.push('\n');
        for (k, v) in &c.0 {
            let _ = writeln!(out, "{k} = {v}");
        }
    }
    std::fs::write(dir.join("MANIFEST"), out).unwrap();
    let (all, fails) = check_all(&dir);
    println!("{all} cases, {fails} fail_ cases");
}

/// Case names are unique: FORMAT.md's decryption rules and the CLI test name cases by it.
#[test]
fn manifest_blocks_have_unique_names() {
    let cases = parse_manifest(&std::fs::read_to_string(testkit().join("MANIFEST")).unwrap());
    let mut seen = BTreeMap::new();
    for c in &cases {
        assert!(
            seen.insert(c.name().to_owned(), ()).is_none(),
            "{} twice",
            c.name()
        );
    }
}
