//! Crash consistency as a loop: the real `s3seal` binary, SIGKILLed after a random delay (spread
//! over each operation's observed duration, from a seeded RNG) while it runs `put` (single and
//! multipart, several MiB), `copy`, `rewrap`, `keys create/rotate/disable` and `bucket
//! set-encryption`, and the first `keys create` of a new home (root secret and keystore
//! created), for a time budget. After every run the home is checked against a model of
//! what was acknowledged (exit 0): every object reads back byte-equal (an object being replaced
//! is its old or its new version, whole), no other key is listed, the keystore loads and every
//! acknowledged key is there and usable, the bucket's encryption is the old or the new one.
//!
//! Then concurrency: processes creating keys and rotating one key at once (a keystore update
//! lost would be data loss: objects sealed under a key that vanished), processes putting one
//! object key at once (exactly one whole version stays), objects sealed under keys created
//! concurrently, some of those processes killed too.
//!
//! Environment: `S3SEAL_CRASH_LOOP_SECS` (the kill loop's budget, default 60 s),
//! `S3SEAL_CRASH_LOOP_SEED` (default: from the clock; the seed is printed either way).
#![expect(clippy::unwrap_used, reason = "tests panic on setup failures")]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_s3seal");
/// A run that takes longer than this is taken as hung (the test fails).
const HUNG: Duration = Duration::from_secs(120);

/// SplitMix64 over a counter: a seeded, dependency-free RNG.
struct Rng(u64);

impl Rng {
    fn from_env(name: &str) -> Self {
        let seed = std::env::var("S3SEAL_CRASH_LOOP_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0x5eed, |d| d.as_secs() << 32 ^ u64::from(d.subsec_nanos()))
            });
        eprintln!("{name}: seed {seed} (rerun with S3SEAL_CRASH_LOOP_SEED={seed})");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u64)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(u64::from(seed) << 40)
                .to_le_bytes()[2]
                ^ seed
        })
        .collect()
}

