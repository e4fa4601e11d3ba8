//! `Bundle`: the Lambda code embedded in this binary: one deterministic zip holding the
//! `bootstrap` of all four handlers, with its sha256 as Lambda reports it.
//!
//! `build.rs` builds `lambda-bundles/` (or takes `TXDEPLOY_BUNDLE_ZIP`) and writes the zip to
//! `OUT_DIR`; the deployer compares `code_sha256` with a function's `CodeSha256` and uploads
//! only when they differ.

use std::fmt;

/// The instruction set of the embedded `bootstrap`, read from its ELF header at build time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    /// The value of Lambda's `Architectures` field.
    pub fn as_lambda_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_lambda_str())
    }
}

/// The embedded Lambda deployment package.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Bundle {
    /// The zip, uploaded as `ZipFile`.
    pub zip: &'static [u8],
    /// sha256 of `zip`, lower-case hex (for humans, logs and release records).
    pub sha256_hex: &'static str,
    /// sha256 of `zip`, standard base64: equal to Lambda's `CodeSha256` for this code.
    pub code_sha256: &'static str,
    pub architecture: Architecture,
    /// The Lambda runtime the bundle is built for.
    pub runtime: &'static str,
}

impl fmt::Debug for Bundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bundle")
            .field("zip_len", &self.zip.len())
            .field("sha256_hex", &self.sha256_hex)
            .field("code_sha256", &self.code_sha256)
            .field("architecture", &self.architecture)
            .field("runtime", &self.runtime)
            .finish()
    }
}

/// The environment variable that tells `bootstrap` which handler to serve.
pub const HANDLER_ENV_VAR: &str = "TXDEPLOY_HANDLER";

/// Lambda's `Handler` field; `provided.al2023` ignores it but the API requires a value.
pub const LAMBDA_HANDLER: &str = "bootstrap";

/// The `TXDEPLOY_HANDLER` values, one per function: the functions' logical names.
pub const HANDLERS: [&str; 4] = [
    "transaction-validator",
    "notification-handler",
    "analytics-processor",
    "reporting-processor",
];

static ZIP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bundle.zip"));

const ARCHITECTURE: Architecture = match env!("TXDEPLOY_BUNDLE_ARCH").as_bytes() {
    b"arm64" => Architecture::Arm64,
    _ => Architecture::X86_64,
};

/// The bundle compiled into this binary.
pub fn embedded() -> Bundle {
    Bundle {
        zip: ZIP,
        sha256_hex: env!("TXDEPLOY_BUNDLE_SHA256_HEX"),
        code_sha256: env!("TXDEPLOY_BUNDLE_CODE_SHA256"),
        architecture: ARCHITECTURE,
        runtime: "provided.al2023",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::{Cursor, Read};

    use base64::Engine;
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn the_zip_holds_exactly_an_executable_bootstrap() {
        let bundle = embedded();
        let mut archive = zip::ZipArchive::new(Cursor::new(bundle.zip)).unwrap();
        assert_eq!(archive.file_names_raw().collect::<Vec<_>>(), [b"bootstrap"]);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.unix_mode().map(|mode| mode & 0o777), Some(0o755));
        assert_eq!(entry.compression(), zip::CompressionMethod::Deflated);
        let modified = entry.last_modified().unwrap();
        assert_eq!(
            (modified.year(), modified.month(), modified.day()),
            (1980, 1, 1)
        );
        assert_eq!(
            (modified.hour(), modified.minute(), modified.second()),
            (0, 0, 0)
        );
        let mut binary = Vec::new();
        entry.read_to_end(&mut binary).unwrap();
        assert_eq!(&binary[..4], b"\x7fELF");
        // ELF e_machine at offset 18: 62 is x86_64, 183 is aarch64.
        let machine = u16::from_le_bytes([binary[18], binary[19]]);
        let expected = match bundle.architecture {
            Architecture::X86_64 => 62,
            Architecture::Arm64 => 183,
        };
        assert_eq!(machine, expected);
    }

    /// Same sources, same bytes: the bundle built on this machine (CI builds from a clean
    /// clone on a fresh machine) must have the sha256 recorded when the handlers last changed.
    #[test]
    fn a_clean_build_reproduces_the_recorded_bundle_sha256() {
        if env!("TXDEPLOY_BUNDLE_ORIGIN") != "built" {
            eprintln!("skipped: the bundle was handed in through TXDEPLOY_BUNDLE_ZIP");
            return;
        }
        let recorded = include_str!("../lambda-bundles/bundle.sha256").trim();
        let built = embedded().sha256_hex;
        assert_eq!(
            built, recorded,
            "the bundle built here differs from the recorded one: if you changed \
             lambda-bundles/, record the new hash with `echo {built} > \
             lambda-bundles/bundle.sha256` and commit it; if you did not, the build is not \
             reproducible"
        );
    }

    #[test]
    fn the_shas_are_those_of_the_embedded_bytes() {
        let bundle = embedded();
        let digest = Sha256::digest(bundle.zip);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(bundle.sha256_hex, hex);
        assert_eq!(
            bundle.code_sha256,
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        assert_eq!(bundle.code_sha256.len(), 44);
    }

    #[test]
    fn the_bundle_fits_lambda_and_names_its_runtime() {
        let bundle = embedded();
        // Lambda takes up to 50 MB zipped for a direct upload; the target is 8 MB.
        assert!(
            bundle.zip.len() <= 8 * 1024 * 1024,
            "{} bytes",
            bundle.zip.len()
        );
        assert_eq!(bundle.runtime, "provided.al2023");
        assert!(["x86_64", "arm64"].contains(&bundle.architecture.as_lambda_str()));
        let debug = format!("{bundle:?}");
        assert!(debug.contains("zip_len") && debug.len() < 300, "{debug}");
    }
}
