#![no_main]
//! The filter language: arbitrary text compiled, then matched.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rustnet_core::fuzzing::filter(data));
