//! Who a process is beyond its pid: owner (uid and user name), executable,
//! parent chain and container. Read once per process, on the lookup thread,
//! through the process's own /proc directory handle; every field is optional
//! (another user's `exe` needs CAP_SYS_PTRACE, a parent may be gone).

use super::pidfs::PidDir;
use super::procfs::parse_stat_ppid;
use rustnet_core::track::{ContainerInfo, MAX_PARENTS, ParentProcess, ProcessInfo};
use std::collections::HashMap;
use std::path::Path;

/// User names by uid, from /etc/passwd, read on first use.
#[derive(Debug, Default)]
pub struct Users {
    names: Option<HashMap<u32, String>>,
}

impl Users {
    /// The name of `uid` on this host (None when /etc/passwd has no entry).
    pub fn name(&mut self, uid: u32) -> Option<String> {
        let names = self.names.get_or_insert_with(|| {
            std::fs::read_to_string("/etc/passwd").map(|t| parse_passwd(&t)).unwrap_or_default()
        });
        names.get(&uid).cloned()
    }
}

/// "name:x:uid:gid:…" lines to uid → name; the first entry of a uid wins (as getpwuid's).
pub fn parse_passwd(text: &str) -> HashMap<u32, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let mut f = line.split(':');
        let (Some(name), Some(_), Some(uid)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if let Ok(uid) = uid.parse() {
            out.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    out
}

/// Fills the owner fields of `info` (read through `p`, the process's handle).
pub fn fill(p: &PidDir, info: &mut ProcessInfo, users: &mut Users) {
    let status = p.read(c"status").ok().map(|b| String::from_utf8_lossy(&b).into_owned());
    info.uid = status.as_deref().and_then(real_uid);
    info.user = info.uid.and_then(|u| users.name(u));
    info.exe = p.link(c"exe").map(|l| String::from_utf8_lossy(&l).into_owned()).filter(|e| !e.is_empty());
    let ppid = p.read(c"stat").ok().and_then(|b| parse_stat_ppid(&String::from_utf8_lossy(&b)).map(|(_, pp)| pp));
    info.parents = parents(ppid);
    let cgroup = p.read(c"cgroup").ok().map(|b| String::from_utf8_lossy(&b).into_owned());
    info.container = cgroup.as_deref().and_then(container_of_cgroup).map(|mut c| {
        let root = Path::new("/");
        c.name = container_name(root, &c);
        if let Some(uid) = &c.pod {
            let (name, namespace) = kube_pod(root, uid);
            c.pod = name.or(c.pod.take());
            c.namespace = namespace;
        }
        c
    });
}

/// The real uid: first number of the "Uid:" line of /proc/<pid>/status.
pub fn real_uid(status: &str) -> Option<u32> {
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The chain above a process whose parent is `ppid`, nearest first; stops
/// at pid 0 (the kernel), after [`MAX_PARENTS`], or at a parent gone.
fn parents(mut ppid: Option<u32>) -> Vec<ParentProcess> {
    let mut out = Vec::new();
    while let Some(pid) = ppid.filter(|p| *p != 0) {
        if out.len() >= MAX_PARENTS {
            break;
        }
        let Some((name, next)) = PidDir::open(pid)
            .ok()
            .and_then(|d| d.read(c"stat").ok())
            .and_then(|b| parse_stat_ppid(&String::from_utf8_lossy(&b)))
        else {
            break;
        };
        out.push(ParentProcess { pid, name });
        ppid = Some(next);
    }
    out
}

/// The container of a /proc/<pid>/cgroup text (v2 "0::/path" or v1 lines),
/// from the naming conventions of the runtimes' systemd scopes and cgroupfs
/// paths: docker-<id>.scope or /docker/<id>, libpod-<id>.scope (podman),
/// cri-containerd-<id>.scope, crio-<id>.scope, kubepods…pod<uid>.slice,
/// machine-<name>.scope or systemd-nspawn@<name>.service, /lxc.payload.<name>.
pub fn container_of_cgroup(text: &str) -> Option<ContainerInfo> {
    for line in text.lines() {
        // "hierarchy-id:controllers:path"; the path may hold ':' itself.
        let Some(path) = line.splitn(3, ':').nth(2) else {
            continue;
        };
        if let Some(c) = container_of_path(path) {
            return Some(c);
        }
    }
    None
}

fn container_of_path(path: &str) -> Option<ContainerInfo> {
    let mut pod = None;
    let mut found: Option<(&str, String)> = None;
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        let seg = part.trim_end_matches(".scope").trim_end_matches(".slice");
        if let Some(uid) = pod_uid(seg) {
            pod = Some(uid);
            continue;
        }
        let oci = [("docker-", "docker"), ("libpod-", "podman"), ("cri-containerd-", "containerd"), ("crio-", "cri-o")];
        if let Some((runtime, id)) = oci.iter().find_map(|(p, r)| seg.strip_prefix(p).map(|id| (*r, id))) {
            if is_oci_id(id) {
                found = Some((runtime, id.to_string()));
            }
            continue;
        }
        // cgroupfs drivers: /docker/<id>, /kubepods/…/<id>, /libpod_parent/libpod-<id>.
        if is_oci_id(seg) {
            let runtime = match parts.get(..i).unwrap_or_default() {
                p if p.contains(&"docker") => "docker",
                p if p.iter().any(|s| s.starts_with("kubepods")) => "containerd",
                _ => continue,
            };
            found = Some((runtime, seg.to_string()));
            continue;
        }
        if let Some(name) = seg
            .strip_prefix("machine-")
            .or_else(|| part.strip_prefix("systemd-nspawn@").and_then(|s| s.strip_suffix(".service")))
            && !name.is_empty()
            && path.contains("machine.slice")
        {
            // systemd escapes '-' in unit names as \x2d.
            found = Some(("systemd-nspawn", name.replace("\\x2d", "-")));
            continue;
        }
        if let Some(name) = part.strip_prefix("lxc.payload.").filter(|n| !n.is_empty()) {
            found = Some(("lxc", name.to_string()));
        }
    }
    let (runtime, id) = found?;
    let name = matches!(runtime, "systemd-nspawn" | "lxc").then(|| id.clone());
    Some(ContainerInfo { runtime: runtime.to_string(), id, name, pod, namespace: None })
}

/// A 64-hex-digit OCI container id.
fn is_oci_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// "kubepods-besteffort-pod<uid>" (systemd driver, '_' for '-') or
/// "pod<uid>" (cgroupfs driver): the pod's uid with dashes.
fn pod_uid(seg: &str) -> Option<String> {
    let uid = seg.rsplit_once("-pod").map(|(_, u)| u).or_else(|| seg.strip_prefix("pod"))?;
    let uid = uid.replace('_', "-");
    (uid.len() == 36 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')).then_some(uid)
}

/// The container's name from its runtime's own files under `root`
/// (docker's config.v2.json "Name", podman's containers.json "names").
pub fn container_name(root: &Path, c: &ContainerInfo) -> Option<String> {
    match c.runtime.as_str() {
        "docker" => {
            let f = root.join("var/lib/docker/containers").join(&c.id).join("config.v2.json");
            let v: serde_json::Value = serde_json::from_slice(&read_small(&f)?).ok()?;
            Some(v.get("Name")?.as_str()?.trim_start_matches('/').to_string())
        }
        "podman" => {
            // Rootful storage; rootless containers keep theirs in the user's home.
            let f = root.join("var/lib/containers/storage/overlay-containers/containers.json");
            let v: serde_json::Value = serde_json::from_slice(&read_small(&f)?).ok()?;
            let entry = v.as_array()?.iter().find(|e| e.get("id").and_then(|i| i.as_str()) == Some(c.id.as_str()))?;
            Some(entry.get("names")?.as_array()?.first()?.as_str()?.to_string())
        }
        _ => c.name.clone(),
    }
}

/// A Kubernetes pod's name and namespace from the kubelet's own pod
/// directory (no API server, no CRI socket): the name is the hostname of
/// the kubelet-managed `etc-hosts` (the pod name unless the spec sets
/// `hostname`), the namespace the `namespace` file of the service-account
/// volume the kubelet projects into every pod by default.
pub fn kube_pod(root: &Path, uid: &str) -> (Option<String>, Option<String>) {
    let dir = root.join("var/lib/kubelet/pods").join(uid);
    let hosts = read_small(&dir.join("etc-hosts")).map(|b| String::from_utf8_lossy(&b).into_owned());
    let name = hosts.as_deref().and_then(pod_hostname);
    let projected = dir.join("volumes/kubernetes.io~projected");
    let namespace = std::fs::read_dir(projected).ok().and_then(|entries| {
        entries.flatten().take(64).find_map(|e| {
            let b = read_small(&e.path().join("namespace"))?;
            let ns = String::from_utf8_lossy(&b).trim().to_string();
            // A DNS-1123 label, as Kubernetes requires of namespace names.
            let ok = !ns.is_empty()
                && ns.len() <= 63
                && ns.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
            ok.then_some(ns)
        })
    });
    (name, namespace)
}

/// The pod's own line of a kubelet-managed hosts file: the first entry
/// after the fixed localhost/ip6-* lines and before the host aliases.
fn pod_hostname(hosts: &str) -> Option<String> {
    hosts
        .lines()
        .take_while(|l| !l.starts_with("# Entries added by HostAliases"))
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let _ip = f.next()?;
            let names: Vec<&str> = f.collect();
            let first = *names.first()?;
            (first != "localhost" && !first.starts_with("ip6-")).then(|| names.last().map(|n| n.to_string()))?
        })
        .next()
}

