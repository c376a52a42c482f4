//! Synthetic Azure evidence from the test PKI: an HCL report shaped like the paravisor's,
//! whose runtime claims carry a given AK, signed by a test VCEK. This is the stand-in for
//! Azure's paravisor wherever no real one runs (swtpm tests, `cargo xtask attest`).

use base64::Engine;
use hcl_parse::compose::HclReportBuilder;
use hcl_parse::snp::RawSnpReport;
use hcl_parse::{Generation, HashType, TcbComponents, TcbVersion, expected_report_data};
use zerocopy::IntoBytes;

use crate::pki::{Leaf, LeafSpec, TestPki, sign_report};

/// The ID-key digest of the "firmware" the synthetic reports claim (a relying party allows it
/// explicitly; it is not Azure's).
pub const TEST_FIRMWARE_ID_KEY_DIGEST: [u8; 48] = [0x7E; 48];
/// The launch measurement of the synthetic firmware.
pub const TEST_MEASUREMENT: [u8; 48] = [0x3A; 48];
/// The TCB of the synthetic platform.
pub const TEST_TCB: TcbComponents = TcbComponents {
    fmc: None,
    bootloader: 4,
    tee: 0,
    snp: 22,
    microcode: 0xD5,
};
/// The chip id of the synthetic platform.
pub const TEST_CHIP_ID: [u8; 64] = [0xC1; 64];

/// A firmware catalog file (JSON) naming the test firmware's ID-key digest as the entry
/// `lab-firmware`, version `lab-1`; `replace` makes it the whole catalog.
pub fn test_firmware_catalog(replace: bool) -> String {
    serde_json::json!({
        "format": 1,
        "version": "lab-1",
        "replace": replace,
        "entries": [{
            "name": "lab-firmware",
            "platform": "snp",
            "kind": "id_key_digest",
            "value": hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST),
            "first_seen": "2026-12-07",
            "source": "the test PKI's synthetic paravisor",
        }],
    })
    .to_string()
}

/// What the synthetic paravisor puts in a report.
#[derive(Debug, Clone)]
pub struct SyntheticReport {
    /// Product.
    pub generation: Generation,
    /// The AK modulus (big-endian) the runtime claims carry as `HCLAkPub`.
    pub ak_modulus: Vec<u8>,
    /// The 64 bytes of `user-data`.
    pub user_data: [u8; 64],
    /// ID-key digest of the firmware.
    pub id_key_digest: [u8; 48],
    /// VMPL of the requester.
    pub vmpl: u32,
    /// host_data.
    pub host_data: [u8; 32],
    /// A last change to the SNP report before it is signed (CPUID, TCB values, ...); the
    /// VCEK is issued for the changed report.
    pub edit: Option<fn(&mut RawSnpReport)>,
}

impl SyntheticReport {
    /// Azure-shaped defaults: Milan, VMPL 0, zero host_data, the test firmware's digest.
    pub fn new(ak_modulus: &[u8], user_data: [u8; 64]) -> Self {
        Self {
            generation: Generation::Milan,
            ak_modulus: ak_modulus.to_vec(),
            user_data,
            id_key_digest: TEST_FIRMWARE_ID_KEY_DIGEST,
            vmpl: 0,
            host_data: [0; 32],
            edit: None,
        }
    }

    /// The runtime claims JSON, in the paravisor's key order and upper-case user-data hex.
    pub fn claims(&self) -> String {
        runtime_claims(&self.ak_modulus, &self.user_data)
    }

