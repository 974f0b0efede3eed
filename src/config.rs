//! The config file: `$XDG_CONFIG_HOME/rustnet/config.toml`, else
//! `~/.config/rustnet/config.toml`. It holds the screen's theme, column
//! preset and refresh interval; the command line overrides it, and a missing
//! file means the defaults. It is untrusted input: an unknown key, a wrong
//! type or value, unreadable or oversized content is an error naming the
//! file and line (the session exits 2), never a panic.
//!
//! ```toml
//! theme = "light"            # dark | light | high-contrast | mono
//! columns = "application"    # balanced | addresses | application
//! refresh_interval = 500     # milliseconds, 10 to 3600000
//! ```

use crate::cli::Cli;
use crate::ui::{Settings, Theme, ThemeName};
use serde::{Deserialize, Deserializer};
use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A config is a few lines; more than this is refused unread (bounded memory).
const MAX_BYTES: u64 = 64 * 1024;

/// The default refresh interval (milliseconds).
const REFRESH_MS: u64 = 1000;

/// The file's contents; every key optional.
#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default, deserialize_with = "theme")]
    pub theme: Option<ThemeName>,
    /// Index of the column preset, from its name.
    #[serde(default, deserialize_with = "preset")]
    pub columns: Option<usize>,
    /// Milliseconds, in the range `--refresh-interval` takes.
    #[serde(default, deserialize_with = "refresh")]
    pub refresh_interval: Option<u64>,
}

fn theme<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ThemeName>, D::Error> {
    use clap::ValueEnum;
    let name = String::deserialize(d)?;
    ThemeName::from_str(&name, false).map(Some).map_err(|_| {
        let names: Vec<String> = ThemeName::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|v| format!("`{}`", v.get_name()))
            .collect();
        serde::de::Error::custom(format!("unknown theme `{name}`, expected one of {}", names.join(", ")))
    })
}

fn preset<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let name = String::deserialize(d)?;
    match crate::ui::column_preset(&name) {
        Some(i) => Ok(Some(i)),
        None => Err(serde::de::Error::custom(format!(
            "unknown column preset `{name}`, expected one of {}",
            crate::ui::column_preset_names().iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn refresh<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let ms = u64::deserialize(d)?;
    crate::cli::check_refresh(ms).map(Some).map_err(serde::de::Error::custom)
}

/// A config file that cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line and column of the mistake, when there is one place.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config file {}", self.path.display())?;
        if let Some((line, col)) = self.at {
            write!(f, ", line {line} column {col}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Where the config file is: `$XDG_CONFIG_HOME/rustnet/config.toml` when
/// that is an absolute path (the XDG Base Directory rule: a relative one is
/// ignored), else `$HOME/.config/rustnet/config.toml`; None without either.
pub fn path_from(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    if let Some(x) = xdg_config_home.filter(|x| Path::new(x).is_absolute()) {
        return Some(PathBuf::from(x).join("rustnet").join("config.toml"));
    }
    home.filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".config").join("rustnet").join("config.toml"))
}

/// [`path_from`] this process's environment.
pub fn default_path() -> Option<PathBuf> {
    path_from(std::env::var_os("XDG_CONFIG_HOME"), std::env::var_os("HOME"))
}

/// Reads and checks the file at `path`; a file that does not exist is the
/// defaults (every key unset).
pub fn load(path: &Path) -> Result<File, ConfigError> {
    let err = |at, message: String| ConfigError { path: path.to_path_buf(), at, message };
    // Checked before opening: opening a FIFO would wait for a writer.
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(err(None, "not a regular file".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(File::default()),
        Err(e) => return Err(err(None, format!("cannot read it: {e}"))),
    }
    let f = std::fs::File::open(path).map_err(|e| err(None, format!("cannot read it: {e}")))?;
    let mut bytes = Vec::new();
    if let Err(e) = f.take(MAX_BYTES + 1).read_to_end(&mut bytes) {
        return Err(err(None, format!("cannot read it: {e}")));
    }
    if bytes.len() as u64 > MAX_BYTES {
        return Err(err(None, format!("larger than {} KiB; a config file is a few lines", MAX_BYTES / 1024)));
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = line_col(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to());
            return Err(err(Some(at), "not UTF-8 text".into()));
        }
    };
    parse(&text).map_err(|(at, message)| err(at, message))
}

/// Parses the text of a config file: the contents, or where and what is wrong.
pub fn parse(text: &str) -> Result<File, (Option<(usize, usize)>, String)> {
    toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| line_col(text, s.start));
        (at, e.message().trim_end().to_string())
    })
}

/// 1-based line and column (in characters) of byte offset `at` of `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// What the command line says of the screen (None: not given).
#[derive(Clone, Copy, Debug, Default)]
pub struct Flags {
    pub refresh_interval: Option<u64>,
    pub theme: Option<ThemeName>,
    pub no_color: bool,
}

/// The one place that decides the screen's settings: a flag over the file
/// over the default. Colour is off with `--no-color`, with `mono`, or with
/// `NO_COLOR` (non-empty) unless a theme was chosen on the command line or
/// in the file (no-color.org: a program's own settings override `NO_COLOR`).
pub fn resolve(flags: Flags, file: &File, env_no_color: bool) -> Settings {
    let refresh = flags.refresh_interval.or(file.refresh_interval).unwrap_or(REFRESH_MS);
    let theme = match flags.theme.or(file.theme) {
        _ if flags.no_color => ThemeName::Mono,
        Some(name) => name,
        None if env_no_color => ThemeName::Mono,
        None => ThemeName::Dark,
    };
    Settings { refresh: Duration::from_millis(refresh), theme: Theme::named(theme), columns: file.columns.unwrap_or(0) }
}

/// The settings of this run: the command line, the config file at
/// [`default_path`], and the environment's `NO_COLOR`.
pub fn settings(cli: &Cli) -> Result<Settings, ConfigError> {
    let file = match default_path() {
        Some(p) => load(&p)?,
        None => File::default(),
    };
    let flags = Flags { refresh_interval: cli.refresh_interval, theme: cli.theme, no_color: cli.no_color };
    let env_no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Ok(resolve(flags, &file, env_no_color))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
