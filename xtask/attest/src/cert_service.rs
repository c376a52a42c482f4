//! A certificate service on 127.0.0.1 that answers the Azure IMDS THIM path and the AMD KDS
//! paths with the test PKI's certificates, and publishes the test vTPM CAs where AK
//! certificates' AIA point, so the attester fetches for real over HTTP.

use hcl_parse::{Generation, TcbVersion};
use snp_vtpm_testkit::azure::{TEST_CHIP_ID, TEST_TCB};
use snp_vtpm_testkit::pki::vtpm::{self, CertSpec, VtpmPki};
use snp_vtpm_testkit::pki::{CrlSpec, LeafSpec, TestPki, pem_certificate};

use crate::http::{Response, Server};

/// Where the test vTPM intermediate is published (an AK certificate's caIssuers URL).
pub const VTPM_INTERMEDIATE_PATH: &str = "/vtpm/intermediate.cer";
/// Where a forgery of it is published: its name and key, issued by "Evil Root" (what a man in
/// the middle of plain-HTTP AIA could serve).
pub const VTPM_FORGED_INTERMEDIATE_PATH: &str = "/vtpm/forged-intermediate.cer";

/// The running service.
pub struct CertService {
    server: Server,
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
        let server = Server::start(move |request| {
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
        Ok(Self { server })
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

    /// Base URL for both `--imds-url` and `--kds-url`.
    pub fn url(&self) -> String {
        self.server.url()
    }
}