    /// The signed HCL report bytes and the VCEK that signed it.
    pub fn build(&self, pki: &TestPki) -> (Vec<u8>, Leaf) {
        let claims = self.claims();
        let generation = self.generation;
        let mut raw = RawSnpReport::new(3);
        raw.policy.set(0x3001F);
        raw.signature_algo.set(1);
        let (family, model) = match generation {
            Generation::Milan => (0x19, 0x01),
            Generation::Genoa => (0x19, 0x11),
            Generation::Turin => (0x1A, 0x02),
        };
        raw.cpuid_fam_id = family;
        raw.cpuid_mod_id = model;
        raw.vmpl.set(self.vmpl);
        let tcb = TcbVersion::from_components(
            generation,
            TcbComponents {
                fmc: (generation == Generation::Turin).then_some(1),
                ..TEST_TCB
            },
        )
        .0;
        (
            raw.reported_tcb,
            raw.current_tcb,
            raw.committed_tcb,
            raw.launch_tcb,
        ) = (tcb, tcb, tcb, tcb);
        (raw.current_major, raw.current_minor, raw.current_build) = (1, 55, 21);
        (
            raw.committed_major,
            raw.committed_minor,
            raw.committed_build,
        ) = (1, 55, 21);
        let hwid_len = generation.hwid_len();
        raw.chip_id[..hwid_len].copy_from_slice(&TEST_CHIP_ID[..hwid_len]);
        raw.measurement = TEST_MEASUREMENT;
        raw.id_key_digest = self.id_key_digest;
        raw.host_data = self.host_data;
        raw.report_data = expected_report_data(HashType::Sha256, claims.as_bytes());
        if let Some(edit) = self.edit {
            edit(&mut raw);
        }
        let vcek = pki.issue_leaf(&LeafSpec::vcek_for_report(generation, &raw));
        sign_report(&mut raw, &vcek.signing_key);
        let hcl = HclReportBuilder::new(raw.as_bytes(), claims.as_bytes()).build();
        (hcl, vcek)
    }
}

/// Runtime claims as the paravisor writes them: the AK as `HCLAkPub`, the VM configuration,
/// the user-data in upper-case hex.
fn runtime_claims(ak_modulus: &[u8], user_data: &[u8; 64]) -> String {
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ak_modulus);
    let user_data = hex::encode_upper(user_data);
    format!(
        r#"{{"keys":[{{"kid":"HCLAkPub","key_ops":["sign"],"kty":"RSA","e":"AQAB","n":"{n}"}}],"vm-configuration":{{"console-enabled":true,"secure-boot":true,"tpm-enabled":true,"vmUniqueId":"5E1F0E42-0000-4000-8000-00000000CAFE"}},"user-data":"{user_data}"}}"#
    )
}

/// What the paravisor of an Azure TDX CVM puts in its HCL report, as a stand-in: the TDREPORT
/// of Azure's TDX sample (`azure/tdx-vm1`: its MRTD, RTMRs, TEE_TCB_SVN and attributes), with
/// report_data the hash of runtime claims naming `ak_modulus`. A TDREPORT is MACed for the
/// local CPU only, so nothing signs it here: its TD quote does ([`crate::pki::intel`]).
#[derive(Debug, Clone)]
pub struct SyntheticTdxReport {
    /// The AK modulus (big-endian) the runtime claims carry as `HCLAkPub`.
    pub ak_modulus: Vec<u8>,
    /// The 64 bytes of `user-data`.
    pub user_data: [u8; 64],
    /// Another MRTD than the sample's (firmware nobody identified), if set.
    pub mr_td: Option<[u8; 48]>,
}

impl SyntheticTdxReport {
    /// The sample's TDREPORT with claims naming `ak_modulus` and `user_data`.
    pub fn new(ak_modulus: &[u8], user_data: [u8; 64]) -> Self {
        Self {
            ak_modulus: ak_modulus.to_vec(),
            user_data,
            mr_td: None,
        }
    }

    /// The HCL report bytes (report type TDX) and the TDREPORT inside it.
    pub fn build(&self) -> (Vec<u8>, Vec<u8>) {
        let template = crate::vectors::read("azure/tdx-vm1/hcl-report.bin");
        let parsed = hcl_parse::HclReport::parse(&template).expect("the sample parses");
        let hash_type = parsed.hash_type();
        let mut td_report = parsed
            .td_report_bytes()
            .expect("the sample is a TDX report")
            .to_vec();
        let claims = runtime_claims(&self.ak_modulus, &self.user_data);
        td_report[0x80..0xC0].copy_from_slice(&expected_report_data(hash_type, claims.as_bytes()));
        if let Some(mr_td) = &self.mr_td {
            td_report[0x210..0x240].copy_from_slice(mr_td);
        }
        let hcl = HclReportBuilder::new(&td_report, claims.as_bytes())
            .report_type(hcl_parse::ReportType::Tdx)
            .hash_type(hash_type)
            .build();
        (hcl, td_report)
    }
}

