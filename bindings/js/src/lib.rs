//! The npm package `snp-vtpm`: the verifier, the decoder and policy capture for JavaScript,
//! compiled to WebAssembly. Every function returns what the `snp-vtpm` tool prints with
//! `--json` (the library builds it; this crate only converts arguments), and no input makes it
//! throw or trap: bad input is a verdict with `verified: false` and `exit_code: 1`.
//!
//! Arguments are read by a few lines of JavaScript (`ARGUMENTS`) inside a try block: they
//! may be anything (getters that throw, Proxies, detached buffers), and an exception that
//! crossed into WebAssembly would leave the module broken. Only the caller's own properties
//! count, so a polluted `Object.prototype` changes nothing. Rust then sees plain bytes and the
//! options as JSON, which is how the Python package passes them too.
//!
//! WebAssembly has no clock: `at` defaults to the host's `Date.now()`.

use js_sys::{JSON, Uint8Array};
use snp_vtpm::decode::{DecodeOptions, decode as decode_artifact};
use snp_vtpm::offline::OfflineOptions;
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::{BuildInfo, DEFAULT_SIZE_LIMIT, Error, VerdictDocument};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
const KEYS = ['policy', 'preset', 'at', 'chainPem', 'crlPem', 'collateral', 'firmwareCatalog',
  'allowUnknownFirmware', 'requireFreshReport', 'pcrs'];
const TEXTS = { policy: 'policy', preset: 'preset', chainPem: 'chain_pem', crlPem: 'crl_pem',
  collateral: 'collateral', firmwareCatalog: 'firmware_catalog' };
const FLAGS = { allowUnknownFirmware: 'allow_unknown_firmware', requireFreshReport: 'require_fresh_report' };

function fail(message) { throw new Error(message); }

