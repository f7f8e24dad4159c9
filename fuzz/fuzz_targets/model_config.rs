//! Arbitrary bytes as `config.json`: parsing must return (Ok or Err) without panicking, and a
//! config that parses has one label per `id2label` entry, in key order without holes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vitrs_model::ViTConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = ViTConfig::from_json_str(text, std::path::Path::new("config.json")) {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let entries = v
            .get("id2label")
            .and_then(|m| m.as_object())
            .map_or(0, |m| m.len());
        assert_eq!(c.id2label.len(), entries);
    }
});
