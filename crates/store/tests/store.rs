//! The store through its public API: one version per key whatever the concurrency, readers
//! that see whole versions, scratch entries of live writers kept, and no path outside the home.
#![expect(clippy::unwrap_used, reason = "tests panic on setup failures")]

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use s3seal::policy::BucketKind;
use s3seal_store::{Store, StoreError};

fn put(store: &Store, key: &str, envelope: &[u8], data: &[u8]) {
    let mut d = store.new_data().unwrap();
    d.file().write_all(data).unwrap();
    store.publish("bkt", key, envelope, d).unwrap();
}

fn store(dir: &Path) -> Store {
    let s = Store::open(dir).unwrap();
    match s.create_bucket(
        "bkt",
        BucketKind::GeneralPurpose,
        "000000000000",
        "us-east-1",
    ) {
        Ok(_) | Err(StoreError::BucketExists) => {}
        Err(e) => panic!("{e}"),
    }
    s
}

/// Each version's bytes are its envelope repeated: a reader can tell a torn version apart.
fn version(i: u8) -> (Vec<u8>, Vec<u8>) {
    let env = vec![i; 64];
    (env.clone(), env.repeat(4096 + usize::from(i) * 512))
}

fn whole(envelope: &[u8], data: &[u8]) -> bool {
    !envelope.is_empty()
        && data.len().is_multiple_of(envelope.len())
        && data.chunks(envelope.len()).all(|c| c == envelope)
}

#[test]
fn concurrent_writers_of_one_key_leave_one_whole_version_and_readers_see_whole_ones() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path());
    std::thread::scope(|s| {
        for w in 1..=6u8 {
            let path = dir.path();
            s.spawn(move || {
                let st = Store::open(path).unwrap();
                for round in 0..10u8 {
                    let (env, data) = version(w * 16 + round);
                    put(&st, "k", &env, &data);
                }
            });
        }
        let path = dir.path();
        s.spawn(move || {
            let st = Store::open(path).unwrap();
            let mut seen = 0;
            while seen < 200 {
                match st.read_object("bkt", "k") {
                    Ok((env, data)) => assert!(whole(&env, &data), "torn read"),
                    Err(StoreError::NoSuchKey) => {}
                    Err(e) => panic!("{e}"),
                }
                seen += 1;
            }
        });
    });
    let st = Store::open(dir.path()).unwrap();
    let (env, data) = st.read_object("bkt", "k").unwrap();
    assert!(whole(&env, &data));
    let files: Vec<_> = std::fs::read_dir(
        dir.path()
            .join("buckets/bkt/objects")
            .join(hex::encode("k")),
    )
    .unwrap()
    .map(|e| e.unwrap().file_name().into_string().unwrap())
    .collect();
    assert_eq!(
        files.iter().filter(|n| n.ends_with(".data")).count(),
        1,
        "{files:?}"
    );
    assert!(!files.iter().any(|n| n.starts_with(".tmp-")), "{files:?}");
}

#[test]
fn scratch_of_live_writers_is_kept_and_of_dead_ones_removed() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path());
    let live = st.new_data().unwrap();
    let staging = st.staging().unwrap();
    staging.create_part(1).unwrap().write_all(b"part").unwrap();
    // Another process (here: another handle) cleaning at any age keeps what is locked.
    let other = Store::open(dir.path()).unwrap();
    assert_eq!(other.remove_stale_scratch(Duration::ZERO).unwrap(), 0);
    let mut part = String::new();
    staging
        .open_part(1)
        .unwrap()
        .read_to_string(&mut part)
        .unwrap();
    assert_eq!(part, "part");
    // A dead writer's files (unlocked) go; dropped ones were removed by their owner already.
    std::fs::write(dir.path().join("tmp/data-0123"), b"left by a crash").unwrap();
    std::fs::create_dir(dir.path().join("tmp/stage-0123")).unwrap();
    assert_eq!(other.remove_stale_scratch(Duration::ZERO).unwrap(), 2);
    // And nothing is removed while young (a writer may not have locked it yet).
    std::fs::write(dir.path().join("tmp/data-4567"), b"new").unwrap();
    assert_eq!(
        other
            .remove_stale_scratch(Duration::from_secs(3600))
            .unwrap(),
        0
    );
    drop((live, staging));
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        1
    );
}

