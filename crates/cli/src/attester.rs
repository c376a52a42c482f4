//! The guest side (feature `attester`): gathers native evidence for a nonce from the vTPM,
//! with certificates from IMDS or KDS (cached).

use hcl_parse::HclReport;
use vtpm_quote::guest::Vtpm;
use vtpm_quote::{HashAlg, PcrBankSelection};

use crate::error::Error;
use crate::evidence::{Evidence, EvidenceVersion, QuoteParts};
use crate::fetch::{self, FetchOptions};
use crate::verifier::Certificates;

/// What to gather besides the report and the quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttesterOptions {
    /// Fetch the VCEK and chain (None: leave them to the verifier).
    pub fetch: Option<FetchOptions>,
    /// Add the TCG event log when the kernel exposes one and the TPM is the kernel's (not a
    /// simulator reached through a `swtpm:` or `mssim:` TCTI, whose PCRs the log does not
    /// describe). A verifier refuses evidence whose log does not replay to the quote.
    pub event_log: bool,
    /// Add the AK certificate when Azure provisioned one.
    pub ak_certificate: bool,
}

impl Default for AttesterOptions {
    fn default() -> Self {
        Self {
            fetch: Some(FetchOptions {
                use_imds: true,
                notify_on_stderr: true,
                ..FetchOptions::default()
            }),
            event_log: true,
            ak_certificate: true,
        }
    }
}

/// Gathers evidence on the guest.
#[derive(Debug)]
pub struct Attester {
    vtpm: Vtpm,
    options: AttesterOptions,
}

impl Attester {
    /// Opens the vTPM (`tcti`, else `$SNP_VTPM_TCTI`, else `device:/dev/tpmrm0`).
    pub fn open(tcti: Option<&str>, options: AttesterOptions) -> Result<Self, Error> {
        Ok(Self {
            vtpm: Vtpm::open(tcti).map_err(Error::from)?,
            options,
        })
    }

    /// The vTPM, for operations the attester does not wrap.
    pub fn vtpm(&mut self) -> &mut Vtpm {
        &mut self.vtpm
    }

    /// Evidence for `nonce`: with `fresh`, the report is first bound to the nonce (written as
    /// user-data) and the evidence says version 2; otherwise version 1. The quote covers the
    /// SHA-256 PCRs 0-23.
    pub fn evidence(&mut self, nonce: &[u8], fresh: bool) -> Result<Evidence, Error> {
        let hcl_report = if fresh {
            self.vtpm
                .fresh_hcl_report(nonce)
                .map_err(Error::from)?
                .bytes
        } else {
            self.vtpm.hcl_report().map_err(Error::from)?
        };
        let selection = [PcrBankSelection {
            bank: HashAlg::Sha256,
            indices: (0..24).collect(),
        }];
        let quote = self.vtpm.quote(nonce, &selection).map_err(Error::from)?;
        let pcrs = quote
            .pcrs
            .iter()
            .map(|(_, _, value)| value.to_vec())
            .collect();
        let mut evidence = Evidence {
            version: if fresh {
                EvidenceVersion::V2
            } else {
                EvidenceVersion::V1
            },
            hcl_report,
            quote: QuoteParts {
                message: quote.message,
                signature: quote.signature,
                pcrs,
                pcr_bank: HashAlg::Sha256,
                pcr_indices: None,
            },
            vcek: None,
            cert_chain: Vec::new(),
            ak_certificate: None,
            ak_cert_chain: Vec::new(),
            event_log: None,
        };
        if let Some(fetch_options) = &self.options.fetch {
            let source = fetch_options.source()?;
            let hcl = HclReport::parse(&evidence.hcl_report).map_err(Error::from)?;
            let report = hcl.snp_report().map_err(Error::from)?;
            let mut certificates = Certificates::default();
            fetch::complete(&source, &report, None, false, false, &mut certificates)?;
            evidence.vcek = certificates.leaves.into_iter().next();
            evidence.cert_chain = certificates.ca;
        }
        if self.options.ak_certificate {
            evidence.ak_certificate = self.vtpm.ak_certificate().map_err(Error::from)?;
        }
        if self.options.event_log && describes_kernel_tpm(self.vtpm.tcti()) {
            evidence.event_log = Vtpm::event_log().map_err(Error::from)?;
        }
        Ok(evidence)
    }
}

/// Whether the kernel's event log (securityfs) describes the TPM behind `tcti`: not for the
/// simulators' TCTIs.
fn describes_kernel_tpm(tcti: &str) -> bool {
    !(tcti.starts_with("swtpm") || tcti.starts_with("mssim"))
}

#[cfg(test)]
mod tests {
    use super::describes_kernel_tpm;

    #[test]
    fn the_kernel_log_goes_with_the_kernel_tpm_only() {
        assert!(describes_kernel_tpm("device:/dev/tpmrm0"));
        assert!(describes_kernel_tpm("tabrmd"));
        assert!(!describes_kernel_tpm("swtpm:host=127.0.0.1,port=2321"));
        assert!(!describes_kernel_tpm("mssim:port=2321"));
    }
}
