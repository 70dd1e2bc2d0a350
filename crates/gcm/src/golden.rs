//! Golden vectors of sealed stream format v1 (`tests/data/sealed_v1.txt`): sealing with the
//! recorded salt must give the recorded bytes, and opening them must give the plaintext, so a
//! change that breaks data already written fails here. Cases named `fail_…` must be rejected
//! with the error they name.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::buffer::{open_part, seal_part_once_into};
use crate::chunk::PartSealer;
use crate::format::{ChunkSize, PartNumber};
use crate::key::DataKey;
use crate::layout;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sealed_v1.txt");

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

struct Case {
    name: String,
    key: DataKey,
    context: Vec<u8>,
    part: PartNumber,
    chunk: ChunkSize,
    salt: [u8; 32],
    plaintext: Vec<u8>,
    sealed: Vec<u8>,
    expect: Option<String>,
}

fn seal(
    key: &DataKey,
    ctx: &[u8],
    part: PartNumber,
    chunk: ChunkSize,
    salt: [u8; 32],
    pt: &[u8],
) -> Vec<u8> {
    let sealer = PartSealer::with_salt(key, ctx, part, chunk, false, salt);
    let mut out = vec![0u8; layout::sealed_len(pt.len() as u64, chunk).unwrap() as usize];
    seal_part_once_into(&sealer, pt, &mut out).unwrap();
    out
}

fn parse(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for block in text.split("\n\n") {
        let f: BTreeMap<&str, &str> = block
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| l.split_once(" = "))
            .collect();
        if f.is_empty() {
            continue;
        }
        let h = |k: &str| hex::decode(f[k]).unwrap();
        cases.push(Case {
            name: f["name"].to_owned(),
            key: DataKey::from_slice(&h("key")).unwrap(),
            context: f["context"].as_bytes().to_vec(),
            part: PartNumber::new(f["part"].parse().unwrap()).unwrap(),
            chunk: ChunkSize::from_log2(f["chunk_log2"].parse().unwrap()).unwrap(),
            salt: h("salt").try_into().unwrap(),
            plaintext: pattern(f["plaintext_pattern_len"].parse().unwrap()),
            sealed: h("sealed"),
            expect: f.get("expect").map(|s| (*s).to_owned()),
        });
    }
    cases
}

#[test]
fn golden_vectors_v1() {
    let cases = parse(&std::fs::read_to_string(PATH).unwrap());
    assert_eq!(cases.len(), 10);
    for c in &cases {
        let opened = open_part(&c.key, &c.context, c.part, &c.sealed);
        match &c.expect {
            None => {
                let resealed = seal(&c.key, &c.context, c.part, c.chunk, c.salt, &c.plaintext);
                assert_eq!(resealed, c.sealed, "{}: sealing changed", c.name);
                assert_eq!(&opened.unwrap()[..], &c.plaintext[..], "{}", c.name);
            }
            Some(e) => {
                assert!(c.name.starts_with("fail_"));
                assert_eq!(format!("{:?}", opened.unwrap_err()), *e, "{}", c.name);
            }
        }
    }
}

/// Regenerates the file; run by hand only when the format version changes:
/// `cargo test -p s3seal-gcm golden::write -- --ignored`.
#[test]
#[ignore = "writes tests/data/sealed_v1.txt"]
fn write_golden_vectors_v1() {
    let key = DataKey::from_bytes(core::array::from_fn(|i| i as u8));
    let ctx = "arn:aws:s3:::example-bucket/photos/cat.jpg#v=3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY";
    let salt: [u8; 32] = core::array::from_fn(|i| 0xa0 ^ i as u8);
    let c4k = ChunkSize::MIN;
    let mut out = String::from(
        "# s3seal sealed stream format v1: golden vectors (see docs/FORMAT.md).\n\
         # plaintext byte i = i mod 251. `expect` names the error a fail_ case must give.\n",
    );
    let mut add = |name: &str,
                   part: u32,
                   chunk: ChunkSize,
                   len: usize,
                   sealed: Vec<u8>,
                   expect: Option<&str>,
                   c: &str| {
        out.push('\n');
        let _ = writeln!(
            out,
            "name = {name}\nkey = {}\ncontext = {c}\npart = {part}",
            hex::encode(key.as_bytes())
        );
        let _ = writeln!(
            out,
            "chunk_log2 = {}\nsalt = {}\nplaintext_pattern_len = {len}",
            chunk.log2(),
            hex::encode(salt)
        );
        if let Some(e) = expect {
            let _ = writeln!(out, "expect = {e}");
        }
        let _ = writeln!(out, "sealed = {}", hex::encode(sealed));
    };
    let p = |n| PartNumber::new(n).unwrap();
    for (name, part, chunk, len) in [
        ("empty", 0, c4k, 0),
        ("one_byte", 0, c4k, 1),
        ("one_full_chunk", 0, c4k, 4096),
        ("three_chunks", 0, c4k, 2 * 4096 + 17),
        ("multipart_part_2", 2, c4k, 5000),
        ("default_chunk_size", 10_000, ChunkSize::DEFAULT, 70_000),
    ] {
        add(
            name,
            part,
            chunk,
            len,
            seal(&key, ctx.as_bytes(), p(part), chunk, salt, &pattern(len)),
            None,
            ctx,
        );
    }
    let base = seal(&key, ctx.as_bytes(), p(0), c4k, salt, &pattern(5000));
    add(
        "fail_wrong_context",
        0,
        c4k,
        5000,
        base.clone(),
        Some("Format(CommitmentMismatch)"),
        "arn:aws:s3:::example-bucket/other",
    );
    let mut flipped = base.clone();
    flipped[76 + 4112 + 3] ^= 0x80;
    add(
        "fail_bit_flip_in_chunk_1",
        0,
        c4k,
        5000,
        flipped,
        Some("Authentication"),
        ctx,
    );
    add(
        "fail_final_chunk_dropped",
        0,
        c4k,
        5000,
        base[..76 + 4112].to_vec(),
        Some("Format(Truncated)"),
        ctx,
    );
    let mut v2 = base;
    v2[4] = 2;
    add(
        "fail_version_2",
        0,
        c4k,
        5000,
        v2,
        Some("Format(UnsupportedVersion(2))"),
        ctx,
    );
    std::fs::write(PATH, out).unwrap();
}
