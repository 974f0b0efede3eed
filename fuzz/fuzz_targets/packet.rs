#![no_main]
//! The whole packet path: link type byte, then length-prefixed frames.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rustnet_core::dpi::fuzzing::packets(data));
