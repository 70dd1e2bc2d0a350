//! dudect (Reparaz, Balasch, Verbauwhede, "Dude, is my code constant time?", 2017) of the
//! comparisons whose timing must not depend on secret data, with `dudect-bencher`: each bench
//! times one call per input, the inputs drawn at random from two classes, and reports the
//! largest Welch t statistic over dudect's percentile crops. |t| < 4.5 is dudect's "no leak
//! detected" at that sample count (larger |t| means the classes' times differ).
//!
//! | bench | Left class | Right class | must be flat? |
//! |---|---|---|---|
//! | `gcm_open_tag_first_vs_last` | tag wrong in byte 0 | tag wrong in byte 15 | yes: where a forged tag first differs must not show |
//! | `gcm_open_right_vs_wrong` | right tag | tag wrong in byte 0 | no: failure is public, and the failure path zeroes the output |
//! | `subtle_tag_eq_first_vs_last` | 16-byte tags differing in byte 0 | … in byte 15 | yes (the compare every backend's open ends with) |
//! | `sse_c_verifier_first_vs_last` | stored verifier MAC wrong in byte 0 | … in byte 31 | yes |
//! | `sse_c_verifier_right_vs_wrong` | the right customer key | a random other key | yes |
//!
//! GCM open goes through the public `s3seal_gcm::Aes256Gcm::open_to` (the machine's automatic
//! backend) on a 1 KiB message; the SSE-C check is `s3seal::policy::KeyVerifier::verify`, the one
//! the engine makes before any SSE-C read. Run (release; results in `benches/README.md`):
//! `cargo bench -p s3seal-benches --bench timing` (`-- --filter NAME` for one bench).

use std::cell::RefCell;
use std::hint::black_box;

use dudect_bencher::ctbench::{BenchFn, BenchMetadata, BenchName, BenchOpts, run_benches_console};
use dudect_bencher::rand::{Rng, RngExt};
use dudect_bencher::{BenchRng, Class, CtRunner};
use s3seal::policy::{CustomerKey, KeyVerifier};
use s3seal_gcm::Aes256Gcm;
use subtle::ConstantTimeEq;

/// Timed calls per bench (both classes together).
const SAMPLES: usize = 1_000_000;
const MSG: usize = 1024;

