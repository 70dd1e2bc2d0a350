//! `s3seal-gateway`: an S3 endpoint over an s3seal home directory.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use s3seal_gateway::HomeOptions;
use s3seal_gateway::cli::{ServeArgs, run};

// The `fuzzing` feature of the s3seal crate (a deterministic random source: predictable keys)
// is for fuzz harnesses only: a release build of this binary with it, however it was enabled,
// does not compile.
const _: () = assert!(
    !s3seal::FUZZING_BUILD || cfg!(debug_assertions),
    "the `fuzzing` feature of s3seal makes keys predictable: refusing a release build of this binary with it"
);

/// An S3 endpoint that encrypts every object the way S3 server-side encryption does.
#[derive(Debug, Parser)]
#[command(name = "s3seal-gateway", version)]
struct Args {
    /// The home directory (buckets, objects and the embedded KMS keystore); default
    /// $S3SEAL_HOME, else .s3seal (as the s3seal command).
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Threads of the encryption pool (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Accept a keystore older than the newest one written (a backup restored on purpose).
    #[arg(long)]
    accept_keystore_rollback: bool,
    #[command(flatten)]
    serve: ServeArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = HomeOptions {
        threads: args.threads,
        accept_keystore_rollback: args.accept_keystore_rollback,
        allow_insecure_sse_c: false,
        kms: None,
    };
    let home = args
        .home
        .clone()
        .or_else(|| {
            std::env::var_os("S3SEAL_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(".s3seal"));
    match run(&home, &options, &args.serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("s3seal-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}
