//! `--pcap-export` around a session: refused when it names the input, and
//! its outcome reported once the session is over (after the screen is
//! restored, so nothing is written over the TUI).

use crate::capture::export::ExportOutcome;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Refuses an export path that is the `--read` input itself (the same file
/// by another name, a hard link or a symlink): creating the export would
/// truncate the capture before it is read. Checked before anything is
/// opened for writing.
/// `-` is standard input (which may be redirected from the export file).
pub fn check_not_input(input: &Path, export: &Path) -> Result<(), String> {
    let input_meta = if input.as_os_str() == "-" { stdin_metadata() } else { std::fs::metadata(input) };
    let (Ok(i), Ok(e)) = (input_meta, std::fs::metadata(export)) else {
        // An export that does not exist yet cannot be the input; a missing
        // input is reported by the reader.
        return Ok(());
    };
    if i.dev() == e.dev() && i.ino() == e.ino() && i.file_type().is_file() {
        return Err(format!(
            "--pcap-export {} is the --read input {} (the same file): refusing to overwrite it",
            export.display(),
            input.display()
        ));
    }
    Ok(())
}

/// What standard input is (fstat of a duplicate of descriptor 0).
fn stdin_metadata() -> std::io::Result<std::fs::Metadata> {
    use std::os::fd::AsFd;
    std::fs::File::from(std::io::stdin().as_fd().try_clone_to_owned()?).metadata()
}

/// Prints what went wrong with the export, if anything; returns the exit
/// code it calls for: 1 when the export failed, else 0.
pub fn report(outcome: Option<&ExportOutcome>) -> i32 {
    let Some(st) = outcome.and_then(|o| o.get()) else { return 0 };
    if let Some(err) = &st.error {
        eprintln!("rustnet: export: {err} ({} packets not written)", st.not_written());
        return 1;
    }
    if st.dropped > 0 {
        eprintln!("rustnet: warning: pcap export dropped {} packets (the writer fell behind)", st.dropped);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_under_another_name_is_refused() {
        let dir = std::env::temp_dir().join(format!("rustnet-same-inode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (a, b, c) = (dir.join("a.pcap"), dir.join("b.pcap"), dir.join("c.pcap"));
        std::fs::write(&a, b"capture").expect("write");
        let _ = std::fs::remove_file(&b);
        std::fs::hard_link(&a, &b).expect("hard link");
        assert!(check_not_input(&a, &a).is_err());
        assert!(check_not_input(&a, &b).is_err());
        assert_eq!(check_not_input(&a, &c), Ok(()), "a new file");
        std::fs::write(&c, b"other").expect("write");
        assert_eq!(check_not_input(&a, &c), Ok(()), "another file");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
