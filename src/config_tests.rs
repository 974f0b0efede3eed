//! The config file: parsing, its mistakes, where it is, and precedence.

use super::*;
use crate::testenv::TempDir;

#[test]
fn a_good_file_sets_every_key() {
    let f = parse("# mine\ntheme = \"light\"\ncolumns = \"application\"\nrefresh_interval = 250\n").expect("valid");
    assert_eq!(
        f,
        File {
            theme: Some(ThemeName::Light),
            columns: crate::ui::column_preset("application"),
            refresh_interval: Some(250)
        }
    );
    assert_eq!(f.columns, Some(2), "the third preset `w` reaches");
    assert_eq!(parse("theme = \"high-contrast\"").expect("valid").theme, Some(ThemeName::HighContrast));
    assert_eq!(parse("").expect("empty is fine"), File::default());
}

#[test]
fn an_unknown_key_names_its_line() {
    let (at, msg) = parse("theme = \"dark\"\n\ncolour = \"red\"\n").expect_err("unknown key");
    assert_eq!(at, Some((3, 1)), "{msg}");
    assert!(msg.contains("unknown field `colour`") && msg.contains("`refresh_interval`"), "{msg}");
    // A section is a key too.
    let (at, msg) = parse("theme = \"dark\"\n[ui]\ntheme = \"dark\"\n").expect_err("unknown table");
    assert_eq!(at.map(|a| a.0), Some(2), "{msg}");
}

#[test]
fn wrong_types_and_values_name_their_line() {
    for (text, line, want) in [
        ("theme = \"dark\"\nrefresh_interval = \"fast\"\n", 2, "invalid type"),
        ("refresh_interval = 5\n", 1, "outside 10..=3600000"),
        ("refresh_interval = -1\n", 1, "invalid value"),
        (
            "\n\ntheme = \"solarized\"\n",
            3,
            "unknown theme `solarized`, expected one of `dark`, `light`, `high-contrast`, `mono`",
        ),
        ("theme = 3\n", 1, "invalid type"),
        ("columns = \"wide\"\n", 1, "unknown column preset `wide`, expected one of `balanced`"),
        ("theme = \"dark\"\ntheme = \"light\"\n", 2, "duplicate key"),
        ("theme = \"dark\ncolumns = 1\n", 1, ""),
    ] {
        let (at, msg) = parse(text).expect_err(text);
        assert_eq!(at.map(|a| a.0), Some(line), "{text:?}: {msg}");
        assert!(msg.contains(want), "{text:?}: {msg}");
    }
}

#[test]
fn a_missing_file_is_the_defaults_and_a_broken_one_names_file_and_line() {
    let dir = TempDir::new("load");
    assert_eq!(load(&dir.0.join("none.toml")), Ok(File::default()));
    let p = dir.write("config.toml", "theme = \"light\"\nrefresh_interval = 300\n");
    assert_eq!(load(&p).expect("valid").refresh_interval, Some(300));
    let p = dir.write("config.toml", "theme = \"light\"\n\n  bogus = 1\n");
    let e = load(&p).expect_err("unknown key");
    assert_eq!(e.at, Some((3, 3)));
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("config file {}, line 3 column 3: unknown field `bogus`", p.display())),
        "{text}"
    );
    // Not text, too large, a directory: said, not a panic.
    std::fs::write(&p, b"theme = \"\xff\"\n").expect("write");
    assert!(load(&p).expect_err("binary").message.contains("UTF-8"));
    std::fs::write(&p, "# x\n".repeat(20_000)).expect("write");
    assert!(load(&p).expect_err("large").message.contains("larger than 64 KiB"));
    assert_eq!(load(&dir.0).expect_err("a directory").message, "not a regular file");
    // A FIFO is refused without waiting for a writer.
    let fifo = dir.0.join("fifo.toml");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("no NUL in a temp path");
    // SAFETY: mkfifo reads a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    assert_eq!(load(&fifo).expect_err("a FIFO").message, "not a regular file");
}

#[test]
fn the_file_is_under_xdg_config_home_else_home() {
    let p = |x: Option<&str>, h: Option<&str>| path_from(x.map(Into::into), h.map(Into::into));
    assert_eq!(p(Some("/x/cfg"), Some("/home/u")), Some(PathBuf::from("/x/cfg/rustnet/config.toml")));
    assert_eq!(p(None, Some("/home/u")), Some(PathBuf::from("/home/u/.config/rustnet/config.toml")));
    // A relative or empty XDG_CONFIG_HOME is ignored (XDG Base Directory spec).
    assert_eq!(p(Some("cfg"), Some("/home/u")), Some(PathBuf::from("/home/u/.config/rustnet/config.toml")));
    assert_eq!(p(Some(""), Some("/home/u")), Some(PathBuf::from("/home/u/.config/rustnet/config.toml")));
    assert_eq!(p(None, None), None);
    assert_eq!(p(None, Some("")), None);
}

#[test]
fn a_flag_overrides_the_file_which_overrides_the_default() {
    let file = File { theme: Some(ThemeName::Light), columns: Some(1), refresh_interval: Some(300) };
    let none = Flags::default();
    let d = resolve(none, &File::default(), false);
    assert_eq!((d.refresh, d.theme.name(), d.columns), (Duration::from_millis(1000), ThemeName::Dark, 0));
    let f = resolve(none, &file, false);
    assert_eq!((f.refresh, f.theme.name(), f.columns), (Duration::from_millis(300), ThemeName::Light, 1));
    let flags = Flags { refresh_interval: Some(2000), theme: Some(ThemeName::HighContrast), no_color: false };
    let c = resolve(flags, &file, false);
    assert_eq!((c.refresh, c.theme.name(), c.columns), (Duration::from_millis(2000), ThemeName::HighContrast, 1));
}

#[test]
fn no_color_flag_wins_and_no_color_env_yields_to_a_chosen_theme() {
    let light = File { theme: Some(ThemeName::Light), ..File::default() };
    let no_color = Flags { no_color: true, ..Flags::default() };
    let with_theme = Flags { theme: Some(ThemeName::Light), no_color: true, ..Flags::default() };
    let name = |flags, file: &File, env| resolve(flags, file, env).theme.name();
    assert_eq!(name(no_color, &File::default(), false), ThemeName::Mono);
    assert_eq!(name(with_theme, &light, false), ThemeName::Mono, "--no-color over --theme");
    assert_eq!(name(Flags::default(), &File::default(), true), ThemeName::Mono, "NO_COLOR alone");
    assert_eq!(name(Flags::default(), &light, true), ThemeName::Light, "the file's theme over NO_COLOR");
    let flag_theme = Flags { theme: Some(ThemeName::Dark), ..Flags::default() };
    assert_eq!(name(flag_theme, &File::default(), true), ThemeName::Dark, "--theme over NO_COLOR");
    assert!(!resolve(no_color, &light, false).theme.is_color());
}

/// `--refresh-interval` given or not: clap leaves it None when absent, so
/// the file's value can apply.
#[test]
fn the_command_line_leaves_unset_what_it_was_not_given() {
    use clap::Parser;
    let cli = Cli::try_parse_from(["rustnet"]).expect("no arguments");
    assert_eq!((cli.refresh_interval, cli.theme, cli.no_color), (None, None, false));
    let cli = Cli::try_parse_from(["rustnet", "-r", "200", "--theme", "light", "--no-color"]).expect("valid");
    assert_eq!((cli.refresh_interval, cli.theme, cli.no_color), (Some(200), Some(ThemeName::Light), true));
    assert!(Cli::try_parse_from(["rustnet", "--theme", "solarized"]).is_err());
}
