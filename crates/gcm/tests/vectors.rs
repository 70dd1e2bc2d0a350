//! Known-answer tests: NIST CAVP and Wycheproof AES-256-GCM vectors, run against every backend
//! this CPU supports, in the same test run. Sources and hashes: `tests/data/SOURCES.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "test code: a panic is the failure report; lengths are small"
)]

use s3seal_gcm::{Aes256Gcm, BackendKind};
use sha2::{Digest, Sha256};

fn data(name: &str, sha256: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        sha256,
        "{name} is not the vendored file"
    );
    String::from_utf8(bytes).unwrap()
}

fn backends() -> Vec<BackendKind> {
    let all: Vec<_> = BackendKind::ALL
        .iter()
        .copied()
        .filter(|b| b.is_available())
        .collect();
    assert!(all.contains(&BackendKind::Portable));
    all
}

/// One CAVP case: the section header values and the `Name = value` lines.
struct Case {
    iv_bits: u32,
    tag_bits: u32,
    fields: std::collections::HashMap<String, String>,
    fail: bool,
}

fn parse_rsp(text: &str) -> Vec<Case> {
    let (mut iv_bits, mut tag_bits) = (0, 0);
    let mut cases = Vec::new();
    let mut cur: Option<Case> = None;
    for line in text.lines().map(str::trim) {
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (k, v) = h.split_once(" = ").unwrap();
            match k {
                "IVlen" => iv_bits = v.parse().unwrap(),
                "Taglen" => tag_bits = v.parse().unwrap(),
                _ => {}
            }
        } else if line == "FAIL" {
            cur.as_mut().unwrap().fail = true;
        } else if let Some((k, v)) = line.split_once('=') {
            let (k, v) = (k.trim().to_owned(), v.trim().to_owned());
            if k == "Count" {
                cases.extend(cur.take());
                cur = Some(Case {
                    iv_bits,
                    tag_bits,
                    fields: Default::default(),
                    fail: false,
                });
            }
            if let Some(c) = cur.as_mut() {
                c.fields.insert(k, v);
            }
        }
    }
    cases.extend(cur);
    cases
        .into_iter()
        .filter(|c| c.iv_bits == 96 && c.tag_bits == 128)
        .collect()
}

fn h(c: &Case, k: &str) -> Vec<u8> {
    hex::decode(&c.fields[k]).unwrap()
}

#[test]
fn nist_cavp_gcm_encrypt_ext_iv_256() {
    let text = data(
        "gcmEncryptExtIV256.rsp",
        "4448b4998c3f58cd9f5542ddf7c573189a721ff3d3ac24cd5177bb4910a787f8",
    );
    let cases = parse_rsp(&text);
    assert_eq!(cases.len(), 375);
    for backend in backends() {
        for c in &cases {
            let key: [u8; 32] = h(c, "Key").try_into().unwrap();
            let iv: [u8; 12] = h(c, "IV").try_into().unwrap();
            let aead = Aes256Gcm::with_backend(&key, backend).unwrap();
            let mut buf = h(c, "PT");
            let tag = aead
                .seal_in_place_separate_tag(&iv, &h(c, "AAD"), &mut buf)
                .unwrap();
            assert_eq!(buf, h(c, "CT"), "{backend:?} Count {}", c.fields["Count"]);
            assert_eq!(
                tag.to_vec(),
                h(c, "Tag"),
                "{backend:?} Count {}",
                c.fields["Count"]
            );
        }
    }
}

#[test]
fn nist_cavp_gcm_decrypt_256() {
    let text = data(
        "gcmDecrypt256.rsp",
        "ed318735a517d5a85c82d2846c23dcf56e57a352fb0f0a163d9e7617a7bd12ad",
    );
    let cases = parse_rsp(&text);
    assert_eq!(cases.len(), 375);
    assert_eq!(cases.iter().filter(|c| c.fail).count(), 191);
    for backend in backends() {
        let (mut opened, mut rejected) = (0, 0);
        for c in &cases {
            let key: [u8; 32] = h(c, "Key").try_into().unwrap();
            let iv: [u8; 12] = h(c, "IV").try_into().unwrap();
            let tag: [u8; 16] = h(c, "Tag").try_into().unwrap();
            let aead = Aes256Gcm::with_backend(&key, backend).unwrap();
            let mut buf = h(c, "CT");
            let r = aead.open_in_place(&iv, &h(c, "AAD"), &mut buf, &tag);
            if c.fail {
                assert!(
                    r.is_err(),
                    "{backend:?} Count {} must fail",
                    c.fields["Count"]
                );
                assert!(buf.iter().all(|&b| b == 0), "output not zeroed on failure");
                rejected += 1;
            } else {
                r.unwrap();
                assert_eq!(buf, h(c, "PT"), "{backend:?} Count {}", c.fields["Count"]);
                opened += 1;
            }
        }
        assert_eq!((opened, rejected), (184, 191));
    }
}

#[test]
fn wycheproof_aes_gcm_256_iv96() {
    let text = data(
        "wycheproof_aes_gcm_test.json",
        "985e5ecc172e181eaf49e89508b9470dcf478002eb7e8559c707eb42dc97dfe7",
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for backend in backends() {
        let (mut valid, mut invalid) = (0, 0);
        for g in json["testGroups"].as_array().unwrap() {
            if g["keySize"] != 256 || g["ivSize"] != 96 || g["tagSize"] != 128 {
                continue;
            }
            for t in g["tests"].as_array().unwrap() {
                let hx = |k: &str| hex::decode(t[k].as_str().unwrap()).unwrap();
                let key: [u8; 32] = hx("key").try_into().unwrap();
                let iv: [u8; 12] = hx("iv").try_into().unwrap();
                let tag: [u8; 16] = hx("tag").try_into().unwrap();
                let aead = Aes256Gcm::with_backend(&key, backend).unwrap();
                let id = &t["tcId"];
                let mut ct = hx("ct");
                let opened = aead.open_in_place(&iv, &hx("aad"), &mut ct, &tag);
                if t["result"] == "invalid" {
                    assert!(opened.is_err(), "{backend:?} tcId {id} must fail");
                    invalid += 1;
                } else {
                    opened.unwrap_or_else(|e| panic!("{backend:?} tcId {id}: {e}"));
                    assert_eq!(ct, hx("msg"), "{backend:?} tcId {id}");
                    let mut pt = hx("msg");
                    let t2 = aead
                        .seal_in_place_separate_tag(&iv, &hx("aad"), &mut pt)
                        .unwrap();
                    assert_eq!(
                        (pt, t2.to_vec()),
                        (hx("ct"), tag.to_vec()),
                        "{backend:?} tcId {id}"
                    );
                    valid += 1;
                }
            }
        }
        assert_eq!(valid + invalid, 66, "{backend:?}");
    }
}
