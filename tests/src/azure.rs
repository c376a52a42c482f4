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
        }
    }

    /// The runtime claims JSON, in the paravisor's key order and upper-case user-data hex.
    pub fn claims(&self) -> String {
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.ak_modulus);
        let user_data = hex::encode_upper(self.user_data);
        format!(
            r#"{{"keys":[{{"kid":"HCLAkPub","key_ops":["sign"],"kty":"RSA","e":"AQAB","n":"{n}"}}],"vm-configuration":{{"console-enabled":true,"secure-boot":true,"tpm-enabled":true,"vmUniqueId":"5E1F0E42-0000-4000-8000-00000000CAFE"}},"user-data":"{user_data}"}}"#
        )
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
        let vcek = pki.issue_leaf(&LeafSpec::vcek_for_report(generation, &raw));
        sign_report(&mut raw, &vcek.signing_key);
        let hcl = HclReportBuilder::new(raw.as_bytes(), claims.as_bytes()).build();
        (hcl, vcek)
    }
}