fn random<const N: usize>(rng: &mut BenchRng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

/// Draws each sample's class first, then its input (`make`), all before any timing (so the
/// drawing never sits next to a timed call), and times `f` on each input, passed through
/// `black_box` so the compiler cannot specialise the call to the class that made the input.
fn measure<I>(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    mut make: impl FnMut(Class, &mut BenchRng) -> I,
    f: impl Fn(&I) -> bool,
) {
    let inputs: Vec<(Class, I)> = (0..SAMPLES)
        .map(|_| {
            let class = if rng.random::<bool>() {
                Class::Left
            } else {
                Class::Right
            };
            (class, make(class, rng))
        })
        .collect();
    for (class, input) in &inputs {
        runner.run_one(*class, || f(black_box(input)));
    }
}

/// A sealed 1 KiB message: key, nonce, ciphertext, tag.
fn sealed(rng: &mut BenchRng) -> (Aes256Gcm, [u8; 12], Vec<u8>, [u8; 16]) {
    let key = Aes256Gcm::new(&random::<32>(rng));
    let nonce = random::<12>(rng);
    let mut msg = vec![0u8; MSG];
    rng.fill_bytes(&mut msg);
    let tag = key
        .seal_in_place_separate_tag(&nonce, b"aad", &mut msg)
        .unwrap_or([0; 16]);
    (key, nonce, msg, tag)
}

/// Times `open_to` of one sealed message with the tag `tag_for(class, right tag)`.
fn gcm_open(runner: &mut CtRunner, rng: &mut BenchRng, tag_for: fn(Class, [u8; 16]) -> [u8; 16]) {
    let (key, nonce, ct, right) = sealed(rng);
    let out = RefCell::new(vec![0u8; MSG]);
    measure(
        runner,
        rng,
        |class, _| tag_for(class, right),
        |tag| {
            key.open_to(&nonce, b"aad", &ct, &mut out.borrow_mut(), tag)
                .is_ok()
        },
    );
}

fn gcm_open_tag_first_vs_last(runner: &mut CtRunner, rng: &mut BenchRng) {
    gcm_open(runner, rng, |class, mut t| {
        match class {
            Class::Left => t[0] ^= 1,
            Class::Right => t[15] ^= 1,
        }
        t
    });
}

fn gcm_open_right_vs_wrong(runner: &mut CtRunner, rng: &mut BenchRng) {
    gcm_open(runner, rng, |class, mut t| {
        if let Class::Right = class {
            t[0] ^= 1;
        }
        t
    });
}

fn subtle_tag_eq_first_vs_last(runner: &mut CtRunner, rng: &mut BenchRng) {
    measure(
        runner,
        rng,
        |class, rng| {
            let a = random::<16>(rng);
            let mut b = a;
            match class {
                Class::Left => b[0] ^= 1,
                Class::Right => b[15] ^= 1,
            }
            (a, b)
        },
        |(a, b)| bool::from(a.ct_eq(b)),
    );
}

fn sse_c_verifier_first_vs_last(runner: &mut CtRunner, rng: &mut BenchRng) {
    let key = CustomerKey::from_bytes(random::<32>(rng));
    let good = key.verifier(random::<32>(rng)).to_bytes();
    // Bytes 32..64 are the MAC: wrong in its first or its last byte.
    let flipped = |at: usize| {
        let mut b = good;
        b[at] ^= 1;
        KeyVerifier::from_bytes(&b)
    };
    let (left, right) = (flipped(32), flipped(63));
    measure(
        runner,
        rng,
        |class, _| match class {
            Class::Left => left.clone(),
            Class::Right => right.clone(),
        },
        |v| v.verify(&key),
    );
}

fn sse_c_verifier_right_vs_wrong(runner: &mut CtRunner, rng: &mut BenchRng) {
    let key = CustomerKey::from_bytes(random::<32>(rng));
    let verifier = key.verifier(random::<32>(rng));
    measure(
        runner,
        rng,
        |class, rng| match class {
            Class::Left => CustomerKey::from_bytes(*key.as_bytes()),
            Class::Right => CustomerKey::from_bytes(random::<32>(rng)),
        },
        |k| verifier.verify(k),
    );
}

/// `dudect-bencher`'s own `main` macro refuses the `--bench` flag `cargo bench` passes; this one
/// takes `--filter NAME`, `--continuous NAME` and `--out FILE` and ignores the rest.
fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let opts = BenchOpts {
        continuous: value("--continuous").is_some(),
        filter: value("--continuous").or_else(|| value("--filter")),
        file_out: value("--out").map(std::path::PathBuf::from),
    };
    let bench = |name: &'static str, seed: u64, benchfn: BenchFn| BenchMetadata {
        name: BenchName(name),
        seed: Some(seed),
        benchfn,
    };
    run_benches_console(
        opts,
        vec![
            bench(
                "gcm_open_tag_first_vs_last",
                0x5eed_0001,
                gcm_open_tag_first_vs_last,
            ),
            bench(
                "gcm_open_right_vs_wrong",
                0x5eed_0002,
                gcm_open_right_vs_wrong,
            ),
            bench(
                "subtle_tag_eq_first_vs_last",
                0x5eed_0003,
                subtle_tag_eq_first_vs_last,
            ),
            bench(
                "sse_c_verifier_first_vs_last",
                0x5eed_0004,
                sse_c_verifier_first_vs_last,
            ),
            bench(
                "sse_c_verifier_right_vs_wrong",
                0x5eed_0005,
                sse_c_verifier_right_vs_wrong,
            ),
        ],
    )
}
