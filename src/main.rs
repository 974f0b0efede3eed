//! The `rustnet` binary: parses the command line and runs one session
//! (see `rustnet::session` for the flow).

use clap::Parser;
use rustnet::cli::Cli;

fn main() {
    let cli = Cli::parse();
    let code = match rustnet::session::run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rustnet: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