// A string (UTF-8) or a Uint8Array, copied; at most `limit` bytes.
function bytesOf(value, what, limit) {
  let bytes;
  if (typeof value === 'string') {
    if (value.length > limit) fail(`${what} is over the ${limit}-byte input limit`);
    if (typeof value.isWellFormed === 'function' ? !value.isWellFormed() : /[\uD800-\uDFFF]/.test(value.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
      fail(`${what} has a lone surrogate: it is not text`);
    }
    bytes = new TextEncoder().encode(value);
  } else if (value instanceof Uint8Array) {
    // A copy into a plain Uint8Array (a Buffer, a subarray, anything that reads like one).
    const length = value.length;
    if (!Number.isSafeInteger(length) || length > limit) fail(`${what} is over the ${limit}-byte input limit`);
    bytes = new Uint8Array(length);
    bytes.set(value);
  } else {
    fail(`${what} must be a string or a Uint8Array`);
  }
  if (bytes.length > limit) fail(`${what} is over the ${limit}-byte input limit`);
  return bytes;
}

function own(object, key) {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

export function readArguments(evidence, nonce, options, nonceRequired, limit) {
  const out = { evidence: bytesOf(evidence, 'the evidence', limit), nonce: null };
  if (nonce === undefined && nonceRequired) {
    fail('a nonce is required: pass the nonce the quote must carry, or null to skip the check (the verdict then says the nonce was not checked)');
  }
  if (nonce !== null && nonce !== undefined) out.nonce = bytesOf(nonce, 'the nonce', limit);
  const json = { at: Math.floor(Date.now() / 1000) };
  if (options !== undefined && options !== null) {
    if (typeof options !== 'object' || Array.isArray(options)) fail('options must be an object');
    for (const key of Object.keys(options)) {
      if (!KEYS.includes(key)) fail(`options.${key}: no such option (options: ${KEYS.join(', ')})`);
    }
    for (const [key, name] of Object.entries(TEXTS)) {
      const value = own(options, key);
      if (value === undefined || value === null) continue;
      if (key === 'preset') {
        if (typeof value !== 'string') fail('options.preset must be a preset\'s name');
        json[name] = value;
      } else {
        json[name] = new TextDecoder('utf-8', { fatal: true }).decode(bytesOf(value, `options.${key}`, limit));
      }
    }
    for (const [key, name] of Object.entries(FLAGS)) {
      const value = own(options, key);
      if (value === undefined || value === null) continue;
      if (typeof value !== 'boolean') fail(`options.${key} must be true or false`);
      json[name] = value;
    }
    const at = own(options, 'at');
    if (at !== undefined && at !== null) {
      const millis = at instanceof Date ? Date.prototype.getTime.call(at) : at;
      if (typeof millis !== 'number' || !Number.isFinite(millis) || millis < 0) {
        fail('options.at must be a Date or milliseconds since the epoch, from 1970 on');
      }
      json.at = Math.floor(millis / 1000);
    }
    const pcrs = own(options, 'pcrs');
    if (pcrs !== undefined && pcrs !== null) {
      if (!Array.isArray(pcrs) || pcrs.length > 24) fail('options.pcrs must be an array of PCR indices (0 to 23)');
      json.pcrs = Array.prototype.map.call(pcrs, (index) => {
        if (!Number.isInteger(index) || index < 0 || index > 23) fail('options.pcrs must be an array of PCR indices (0 to 23)');
        return index;
      });
    }
  }
  out.options = JSON.stringify(json);
  return out;
}

export function readArtifact(artifact, limit) {
  return bytesOf(artifact, 'the artifact', limit);
}

export function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}
"#)]
extern "C" {
    /// The arguments as `{evidence: Uint8Array, nonce: Uint8Array | null, options: string}`,
    /// or the exception saying what is wrong with them.
    #[wasm_bindgen(catch, js_name = readArguments)]
    fn read_arguments(
        evidence: &JsValue,
        nonce: &JsValue,
        options: &JsValue,
        nonce_required: bool,
        limit: u32,
    ) -> Result<JsValue, JsValue>;

    /// The artifact's bytes (a copy), or the exception saying why not.
    #[wasm_bindgen(catch, js_name = readArtifact)]
    fn read_artifact(artifact: &JsValue, limit: u32) -> Result<Uint8Array, JsValue>;

    /// The host's clock, in seconds.
    #[wasm_bindgen(js_name = nowSeconds)]
    fn now_seconds() -> f64;
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** The verdict document `snp-vtpm verify --json` prints (docs/verdict.schema.json). Integers
 * above 2^53 (the quote's untrusted firmware version) lose precision as JavaScript numbers. */
export interface Verdict {
  verified: boolean;
  exit_code: 0 | 1 | 2 | 3 | 4 | 5;
  failed_check?: string;
  error?: string;
  verdict?: Record<string, unknown>;
}

/** What `verify` and `capturePolicy` take besides the evidence and the nonce. Only the
 * object's own properties are read; an unknown one is an input error. */
export interface VerifyOptions {
  /** A policy file's text (TOML or JSON, docs/policy.md). */
  policy?: string | Uint8Array;
  /** A preset: azure-cvm, azure-cvm-strict, azure-tdx, snp-default, tdx-default. */
  preset?: string;
  /** The time certificates must be valid at: a Date, or milliseconds since the epoch. Default: now. */
  at?: Date | number;
  /** PEM certificates: a VCEK, the ASK and ARK. AMD's pinned chain ships with the package. */
  chainPem?: string | Uint8Array;
  /** A KDS CRL, PEM or DER. */
  crlPem?: string | Uint8Array;
  /** Intel's collateral for TDX evidence (`snp-vtpm fetch collateral` JSON). */
  collateral?: string | Uint8Array;
  /** A firmware catalog file that extends the built-in one. */
  firmwareCatalog?: string | Uint8Array;
  /** Tests and labs only: accept firmware nobody identified (the verdict records it). */
  allowUnknownFirmware?: boolean;
  /** Require the report to be bound to the nonce. */
  requireFreshReport?: boolean;
  /** capturePolicy: the PCRs to pin (default: those the quote covers). */
  pcrs?: number[];
}

/** What `decode` returns (docs/show.schema.json), or a failure document. */
export interface Decoded {
  kind?: string;
  decoded_only?: string;
  [field: string]: unknown;
}

/** A captured policy, or why there is none. */
export interface CapturedPolicy {
  verified: boolean;
  exit_code: number;
  policy?: string;
  failed_check?: string;
  error?: string;
}
"#;

/// The input limit, as the JavaScript helpers take it.
#[allow(clippy::cast_possible_truncation)]
const LIMIT: u32 = DEFAULT_SIZE_LIMIT as u32;

/// `verify(evidence, nonce, options)`: evidence JSON (string or bytes), the nonce (string as
/// UTF-8, bytes, or `null` for no nonce check: leaving it out is an error), options.
#[wasm_bindgen(unchecked_return_type = "Verdict")]
pub fn verify(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] evidence: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | null")] nonce: JsValue,
    #[wasm_bindgen(unchecked_param_type = "VerifyOptions | undefined")] options: JsValue,
) -> JsValue {
    let document = match Inputs::read(&evidence, &nonce, &options, true) {
        Ok(inputs) => inputs
            .options
            .request(&inputs.evidence, inputs.nonce.as_deref())
            .document(),
        Err(error) => VerdictDocument::failed(&error),
    };
    to_js(&document)
}

/// `decode(bytes)`: any artifact, as `snp-vtpm show --json` prints it.
#[wasm_bindgen(unchecked_return_type = "Decoded")]
pub fn decode(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] artifact: JsValue,
) -> JsValue {
    let options = DecodeOptions {
        at: Some(now()),
        ..DecodeOptions::default()
    };
    let decoded = read_artifact(&artifact, LIMIT)
        .map_err(|thrown| Error::input(message(&thrown)))
        .and_then(|bytes| decode_artifact(&bytes.to_vec(), &options));
    match decoded {
        Ok(decoded) => to_js(decoded.json()),
        Err(error) => to_js(&VerdictDocument::<()>::failed(&error)),
    }
}

/// `capturePolicy(evidence, nonce, options)`: verifies, then returns the policy (TOML) that
/// accepts this VM and refuses others, as `snp-vtpm policy capture` writes it.
#[wasm_bindgen(js_name = capturePolicy, unchecked_return_type = "CapturedPolicy")]
pub fn capture_policy(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] evidence: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] nonce: JsValue,
    #[wasm_bindgen(unchecked_param_type = "VerifyOptions | undefined")] options: JsValue,
) -> JsValue {
    let captured = Inputs::read(&evidence, &nonce, &options, true).and_then(|inputs| {
        inputs
            .options
            .request(&inputs.evidence, inputs.nonce.as_deref())
            .capture_policy(&inputs.options.capture_options())
    });
    match captured {
        Ok(policy) => {
            to_js(&serde_json::json!({ "verified": true, "exit_code": 0, "policy": policy }))
        }
        Err(error) => to_js(&VerdictDocument::<()>::failed(&error)),
    }
}

