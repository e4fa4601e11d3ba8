//! build.rs: builds the Lambda handlers in `lambda-bundles/`, checks the binary can run on
//! `provided.al2023`, zips it deterministically and hands the zip and its sha256 to
//! `src/bundle.rs`.
//!
//! The handler crate is built by a nested `cargo build --release --locked` into one inner
//! target dir shared by every outer profile (`<target>/lambda-bundles`), so `check`, `build`,
//! `clippy` and `test` pay the ~4 minute handler build once between them (BUILD.md). Set
//! `TXDEPLOY_BUNDLE_ZIP=/path/to/bundle.zip` to embed a prebuilt zip instead.

use std::collections::BTreeSet;
use std::env;
use std::ffi::OsString;
use std::fs;
use std::io::{Cursor, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use object::Endianness;
use object::elf::{EM_AARCH64, EM_X86_64, FileHeader64};
use object::read::elf::FileHeader;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// The Lambda target: `provided.al2023` ships glibc 2.34.
const TARGET_TRIPLE: &str = "x86_64-unknown-linux-gnu";
const MAX_GLIBC: (u32, u32) = (2, 34);
const ENTRY_NAME: &str = "bootstrap";
const ESCAPE_HATCH: &str = "TXDEPLOY_BUNDLE_ZIP";

type BuildResult<T> = Result<T, String>;

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> BuildResult<()> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={ESCAPE_HATCH}");
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env_var("OUT_DIR")?);

    let prebuilt = env::var_os(ESCAPE_HATCH).filter(|v| !v.is_empty());
    // Lets the reproducibility test tell a bundle built here from one handed in.
    let origin = if prebuilt.is_some() {
        "prebuilt"
    } else {
        "built"
    };
    println!("cargo:rustc-env=TXDEPLOY_BUNDLE_ORIGIN={origin}");
    let zip_bytes = match prebuilt {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", Path::new(&path).display());
            fs::read(&path).map_err(|e| {
                format!(
                    "cannot read `{ESCAPE_HATCH}`={}: {e}; point it at a bundle zip or unset it",
                    Path::new(&path).display()
                )
            })?
        }
        None => {
            let handlers = manifest_dir.join("lambda-bundles");
            for watched in ["Cargo.toml", "Cargo.lock", "src"] {
                println!(
                    "cargo:rerun-if-changed={}",
                    handlers.join(watched).display()
                );
            }
            let binary = build_handlers(&handlers, &out_dir)?;
            let bytes = fs::read(&binary)
                .map_err(|e| format!("cannot read the built `{}`: {e}", binary.display()))?;
            zip_bootstrap(&bytes)?
        }
    };

    // Whatever its origin, the zip must hold exactly a runnable `bootstrap`.
    let bootstrap = read_single_entry(&zip_bytes)?;
    let architecture = check_elf(&bootstrap)?;

    let digest = Sha256::digest(&zip_bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let code_sha256 = base64::engine::general_purpose::STANDARD.encode(digest);
    write_if_changed(&out_dir.join("bundle.zip"), &zip_bytes)?;
    println!("cargo:rustc-env=TXDEPLOY_BUNDLE_SHA256_HEX={hex}");
    println!("cargo:rustc-env=TXDEPLOY_BUNDLE_CODE_SHA256={code_sha256}");
    println!("cargo:rustc-env=TXDEPLOY_BUNDLE_ARCH={architecture}");
    Ok(())
}

fn env_var(name: &str) -> BuildResult<String> {
    env::var(name).map_err(|_| format!("cargo did not set `{name}` for the build script"))
}

/// The outer target dir: `CARGO_TARGET_DIR` if set, else the ancestor of `OUT_DIR` that
/// cargo marked with `CACHEDIR.TAG`.
fn outer_target_dir(out_dir: &Path) -> BuildResult<PathBuf> {
    if let Some(dir) = env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("cannot find the target dir above `{}`", out_dir.display()))
}

/// Environment variables the outer cargo sets for build scripts that would leak into the
/// nested build. An inherited empty `CARGO_ENCODED_RUSTFLAGS` silently overrides
/// RUSTFLAGS, and `RUSTC_WORKSPACE_WRAPPER` is clippy-driver under `cargo clippy`.
fn must_clear(name: &str) -> bool {
    const KEEP: [&str; 2] = ["CARGO_HOME", "CARGO_MAKEFLAGS"];
    const KEEP_PREFIXES: [&str; 3] = ["CARGO_NET_", "CARGO_HTTP_", "CARGO_REGISTRIES_"];
    const CLEAR: [&str; 11] = [
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_LINKER",
        "TARGET",
        "HOST",
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
        "NUM_JOBS",
        "OUT_DIR",
    ];
    if name.starts_with("CARGO_") {
        !(KEEP.contains(&name) || KEEP_PREFIXES.iter().any(|p| name.starts_with(p)))
    } else {
        CLEAR.contains(&name)
    }
}

