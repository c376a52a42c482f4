//! The JSON schemas in docs/ (`verdict.schema.json`, `show.schema.json`), compiled with their
//! references to each other resolved from disk, and an assertion that a document follows one.

use std::path::PathBuf;

use jsonschema::{Retrieve, Uri};
use serde_json::Value;

/// The base URI of the schemas' `$id`s.
const BASE: &str = "https://github.com/snp-vtpm/snp-vtpm/docs/";

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

fn read(name: &str) -> Value {
    let path = docs().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Serves `BASE/<name>` from docs/, and nothing else (no network).
struct DocsRetriever;

impl Retrieve for DocsRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .strip_prefix(BASE)
            .filter(|name| name.ends_with(".schema.json") && !name.contains('/'))
            .ok_or_else(|| format!("not a schema of docs/: {}", uri.as_str()))?;
        Ok(read(name))
    }
}

/// The validator of docs/`name`.
pub fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::options()
        .with_retriever(DocsRetriever)
        .build(&read(name))
        .unwrap_or_else(|e| panic!("{name} compiles: {e}"))
}

/// Parses `json` and asserts that it follows docs/`name`; returns the parsed document.
pub fn assert_follows(name: &str, json: &str) -> Value {
    let value: Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {json}"));
    let errors: Vec<String> = validator(name)
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "does not follow {name}: {errors:?}\n{json}"
    );
    value
}