#[cfg(unix)]
#[test]
fn symbolic_links_inside_the_home_never_lead_outside_it() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"do not touch").unwrap();
    // objects/ of a bucket, a bucket directory, an object directory and the scratch space,
    // each a link to a directory outside the home.
    type Plant<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Plant<'_>); 4] = [
        ("objects", &|home| {
            symlink(outside.path(), home.join("buckets/bkt/objects")).unwrap();
        }),
        ("bucket", &|home| {
            let b = home.join("buckets/bkt");
            std::fs::rename(&b, home.join("bkt-real")).unwrap();
            symlink(outside.path(), &b).unwrap();
        }),
        ("object", &|home| {
            std::fs::create_dir_all(home.join("buckets/bkt/objects")).unwrap();
            symlink(
                outside.path(),
                home.join("buckets/bkt/objects").join(hex::encode("k")),
            )
            .unwrap();
        }),
        ("scratch", &|home| {
            std::fs::remove_dir(home.join("tmp")).unwrap();
            symlink(outside.path(), home.join("tmp")).unwrap();
        }),
    ];
    for (name, plant) in cases {
        let home = tempfile::tempdir().unwrap();
        let st = store(home.path());
        drop(st);
        plant(home.path());
        // Opening, writing and reading through the link all fail; nothing outside changes.
        if let Ok(st) = Store::open(home.path()) {
            let r = st.new_data().and_then(|mut d| {
                d.file().write_all(b"x").unwrap();
                st.publish("bkt", "k", b"env", d)
            });
            assert!(r.is_err(), "{name}: write through a link succeeded");
            assert!(st.read_object("bkt", "k").is_err(), "{name}");
        }
        let names: Vec<_> = std::fs::read_dir(outside.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("victim")], "{name}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"do not touch", "{name}");
    }
}

#[test]
fn a_rewrap_replaces_only_the_envelope_and_only_if_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path());
    put(&st, "k", b"env-1", b"bytes");
    let before = st.open_object("bkt", "k").unwrap().path;
    st.replace_envelope("bkt", "k", b"env-1", b"env-2").unwrap();
    let after = st.open_object("bkt", "k").unwrap();
    assert_eq!(
        (after.envelope.as_slice(), &after.path),
        (b"env-2".as_slice(), &before)
    );
    assert!(matches!(
        st.replace_envelope("bkt", "k", b"env-1", b"env-3"),
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        st.open_object("bkt", "nope"),
        Err(StoreError::NoSuchKey)
    ));
    assert!(matches!(
        st.open_object("nobucket", "k"),
        Err(StoreError::NoSuchBucket)
    ));
}

