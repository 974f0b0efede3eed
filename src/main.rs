mod snapshot;
mod ui;

fn main() {}
