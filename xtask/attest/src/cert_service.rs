//! A certificate service on 127.0.0.1 that answers the Azure IMDS THIM path and the AMD KDS
//! paths with the test PKI's certificates, publishes the test vTPM CAs where AK certificates'
//! AIA point, and for TDX plays Azure IMDS's quoting service (`POST /acc/tdquote`, quotes
//! signed by the test Intel PKI) and an Intel PCS serving that PKI's collateral. So the
//! attester and the relying party fetch for real over HTTP.

use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hcl_parse::{Generation, TcbVersion};
use snp_vtpm::tdx_verify::Collateral;
use snp_vtpm_testkit::azure::{TEST_CHIP_ID, TEST_TCB};
use snp_vtpm_testkit::pki::intel::IntelPki;
use snp_vtpm_testkit::pki::vtpm::{self, CertSpec, VtpmPki};
use snp_vtpm_testkit::pki::{CrlSpec, LeafSpec, TestPki, pem_certificate};
use snp_vtpm_testkit::vectors;

use crate::http::{Request, Response, Server};

/// Where the test vTPM intermediate is published (an AK certificate's caIssuers URL).
pub const VTPM_INTERMEDIATE_PATH: &str = "/vtpm/intermediate.cer";
/// Where a forgery of it is published: its name and key, issued by "Evil Root" (what a man in
/// the middle of plain-HTTP AIA could serve).
pub const VTPM_FORGED_INTERMEDIATE_PATH: &str = "/vtpm/forged-intermediate.cer";

/// Where the test root CA CRL is published (Intel's is on another host).
pub const ROOT_CA_CRL_PATH: &str = "/IntelSGXRootCA.der";

/// The running service.
pub struct CertService {
    server: Server,
    /// The collateral the PCS paths serve (replaced to play Intel publishing an advisory).
    collateral: Arc<Mutex<Collateral>>,
    now: u64,
}

/// The template of TDX collateral: the Azure sample's (its TCB levels and QE identity).
fn collateral_template() -> Collateral {
    Collateral::from_json(&vectors::read("azure/tdx-vm1/intel-collateral.json"))
        .expect("the sample's collateral parses")
}

impl CertService {
    /// Serves the VCEK of the synthetic chip (TEST_CHIP_ID at TEST_TCB), the chain and a CRL
    /// current at `now` for `generation`.
    pub fn start(pki: &'static TestPki, generation: Generation, now: u64) -> std::io::Result<Self> {
        let tcb_components = hcl_parse::TcbComponents {
            fmc: (generation == Generation::Turin).then_some(1),
            ..TEST_TCB
        };
        let hwid = &TEST_CHIP_ID[..generation.hwid_len()];
        let vcek = pki
            .issue_leaf(&LeafSpec::vcek(generation, hwid, tcb_components))
            .der;
        let chain_pem = pki.product(generation).vcek_chain_pem();
        let crl = pki.crl(
            generation,
            &CrlSpec::new(now.saturating_sub(3600), now + 7 * 86_400),
        );
        let tcbm = format!(
            "{:016X}",
            TcbVersion::from_components(generation, tcb_components).to_u64()
        );
        let thim = serde_json::json!({
            "vcekCert": pem_certificate(&vcek),
            "certificateChain": chain_pem,
            "tcbm": tcbm,
            "cacheControl": "86400",
        })
        .to_string();
        let product = generation.name();
        let vcek_prefix = format!("/vcek/v1/{product}/{}", hex::encode(hwid));
        let vtpm_intermediate = VtpmPki::shared().intermediate.clone();
        let forged_intermediate = VtpmPki::shared().intermediate_under_another_root();
        let collateral = Arc::new(Mutex::new(IntelPki::shared().collateral(
            &collateral_template(),
            now,
            |_| {},
        )));
        let served = collateral.clone();
        let quote_template = vectors::read("azure/tdx-vm1/td-quote.bin");
        let server = Server::start(move |request| {
            if let Some(response) = tdx_route(request, &served, &quote_template) {
                return response;
            }
            let path = request.path.split('?').next().unwrap_or_default();
            if path == VTPM_INTERMEDIATE_PATH {
                return Response::bytes(200, "application/pkix-cert", vtpm_intermediate.clone());
            }
            if path == VTPM_FORGED_INTERMEDIATE_PATH {
                return Response::bytes(200, "application/pkix-cert", forged_intermediate.clone());
            }
            if path == "/metadata/THIM/amd/certification" {
                return match request.header("metadata") {
                    Some("true") => {
                        Response::bytes(200, "application/json", thim.clone().into_bytes())
                    }
                    _ => Response::json(
                        400,
                        &serde_json::json!({ "error": "Metadata: true header required" }),
                    ),
                };
            }
            if path == format!("/vcek/v1/{product}/cert_chain") {
                return Response::bytes(
                    200,
                    "application/x-pem-file",
                    chain_pem.clone().into_bytes(),
                );
            }
            if path == format!("/vcek/v1/{product}/crl") {
                return Response::bytes(200, "application/pkix-crl", crl.clone());
            }
            if path == vcek_prefix {
                return Response::bytes(200, "application/x-x509-ca-cert", vcek.clone());
            }
            Response::json(
                404,
                &serde_json::json!({ "error": "no certificate for this chip and TCB" }),
            )
        })?;
        Ok(Self {
            server,
            collateral,
            now,
        })
    }

