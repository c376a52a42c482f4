//! A certificate service on 127.0.0.1 that answers the Azure IMDS THIM path and the AMD KDS
//! paths with the test PKI's certificates, and publishes the test vTPM CAs where AK
//! certificates' AIA point, so the attester fetches for real over HTTP.

use std::sync::{Arc, OnceLock};

use hcl_parse::{Generation, TcbVersion};
use snp_vtpm_testkit::azure::{TEST_CHIP_ID, TEST_TCB};
use snp_vtpm_testkit::pki::vtpm::{self, CertSpec, INTERMEDIATE_CN, VtpmPki};
use snp_vtpm_testkit::pki::{CrlSpec, LeafSpec, TestPki, pem_certificate};

use crate::http::{Response, Server};

/// Where the test vTPM intermediate is published (an AK certificate's caIssuers URL).
pub const VTPM_INTERMEDIATE_PATH: &str = "/vtpm/intermediate.cer";
/// Where the test vTPM root is published (the intermediate's caIssuers URL).
pub const VTPM_ROOT_PATH: &str = "/vtpm/root.cer";

/// The running service.
pub struct CertService {
    server: Server,
    /// The published intermediate: its AIA names this service's URL, known once it runs.
    vtpm_intermediate: Arc<OnceLock<Vec<u8>>>,
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
        let vtpm_intermediate = Arc::new(OnceLock::<Vec<u8>>::new());
        let published = vtpm_intermediate.clone();
        let vtpm_root = VtpmPki::shared().root.clone();
        let server = Server::start(move |request| {
            let path = request.path.split('?').next().unwrap_or_default();
            let certificate =
                |der: &[u8]| Response::bytes(200, "application/pkix-cert", der.to_vec());
            match (path, published.get()) {
                (VTPM_INTERMEDIATE_PATH, Some(der)) => return certificate(der),
                (VTPM_ROOT_PATH, _) => return certificate(&vtpm_root),
                _ => {}
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
        let url = server.url();
        let intermediate = VtpmPki::shared().intermediate_with(&CertSpec {
            extra: vec![vtpm::ca_issuers(&[&format!("{url}{VTPM_ROOT_PATH}")])],
            ..CertSpec::ca(INTERMEDIATE_CN, Some(0))
        });
        let _ = vtpm_intermediate.set(intermediate.0);
        Ok(Self {
            server,
            vtpm_intermediate,
        })
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

    /// The intermediate as published (with its AIA).
    pub fn vtpm_intermediate(&self) -> Option<&[u8]> {
        self.vtpm_intermediate.get().map(Vec::as_slice)
    }

    /// Base URL for both `--imds-url` and `--kds-url`.
    pub fn url(&self) -> String {
        self.server.url()
    }
}
