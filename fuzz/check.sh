#!/bin/sh
# CI: the fuzz targets, their shared fixtures and the seed generator still compile against the
# library crates. Stable toolchain, no cargo-fuzz needed. The build script of libfuzzer-sys
# compiles libFuzzer with the system C++ compiler (c++/g++), so one must be installed.
set -eu
cd "$(dirname "$0")/.."
exec cargo check --manifest-path fuzz/Cargo.toml --all-targets --locked
