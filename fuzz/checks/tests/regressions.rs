//! Every input that ever crashed a fuzz target stays under `fuzz/regressions/<target>/` and is
//! replayed here, through the same check the target runs, by the ordinary `cargo test`.
//! A directory that names no target fails the test (a renamed target must take its inputs
//! along); empty or missing directories are fine.

use std::path::Path;

#[test]
fn every_regression_input_passes_its_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&root).expect("fuzz/regressions exists") {
        let entry = entry.expect("readable");
        if !entry.file_type().expect("file type").is_dir() {
            // README.md and the like.
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let check = s3seal_fuzz_checks::check(&name)
            .unwrap_or_else(|| panic!("fuzz/regressions/{name}: no fuzz target of that name"));
        let mut files: Vec<_> = std::fs::read_dir(entry.path())
            .expect("readable")
            .map(|e| e.expect("readable").path())
            .collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).expect("readable");
            eprintln!("replaying {}", file.display());
            check(&data);
            replayed += 1;
        }
    }
    eprintln!("{replayed} regression inputs replayed");
}

#[test]
fn every_target_has_a_check_and_a_fuzz_target() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"))
            .expect("fuzz/Cargo.toml");
    let bins: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "s3seal-fuzz")
        .collect();
    let checks: Vec<&str> = s3seal_fuzz_checks::TARGETS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(
        bins, checks,
        "fuzz/Cargo.toml [[bin]]s and TARGETS, in order"
    );
}

#[test]
fn the_seeds_pass_their_checks() {
    for (target, _, data) in s3seal_fuzz_checks::seeds::seeds().expect("seeds") {
        let check = s3seal_fuzz_checks::check(target).expect("seeded target exists");
        check(&data);
    }
}