fn command(home: &Path, args: &[String]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--home")
        .arg(home)
        .arg("--quiet")
        .args(args)
        .env_remove("S3SEAL_HOME")
        .env_remove("S3SEAL_ROOT_KEY")
        .env_remove("S3SEAL_STORE_FAILPOINT");
    c
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// How a run ended.
#[derive(Debug)]
enum Ended {
    /// Exit 0: acknowledged; its standard output.
    Ok(Vec<u8>),
    /// Exited non-zero (not killed); its standard error.
    Failed(String),
    /// Killed by our SIGKILL before it finished.
    Killed,
}

fn spawn(home: &Path, args: &[String]) -> Child {
    command(home, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child`, SIGKILLing it at `kill_at` if it still runs then.
fn finish(mut child: Child, kill_at: Option<Instant>) -> Ended {
    // Standard output can be large (a get): drain it on a thread so the child never blocks.
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let started = Instant::now();
    let mut killed = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if !killed && kill_at.is_some_and(|t| Instant::now() >= t) {
            let _ = child.kill(); // SIGKILL
            killed = true;
        }
        assert!(started.elapsed() < HUNG, "a run hung");
        std::thread::sleep(Duration::from_micros(300));
    };
    let stdout = reader.join().unwrap();
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    if status.success() {
        Ended::Ok(stdout)
    } else if killed && status.code().is_none() {
        Ended::Killed
    } else {
        Ended::Failed(stderr)
    }
}

#[track_caller]
fn ok(home: &Path, args: &[&str]) -> Vec<u8> {
    match finish(spawn(home, &strings(args)), None) {
        Ended::Ok(out) => out,
        e => panic!("{args:?}: {e:?}"),
    }
}

/// `get`: the object's bytes, or `None` if there is no such key.
#[track_caller]
fn get(home: &Path, key: &str) -> Option<Vec<u8>> {
    match finish(spawn(home, &strings(&["get", &format!("bkt/{key}")])), None) {
        Ended::Ok(out) => Some(out),
        Ended::Failed(e) if e.contains("NoSuchKey") => None,
        e => panic!("get {key}: {e:?}"),
    }
}

/// What the home must hold: acknowledged state, and what a killed run may have changed.
struct Model {
    /// Object key → (index of its content in `inputs`, written with plain SSE-KMS).
    objects: BTreeMap<String, (usize, bool)>,
    /// Aliases of acknowledged keys that objects are sealed under.
    aliases: Vec<String>,
    /// Aliases of acknowledged keys only ever disabled and enabled (never sealing objects).
    spare: Vec<String>,
    /// The bucket's acknowledged default encryption: (SSE algorithm, KMS key alias).
    bucket_enc: Option<(String, Option<String>)>,
}

struct Home {
    _dir: tempfile::TempDir,
    home: PathBuf,
    files: PathBuf,
    inputs: Vec<Vec<u8>>,
}

impl Home {
    fn input(&self, i: usize) -> String {
        self.files
            .join(format!("in{i}"))
            .to_str()
            .unwrap()
            .to_owned()
    }
}

/// Inputs: 0..3 single-put sizes (6 MiB), 3 multipart (16 MiB, four 5 MiB parts), 4 small.
fn home_with_inputs() -> Home {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let inputs = vec![
        pattern(6 << 20, 1),
        pattern(6 << 20, 2),
        pattern((6 << 20) + 12_345, 3),
        pattern(16 << 20, 4),
        pattern(70_000, 5),
    ];
    for (i, d) in inputs.iter().enumerate() {
        std::fs::write(files.join(format!("in{i}")), d).unwrap();
    }
    Home {
        _dir: dir,
        home,
        files,
        inputs,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Put,
    PutMultipart,
    Copy,
    Rewrap,
    KeysCreate,
    KeysRotate,
    KeysDisable,
    SetEncryption,
    /// `keys create` in a new home: the root secret and the keystore created.
    FirstUse,
}

const OPS: [Op; 9] = [
    Op::Put,
    Op::PutMultipart,
    Op::Copy,
    Op::Rewrap,
    Op::KeysCreate,
    Op::KeysRotate,
    Op::KeysDisable,
    Op::SetEncryption,
    Op::FirstUse,
];
const OBJECT_KEYS: [&str; 4] = ["a", "b", "c", "d"];
const MAX_ALIASES: usize = 6;

/// Per operation: runs, kills, and an estimate of its duration (the kill delays spread over it).
#[derive(Default)]
struct Tally {
    runs: u32,
    killed: u32,
    typical: Duration,
}

/// Checks the home against the model: listing, every object's bytes, keystore, bucket.
fn check(h: &Home, m: &Model, round: usize) {
    let store = s3seal_store::Store::open(&h.home).unwrap();
    let listed = store.list_keys("bkt", "").unwrap();
    let expected: Vec<String> = m.objects.keys().cloned().collect();
    assert_eq!(listed, expected, "round {round}: the listing");
    for (key, (input, _)) in &m.objects {
        let got = get(&h.home, key).unwrap_or_default();
        assert!(
            got == h.inputs[*input],
            "round {round}: bkt/{key} is not the acknowledged version (input {input})"
        );
    }
    let list = String::from_utf8(ok(&h.home, &["keys", "list"])).unwrap();
    for a in m.aliases.iter().chain(&m.spare) {
        assert!(has_alias(&list, a), "round {round}: {a} lost:\n{list}");
    }
}

/// Whether `keys list` output shows `alias/NAME` (aliases are listed comma-separated).
fn has_alias(list: &str, name: &str) -> bool {
    list.lines().any(|l| {
        l.split('\t')
            .nth(2)
            .is_some_and(|a| a.split([',', ' ']).any(|a| a == format!("alias/{name}")))
    })
}

/// The object `key` after a run that may have replaced it with `new`: old or new, whole.
fn settle(h: &Home, m: &mut Model, key: &str, new: (usize, bool), acknowledged: bool, r: usize) {
    if acknowledged {
        m.objects.insert(key.to_owned(), new);
        return;
    }
    let old = m.objects.get(key).copied();
    match get(&h.home, key) {
        None => assert!(old.is_none(), "round {r}: bkt/{key} vanished"),
        Some(got) if got == h.inputs[new.0] => {
            // The new version (whether it is plain SSE-KMS: as written only if acknowledged
            // or if the old one was the same bytes; be conservative).
            let kms = new.1 && old.is_none_or(|o| o.1);
            m.objects.insert(key.to_owned(), (new.0, kms));
        }
        Some(got) => {
            let old = old.unwrap_or_else(|| panic!("round {r}: bkt/{key} appeared half-made"));
            assert!(
                got == h.inputs[old.0],
                "round {r}: bkt/{key} is neither version ({} bytes)",
                got.len()
            );
        }
    }
}

#[test]
fn kill_9_at_random_points_of_every_write() {
    let budget = Duration::from_secs(
        std::env::var("S3SEAL_CRASH_LOOP_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let mut rng = Rng::from_env("kill loop");
    let h = home_with_inputs();
    let home = &h.home;
    ok(home, &["keys", "create", "--alias", "k0"]);
    ok(home, &["keys", "create", "--alias", "spare0"]);
    ok(home, &["bucket", "create", "bkt"]);
    let mut m = Model {
        objects: BTreeMap::new(),
        aliases: vec!["k0".to_owned()],
        spare: vec!["spare0".to_owned()],
        bucket_enc: None,
    };
    for (i, key) in OBJECT_KEYS.iter().enumerate() {
        ok(
            home,
            &[
                "put",
                &format!("bkt/{key}"),
                &h.input(i % 3),
                "--sse",
                "aws:kms",
                "--kms-key",
                "alias/k0",
            ],
        );
        m.objects.insert((*key).to_owned(), (i % 3, true));
    }
    let mut tally: BTreeMap<Op, Tally> = OPS.iter().map(|o| (*o, Tally::default())).collect();
    let started = Instant::now();
    let mut round = 0;
    while started.elapsed() < budget || round < OPS.len() * 2 {
        round += 1;
        // Every operation in turn at first (its duration measured unkilled), then at random.
        let op = if round <= OPS.len() {
            OPS[round - 1]
        } else {
            *rng.pick(&OPS)
        };
        let alias = rng.pick(&m.aliases).clone();
        let key = (*rng.pick(&OBJECT_KEYS)).to_owned();
        let modes: [&[&str]; 4] = [
            &["--sse", "AES256"],
            &["--sse", "aws:kms", "--kms-key"],
            &["--sse", "aws:kms", "--bucket-key", "--kms-key"],
            &["--sse", "aws:kms:dsse", "--kms-key"],
        ];
        let mode = rng.below(modes.len());
        let mut flags = strings(modes[mode]);
        if mode > 0 {
            flags.push(format!("alias/{alias}"));
        }
        let input = rng.below(3);
        let new_alias = format!("k{round}");
        let (args, target): (Vec<String>, Option<(usize, bool)>) = match op {
            Op::Put => {
                let mut a = strings(&["put", &format!("bkt/{key}"), &h.input(input)]);
                a.extend(flags);
                (a, Some((input, mode == 1)))
            }
            Op::PutMultipart => {
                let mut a = strings(&["put", &format!("bkt/{key}"), &h.input(3)]);
                a.extend(flags);
                a.extend(strings(&["--part-size", "5MiB"]));
                (a, Some((3, mode == 1)))
            }
            Op::Copy => {
                let src = (*rng.pick(&OBJECT_KEYS)).to_owned();
                let src_content = m.objects.get(&src).copied();
                let dst = if src == key {
                    format!("{key}-copy")
                } else {
                    key.clone()
                };
                let a = strings(&[
                    "copy",
                    &format!("bkt/{src}"),
                    &format!("bkt/{dst}"),
                    "--sse",
                    "aws:kms",
                    "--kms-key",
                    &format!("alias/{alias}"),
                ]);
                match src_content {
                    Some((i, _)) => {
                        let t = &mut tally.get_mut(&op).unwrap().runs;
                        *t += 1;
                        let acknowledged =
                            run_op(h.home.as_path(), &a, &mut rng, &mut tally, op, round);
                        settle(&h, &mut m, &dst, (i, true), acknowledged, round);
                        check(&h, &m, round);
                        continue;
                    }
                    None => continue,
                }
            }
            Op::Rewrap => {
                let Some(k) = m
                    .objects
                    .iter()
                    .find(|(_, (_, kms))| *kms && rng.below(2) == 0)
                    .map(|(k, _)| k.clone())
                else {
                    continue;
                };
                (
                    strings(&[
                        "rewrap",
                        &format!("bkt/{k}"),
                        "--kms-key",
                        &format!("alias/{alias}"),
                    ]),
                    None,
                )
            }
            Op::KeysCreate if m.aliases.len() >= MAX_ALIASES => continue,
            Op::KeysCreate => (strings(&["keys", "create", "--alias", &new_alias]), None),
            Op::KeysRotate => (
                strings(&["keys", "rotate", &format!("alias/{alias}")]),
                None,
            ),
            Op::KeysDisable => {
                let spare = rng.pick(&m.spare).clone();
                (
                    strings(&["keys", "disable", &format!("alias/{spare}")]),
                    None,
                )
            }
            Op::FirstUse => {
                let fresh = h.home.with_file_name(format!("fresh{round}"));
                let a = strings(&["keys", "create", "--alias", "first"]);
                tally.get_mut(&op).unwrap().runs += 1;
                let acknowledged = run_op(&fresh, &a, &mut rng, &mut tally, op, round);
                // Killed or not, the new home opens (a half-written root secret would refuse
                // every later command), and an acknowledged key is there.
                let list = String::from_utf8(ok(&fresh, &["keys", "list"])).unwrap();
                assert!(!acknowledged || has_alias(&list, "first"), "round {round}");
                ok(&fresh, &["keys", "create", "--alias", "second"]);
                std::fs::remove_dir_all(&fresh).unwrap();
                continue;
            }
            Op::SetEncryption => {
                let a = if mode == 0 {
                    strings(&["bucket", "set-encryption", "bkt", "--sse", "AES256"])
                } else {
                    strings(&[
                        "bucket",
                        "set-encryption",
                        "bkt",
                        "--sse",
                        "aws:kms",
                        "--kms-key",
                        &format!("alias/{alias}"),
                    ])
                };
                (a, None)
            }
        };
        tally.get_mut(&op).unwrap().runs += 1;
        let acknowledged = run_op(home, &args, &mut rng, &mut tally, op, round);
        match op {
            Op::Put | Op::PutMultipart => {
                settle(&h, &mut m, &key, target.unwrap(), acknowledged, round);
            }
            Op::KeysCreate => {
                let list = String::from_utf8(ok(home, &["keys", "list"])).unwrap();
                if acknowledged || has_alias(&list, &new_alias) {
                    // A killed create may have made its key (and alias) or not: if the alias
                    // is there, its key must be whole and usable.
                    m.aliases.push(new_alias.clone());
                    let probe = format!("probe-{new_alias}");
                    ok(
                        home,
                        &[
                            "put",
                            &format!("bkt/{probe}"),
                            &h.input(4),
                            "--sse",
                            "aws:kms",
                            "--kms-key",
                            &format!("alias/{new_alias}"),
                        ],
                    );
                    m.objects.insert(probe, (4, true));
                }
            }
            Op::KeysDisable => {
                // Disabled or not, the key is there; enable it again for the next rounds.
                let spare = args[2].clone();
                ok(home, &["keys", "describe", &spare]);
                ok(home, &["keys", "enable", &spare]);
            }
            Op::SetEncryption => {
                let want = if mode == 0 {
                    ("AES256".to_owned(), None)
                } else {
                    ("aws:kms".to_owned(), Some(alias.clone()))
                };
                let got = finish(
                    spawn(home, &strings(&["bucket", "get-encryption", "bkt"])),
                    None,
                );
                let seen = match &got {
                    Ended::Ok(xml) => {
                        let xml = String::from_utf8_lossy(xml);
                        let sse = if xml.contains("<SSEAlgorithm>AES256<") {
                            "AES256"
                        } else {
                            "aws:kms"
                        };
                        let key = m
                            .aliases
                            .iter()
                            .find(|a| xml.contains(&format!("alias/{a}<")))
                            .cloned();
                        Some((sse.to_owned(), key))
                    }
                    Ended::Failed(e) if e.contains("ServerSideEncryptionConfigurationNotFound") => {
                        None
                    }
                    e => panic!("round {round}: get-encryption: {e:?}"),
                };
                if acknowledged {
                    assert_eq!(seen.as_ref(), Some(&want), "round {round}");
                } else {
                    assert!(
                        seen == m.bucket_enc || seen.as_ref() == Some(&want),
                        "round {round}: bucket encryption {seen:?} is neither {:?} nor {want:?}",
                        m.bucket_enc
                    );
                }
                m.bucket_enc = seen;
            }
            Op::Copy | Op::Rewrap | Op::KeysRotate | Op::FirstUse => {}
        }
        // Keep a spare key to disable around.
        if m.spare.len() < 2 {
            let name = format!("spare{round}");
            ok(home, &["keys", "create", "--alias", &name]);
            m.spare.push(name);
        }
        check(&h, &m, round);
    }
    let mut lines = Vec::new();
    let mut killed_total = 0;
    for (op, t) in &tally {
        killed_total += t.killed;
        lines.push(format!(
            "{op:?}: {} runs, {} killed, ~{} ms",
            t.runs,
            t.killed,
            t.typical.as_millis()
        ));
    }
    eprintln!(
        "kill loop: {round} rounds in {:.1} s\n{}",
        started.elapsed().as_secs_f64(),
        lines.join("\n")
    );
    // Leftovers of killed runs are unlocked, so removable.
    let store = s3seal_store::Store::open(home).unwrap();
    store.remove_stale_scratch(Duration::ZERO).unwrap();
    assert_eq!(std::fs::read_dir(home.join("tmp")).unwrap().count(), 0);
    assert!(killed_total > 0, "nothing was killed: nothing was tested");
}

/// Runs `args`, killing it after a random delay in `0..1.3 × typical` (never in the first round
/// of an operation, which measures it); whether it was acknowledged.
fn run_op(
    home: &Path,
    args: &[String],
    rng: &mut Rng,
    tally: &mut BTreeMap<Op, Tally>,
    op: Op,
    round: usize,
) -> bool {
    let t = tally.get_mut(&op).unwrap();
    let kill_at = (!t.typical.is_zero()).then(|| {
        let span = u64::try_from(t.typical.as_micros() * 13 / 10).unwrap_or(u64::MAX);
        Duration::from_micros(rng.next() % span.max(1))
    });
    let started = Instant::now();
    let ended = finish(spawn(home, args), kill_at.map(|d| started + d));
    match ended {
        Ended::Ok(_) => {
            let took = started.elapsed();
            t.typical = if t.typical.is_zero() {
                took
            } else {
                (t.typical * 3 + took) / 4
            };
            true
        }
        Ended::Killed => {
            t.killed += 1;
            false
        }
        Ended::Failed(e) => panic!("round {round}: {args:?} failed without being killed: {e}"),
    }
}

/// Runs every `args` at once, killing each with probability `kill_percent` after a random
/// delay below `max_delay`; each one's ending.
fn all_at_once(
    home: &Path,
    runs: &[Vec<String>],
    rng: &mut Rng,
    kill_percent: u64,
    max_delay: Duration,
) -> Vec<Ended> {
    let started = Instant::now();
    let children: Vec<(Child, Option<Instant>)> = runs
        .iter()
        .map(|a| {
            let kill = (rng.next() % 100 < kill_percent).then(|| {
                started
                    + Duration::from_micros(
                        rng.next() % u64::try_from(max_delay.as_micros()).unwrap().max(1),
                    )
            });
            (spawn(home, a), kill)
        })
        .collect();
    let handles: Vec<_> = children
        .into_iter()
        .map(|(c, k)| std::thread::spawn(move || finish(c, k)))
        .collect();
    handles.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn concurrent_keystore_writers_lose_no_key_and_no_rotation() {
    let mut rng = Rng::from_env("concurrent keys");
    let h = home_with_inputs();
    let home = &h.home;
    ok(home, &["keys", "create", "--alias", "base"]);
    ok(home, &["bucket", "create", "bkt"]);
    let mut acknowledged: Vec<String> = vec!["base".to_owned()];
    let mut version = 1u32;
    let (mut killed, mut runs) = (0, 0);
    for round in 0..6 {
        // Eight creators and four rotators of one key at once; from round 2, some are killed.
        let mut args: Vec<Vec<String>> = (0..8)
            .map(|i| strings(&["keys", "create", "--alias", &format!("c{round}x{i}")]))
            .collect();
        args.extend((0..4).map(|_| strings(&["keys", "rotate", "alias/base"])));
        let kill = if round < 2 { 0 } else { 30 };
        let ended = all_at_once(home, &args, &mut rng, kill, Duration::from_millis(40));
        let mut versions = Vec::new();
        for (a, e) in args.iter().zip(&ended) {
            runs += 1;
            match e {
                Ended::Ok(_) if a[1] == "create" => acknowledged.push(a[3].clone()),
                Ended::Ok(out) => {
                    let text = String::from_utf8_lossy(out);
                    let v: u32 = text
                        .trim()
                        .rsplit(' ')
                        .next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| panic!("rotate printed {text:?}"));
                    versions.push(v);
                }
                Ended::Killed => killed += 1,
                Ended::Failed(err) => panic!("round {round}: {a:?} failed: {err}"),
            }
        }
        // Every acknowledged rotation got its own version: none was lost to another.
        versions.sort_unstable();
        let n = versions.len();
        versions.dedup();
        assert_eq!(
            versions.len(),
            n,
            "round {round}: two rotations, one version"
        );
        if let Some(&v) = versions.last() {
            assert!(v > version, "round {round}: rotation went back");
            version = v;
        }
        // Every acknowledged key is in the keystore.
        let list = String::from_utf8(ok(home, &["keys", "list"])).unwrap();
        for a in &acknowledged {
            assert!(
                has_alias(&list, a),
                "round {round}: alias/{a} lost:\n{list}"
            );
        }
        let described = String::from_utf8(ok(home, &["keys", "describe", "alias/base"])).unwrap();
        assert!(
            described.contains(&format!("{version}")),
            "round {round}: base not at version {version}:\n{described}"
        );
    }
    // Objects sealed under every key created concurrently, at once, all decrypt.
    let puts: Vec<Vec<String>> = acknowledged
        .iter()
        .map(|a| {
            strings(&[
                "put",
                &format!("bkt/under-{a}"),
                &h.input(4),
                "--sse",
                "aws:kms",
                "--kms-key",
                &format!("alias/{a}"),
            ])
        })
        .collect();
    for chunk in puts.chunks(8) {
        for (a, e) in chunk
            .iter()
            .zip(all_at_once(home, chunk, &mut rng, 0, Duration::ZERO))
        {
            assert!(matches!(e, Ended::Ok(_)), "{a:?}: {e:?}");
        }
    }
    for a in &acknowledged {
        assert_eq!(
            get(home, &format!("under-{a}")).unwrap(),
            h.inputs[4],
            "{a}"
        );
    }
    eprintln!(
        "concurrent keys: {runs} runs, {killed} killed, {} keys acknowledged, base at version {version}",
        acknowledged.len()
    );
}

#[test]
fn concurrent_puts_to_one_key_leave_exactly_one_whole_version() {
    let mut rng = Rng::from_env("concurrent puts");
    let h = home_with_inputs();
    let home = &h.home;
    ok(home, &["keys", "create", "--alias", "k"]);
    ok(home, &["bucket", "create", "bkt"]);
    let mut current: Option<usize> = None;
    let (mut killed, mut runs) = (0, 0);
    for round in 0..5 {
        // Four writers of bkt/same at once, each its own input and mode (one multipart); from
        // round 2 some are killed.
        let args: Vec<Vec<String>> = (0..4)
            .map(|i| {
                let mut a = strings(&["put", "bkt/same", &h.input(i)]);
                a.extend(strings(match i {
                    0 => &["--sse", "AES256"][..],
                    1 => &["--sse", "aws:kms", "--kms-key", "alias/k"],
                    2 => &["--sse", "aws:kms:dsse", "--kms-key", "alias/k"],
                    _ => &["--sse", "aws:kms", "--bucket-key", "--part-size", "5MiB"],
                }));
                a
            })
            .collect();
        let kill = if round < 2 { 0 } else { 50 };
        let ended = all_at_once(home, &args, &mut rng, kill, Duration::from_millis(250));
        let mut done = Vec::new();
        for (i, e) in ended.iter().enumerate() {
            runs += 1;
            match e {
                Ended::Ok(_) => done.push(i),
                Ended::Killed => killed += 1,
                Ended::Failed(err) => panic!("round {round}: writer {i} failed: {err}"),
            }
        }
        let got = get(home, "same");
        let which = got
            .as_ref()
            .map(|g| h.inputs[..4].iter().position(|x| x == g));
        match which {
            None => assert!(current.is_none() && done.is_empty(), "round {round}: gone"),
            Some(None) => panic!("round {round}: bkt/same is none of the versions"),
            // One whole version: one of this round's writers' (a killed writer may have
            // published before it died), or the previous one if no writer got that far.
            Some(Some(i)) => current = Some(i),
        }
        let store = s3seal_store::Store::open(home).unwrap();
        assert_eq!(store.list_keys("bkt", "").unwrap(), vec!["same".to_owned()]);
    }
    // The leftovers of the killed writers are removable; the key's directory then holds one
    // data file after the next write.
    let store = s3seal_store::Store::open(home).unwrap();
    store.remove_stale_scratch(Duration::ZERO).unwrap();
    assert_eq!(std::fs::read_dir(home.join("tmp")).unwrap().count(), 0);
    ok(home, &["put", "bkt/same", &h.input(4)]);
    let dir = home.join("buckets/bkt/objects").join(hex::encode("same"));
    let data = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "data"))
        })
        .count();
    assert_eq!(data, 1);
    assert_eq!(get(home, "same").unwrap(), h.inputs[4]);
    eprintln!("concurrent puts: {runs} runs, {killed} killed");
}
