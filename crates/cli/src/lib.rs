//! The library half of `s3seal-cli`: the pieces of the `s3seal` command's own file format that
//! other crates (the fuzz checks) need without running the command. The command itself is the
//! `s3seal` binary (see the crate's README).

pub mod sealed_header;
