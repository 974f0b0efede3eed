//! Writes the man page and shell completions generated from the command
//! line definition (clap), for packaging (scripts/build-deb.sh):
//!
//!   cargo run --example gen_assets -- OUTDIR
//!
//! OUTDIR gets rustnet.1.gz, rustnet.bash, _rustnet (zsh), rustnet.fish.

use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/assets".into()));
    std::fs::create_dir_all(&out)?;
    let cmd = rustnet::cli::Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    let mut gz =
        flate2::write::GzEncoder::new(std::fs::File::create(out.join("rustnet.1.gz"))?, flate2::Compression::best());
    gz.write_all(&page)?;
    gz.finish()?;
    for (shell, name) in [
        (clap_complete::Shell::Bash, "rustnet.bash"),
        (clap_complete::Shell::Zsh, "_rustnet"),
        (clap_complete::Shell::Fish, "rustnet.fish"),
    ] {
        let mut f = std::fs::File::create(out.join(name))?;
        clap_complete::generate(shell, &mut cmd.clone(), "rustnet", &mut f);
    }
    println!("wrote the man page and completions to {}", out.display());
    Ok(())
}
