//! Verifying with everything in hand: the evidence, the nonce, the policy as text, the time, and
//! any certificates, CRL or Intel collateral as bytes. No fetching, no files, no clock. This is
//! what the npm and Python packages and the web page call; `snp-vtpm verify --offline` comes to
//! the same.

use std::sync::Arc;

use snp_verify::{TrustAnchors, UnixTime};

use crate::capture::{CaptureOptions, capture};
use crate::catalog::FirmwareCatalog;
use crate::document::VerdictDocument;
use crate::error::Error;
use crate::evidence::{DEFAULT_SIZE_LIMIT, Evidence};
use crate::policy::{EvidencePolicy, Platform};
use crate::verdict::VerifiedEvidence;
use crate::verifier::{Certificates, Verifier, VerifyOptions};
use vtpm_quote::ExpectedNonce;

/// One verification's inputs, as bytes.
#[derive(Debug, Clone, Copy)]
pub struct OfflineRequest<'a> {
    /// The evidence JSON (docs/evidence.md).
    pub evidence: &'a [u8],
    /// The nonce the quote must carry; `None` checks none (the verdict says so).
    pub nonce: Option<&'a [u8]>,
    /// A policy file's text (TOML or JSON, docs/policy.md); `None` for a preset.
    pub policy: Option<&'a [u8]>,
    /// A preset's name; `None` for the evidence's platform's (`azure-cvm`, `azure-tdx`).
    pub preset: Option<&'a str>,
    /// The time certificates, CRLs and collateral must be valid at.
    pub time: UnixTime,
    /// Certificates in PEM or DER (a VCEK, the ASK and ARK); AMD's shipped certificates complete
    /// the chain when no pinned ARK is among them or in the evidence.
    pub certificates: Option<&'a [u8]>,
    /// A KDS CRL, DER or PEM.
    pub crl: Option<&'a [u8]>,
    /// Intel's collateral for TDX evidence (`snp-vtpm fetch collateral`'s JSON).
    pub collateral: Option<&'a [u8]>,
    /// A firmware catalog file that extends (or replaces) the built-in catalog.
    pub firmware_catalog: Option<&'a [u8]>,
    /// Accept unknown firmware (tests and labs only; the verdict records it).
    pub allow_unknown_firmware: bool,
    /// Require the report to be bound to the nonce.
    pub require_fresh_report: bool,
}

/// The same choices, owned, as a binding receives them (the Python package passes them as
/// JSON: `{"preset": "azure-cvm", "at": 1767225600, "chain_pem": "...", ...}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfflineOptions {
    /// A policy file's text.
    pub policy: Option<String>,
    /// A preset's name.
    pub preset: Option<String>,
    /// Seconds since the epoch.
    pub at: u64,
    /// Certificates, PEM (or DER).
    pub chain_pem: Option<String>,
    /// A CRL, PEM.
    pub crl_pem: Option<String>,
    /// Intel's collateral (JSON).
    pub collateral: Option<String>,
    /// A firmware catalog file.
    pub firmware_catalog: Option<String>,
    /// Accept unknown firmware (tests and labs only).
    pub allow_unknown_firmware: bool,
    /// Require the report to be bound to the nonce.
    pub require_fresh_report: bool,
    /// The PCRs a captured policy pins.
    pub pcrs: Option<Vec<u8>>,
}

impl OfflineOptions {
    /// The request for `evidence` and `nonce` with these choices.
    pub fn request<'a>(
        &'a self,
        evidence: &'a [u8],
        nonce: Option<&'a [u8]>,
    ) -> OfflineRequest<'a> {
        OfflineRequest {
            policy: self.policy.as_deref().map(str::as_bytes),
            preset: self.preset.as_deref(),
            certificates: self.chain_pem.as_deref().map(str::as_bytes),
            crl: self.crl_pem.as_deref().map(str::as_bytes),
            collateral: self.collateral.as_deref().map(str::as_bytes),
            firmware_catalog: self.firmware_catalog.as_deref().map(str::as_bytes),
            allow_unknown_firmware: self.allow_unknown_firmware,
            require_fresh_report: self.require_fresh_report,
            ..OfflineRequest::new(evidence, nonce, UnixTime::from_secs(self.at))
        }
    }

    /// The capture choices (PCRs to pin; unknown firmware never trusted through a binding).
    pub fn capture_options(&self) -> CaptureOptions {
        CaptureOptions {
            pcrs: self.pcrs.clone(),
            trust_unknown_firmware: false,
        }
    }
}

