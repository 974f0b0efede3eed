#![no_main]
//! Capture files (pcap, pcapng): any bytes read to the end or a clear error.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rustnet::capture::fuzzing::capture_file(data));
