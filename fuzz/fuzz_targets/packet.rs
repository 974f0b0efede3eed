#![no_main]
//! The whole packet path: link type byte (index into fuzzing::LINK_NUMBERS,
//! which reaches SLL2 = 276), then length-prefixed frames.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rustnet_core::fuzzing::packets(data));
