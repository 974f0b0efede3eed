//! `-l LEVEL`: logs go to logs/rustnet_YYYY-MM-DD_HH-MM-SS.log, never to the
//! terminal (the TUI owns it). A few lines of our own rather than a logging
//! framework: one file, one format, no configuration.

use crate::sys::fs::{create_new_at, euid, open_dir_nofollow};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

struct FileLogger {
    out: Mutex<BufWriter<File>>,
    level: log::LevelFilter,
}

impl log::Log for FileLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= self.level
    }

    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        if let Ok(mut out) = self.out.lock() {
            let _ =
                writeln!(out, "{} {:5} {}: {}", utc_stamp(SystemTime::now(), true), r.level(), r.target(), r.args());
            let _ = out.flush();
        }
    }

    fn flush(&self) {
        if let Ok(mut out) = self.out.lock() {
            let _ = out.flush();
        }
    }
}

/// UTC calendar time, "YYYY-MM-DD_HH-MM-SS" or "YYYY-MM-DDTHH:MM:SS.mmmZ".
pub fn utc_stamp(t: SystemTime, precise: bool) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if precise {
        format!("{y:04}-{m:02}-{day:02}T{hh:02}:{mm:02}:{ss:02}.{:03}Z", d.subsec_millis())
    } else {
        format!("{y:04}-{m:02}-{day:02}_{hh:02}-{mm:02}-{ss:02}")
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's published algorithm; no date crate needed for this one use).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Starts logging to a new file under logs/; returns its path.
pub fn init(level: log::LevelFilter) -> io::Result<PathBuf> {
    let (file, path) = create_log_file(Path::new("logs"), SystemTime::now())?;
    let logger = FileLogger { out: Mutex::new(BufWriter::new(file)), level };
    log::set_boxed_logger(Box::new(logger)).map_err(io::Error::other)?;
    log::set_max_level(level);
    Ok(path)
}

/// Creates a new log file `rustnet_<stamp>.log` (or `…_N.log` when that
/// name is taken) in `dir`, mode 0600. rustnet may still be root here, in a
/// directory others can reach, so: `dir` is created 0700 if missing, refused
/// if it is a symbolic link, owned by another user (not root) or writable by
/// group or others; the file is created in the opened directory with
/// O_CREAT|O_EXCL|O_NOFOLLOW, so no existing file or link is ever opened.
pub fn create_log_file(dir: &Path, now: SystemTime) -> io::Result<(File, PathBuf)> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    let refuse = |why: &str| io::Error::new(io::ErrorKind::PermissionDenied, format!("{} {why}", dir.display()));
    let d = open_dir_nofollow(dir).map_err(|e| match e.raw_os_error() {
        Some(libc::ELOOP | libc::ENOTDIR) => refuse("is a symbolic link or not a directory: refusing to log there"),
        _ => e,
    })?;
    let m = d.metadata()?;
    if m.mode() & 0o022 != 0 {
        return Err(refuse("is writable by group or others: refusing to log there (chmod go-w)"));
    }
    if m.uid() != euid() && m.uid() != 0 {
        return Err(refuse(&format!("belongs to user {}: refusing to log there", m.uid())));
    }
    let stem = format!("rustnet_{}", utc_stamp(now, false));
    for n in 0..100 {
        let name = if n == 0 { format!("{stem}.log") } else { format!("{stem}_{n}.log") };
        match create_new_at(&d, &name, 0o600) {
            Ok(f) => return Ok((f, dir.join(name))),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free log file name {stem}_N.log in {}", dir.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2024-02-29 is day 19782.
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        let t = UNIX_EPOCH + Duration::from_secs(1_764_067_200);
        assert_eq!(utc_stamp(t, false), "2025-11-25_10-40-00");
    }
}