/// A software stand-in for the vTPM's attestation key (RSA-2048), for evidence composed
/// without a TPM. Deterministic from its seed.
pub struct SoftwareAk {
    key: rsa::PrivateKey,
}

impl SoftwareAk {
    /// The AK of a seed (generated once per process and seed).
    pub fn shared() -> &'static SoftwareAk {
        static AK: std::sync::OnceLock<SoftwareAk> = std::sync::OnceLock::new();
        AK.get_or_init(|| {
            use chacha20::rand_core::SeedableRng;
            let mut rng = chacha20::ChaCha20Rng::from_seed([0xA5; 32]);
            SoftwareAk {
                key: rsa::PrivateKey::new(&mut rng, 2048).expect("RSA-2048 key generation"),
            }
        })
    }

    /// The public key (what an AK certificate for it certifies).
    pub fn public_key(&self) -> rsa::PublicKey {
        self.key.to_public_key()
    }

    /// The modulus, big-endian.
    pub fn modulus(&self) -> Vec<u8> {
        use rsa::traits::PublicKeyParts;
        self.key.n().to_be_bytes().to_vec()
    }

    /// A quote over SHA-256 PCRs 0..pcrs.len() with `nonce`, as Azure's AK makes them: a
    /// TPMS_ATTEST naming this key under the Azure template and a bare RSASSA-SHA256 signature.
    pub fn quote(&self, nonce: &[u8], pcrs: &[[u8; 32]]) -> (Vec<u8>, Vec<u8>) {
        use sha2::Digest;
        let template = azure_ak_template(&self.modulus());
        let name = [&[0x00, 0x0B][..], &sha2::Sha256::digest(&template)].concat();
        let qualified = [
            &[0x00, 0x0B][..],
            &sha2::Sha256::digest([&0x4000_000Bu32.to_be_bytes()[..], &name].concat()),
        ]
        .concat();
        let mut m = Vec::new();
        m.extend_from_slice(&0xFF54_4347u32.to_be_bytes());
        m.extend_from_slice(&0x8018u16.to_be_bytes());
        m.extend_from_slice(&(qualified.len() as u16).to_be_bytes());
        m.extend_from_slice(&qualified);
        m.extend_from_slice(&(nonce.len() as u16).to_be_bytes());
        m.extend_from_slice(nonce);
        m.extend_from_slice(&[0; 17]);
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&1u32.to_be_bytes());
        m.extend_from_slice(&0x000Bu16.to_be_bytes());
        let mut bitmap = [0u8; 3];
        for index in 0..pcrs.len() {
            bitmap[index / 8] |= 1 << (index % 8);
        }
        m.push(3);
        m.extend_from_slice(&bitmap);
        let digest = sha2::Sha256::digest(pcrs.concat());
        m.extend_from_slice(&32u16.to_be_bytes());
        m.extend_from_slice(&digest);
        let signature = self
            .key
            .sign(
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                &sha2::Sha256::digest(&m),
            )
            .expect("RSA signing");
        (m, signature)
    }
}

/// TPMT_PUBLIC of the Azure AK template with this modulus (as the TPM marshals it).
fn azure_ak_template(modulus: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for word in [0x0001u16, 0x000B] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(&0x0005_0472u32.to_be_bytes());
    for word in [0x0000u16, 0x0010, 0x0014, 0x000B, 2048] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&(modulus.len() as u16).to_be_bytes());
    out.extend_from_slice(modulus);
    out
}

/// Complete synthetic evidence in the native JSON format, and what verifies it.
pub struct SyntheticEvidence {
    /// Evidence JSON (version 2 when the report is bound to the nonce, else 1).
    pub json: Vec<u8>,
    /// The PEM chain (ASK then ARK) of the product.
    pub chain_pem: String,
    /// The nonce the quote carries.
    pub nonce: Vec<u8>,
}

/// Builds evidence from the test PKI and the software AK; `bind` puts the nonce into the
/// report's user-data (version 2 evidence).
pub fn synthetic_evidence(
    pki: &TestPki,
    report: &SyntheticReport,
    nonce: &[u8],
    bind: bool,
) -> SyntheticEvidence {
    synthetic_evidence_quoting(pki, report, nonce, bind, &synthetic_pcrs())
}

