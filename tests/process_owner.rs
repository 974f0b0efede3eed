//! Process owner, lineage and container, live (root): in the namespace lab,
//! a bash started by this test runs curl as user 65534 (setpriv) inside a
//! cgroup laid out as Docker's cgroupfs driver lays one out
//! (`/docker/<64-hex id>`; no OCI runtime can run on the project's CI
//! machine, see scripts/container-test.sh, so the cgroup is made by hand),
//! and a second curl as root outside it. The JSON records must carry what
//! the system says: the user name `getent passwd` gives for the uid, the
//! executable `readlink -f` resolves, the bash that started curl as the
//! nearest parent, and the container's runtime and id.

mod common;

use common::lab::Lab;
use common::testenv::{lab_ready, tools_ready};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The pids cgroup (v1) root, where the test makes its container cgroup.
const PIDS_CGROUP: &str = "/sys/fs/cgroup/pids";

fn text(c: &mut Command) -> String {
    let o = c.output().expect("run helper command");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn owner_parents_and_container_of_a_curl() {
    if !(lab_ready() && tools_ready(&["curl", "setpriv", "getent", "python3"])) {
        return;
    }
    if !std::path::Path::new(PIDS_CGROUP).join("cgroup.procs").exists() {
        common::testenv::skip("process_owner: no cgroup v1 pids hierarchy to make a container cgroup in");
        return;
    }
    let id = format!("{:0>64x}", 0x5e57_0000_u64 + u64::from(std::process::id()));
    let cgroup = std::path::Path::new(PIDS_CGROUP).join("docker").join(&id);
    std::fs::create_dir_all(&cgroup).expect("make the container cgroup");

    let mut lab = Lab::up(&format!("po{}", std::process::id() % 10000));
    let srv = lab.srv_v4;
    lab.spawn(true, &["python3", "-m", "http.server", "8080", "--bind", srv]);
    lab.spawn(true, &["python3", "-m", "http.server", "8081", "--bind", srv]);
    lab.wait_listening(8080);
    lab.wait_listening(8081);

    let logs = std::env::temp_dir().join(format!("rustnet-po-{}", std::process::id()));
    std::fs::create_dir_all(&logs).expect("log dir");
    let rustnet = Command::new("ip")
        .args(["netns", "exec", &lab.cli_ns, env!("CARGO_BIN_EXE_rustnet")])
        .args(["-i", &lab.cli_if, "--json", "--duration", "120"])
        .current_dir(&logs)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rustnet");
    common::lab::wait_thread(rustnet.id(), "capture");
    std::thread::sleep(Duration::from_millis(500));

    // bash waits on stdin until the test has moved it into the cgroup (from
    // here: `ip netns exec` mounts its own /sys, without the cgroup trees);
    // `; true` keeps bash from exec'ing curl, so bash stays curl's parent.
    let script = format!(
        "read _; setpriv --reuid=65534 --regid=65534 --clear-groups \\
         curl -s -o /dev/null --max-time 5 http://{srv}:8080/; true"
    );
    let mut bash = Command::new("ip")
        .args(["netns", "exec", &lab.cli_ns, "bash", "-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .expect("bash");
    let bash_pid = bash.id(); // `ip netns exec` execs bash: this is bash's pid
    std::fs::write(cgroup.join("cgroup.procs"), bash_pid.to_string()).expect("move bash into the cgroup");
    {
        use std::io::Write;
        let mut stdin = bash.stdin.take().expect("bash stdin");
        stdin.write_all(b"go\n").expect("start bash");
    }
    assert!(bash.wait().expect("bash ran").success());
    let out = lab.client(&["curl", "-s", "-o", "/dev/null", "--max-time", "5", &format!("http://{srv}:8081/")]);
    assert!(out.status.success(), "root curl");

    std::thread::sleep(Duration::from_secs(1));
    let pid = i32::try_from(rustnet.id()).expect("pid fits");
    // SAFETY: plain syscall; the child is ours and not yet waited for.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = rustnet.wait_with_output().expect("rustnet output");
    let _ = std::fs::remove_dir_all(&logs);
    let _ = std::fs::remove_dir(&cgroup);
    let _ = std::fs::remove_dir(cgroup.parent().expect("docker dir"));

    let recs: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let to = |port: u16| {
        let remote = format!("{srv}:{port}");
        recs.iter().find(|r| r["proto"] == "tcp" && r["remote"] == remote.as_str()).cloned()
    };
    eprintln!("rustnet printed {} records, status {:?}", recs.len(), out.status);
    let nobody = to(8080).unwrap_or_else(|| panic!("a record of the curl run as 65534: {recs:?}"));
    let root = to(8081).expect("a record of the curl run as root");

    // Truth from the system, not from rustnet.
    let user = text(Command::new("getent").args(["passwd", "65534"]));
    let user = user.split(':').next().expect("getent line").to_string();
    let curl_exe = text(Command::new("sh").args(["-c", "readlink -f \"$(command -v curl)\""]));

    let p = &nobody["process"];
    assert_eq!(p["name"], "curl", "{nobody}");
    assert_eq!(p["uid"], 65534, "{p}");
    assert_eq!(p["user"], user.as_str(), "{p}");
    assert_eq!(p["exe"], curl_exe.as_str(), "{p}");
    assert!(p["cmdline"].as_str().is_some_and(|c| c.contains(":8080/")), "{p}");
    assert_eq!(p["parents"][0]["pid"], bash_pid, "{p}");
    assert_eq!(p["parents"][0]["name"], "bash", "{p}");
    assert_eq!(p["container"]["runtime"], "docker", "{p}");
    assert_eq!(p["container"]["id"], id.as_str(), "{p}");

    let q = &root["process"];
    assert_eq!(q["name"], "curl", "{root}");
    assert_eq!(q["uid"], 0, "{q}");
    assert_eq!(q["user"], "root", "{q}");
    assert!(q["container"].is_null(), "{q}");
    assert!(q["parents"].as_array().is_some_and(|a| !a.is_empty() && a.len() <= 4), "{q}");
}
