#![no_main]
//! IPFIX messages from hostile exporters (`--ipfix-listen`): the decoder
//! and the collector's table never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rustnet_core::fuzzing::ipfix(data));