#[test]
fn uploads_outlive_the_process_and_complete_into_one_object() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path());
    let id = st.create_upload("bkt", "big/key", b"state-0").unwrap();
    let part = |st: &Store, n: u32, tag: &str, bytes: &[u8]| {
        let mut d = st.new_data().unwrap();
        d.file().write_all(bytes).unwrap();
        st.put_part("bkt", &id, n, tag, d).unwrap();
    };
    part(&st, 1, "a1", b"one-");
    part(&st, 2, "b1", b"stale");
    drop(st);
    // A restart: the upload, its state and parts are still there; part 2 is uploaded again.
    let st = Store::open(dir.path()).unwrap();
    assert_eq!(
        st.list_uploads("bkt").unwrap(),
        vec![(id.clone(), "big/key".to_owned())]
    );
    assert_eq!(
        st.upload("bkt", &id).unwrap(),
        ("big/key".to_owned(), b"state-0".to_vec())
    );
    st.replace_upload_state("bkt", &id, b"state-0", b"state-1")
        .unwrap();
    assert!(matches!(
        st.replace_upload_state("bkt", &id, b"state-0", b"state-2"),
        Err(StoreError::Conflict)
    ));
    part(&st, 2, "b2", b"two");
    assert!(matches!(
        st.open_part("bkt", &id, 3, "c1"),
        Err(StoreError::NoSuchPart(3))
    ));
    // Each upload of a number is its own file: the tag the record names is the one read.
    let mut stale = String::new();
    st.open_part("bkt", &id, 2, "b1")
        .unwrap()
        .read_to_string(&mut stale)
        .unwrap();
    assert_eq!(stale, "stale");
    // A tag that is not hex names no file.
    assert!(matches!(
        st.open_part("bkt", &id, 2, "../x"),
        Err(StoreError::NoSuchPart(2))
    ));
    st.complete_upload(
        "bkt",
        &id,
        &[(1, "a1".to_owned()), (2, "b2".to_owned())],
        b"env",
    )
    .unwrap();
    assert_eq!(
        st.read_object("bkt", "big/key").unwrap(),
        (b"env".to_vec(), b"one-two".to_vec())
    );
    assert!(st.list_uploads("bkt").unwrap().is_empty());
    assert!(matches!(
        st.upload("bkt", &id),
        Err(StoreError::NoSuchUpload)
    ));
    // Aborted uploads vanish; ids that are not this store's never name a path.
    let other = st.create_upload("bkt", "x", b"s").unwrap();
    st.abort_upload("bkt", &other).unwrap();
    assert!(matches!(
        st.abort_upload("bkt", &other),
        Err(StoreError::NoSuchUpload)
    ));
    for bogus in ["../../etc", "", "x", &"a".repeat(31)] {
        assert!(
            matches!(st.upload("bkt", bogus), Err(StoreError::NoSuchUpload)),
            "{bogus}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
}

#[test]
fn listing_deleting_objects_and_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path());
    let long = "l".repeat(300);
    for k in ["b/2", "a", "b/1", "c", long.as_str(), "é/x"] {
        put(&st, k, b"env", b"data");
    }
    let all = st.list_keys("bkt", "").unwrap();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
    assert_eq!(all.len(), 6);
    assert_eq!(st.list_keys("bkt", "b/").unwrap(), vec!["b/1", "b/2"]);
    assert_eq!(st.list_keys("bkt", "l").unwrap(), vec![long.clone()]);
    assert_eq!(st.list_keys("bkt", "é").unwrap(), vec!["é/x"]);
    assert!(st.list_keys("bkt", "zz").unwrap().is_empty());
    assert!(matches!(
        st.list_keys("nope", ""),
        Err(StoreError::NoSuchBucket)
    ));

    // A bucket with objects or an upload in progress is not deleted.
    assert!(matches!(
        st.delete_bucket("bkt"),
        Err(StoreError::BucketNotEmpty)
    ));
    for k in &all {
        assert!(st.delete_object("bkt", k).unwrap());
        assert!(matches!(
            st.open_object("bkt", k),
            Err(StoreError::NoSuchKey)
        ));
    }
    assert!(!st.delete_object("bkt", "a").unwrap());
    assert!(st.list_keys("bkt", "").unwrap().is_empty());
    let id = st.create_upload("bkt", "k", b"state").unwrap();
    assert!(matches!(
        st.delete_bucket("bkt"),
        Err(StoreError::BucketNotEmpty)
    ));
    st.abort_upload("bkt", &id).unwrap();
    assert_eq!(st.list_buckets().unwrap().len(), 1);
    st.delete_bucket("bkt").unwrap();
    assert!(st.list_buckets().unwrap().is_empty());
    assert!(matches!(st.bucket("bkt"), Err(StoreError::NoSuchBucket)));
    assert!(matches!(
        st.delete_bucket("bkt"),
        Err(StoreError::NoSuchBucket)
    ));
}