/// A metadata file, if it is at most 16 MiB (a hostile or corrupt one is not read whole).
fn read_small(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::metadata(path).ok()?;
    (meta.len() <= 16 << 20).then(|| std::fs::read(path).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f1c0e8b9a7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170605f4e3";

    /// (cgroup line as the runtime's documentation shows it, runtime, pod)
    fn cases() -> Vec<(String, &'static str, Option<&'static str>)> {
        vec![
            // Docker, systemd cgroup driver (cgroup v2).
            (format!("0::/system.slice/docker-{ID}.scope"), "docker", None),
            // Docker, cgroupfs driver (v1).
            (format!("12:pids:/docker/{ID}"), "docker", None),
            // Podman rootful and rootless.
            (format!("0::/machine.slice/libpod-{ID}.scope/container"), "podman", None),
            (format!("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"), "podman", None),
            // Kubernetes with containerd (systemd driver) and CRI-O.
            (
                format!(
                    "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod6e3a1b2c_4d5e_4f60_8a7b_9c0d1e2f3a4b.slice/cri-containerd-{ID}.scope"
                ),
                "containerd",
                Some("6e3a1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b"),
            ),
            (
                format!(
                    "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6e3a1b2c_4d5e_4f60_8a7b_9c0d1e2f3a4b.slice/crio-{ID}.scope"
                ),
                "cri-o",
                Some("6e3a1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b"),
            ),
            // Kubernetes, cgroupfs driver.
            (
                format!("4:memory:/kubepods/besteffort/pod6e3a1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b/{ID}"),
                "containerd",
                Some("6e3a1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b"),
            ),
        ]
    }

    #[test]
    fn runtimes_from_their_cgroup_paths() {
        for (line, runtime, pod) in cases() {
            let c = container_of_cgroup(&format!("1:name=systemd:/\n{line}\n")).unwrap_or_else(|| panic!("{line}"));
            assert_eq!((c.runtime.as_str(), c.id.as_str(), c.pod.as_deref()), (runtime, ID, pod), "{line}");
        }
    }

    #[test]
    fn nspawn_and_lxc_are_named_by_their_machine() {
        let c = container_of_cgroup("0::/machine.slice/systemd-nspawn@deb12.service/payload").expect("nspawn");
        assert_eq!((c.runtime.as_str(), c.name.as_deref()), ("systemd-nspawn", Some("deb12")));
        let c = container_of_cgroup("0::/machine.slice/machine-my\\x2dbox.scope").expect("machinectl scope");
        assert_eq!(c.name.as_deref(), Some("my-box"));
        let c = container_of_cgroup("0::/lxc.payload.web1/init.scope").expect("lxc");
        assert_eq!((c.runtime.as_str(), c.id.as_str()), ("lxc", "web1"));
    }

    #[test]
    fn host_processes_and_odd_text_are_no_container() {
        for text in [
            "0::/user.slice/user-0.slice/session-3.scope",
            "0::/init.scope",
            "0::/system.slice/ssh.service",
            // conmon, podman's monitor, runs beside the container, not in it.
            &format!("0::/machine.slice/libpod-conmon-{ID}.scope"),
            "0::/docker/not-an-id",
            "",
            "garbage",
            ":::::",
        ] {
            assert_eq!(container_of_cgroup(text), None, "{text}");
        }
    }

    #[test]
    fn names_from_the_runtimes_metadata() {
        let root = std::env::temp_dir().join(format!("rustnet-owner-{}", std::process::id()));
        let docker = root.join("var/lib/docker/containers").join(ID);
        std::fs::create_dir_all(&docker).expect("dir");
        std::fs::write(docker.join("config.v2.json"), r#"{"ID":"x","Name":"/web-1","State":{}}"#).expect("write");
        let podman = root.join("var/lib/containers/storage/overlay-containers");
        std::fs::create_dir_all(&podman).expect("dir");
        let list =
            format!(r#"[{{"id":"{}","names":["other"]}},{{"id":"{ID}","names":["db"],"image":"i"}}]"#, "0".repeat(64));
        std::fs::write(podman.join("containers.json"), list).expect("write");
        let c = |runtime: &str| ContainerInfo { runtime: runtime.into(), id: ID.into(), ..ContainerInfo::default() };
        assert_eq!(container_name(&root, &c("docker")).as_deref(), Some("web-1"));
        assert_eq!(container_name(&root, &c("podman")).as_deref(), Some("db"));
        assert_eq!(container_name(&root, &c("cri-o")), None);
        // Corrupt metadata: no name, no panic.
        std::fs::write(docker.join("config.v2.json"), b"{\"Name\": [").expect("write");
        assert_eq!(container_name(&root, &c("docker")), None);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn kubernetes_pod_name_and_namespace_from_the_kubelet_directory() {
        let root = std::env::temp_dir().join(format!("rustnet-kube-{}", std::process::id()));
        let uid = "6e3a1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b";
        let pod = root.join("var/lib/kubelet/pods").join(uid);
        let sa = pod.join("volumes/kubernetes.io~projected/kube-api-access-x7k2p");
        std::fs::create_dir_all(&sa).expect("dir");
        // As the kubelet writes them (managedHostsFileContent), with a
        // subdomain and a host alias.
        let hosts = "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
                     fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n\
                     10.244.1.7\tweb-0.web.shop.svc.cluster.local\tweb-0\n\n\
                     # Entries added by HostAliases.\n10.0.0.9\tdb.internal\n";
        std::fs::write(pod.join("etc-hosts"), hosts).expect("write");
        std::fs::write(sa.join("namespace"), "shop").expect("write");
        std::fs::write(sa.join("token"), "x").expect("write");
        assert_eq!(kube_pod(&root, uid), (Some("web-0".into()), Some("shop".into())));
        // Plain pod line; a namespace that is no DNS label is not taken.
        std::fs::write(
            pod.join("etc-hosts"),
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n10.244.1.8\tapi-7d9f\n",
        )
        .expect("write");
        std::fs::write(sa.join("namespace"), "../etc\n").expect("write");
        assert_eq!(kube_pod(&root, uid), (Some("api-7d9f".into()), None));
        // Not on this host: nothing.
        assert_eq!(kube_pod(&root, "00000000-0000-0000-0000-000000000000"), (None, None));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn passwd_and_status() {
        let users = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\nbad line\nnobody:x:65534:65534::/:/bin/false\ntoor:x:0:0::/:/bin/sh\n",
        );
        assert_eq!(users.get(&0).map(String::as_str), Some("root"), "first entry of a uid wins");
        assert_eq!(users.get(&65534).map(String::as_str), Some("nobody"));
        assert_eq!(real_uid("Name:\tcurl\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n"), Some(1000));
        assert_eq!(real_uid("Name:\tx\n"), None);
    }
}
