//! Where log lines go: stderr normally, a file while the TUI owns the screen (a log line
//! written to the terminal would tear the frame). `main` installs `writer` once.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Mutex, PoisonError};

static LOG_FILE: Mutex<Option<File>> = Mutex::new(None);

/// A log sink that follows the current redirection; `tracing_subscriber` asks for one per
/// event (`.with_writer(txdeploy::tui::log_writer::writer)`).
#[derive(Debug, Default)]
pub struct LogWriter;

pub fn writer() -> LogWriter {
    LogWriter
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut file = LOG_FILE.lock().unwrap_or_else(PoisonError::into_inner);
        match file.as_mut() {
            Some(file) => file.write(buf),
            None => io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut file = LOG_FILE.lock().unwrap_or_else(PoisonError::into_inner);
        match file.as_mut() {
            Some(file) => file.flush(),
            None => io::stderr().flush(),
        }
    }
}

/// Sends log lines to `path` (appended; the folder is created) until `to_stderr`.
pub fn to_file(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    *LOG_FILE.lock().unwrap_or_else(PoisonError::into_inner) = Some(file);
    Ok(())
}

/// Sends log lines to stderr again.
pub fn to_stderr() {
    *LOG_FILE.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_go_to_the_file_while_redirected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("tui.log");
        to_file(&path).unwrap();
        writeln!(writer(), "one line").unwrap();
        to_stderr();
        // After the redirection ends, nothing more reaches the file.
        writeln!(writer(), "to stderr").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one line\n");
    }
}
