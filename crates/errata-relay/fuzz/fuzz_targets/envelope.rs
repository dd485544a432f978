//! The envelope parser, then the event mapping of every event item: never a panic.
#![no_main]

use errata_relay::envelope::Envelope;
use errata_relay::mapping::Mapper;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mapper = Mapper::default();
    if let Ok(env) = Envelope::parse(data, 1 << 20) {
        for item in &env.items {
            assert!(item.payload.len() <= data.len());
            if item.kind == "event" {
                if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(item.payload) {
                    let _ = mapper.map(&mut v);
                }
            }
        }
    }
});