impl<'a> OfflineRequest<'a> {
    /// Evidence and nonce at a time, with the default preset and nothing else given.
    pub fn new(evidence: &'a [u8], nonce: Option<&'a [u8]>, time: UnixTime) -> Self {
        Self {
            evidence,
            nonce,
            policy: None,
            preset: None,
            time,
            certificates: None,
            crl: None,
            collateral: None,
            firmware_catalog: None,
            allow_unknown_firmware: false,
            require_fresh_report: false,
        }
    }

    /// Verifies the evidence.
    pub fn verify(&self) -> Result<VerifiedEvidence, Error> {
        self.verify_with(self.catalog()?)
    }

    /// Verifies the evidence with the firmware catalog already built.
    fn verify_with(&self, catalog: Arc<FirmwareCatalog>) -> Result<VerifiedEvidence, Error> {
        if let Some(nonce) = self.nonce {
            ExpectedNonce::exactly(nonce)?;
        }
        let evidence = Evidence::from_json(self.evidence, DEFAULT_SIZE_LIMIT)?;
        let policy = self.policy(&evidence)?;
        let mut certificates = Certificates::default();
        if let Some(bytes) = self.certificates {
            certificates.add_file(bytes)?;
        }
        if let Some(bytes) = self.crl {
            certificates.crl = Some(crate::certs::crl_der(bytes)?);
        }
        if let Some(bytes) = self.collateral {
            certificates.tdx_collateral =
                Some(tdx_verify::Collateral::from_json(bytes).map_err(Error::Tdx)?);
        }
        certificates.complete_amd_chain(&evidence);
        let options = VerifyOptions {
            allow_unknown_firmware: self.allow_unknown_firmware,
            require_fresh_report: self.require_fresh_report,
            ..VerifyOptions::at(self.time)
        };
        let nonce = match self.nonce {
            Some(bytes) => ExpectedNonce::Exactly(bytes),
            None => ExpectedNonce::NotChecked,
        };
        Verifier::with_anchors(TrustAnchors::amd(), policy)
            .with_firmware_catalog(catalog)
            .verify(&evidence, nonce, &certificates, &options)
    }

    /// Verifies the evidence, as the verdict document `snp-vtpm verify --json` prints.
    pub fn document(&self) -> VerdictDocument<VerifiedEvidence> {
        VerdictDocument::of(self.verify())
    }

    /// Verifies the evidence, then writes the policy that accepts this VM and refuses others,
    /// as `snp-vtpm policy capture` does (TOML, commented). Evidence accepted only because
    /// unknown firmware was allowed is refused unless `options` trusts it.
    pub fn capture_policy(&self, options: &CaptureOptions) -> Result<String, Error> {
        if self.nonce.is_none() {
            return Err(Error::input(
                "a policy is captured from evidence known to be fresh: give the nonce",
            ));
        }
        let catalog = self.catalog()?;
        let verified = self.verify_with(Arc::clone(&catalog))?;
        let values = capture(&verified, options)?;
        Ok(crate::policy_text::to_toml(&values, &catalog))
    }

    /// The policy: the text given, else the preset named, else the evidence's platform's.
    fn policy(&self, evidence: &Evidence) -> Result<EvidencePolicy, Error> {
        match (self.policy, self.preset) {
            (Some(_), Some(_)) => Err(Error::input(
                "give a policy or a preset, not both (a policy file names the preset it extends)",
            )),
            // A policy file extends azure-cvm unless it says otherwise: its platform is its
            // own, never the evidence's.
            (Some(text), None) => {
                EvidencePolicy::from_text(text, Platform::Snp.default_preset(), "policy")
            }
            (None, Some(name)) => EvidencePolicy::named(name),
            (None, None) => {
                EvidencePolicy::named(evidence.platform().unwrap_or_default().default_preset())
            }
        }
    }

    fn catalog(&self) -> Result<Arc<FirmwareCatalog>, Error> {
        let builtin = FirmwareCatalog::builtin();
        match self.firmware_catalog {
            Some(bytes) => Ok(Arc::new(builtin.with_file(bytes, "firmware catalog")?)),
            None => Ok(builtin),
        }
    }
}
