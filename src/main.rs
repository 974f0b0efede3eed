// Used by the capture pipeline, which is not wired up on this branch yet.
#[allow(dead_code)]
mod capture;
#[allow(dead_code)]
mod host;
mod snapshot;

fn main() {}