/// [`synthetic_evidence`] whose quote covers these SHA-256 values of PCRs 0 to 23.
pub fn synthetic_evidence_quoting(
    pki: &TestPki,
    report: &SyntheticReport,
    nonce: &[u8],
    bind: bool,
    pcrs: &[[u8; 32]],
) -> SyntheticEvidence {
    let ak = SoftwareAk::shared();
    let mut report = SyntheticReport {
        ak_modulus: ak.modulus(),
        ..report.clone()
    };
    if bind {
        report.user_data = [0; 64];
        report.user_data[..nonce.len()].copy_from_slice(nonce);
    }
    let (hcl, vcek) = report.build(pki);
    let (message, signature) = ak.quote(nonce, pcrs);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let json = serde_json::json!({
        "version": if bind { 2 } else { 1 },
        "tpm_quote": {
            "signature": hex::encode(&signature),
            "message": hex::encode(&message),
            "pcrs": pcrs.iter().map(hex::encode).collect::<Vec<_>>(),
        },
        "hcl_report": b64(&hcl),
        "vcek": b64(&vcek.der),
    });
    SyntheticEvidence {
        json: serde_json::to_vec_pretty(&json).expect("JSON"),
        chain_pem: pki.product(report.generation).vcek_chain_pem(),
        nonce: nonce.to_vec(),
    }
}

/// What an attester posts to the attestation service: Azure-shaped evidence bound to `nonce`
/// (the test firmware, Milan) that carries its VCEK and the product's chain (ASK, ARK), so
/// that a service trusting the test roots needs no network.
pub fn service_evidence(pki: &TestPki, nonce: &[u8]) -> Vec<u8> {
    let made = synthetic_evidence(pki, &SyntheticReport::new(&[], [0; 64]), nonce, true);
    let mut json: serde_json::Value = serde_json::from_slice(&made.json).expect("JSON");
    let product = pki.product(Generation::Milan);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    json["cert_chain"] = serde_json::json!([b64(&product.ask_der), b64(&product.ark_der)]);
    serde_json::to_vec(&json).expect("JSON")
}

/// The PCR values synthetic evidence quotes: PCR i holds i repeated, PCRs 17 to 22 hold 0xFF.
pub fn synthetic_pcrs() -> Vec<[u8; 32]> {
    (0..24u8)
        .map(|i| {
            if (17..=22).contains(&i) {
                [0xFF; 32]
            } else {
                [i; 32]
            }
        })
        .collect()
}

/// Synthetic Azure TDX evidence (native JSON; version 2 when `bind` puts the nonce into the
/// user-data) from the software AK and a TD quote of the test Intel PKI, with that PKI's
/// collateral current at `now` (TCB info edited by `edit_tcb_info`).
pub fn synthetic_tdx_evidence(
    report: &SyntheticTdxReport,
    nonce: &[u8],
    bind: bool,
    now: u64,
    edit_tcb_info: impl FnOnce(&mut serde_json::Value),
) -> (Vec<u8>, snp_vtpm::tdx_verify::Collateral) {
    let ak = SoftwareAk::shared();
    let mut report = SyntheticTdxReport {
        ak_modulus: ak.modulus(),
        ..report.clone()
    };
    if bind {
        report.user_data = [0; 64];
        report.user_data[..nonce.len()].copy_from_slice(nonce);
    }
    let (hcl, td_report) = report.build();
    let pki = crate::pki::intel::IntelPki::shared();
    let td_quote = pki.td_quote(
        &td_report,
        &crate::vectors::read("azure/tdx-vm1/td-quote.bin"),
    );
    let template = snp_vtpm::tdx_verify::Collateral::from_json(&crate::vectors::read(
        "azure/tdx-vm1/intel-collateral.json",
    ))
    .expect("the sample's collateral parses");
    let collateral = pki.collateral(&template, now, edit_tcb_info);
    let (message, signature) = ak.quote(nonce, &synthetic_pcrs());
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let json = serde_json::json!({
        "version": if bind { 2 } else { 1 },
        "tpm_quote": {
            "signature": hex::encode(&signature),
            "message": hex::encode(&message),
            "pcrs": synthetic_pcrs().iter().map(hex::encode).collect::<Vec<_>>(),
        },
        "hcl_report": b64(&hcl),
        "td_quote": b64(&td_quote),
    });
    (serde_json::to_vec_pretty(&json).expect("JSON"), collateral)
}
