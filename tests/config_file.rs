//! The config file as a user meets it: the real binary with HOME and
//! XDG_CONFIG_HOME pointing at a directory of the test's own. A broken file
//! stops every kind of run (headless too) with exit status 2 and the file
//! and line on stderr; a good one changes no JSON record; in the TUI (tmux)
//! its theme is what the terminal receives, and `--no-color` sends no colour.

mod common;

use common::testenv::TempDir as Home;
use common::tmux::Tmux;
use std::path::Path;
use std::process::{Command, Output};

const DEFAULT: &str = ".config/rustnet/config.toml";

/// `rustnet ARGS` with this home and, if given, XDG_CONFIG_HOME.
fn rustnet(home: &Path, xdg: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rustnet"));
    cmd.args(args).env("HOME", home).env_remove("XDG_CONFIG_HOME").env_remove("NO_COLOR");
    if let Some(x) = xdg {
        cmd.env("XDG_CONFIG_HOME", x);
    }
    cmd.output().expect("the rustnet binary runs")
}

fn read_json(home: &Path, xdg: Option<&Path>) -> Output {
    let file = common::fixture("http_curl.pcap");
    rustnet(home, xdg, &["--read", file.to_str().expect("UTF-8 path"), "--json"])
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_broken_config_file_exits_2_naming_file_and_line_even_headless() {
    let home = Home::new("broken");
    let path = home.write(DEFAULT, "# rustnet\ntheme = \"light\"\ncolour = \"red\"\n");
    let out = read_json(&home.0, None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let want = format!("rustnet: config file {}, line 3 column 1: unknown field `colour`", path.display());
    assert!(stderr(&out).starts_with(&want), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "no record written");
    assert!(!stderr(&out).contains("panicked"));
    // A bad value: its own line, and the reason.
    home.write(DEFAULT, "theme = \"light\"\nrefresh_interval = 5\n");
    let out = read_json(&home.0, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 2 column 20: 5 is outside 10..=3600000 milliseconds"), "{}", stderr(&out));
}

/// $XDG_CONFIG_HOME/rustnet/config.toml when set: ~/.config's is not read.
#[test]
fn xdg_config_home_is_where_the_file_is() {
    let home = Home::new("xdg");
    home.write(DEFAULT, "not toml at all\n");
    let xdg = home.0.join("xdg");
    let good = home.write("xdg/rustnet/config.toml", "theme = \"mono\"\n");
    assert_eq!(read_json(&home.0, Some(&xdg)).status.code(), Some(0), "the broken ~/.config one is not read");
    std::fs::write(&good, "[ui]\n").expect("write");
    let out = read_json(&home.0, Some(&xdg));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("{}, line 1", good.display())), "{}", stderr(&out));
    // Without XDG_CONFIG_HOME, ~/.config's (broken) file is the one.
    let out = read_json(&home.0, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&home.0.join(DEFAULT).display().to_string()), "{}", stderr(&out));
}

/// A good file, or none, changes nothing in the records.
#[test]
fn a_good_or_missing_file_leaves_the_records_alone() {
    let home = Home::new("good");
    let none = read_json(&home.0, None);
    assert_eq!(none.status.code(), Some(0), "{}", stderr(&none));
    assert!(!none.stdout.is_empty());
    home.write(DEFAULT, "theme = \"high-contrast\"\ncolumns = \"addresses\"\nrefresh_interval = 250\n");
    let good = read_json(&home.0, None);
    assert_eq!(good.status.code(), Some(0), "{}", stderr(&good));
    assert_eq!(good.stdout, none.stdout);
}

