#![no_main]
//! The classic BPF interpreter used for `--bpf-filter` on files: any program
//! over any frame returns a length, never panics or loops forever.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rustnet::capture::fuzzing::bpf(data));