/// `pcrPurpose(index)`: what a PCR measures on Azure's confidential VMs, in a few words.
#[wasm_bindgen(js_name = pcrPurpose)]
pub fn pcr_purpose(#[wasm_bindgen(unchecked_param_type = "number")] index: JsValue) -> String {
    match index.as_f64() {
        Some(n) if n.fract() == 0.0 && (0.0..=23.0).contains(&n) => {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let index = n as u8;
            snp_vtpm::policy_text::pcr_purpose(index).to_string()
        }
        _ => "no such PCR".to_string(),
    }
}

/// `version()`: the version, commit, pinned roots and preset digests of this build.
#[wasm_bindgen(unchecked_return_type = "Record<string, unknown>")]
pub fn version() -> JsValue {
    to_js(&BuildInfo::current())
}

/// The arguments of `verify` and `capturePolicy`, as bytes and options.
struct Inputs {
    evidence: Vec<u8>,
    nonce: Option<Vec<u8>>,
    options: OfflineOptions,
}

impl Inputs {
    fn read(
        evidence: &JsValue,
        nonce: &JsValue,
        options: &JsValue,
        nonce_required: bool,
    ) -> Result<Self, Error> {
        let read = read_arguments(evidence, nonce, options, nonce_required, LIMIT)
            .map_err(|thrown| Error::input(message(&thrown)))?;
        // The helper built these fields itself: fresh Uint8Arrays, null, and a string.
        let field = |name: &str| js_sys::Reflect::get(&read, &JsValue::from_str(name)).ok();
        let bytes = |value: JsValue| Uint8Array::new(&value).to_vec();
        let evidence = field("evidence")
            .map(bytes)
            .ok_or_else(|| Error::input("the evidence could not be read"))?;
        let nonce = field("nonce").filter(|n| !n.is_null()).map(bytes);
        let options = field("options")
            .and_then(|o| o.as_string())
            .ok_or_else(|| Error::input("the options could not be read"))?;
        let options: OfflineOptions =
            serde_json::from_str(&options).map_err(|e| Error::input(format!("options: {e}")))?;
        Ok(Self {
            evidence,
            nonce,
            options,
        })
    }
}

/// What a thrown value says.
fn message(thrown: &JsValue) -> String {
    js_sys::Reflect::get(thrown, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| thrown.as_string())
        .unwrap_or_else(|| "the arguments could not be read".to_string())
}

/// The host's clock.
fn now() -> UnixTime {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    UnixTime::from_secs(now_seconds().max(0.0) as u64)
}

/// A JSON-serialisable value as a plain JavaScript object (through JSON text: what the tool
/// prints is what JavaScript gets).
fn to_js<T: serde::Serialize>(value: &T) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| JSON::parse(&text).ok())
        .unwrap_or(JsValue::NULL)
}
