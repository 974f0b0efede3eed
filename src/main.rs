mod snapshot;

fn main() {}
