//! The committed schemas are exactly what their OpenAPI sources derive to.

use std::path::Path;

use relaybench::schemas::derived_files;

#[test]
fn committed_schemas_match_their_openapi_sources() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = derived_files().expect("sources derive");
    assert!(files.len() >= 20, "{} schemas", files.len());
    for (path, text) in &files {
        let on_disk = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        assert!(on_disk == *text, "{} drifted from its OpenAPI source: run `relaybench schemas --write`", path.display());
    }
    // No stale files either: every committed schema is derived.
    for source in ["anthropic", "dimilinks"] {
        for entry in std::fs::read_dir(root.join("schemas").join(source)).expect("folder") {
            let path = entry.expect("entry").path();
            let relative = path.strip_prefix(root).expect("inside the repo").to_path_buf();
            assert!(files.iter().any(|(p, _)| *p == relative), "{} is not derived from any source", path.display());
        }
    }
}

#[test]
fn dimilinks_error_shape_is_valid_for_its_document_and_invalid_for_the_protocol() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let load = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(root.join(p)).expect("schema")).expect("json")
    };
    let relay_body = serde_json::json!({"error": {"message": "invalid key", "type": "authentication_error", "code": "invalid_api_key"}});
    let theirs = jsonschema::validator_for(&load("dimilinks/ErrorResponse.schema.json")).expect("compiles");
    let official = jsonschema::validator_for(&load("anthropic/ErrorResponse.schema.json")).expect("compiles");
    assert!(theirs.is_valid(&relay_body));
    assert!(!official.is_valid(&relay_body));
}