/// Runs the nested release build and returns the stripped binary's path.
fn build_handlers(handlers: &Path, out_dir: &Path) -> BuildResult<PathBuf> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let inner_target = outer_target_dir(out_dir)?.join("lambda-bundles");
    fs::create_dir_all(&inner_target)
        .map_err(|e| format!("cannot create `{}`: {e}", inner_target.display()))?;
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .ok_or("neither `CARGO_HOME` nor `HOME` is set")?;
    // Registry and build-output paths end up in panic messages; remapping them makes the
    // bytes independent of CARGO_HOME and the target dir, so the sha256 is reproducible.
    // The handler crate's own files need no remap: cargo passes them to rustc relative to
    // `lambda-bundles/` (`src/main.rs`). Remapping the checkout folder too would make the
    // flags, and so every dependency's fingerprint, differ per checkout, and each worktree
    // sharing this inner target dir would rebuild all ~260 crates (4 minutes).
    // Both the given and the canonical spelling, in case a symlink is involved.
    let mut rustflags = Vec::new();
    for (from, to) in [(cargo_home, "/cargo"), (inner_target.clone(), "/target")] {
        let canonical = fs::canonicalize(&from).unwrap_or_else(|_| from.clone());
        rustflags.push(format!("--remap-path-prefix={}={to}", from.display()));
        if canonical != from {
            rustflags.push(format!("--remap-path-prefix={}={to}", canonical.display()));
        }
    }

    let mut command = Command::new(&cargo);
    for (name, _) in env::vars_os() {
        if name.to_str().is_some_and(must_clear) {
            command.env_remove(&name);
        }
    }
    // Build output goes to stderr: the build script's stdout is read by cargo as directives.
    let stdout = Stdio::from(
        std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| format!("cannot duplicate stderr for the nested cargo: {e}"))?,
    );
    let status = command
        .current_dir(handlers)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\u{1f}"))
        .args([
            "build",
            "--release",
            "--locked",
            "--bin",
            ENTRY_NAME,
            "--target",
            TARGET_TRIPLE,
        ])
        .arg("--target-dir")
        .arg(&inner_target)
        .stdout(stdout)
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", Path::new(&cargo).display()))?;
    if !status.success() {
        return Err(format!(
            "building the Lambda handlers in `{}` failed ({status}); fix the error above, or set \
             `{ESCAPE_HATCH}` to a prebuilt bundle zip",
            handlers.display()
        ));
    }
    Ok(inner_target
        .join(TARGET_TRIPLE)
        .join("release")
        .join(ENTRY_NAME))
}

/// One entry `bootstrap`, mode 0755, dated 1980-01-01 00:00, deflate level 9: same binary,
/// same bytes.
fn zip_bootstrap(binary: &[u8]) -> BuildResult<Vec<u8>> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755)
        .large_file(false);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer
        .start_file(ENTRY_NAME, options)
        .map_err(|e| format!("zip: {e}"))?;
    writer.write_all(binary).map_err(|e| format!("zip: {e}"))?;
    Ok(writer
        .finish()
        .map_err(|e| format!("zip: {e}"))?
        .into_inner())
}

fn read_single_entry(zip_bytes: &[u8]) -> BuildResult<Vec<u8>> {
    let mut archive = ZipArchive::new(Cursor::new(zip_bytes))
        .map_err(|e| format!("the bundle is not a zip archive: {e}"))?;
    let names: Vec<String> = archive
        .file_names_raw()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    if names != [ENTRY_NAME] {
        return Err(format!(
            "the bundle must contain exactly `{ENTRY_NAME}`, it contains {names:?}"
        ));
    }
    let mut entry = archive.by_index(0).map_err(|e| format!("zip: {e}"))?;
    if entry.unix_mode().map(|mode| mode & 0o111) != Some(0o111) {
        return Err(format!(
            "`{ENTRY_NAME}` in the bundle is not executable: Lambda could not start it"
        ));
    }
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| format!("zip: {e}"))?;
    Ok(bytes)
}

/// Checks a 64-bit ELF for a Lambda architecture and no glibc symbol newer than 2.34;
/// returns the Lambda architecture name.
fn check_elf(binary: &[u8]) -> BuildResult<&'static str> {
    let elf_error =
        |e: object::read::Error| format!("`{ENTRY_NAME}` is not a valid 64-bit ELF: {e}");
    let header = FileHeader64::<Endianness>::parse(binary).map_err(elf_error)?;
    let endian = header.endian().map_err(elf_error)?;
    let architecture = match header.e_machine(endian) {
        EM_X86_64 => "x86_64",
        EM_AARCH64 => "arm64",
        other => {
            return Err(format!(
                "`{ENTRY_NAME}` is built for ELF machine {other}, not x86_64 or arm64"
            ));
        }
    };
    let sections = header.sections(endian, binary).map_err(elf_error)?;
    let mut versions = BTreeSet::new();
    if let Some((mut needs, link)) = sections.gnu_verneed(endian, binary).map_err(elf_error)? {
        let strings = sections.strings(endian, binary, link).map_err(elf_error)?;
        while let Some((_, mut aux)) = needs.next().map_err(elf_error)? {
            while let Some(vernaux) = aux.next().map_err(elf_error)? {
                let name = vernaux.name(endian, strings).map_err(elf_error)?;
                versions.insert(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    let too_new: Vec<&String> = versions
        .iter()
        .filter(|v| glibc_version(v).is_some_and(|version| version > MAX_GLIBC))
        .collect();
    if !too_new.is_empty() {
        return Err(format!(
            "`{ENTRY_NAME}` needs {too_new:?}, but provided.al2023 has glibc {}.{}: build on an \
             older glibc or use cargo-zigbuild with `{TARGET_TRIPLE}.2.34`",
            MAX_GLIBC.0, MAX_GLIBC.1
        ));
    }
    Ok(architecture)
}

/// `GLIBC_2.34` -> (2, 34); `GLIBC_PRIVATE` and other libraries' versions -> None.
fn glibc_version(name: &str) -> Option<(u32, u32)> {
    let mut parts = name.strip_prefix("GLIBC_")?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

/// Rewrites the file only when the bytes differ, so an unchanged bundle does not make the
/// crate that embeds it recompile.
fn write_if_changed(path: &Path, bytes: &[u8]) -> BuildResult<()> {
    if fs::read(path).is_ok_and(|existing| existing == bytes) {
        return Ok(());
    }
    fs::write(path, bytes).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}