    /// From now on the PCS serves collateral whose every TCB level says `status` with
    /// `advisory` (what Intel publishes when a platform's TCB falls behind); `None` serves the
    /// template's levels again.
    pub fn set_tdx_tcb_status(&self, status: Option<(&str, &str)>) {
        let edited = IntelPki::shared().collateral(&collateral_template(), self.now, |tcb_info| {
            let (Some((status, advisory)), Some(levels)) =
                (status, tcb_info["tcbLevels"].as_array_mut())
            else {
                return;
            };
            for level in levels {
                level["tcbStatus"] = status.into();
                level["advisoryIDs"] = serde_json::json!([advisory]);
            }
        });
        *self
            .collateral
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = edited;
    }

    /// An AK certificate for `ak` (RSA modulus, exponent 65537) under the test vTPM CA, whose
    /// AIA names the intermediate as published here (not shipped: the attester fetches it).
    pub fn ak_certificate(&self, ak_modulus: &[u8]) -> Result<Vec<u8>, String> {
        let key = vtpm::public_key(ak_modulus)?;
        let spec = CertSpec {
            extra: vec![vtpm::ca_issuers(&[&format!(
                "{}{VTPM_INTERMEDIATE_PATH}",
                self.url()
            )])],
            ..CertSpec::ak("5e1f00c0ffee")
        };
        Ok(VtpmPki::shared().issue(&spec, &key))
    }

    /// Where the root CA CRL is (`--root-ca-crl-url`).
    pub fn root_ca_crl_url(&self) -> String {
        format!("{}{ROOT_CA_CRL_PATH}", self.url())
    }

    /// Base URL for `--imds-url`, `--kds-url` and `--pcs-url`.
    pub fn url(&self) -> String {
        self.server.url()
    }
}

/// The TDX routes: Azure IMDS's quoting service and the PCS paths; `None` for other paths.
fn tdx_route(
    request: &Request,
    collateral: &Mutex<Collateral>,
    quote_template: &[u8],
) -> Option<Response> {
    let path = request.path.as_str();
    if path == "/acc/tdquote" {
        return Some(td_quote(request, quote_template));
    }
    let collateral = collateral
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let chain = |ders: &[Vec<u8>]| {
        ders.iter()
            .map(|der| pem_certificate(der))
            .collect::<String>()
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    let signed = |key: &str, document: &str, signature: &[u8]| {
        format!(
            "{{\"{key}\":{document},\"signature\":\"{}\"}}",
            hex::encode(signature)
        )
        .into_bytes()
    };
    let response = if path.starts_with("/tdx/certification/v4/tcb?fmspc=") {
        Response::bytes(
            200,
            "application/json",
            signed(
                "tcbInfo",
                &collateral.tcb_info,
                &collateral.tcb_info_signature,
            ),
        )
        .with_header(
            "TCB-Info-Issuer-Chain",
            chain(&collateral.tcb_info_issuer_chain),
        )
    } else if path == "/tdx/certification/v4/qe/identity" {
        Response::bytes(
            200,
            "application/json",
            signed(
                "enclaveIdentity",
                &collateral.qe_identity,
                &collateral.qe_identity_signature,
            ),
        )
        .with_header(
            "SGX-Enclave-Identity-Issuer-Chain",
            chain(&collateral.qe_identity_issuer_chain),
        )
    } else if path == "/sgx/certification/v4/pckcrl?ca=platform&encoding=der" {
        Response::bytes(200, "application/pkix-crl", collateral.pck_crl.clone()).with_header(
            "SGX-PCK-CRL-Issuer-Chain",
            chain(&collateral.pck_crl_issuer_chain),
        )
    } else if path == ROOT_CA_CRL_PATH {
        Response::bytes(200, "application/pkix-crl", collateral.root_ca_crl.clone())
    } else {
        return None;
    };
    Some(response)
}

/// `POST /acc/tdquote` `{"report": "<base64url TDREPORT>"}` -> `{"quote": "<base64url>"}`,
/// signed by the test Intel PKI's quoting enclave.
fn td_quote(request: &Request, template: &[u8]) -> Response {
    let bad = |error: &str| Response::json(400, &serde_json::json!({ "error": error }));
    if request.method != "POST" {
        return Response::json(405, &serde_json::json!({ "error": "use POST" }));
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&request.body) else {
        return bad("the body is not JSON");
    };
    let Some(report) = json["report"]
        .as_str()
        .and_then(|text| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok())
    else {
        return bad("no base64url report");
    };
    if report.len() != 1024 {
        return bad("a TDREPORT is 1024 bytes");
    }
    let quote = IntelPki::shared().td_quote(&report, template);
    Response::json(
        200,
        &serde_json::json!({ "quote": URL_SAFE_NO_PAD.encode(quote) }),
    )
}
