//! The attestation result of a verified piece of evidence, as EAR claims (IETF RATS EAT
//! Attestation Results, draft-ietf-rats-ear-04, with the AR4SI trustworthiness vector): what
//! the token carries. Veraison's `ear` crate reads them (a test checks it).
//!
//! One submodule, `cvm`, appraises the confidential VM: its status, its trustworthiness
//! vector, the policy that appraised it, and the verdict's fields as the attester's claims
//! the verifier checked (product, TCB, measurement or MRTD, ID-key digest, PCRs, VM id, event
//! log).

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use snp_vtpm::VerifiedEvidence;
use snp_vtpm::tdx_verify::TcbStatus;

/// The EAR profile this service issues (draft-ietf-rats-ear-04).
pub const EAR_PROFILE: &str = "tag:ietf.org,2026:rats/ear#04";

/// AR4SI trustworthiness claims (draft-ietf-rats-ar4si): 2 is affirming, 3 an affirming
/// variant, 32 a warning, 0 no claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trustworthiness {
    /// The attester is the instance it claims to be: a vTPM bound to known firmware.
    pub instance_identity: u8,
    /// The configuration met the policy.
    pub configuration: u8,
    /// 3 when the policy pinned the boot (PCR values or kernel command lines); else no claim.
    pub executables: u8,
    /// Genuine AMD or Intel hardware at an accepted TCB (32 when Intel says software
    /// hardening is needed).
    pub hardware: u8,
    /// Memory encrypted by SEV-SNP or TDX.
    pub runtime_opaque: u8,
}

impl Trustworthiness {
    /// The vector of a verified verdict; `boot_pinned` says whether the policy pinned PCR
    /// values or kernel command lines.
    pub fn of(verified: &VerifiedEvidence, boot_pinned: bool) -> Self {
        let up_to_date = verified
            .tdx()
            .is_none_or(|tdx| tdx.quote.tcb().status == TcbStatus::UpToDate);
        Self {
            instance_identity: 2,
            configuration: 2,
            executables: if boot_pinned { 3 } else { 0 },
            hardware: if up_to_date { 2 } else { 32 },
            runtime_opaque: 2,
        }
    }

    /// `affirming` when every claim is affirming or absent, `warning` when one warns.
    pub fn status(&self) -> &'static str {
        let claims = [
            self.instance_identity,
            self.configuration,
            self.executables,
            self.hardware,
            self.runtime_opaque,
        ];
        if claims.iter().any(|&claim| (32..=95).contains(&claim)) {
            "warning"
        } else {
            "affirming"
        }
    }

    fn to_json(self) -> Value {
        let mut vector = serde_json::Map::new();
        for (name, value) in [
            ("instance-identity", self.instance_identity),
            ("configuration", self.configuration),
            ("executables", self.executables),
            ("hardware", self.hardware),
            ("runtime-opaque", self.runtime_opaque),
        ] {
            if value != 0 {
                vector.insert(name.into(), value.into());
            }
        }
        Value::Object(vector)
    }
}

/// The EAR claims for `verdict` (the verified verdict as JSON text, embedded as it is),
/// issued at `iat`, expiring at `exp`, for `nonce`, appraised under `policy_id`: a JSON object
/// as text, ready to sign.
pub fn ear_claims(
    verdict: &RawValue,
    trust: Trustworthiness,
    nonce: &[u8],
    iat: u64,
    exp: u64,
    policy_id: &str,
) -> Result<String, serde_json::Error> {
    #[derive(Serialize)]
    struct Claims<'a> {
        eat_profile: &'static str,
        iat: u64,
        exp: u64,
        ear_verifier_id: VerifierId,
        eat_nonce: String,
        submods: Submods<'a>,
    }
    #[derive(Serialize)]
    struct VerifierId {
        developer: &'static str,
        build: &'static str,
    }
    #[derive(Serialize)]
    struct Submods<'a> {
        cvm: Appraisal<'a>,
    }
    #[derive(Serialize)]
    struct Appraisal<'a> {
        ear_status: &'static str,
        ear_trustworthiness_vector: Value,
        ear_appraisal_policy_ids: [&'a str; 1],
        ear_attester_claims: &'a RawValue,
    }
    let claims = Claims {
        eat_profile: EAR_PROFILE,
        iat,
        exp,
        ear_verifier_id: VerifierId {
            developer: "https://github.com/snp-vtpm/snp-vtpm",
            build: concat!("snp-vtpm-server ", env!("CARGO_PKG_VERSION")),
        },
        eat_nonce: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(nonce),
        submods: Submods {
            cvm: Appraisal {
                ear_status: trust.status(),
                ear_trustworthiness_vector: trust.to_json(),
                ear_appraisal_policy_ids: [policy_id],
                ear_attester_claims: verdict,
            },
        },
    };
    serde_json::to_string(&claims)
}
