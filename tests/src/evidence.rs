//! Every complete real evidence in `../shared/vectors`, as the facade reads it, with the nonce
//! the vectors README gives and the AMD chain that verifies it.
//!
//! `milan-v2` has no evidence file: it is assembled from `hcl-report.bin`, `quote.bin` and
//! `vcek.pem` as v1 evidence (its report is not bound to the nonce).

use hcl_parse::Generation;
use snp_vtpm::vtpm_quote::QuoteFile;
use snp_vtpm::{Certificates, Evidence, EvidenceVersion, QuoteParts};

use crate::vectors::{self, GENOA_NONCE, MILAN_V3_USERDATA_NONCE};

/// The verification time of the real evidence (2025-06-01): every certificate is valid then.
pub const REAL_EVIDENCE_TIME: u64 = 1_748_736_000;

/// One real evidence and what verifies it.
#[derive(Debug, Clone)]
pub struct RealEvidence {
    /// Folder name under `azure/`.
    pub name: &'static str,
    /// The evidence.
    pub evidence: Evidence,
    /// The quote's nonce, from the vectors README.
    pub nonce: Vec<u8>,
    /// The AMD chain (ASK, ARK) of the product, and the VCEK when the evidence has none.
    pub certificates: Certificates,
    /// The product.
    pub generation: Generation,
}

/// ASK and ARK of a product (`milan`, `genoa`, `turin`) from `amd/`.
pub fn amd_chain(product: &str) -> Certificates {
    let mut certificates = Certificates::default();
    for file in ["ask", "ark"] {
        certificates
            .add_file(&vectors::read(&format!("amd/{product}/{file}.pem")))
            .unwrap_or_else(|e| panic!("amd/{product}/{file}.pem: {e}"));
    }
    certificates
}

/// The evidence of an evidence JSON file of the vectors.
pub fn evidence_file(relative: &str) -> Evidence {
    Evidence::from_json(&vectors::read(relative), snp_vtpm::DEFAULT_SIZE_LIMIT)
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// milan-v2 as v1 evidence: `hcl-report.bin`, `quote.bin` and the VCEK of `vcek.pem`.
pub fn milan_v2_evidence() -> Evidence {
    let quote = QuoteFile::from_quote_bin(&vectors::read("azure/milan-v2/quote.bin"))
        .unwrap_or_else(|e| panic!("azure/milan-v2/quote.bin: {e}"));
    Evidence {
        vcek: Some(vectors::read_pem("azure/milan-v2/vcek.pem").swap_remove(0)),
        ..Evidence::new(
            EvidenceVersion::V1,
            vectors::read("azure/milan-v2/hcl-report.bin"),
            QuoteParts::from_file(quote),
        )
    }
}

/// 2026-02-18T14:04:40Z: when the TDX sample was taken, inside its collateral and AK
/// certificate.
pub const TDX_EVIDENCE_TIME: u64 = 1_771_423_480;

/// The Azure TDX CVM sample (`azure/tdx-vm1`) as native evidence: its HCL report, TD quote,
/// vTPM quote and AK certificate (NV form). The attester used all-zero user-data, so the nonce
/// is 32 zero bytes and the report is bound to it (version 2).
pub fn tdx_vm1_evidence() -> Evidence {
    let quote = QuoteFile::from_json(&vectors::read("azure/tdx-vm1/tpm-quote.json"))
        .unwrap_or_else(|e| panic!("azure/tdx-vm1/tpm-quote.json: {e}"));
    Evidence {
        ak_certificate: Some(vectors::read("azure/tdx-vm1/ak-cert-nv-padded.bin")),
        td_quote: Some(vectors::read("azure/tdx-vm1/td-quote.bin")),
        ..Evidence::new(
            EvidenceVersion::V2,
            vectors::read("azure/tdx-vm1/hcl-report.bin"),
            QuoteParts::from_file(quote),
        )
    }
}

/// The Intel collateral of the TDX sample, as the verifier takes it.
pub fn tdx_vm1_collateral() -> Certificates {
    let json = vectors::read("azure/tdx-vm1/intel-collateral.json");
    Certificates {
        tdx_collateral: Some(
            snp_vtpm::tdx_verify::Collateral::from_json(&json)
                .unwrap_or_else(|e| panic!("azure/tdx-vm1/intel-collateral.json: {e}")),
        ),
        ..Certificates::default()
    }
}

/// milan-v2, milan-v3 (v0), milan-v3-userdata (v2) and genoa-v3 (v0, VCEK beside it).
pub fn real_evidence() -> Vec<RealEvidence> {
    let hex = |text: &str| hex::decode(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let mut genoa = amd_chain("genoa");
    genoa
        .add_file(&vectors::read("azure/genoa-v3/vcek-genoa.pem"))
        .unwrap_or_else(|e| panic!("azure/genoa-v3/vcek-genoa.pem: {e}"));
    vec![
        RealEvidence {
            name: "milan-v2",
            evidence: milan_v2_evidence(),
            nonce: b"challenge".to_vec(),
            certificates: amd_chain("milan"),
            generation: Generation::Milan,
        },
        RealEvidence {
            name: "milan-v3",
            evidence: evidence_file("azure/milan-v3/evidence-v0.json"),
            nonce: b"challenge".to_vec(),
            certificates: amd_chain("milan"),
            generation: Generation::Milan,
        },
        RealEvidence {
            name: "milan-v3-userdata",
            evidence: evidence_file("azure/milan-v3-userdata/evidence-v2.json"),
            nonce: hex(MILAN_V3_USERDATA_NONCE),
            certificates: amd_chain("milan"),
            generation: Generation::Milan,
        },
        RealEvidence {
            name: "genoa-v3",
            evidence: evidence_file("azure/genoa-v3/evidence-genoa.json"),
            nonce: hex(GENOA_NONCE),
            certificates: genoa,
            generation: Generation::Genoa,
        },
    ]
}