#[test]
fn theme_and_no_color_flags_are_checked_and_listed() {
    let home = Home::new("flags");
    let out = rustnet(&home.0, None, &["--theme", "solarized", "--read", "x.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("possible values: dark, light, high-contrast, mono"), "{}", stderr(&out));
    let help = String::from_utf8_lossy(&rustnet(&home.0, None, &["--help"]).stdout).into_owned();
    for want in ["--theme <NAME>", "--no-color", "config.toml", "-r, --refresh-interval <MS>"] {
        assert!(help.contains(want), "{want} in:\n{help}");
    }
}

/// The colours in an SGR-escaped screen (`tmux capture-pane -e`): the
/// foreground/background parameters of every `ESC [ … m`.
fn sgr_colours(screen: &str) -> Vec<String> {
    let mut out = Vec::new();
    for seq in screen.split("\x1b[").skip(1) {
        let Some(end) = seq.find('m') else { continue };
        let params: Vec<&str> = seq[..end].split(';').collect();
        let mut i = 0;
        while i < params.len() {
            let n: u32 = params[i].parse().unwrap_or(0);
            match n {
                38 | 48 => {
                    // 38;5;N or 38;2;R;G;B
                    let len = if params.get(i + 1) == Some(&"5") { 3 } else { 5 };
                    out.push(params[i..(i + len).min(params.len())].join(";"));
                    i += len;
                    continue;
                }
                30..=37 | 40..=47 | 90..=97 | 100..=107 => out.push(n.to_string()),
                _ => {}
            }
            i += 1;
        }
    }
    out
}

/// Runs the TUI on a fixture in tmux with this home's config and `extra`
/// flags; returns the screen with its escapes once the replay has ended.
fn tui_screen(home: &Home, name: &str, extra: &str) -> String {
    let file = common::fixture("http_curl.pcap");
    let tmux = Tmux::new(format!("rustnet-cfg-{name}-{}", std::process::id()), "cfg");
    let cmd = format!(
        "env -u NO_COLOR -u XDG_CONFIG_HOME HOME={} {} --read {} {extra}; echo RUSTNET_EXIT=$?; sleep 60",
        home.0.display(),
        env!("CARGO_BIN_EXE_rustnet"),
        file.display()
    );
    tmux.start(180, 30, &cmd);
    tmux.wait_all("the finished replay", &["(finished)", "q quit"]);
    let out = tmux.cmd(&["capture-pane", "-p", "-e", "-t", "cfg"]);
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    tmux.keys(&["q", "q"]);
    tmux.wait_all("exit", &["RUSTNET_EXIT=0"]);
    screen
}

/// The TUI path: the file's light theme reaches the terminal (xterm-256
/// blue 25 for titles, red 160 for closed rows), `--no-color` sends no
/// colour at all, and a broken file stops the TUI before it starts.
#[test]
fn the_tui_draws_the_files_theme_and_no_color_draws_none() {
    if !common::testenv::tools_ready(&["tmux"]) {
        return;
    }
    let home = Home::new("tui");
    home.write(DEFAULT, "theme = \"light\"\n");
    let light = sgr_colours(&tui_screen(&home, "light", ""));
    assert!(light.iter().any(|c| c == "38;5;25"), "{light:?}");
    assert!(
        light.iter().all(|c| ["38;5;25", "38;5;28", "38;5;130", "38;5;160", "38;5;90"].contains(&c.as_str())),
        "{light:?}"
    );
    let plain = sgr_colours(&tui_screen(&home, "mono", "--no-color"));
    assert!(plain.is_empty(), "{plain:?}");
    // The flag over the file: dark's plain ANSI cyan.
    let dark = sgr_colours(&tui_screen(&home, "dark", "--theme dark"));
    assert!(dark.iter().any(|c| c == "36" || c == "38;5;6"), "{dark:?}");
    home.write(DEFAULT, "theme = \"light\"\nrefresh_interval = \"1s\"\n");
    let tmux = Tmux::new(format!("rustnet-cfg-broken-{}", std::process::id()), "cfg");
    let cmd = format!(
        "env -u XDG_CONFIG_HOME HOME={} {} --read {}; echo RUSTNET_EXIT=$?; sleep 60",
        home.0.display(),
        env!("CARGO_BIN_EXE_rustnet"),
        common::fixture("http_curl.pcap").display()
    );
    tmux.start(150, 30, &cmd);
    let s = tmux.wait_all("the error", &["RUSTNET_EXIT=2"]);
    assert!(s.contains("line 2 column 20: invalid type: string \"1s\", expected u64"), "{s}");
}
