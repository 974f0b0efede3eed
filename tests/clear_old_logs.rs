//! scripts/clear_old_logs.sh on a temp directory whose files got old
//! modification times with `touch -d`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/clear_old_logs.sh")
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new("bash").arg(script()).args(args).current_dir(dir).output().expect("run the script")
}

fn touch(path: &Path, when: &str) {
    std::fs::write(path, b"log line\n").expect("write file");
    let o = Command::new("touch").arg("-d").arg(when).arg(path).output().expect("run touch");
    assert!(o.status.success(), "touch -d {when}: {o:?}");
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn deletes_only_old_rustnet_logs() {
    let root = std::env::temp_dir().join(format!("rustnet-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs).expect("temp dir");

    // No logs dir yet elsewhere, and an empty one: both fine.
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).expect("temp dir");
    let o = run(&empty, &[]);
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("no log directory"), "{o:?}");
    std::fs::create_dir_all(empty.join("logs")).expect("temp dir");
    assert!(run(&empty, &[]).status.success());

    touch(&logs.join("rustnet_2020-01-01_00-00-00.log"), "10 days ago");
    touch(&logs.join("rustnet_2020-01-02_00-00-00.log"), "8 days ago");
    touch(&logs.join("rustnet_2020-01-03_00-00-00.log"), "6 days ago");
    touch(&logs.join("rustnet_today.log"), "now");
    touch(&logs.join("other_2020.log"), "30 days ago");
    touch(&logs.join("rustnet_old.txt"), "30 days ago");
    std::fs::create_dir_all(logs.join("rustnet_dir.log")).expect("dir named like a log");
    let before = names(&logs);

    // Dry run: reports the two old logs, deletes nothing.
    let o = run(&root, &["-n"]);
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("would delete logs/rustnet_2020-01-01_00-00-00.log"), "{out}");
    assert!(out.contains("would delete logs/rustnet_2020-01-02_00-00-00.log"), "{out}");
    assert!(out.contains("2 log file(s)"), "{out}");
    assert_eq!(names(&logs), before);

    // Default 7 days.
    let o = run(&root, &[]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        names(&logs),
        [
            "other_2020.log",
            "rustnet_2020-01-03_00-00-00.log",
            "rustnet_dir.log",
            "rustnet_old.txt",
            "rustnet_today.log"
        ]
    );

    // -d 5 with an explicit directory takes the 6-day-old one too.
    let o = run(Path::new("/"), &["-d", "5", logs.to_str().expect("utf-8 temp path")]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(names(&logs), ["other_2020.log", "rustnet_dir.log", "rustnet_old.txt", "rustnet_today.log"]);

    // Bad arguments are usage errors.
    assert_eq!(run(&root, &["-d", "x"]).status.code(), Some(2));
    assert_eq!(run(&root, &["-q"]).status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&root);
}
