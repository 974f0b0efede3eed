#[allow(dead_code)] // wired into the pipeline by the lead
mod host;
mod snapshot;

fn main() {}
