//! The guest side (feature `attester`): gathers native evidence for a nonce from the vTPM,
//! with certificates from IMDS or KDS (cached).

use amd_kds::CertificateSource;
use attest_prims::UnixTime;
use hcl_parse::HclReport;
use vtpm_akcert::{ErrorKind as AkErrorKind, MAX_PATH_CAS, VtpmAnchors, verify_ak_certificate};
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
    /// Add the AK certificate when Azure provisioned one, with the issuers its AIA names when
    /// they are not shipped (fetched through [`AttesterOptions::fetch`]'s cache and network).
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
    warnings: Vec<String>,
}

impl Attester {
    /// Opens the vTPM (`tcti`, else `$SNP_VTPM_TCTI`, else `device:/dev/tpmrm0`).
    pub fn open(tcti: Option<&str>, options: AttesterOptions) -> Result<Self, Error> {
        Ok(Self {
            vtpm: Vtpm::open(tcti).map_err(Error::from)?,
            options,
            warnings: Vec::new(),
        })
    }

    /// What the last [`Attester::evidence`] could not add, each in a sentence (the evidence was
    /// gathered anyway: for example an AK certificate issuer that could not be fetched, which a
    /// newer verifier may ship).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The vTPM, for operations the attester does not wrap.
    pub fn vtpm(&mut self) -> &mut Vtpm {
        &mut self.vtpm
    }

    /// Evidence for `nonce`: with `fresh`, the report is first bound to the nonce (written as
    /// user-data) and the evidence says version 2; otherwise version 1. The quote covers the
    /// SHA-256 PCRs 0-23.
    pub fn evidence(&mut self, nonce: &[u8], fresh: bool) -> Result<Evidence, Error> {
        self.warnings.clear();
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
        if self.options.ak_certificate {
            evidence.ak_certificate = self.vtpm.ak_certificate().map_err(Error::from)?;
        }
        if let Some(fetch_options) = &self.options.fetch {
            let source = fetch_options.source()?;
            if let Some(leaf) = &evidence.ak_certificate {
                let (issuers, warning) = ak_issuers(&source, leaf, unix_now());
                evidence.ak_cert_chain = issuers;
                self.warnings.extend(warning);
            }
            let hcl = HclReport::parse(&evidence.hcl_report).map_err(Error::from)?;
            let report = hcl.snp_report().map_err(Error::from)?;
            let mut certificates = Certificates::default();
            fetch::complete(&source, &report, None, false, false, &mut certificates)?;
            evidence.vcek = certificates.leaves.into_iter().next();
            evidence.cert_chain = certificates.ca;
        }
        if self.options.event_log && describes_kernel_tpm(self.vtpm.tcti()) {
            evidence.event_log = Vtpm::event_log().map_err(Error::from)?;
        }
        Ok(evidence)
    }
}

/// The CA certificates above the AK certificate (NV form) that a verifier lacks: none when
/// the leaf already chains to Azure's pinned root through the shipped intermediates; otherwise
/// its issuers from the caIssuers URLs of its AIA, one level at a time (each checked to have
/// signed the certificate below it, and cached), until the path verifies or a download cannot
/// help. A failure comes back as a warning beside what was fetched: the verifier decides, and
/// a newer one may ship the missing CA.
fn ak_issuers(
    source: &CertificateSource,
    leaf_nv: &[u8],
    now: UnixTime,
) -> (Vec<Vec<u8>>, Option<String>) {
    let anchors = VtpmAnchors::azure();
    let Ok(leaf) = vtpm_akcert::der_from_nv(leaf_nv) else {
        // Not a certificate: the verifier names what is wrong with it.
        return (Vec::new(), None);
    };
    let mut fetched: Vec<Vec<u8>> = Vec::new();
    while fetched.len() < MAX_PATH_CAS {
        let carried: Vec<&[u8]> = fetched.iter().map(Vec::as_slice).collect();
        match verify_ak_certificate(leaf, &carried, &anchors, now) {
            Err(e) if e.kind() == AkErrorKind::Unavailable => {}
            // It verifies, or fails for a reason no download changes (a test root, expiry).
            _ => break,
        }
        let child = fetched.last().map_or(leaf, Vec::as_slice);
        match source.ca_issuer(child) {
            Ok(issuer) => fetched.push(issuer.value.into_der()),
            Err(e) => {
                let warning = format!(
                    "the AK certificate's issuer is not shipped and could not be fetched, so \
                     the evidence carries {} of its CA certificates: {e}",
                    fetched.len()
                );
                return (fetched, Some(warning));
            }
        }
    }
    (fetched, None)
}

fn unix_now() -> UnixTime {
    UnixTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    )
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
