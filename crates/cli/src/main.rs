#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod bench;
mod buckets;
mod demo;
mod error;
mod fsio;
mod headers;
mod inspect;
mod keys;
mod kms_args;
mod limits;
mod objects;
mod out;
mod progress;
mod sealed_file;
mod store;

// The `fuzzing` feature of the s3seal crate (a deterministic random source: predictable keys)
// is for fuzz harnesses only: a release build of this binary with it, however it was enabled,
// does not compile.
const _: () = assert!(
    !s3seal::FUZZING_BUILD || cfg!(debug_assertions),
    "the `fuzzing` feature of s3seal makes keys predictable: refusing a release build of this binary with it"
);

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::Result;
use crate::headers::{EncryptionFlags, read_headers};
use crate::objects::PutOptions;
use crate::out::print_headers;
use crate::store::Home;

/// s3seal: encrypt objects and files the way Amazon S3 server-side encryption does.
#[derive(Debug, Parser)]
#[command(name = "s3seal", version, about)]
struct Cli {
    /// Home directory: keystore, buckets, objects (default: $S3SEAL_HOME, else ./.s3seal).
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Engine threads (default: one per core).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Open a keystore older than the newest one written (an older backup restored on purpose;
    /// keys created since are lost).
    #[arg(long, global = true)]
    accept_keystore_rollback: bool,
    #[command(flatten)]
    kms: kms_args::KmsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage KMS keys in the local keystore.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Create buckets and set or get their default encryption.
    #[command(subcommand)]
    Bucket(buckets::BucketCommand),
    /// PutObject: encrypt FILE (or - for standard input) into BUCKET/KEY.
    Put {
        /// BUCKET/KEY.
        target: String,
        /// The input file, or - for standard input.
        file: PathBuf,
        #[command(flatten)]
        flags: EncryptionFlags,
        /// Upload in parts of this size (e.g. 8MiB) when the input is larger: a multipart upload.
        #[arg(long, value_name = "N", value_parser = parse_size)]
        part_size: Option<u64>,
    },
    /// GetObject: decrypt BUCKET/KEY (or a range of it) to standard output or -o FILE.
    Get {
        /// BUCKET/KEY.
        target: String,
        /// Output file (default: standard output); only created if the read succeeds.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// A byte range, `bytes=A-B`, `bytes=A-` or `bytes=-N`.
        #[arg(long, conflicts_with = "part_number")]
        range: Option<String>,
        /// One part of a multipart object (1 = all of a single-PUT object).
        #[arg(long, value_name = "N")]
        part_number: Option<u32>,
        /// SSE-C: the 32-byte customer key the object was written with.
        #[arg(long, value_name = "FILE")]
        sse_c_key_file: Option<PathBuf>,
    },
    /// HeadObject: print BUCKET/KEY's encryption headers and length.
    Head {
        /// BUCKET/KEY.
        target: String,
        /// SSE-C: the 32-byte customer key.
        #[arg(long, value_name = "FILE")]
        sse_c_key_file: Option<PathBuf>,
        /// One part of a multipart object: its length and the parts count.
        #[arg(long, value_name = "N")]
        part_number: Option<u32>,
    },
    /// CopyObject: SRC to DST, encrypted as the flags (or DST's bucket default) say.
    Copy {
        /// Source BUCKET/KEY.
        src: String,
        /// Destination BUCKET/KEY.
        dst: String,
        #[command(flatten)]
        flags: EncryptionFlags,
        /// SSE-C: the source object's 32-byte key.
        #[arg(long, value_name = "FILE")]
        copy_source_sse_c_key_file: Option<PathBuf>,
    },
    /// UpdateObjectEncryption: rewrap BUCKET/KEY's data key under another KMS key, in place.
    Rewrap {
        /// BUCKET/KEY.
        target: String,
        /// The new KMS key.
        #[arg(long, value_name = "ID")]
        kms_key: String,
        /// aws:kms (default) or aws:kms:dsse.
        #[arg(long, value_name = "ALG", default_value = "aws:kms")]
        sse: String,
        /// The object uses an S3 Bucket Key.
        #[arg(long)]
        bucket_key: bool,
    },
    /// Encrypt a file into one self-contained sealed file.
    Encrypt {
        /// Input (default: standard input).
        #[arg(short, long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// Output (default: standard output).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        flags: EncryptionFlags,
    },
    /// Decrypt a sealed file.
    Decrypt {
        /// Input (default: standard input).
        #[arg(short, long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// Output (default: standard output); only created if the whole file authenticates.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// SSE-C: the 32-byte key the file was encrypted with.
        #[arg(long, value_name = "FILE")]
        sse_c_key_file: Option<PathBuf>,
    },
    /// Describe a sealed file or BUCKET/KEY without decrypting it.
    Inspect {
        /// A sealed file, or BUCKET/KEY in the home.
        what: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Run every mode end to end in a temporary home, checking every byte.
    Demo(demo::DemoArgs),
    /// Throughput per mode, 1 and N threads.
    Bench(bench::BenchArgs),
    /// Serve the home as an S3 endpoint (the s3seal-gateway) until interrupted.
    Serve(s3seal_gateway::cli::ServeArgs),
}

/// Parses a size: bytes, or with a K/M/G (KiB/MiB/GiB, binary) suffix.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("not a size: {s:?}"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("unknown size unit in {s:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size too large: {s:?}"))
}

fn home_dir(cli: &Cli) -> PathBuf {
    cli.home
        .clone()
        .or_else(|| {
            std::env::var_os("S3SEAL_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(".s3seal"))
}

/// Checks the key of a `BUCKET/KEY` argument against S3's 1,024-byte limit before anything is
/// read or written (`KeyTooLongError`); the bucket name is checked where the bucket is opened.
fn check_target(target: &str) -> Result<()> {
    match target.split_once('/') {
        Some((_, key)) if !key.is_empty() => Ok(s3seal_policy::check_object_key(key)?),
        _ => Ok(()),
    }
}

fn run(cli: &Cli) -> Result<()> {
    let open = || {
        let dir = home_dir(cli);
        let kms = cli.kms.settings(&dir)?;
        Home::open_with(&dir, cli.threads, cli.accept_keystore_rollback, &kms)
    };
    let workers = cli
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .clamp(1, 4);
    match &cli.command {
        Command::Keys(k) => keys::run(&open()?, k),
        Command::Bucket(b) => buckets::run(&open()?, b),
        Command::Put {
            target,
            file,
            flags,
            part_size,
        } => {
            check_target(target)?;
            limits::check_part_size(*part_size, file)?;
            let home = open()?;
            let opts = PutOptions {
                flags: flags.clone(),
                part_size: *part_size,
                workers,
                quiet: cli.quiet,
            };
            print_headers(&objects::put(
                &home,
                &home.engine()?,
                target,
                Some(file),
                &opts,
            )?)?;
            Ok(())
        }
        Command::Get {
            target,
            output,
            range,
            part_number,
            sse_c_key_file,
        } => {
            check_target(target)?;
            let home = open()?;
            let what = match (range.as_deref(), *part_number) {
                (_, Some(n)) => objects::Reading::Part(n),
                (Some(r), None) => objects::Reading::Range(r),
                (None, None) => objects::Reading::Whole,
            };
            let h = objects::get_with(
                &home,
                &home.engine()?,
                target,
                output.as_deref(),
                what,
                sse_c_key_file.as_deref(),
                cli.quiet,
            )?;
            if output.as_deref().is_some_and(|p| p != Path::new("-")) {
                print_headers(&h)?;
            }
            Ok(())
        }
        Command::Head {
            target,
            sse_c_key_file,
            part_number,
        } => {
            check_target(target)?;
            let home = open()?;
            print_headers(&objects::head(
                &home,
                &home.engine()?,
                target,
                sse_c_key_file.as_deref(),
                *part_number,
            )?)?;
            Ok(())
        }
        Command::Copy {
            src,
            dst,
            flags,
            copy_source_sse_c_key_file,
        } => {
            check_target(src)?;
            check_target(dst)?;
            let home = open()?;
            print_headers(&objects::copy(
                &home,
                &home.engine()?,
                src,
                dst,
                flags,
                copy_source_sse_c_key_file.as_deref(),
            )?)?;
            Ok(())
        }
        Command::Rewrap {
            target,
            kms_key,
            sse,
            bucket_key,
        } => {
            check_target(target)?;
            let home = open()?;
            let flags = EncryptionFlags {
                sse: Some(sse.clone()),
                kms_key: Some(kms_key.clone()),
                bucket_key: bucket_key.then_some(true),
                ..EncryptionFlags::default()
            };
            print_headers(&objects::rewrap(&home, &home.engine()?, target, &flags)?)?;
            Ok(())
        }
        Command::Encrypt {
            input,
            output,
            flags,
        } => {
            let home = open()?;
            let h = sealed_file::encrypt(
                &home.file_engine()?,
                &home.account(),
                &flags.headers()?,
                input.as_deref(),
                output.as_deref(),
                cli.quiet,
            )?;
            if output.as_deref().is_some_and(|p| p != Path::new("-")) {
                print_headers(&h)?;
            }
            Ok(())
        }
        Command::Decrypt {
            input,
            output,
            sse_c_key_file,
        } => {
            let home = open()?;
            let headers = read_headers(sse_c_key_file.as_deref())?;
            sealed_file::decrypt(
                &home.engine()?,
                &home.account(),
                &headers,
                input.as_deref(),
                output.as_deref(),
                cli.quiet,
            )?;
            Ok(())
        }
        Command::Inspect { what, json } => inspect::inspect(open, what, *json),
        Command::Demo(args) => demo::run(args, cli.threads, cli.quiet),
        Command::Bench(args) => bench::run(args, cli.threads, cli.quiet),
        Command::Serve(args) => {
            let options = s3seal_gateway::HomeOptions {
                threads: cli.threads,
                accept_keystore_rollback: cli.accept_keystore_rollback,
                allow_insecure_sse_c: false,
                kms: Some(cli.kms.settings(&home_dir(cli))?),
            };
            s3seal_gateway::cli::run(&home_dir(cli), &options, args)
                .map_err(|e| error::CliError::Format(e.to_string()))
        }
    }
}

/// The exit status after a write to a closed pipe: 128 + SIGPIPE, what a shell reports for a
/// program killed by SIGPIPE (Rust ignores the signal, so the write fails with EPIPE instead).
const EXIT_BROKEN_PIPE: u8 = 141;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli).and_then(|()| out::flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`s3seal keys list | head -1`): nothing to say to anyone.
        Err(e) if e.is_broken_pipe() => ExitCode::from(EXIT_BROKEN_PIPE),
        Err(e) => {
            // Never panics, even with standard error closed.
            out::warn_line(format_args!("error: {e}"));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("5MiB"), Ok(5 << 20));
        assert_eq!(parse_size("8m"), Ok(8 << 20));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("1x").is_err());
        assert!(parse_size("").is_err());
    }
}
