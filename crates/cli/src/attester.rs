//! The guest side (feature `attester`): gathers native evidence for a nonce from the vTPM,
//! with certificates from IMDS or KDS (cached) on SEV-SNP, and the TD quote of the HCL
//! report's TDREPORT from Azure IMDS's quoting service on TDX.

use std::time::{Duration, SystemTime};

use amd_kds::{CaCertificate, CertificateSource, Fetched, ImdsClient, ImdsConfig, Source};
use attest_prims::UnixTime;
use hcl_parse::{HclReport, ReportType};
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
    /// The base URL of Azure IMDS's TD quoting service (TDX CVMs; default
    /// [`amd_kds::IMDS_BASE_URL`]). Asked whatever [`AttesterOptions::fetch`] says: TDX
    /// evidence without its TD quote cannot verify.
    pub td_quote_url: Option<String>,
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
            td_quote_url: None,
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
    /// SHA-256 PCRs 0-23. On TDX the evidence carries the TD quote of the report's TDREPORT
    /// (from Azure IMDS); on SEV-SNP, with [`AttesterOptions::fetch`], the VCEK and its chain.
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
        let version = if fresh {
            EvidenceVersion::V2
        } else {
            EvidenceVersion::V1
        };
        let mut evidence = Evidence::new(
            version,
            hcl_report,
            QuoteParts {
                message: quote.message,
                signature: quote.signature,
                pcrs,
                pcr_bank: HashAlg::Sha256,
                pcr_indices: None,
            },
        );
        if self.options.ak_certificate {
            evidence.ak_certificate = self.vtpm.ak_certificate().map_err(Error::from)?;
        }
        let hcl = HclReport::parse(&evidence.hcl_report).map_err(Error::from)?;
        let tdx = hcl.report_type() == ReportType::Tdx;
        if tdx {
            evidence.td_quote = Some(self.td_quote(&hcl)?);
        }
        if let Some(fetch_options) = &self.options.fetch {
            let source = fetch_options.source()?;
            if let Some(leaf) = &evidence.ak_certificate {
                let anchors = fetch_options.vtpm_anchors.clone().unwrap_or_default();
                let (issuers, warnings) =
                    ak_issuers(&source, leaf, &anchors, fetch::unix_time(SystemTime::now()));
                evidence.ak_cert_chain = issuers;
                self.warnings.extend(warnings);
            }
            if !tdx {
                let report = hcl.snp_report().map_err(Error::from)?;
                let mut certificates = Certificates::default();
                fetch::complete(&source, &report, None, false, false, &mut certificates)?;
                evidence.vcek = certificates.leaves.into_iter().next();
                evidence.cert_chain = certificates.ca;
            }
        }
        if self.options.event_log && describes_kernel_tpm(self.vtpm.tcti()) {
            evidence.event_log = Vtpm::event_log().map_err(Error::from)?;
        }
        Ok(evidence)
    }

    /// The TD quote of `hcl`'s TDREPORT, from Azure IMDS's quoting service.
    fn td_quote(&self, hcl: &HclReport<'_>) -> Result<Vec<u8>, Error> {
        let mut config = ImdsConfig::default();
        if let Some(url) = &self.options.td_quote_url {
            config.base_url = url.clone();
        }
        let imds = ImdsClient::new(config).map_err(Error::from)?;
        let td_report = hcl.td_report_bytes().map_err(Error::from)?;
        imds.td_quote(td_report).map_err(Error::from)
    }
}

/// The longest the attester spends fetching the AK certificate's issuers (each URL also has
/// its own short timeouts, capped by what is left): a relying party's nonce does not wait.
const AK_ISSUERS_DEADLINE: Duration = Duration::from_secs(60);

/// The CA certificates above the AK certificate (NV form) that a verifier lacks: none when
/// the leaf already chains to a root of `anchors` through the shipped intermediates; otherwise
/// a path built from the issuers its AIA names (RFC 4158-style: depth first, each level's
/// candidates in turn, the cached one first, then each caIssuers URL's answer), until one
/// verifies to a root of `anchors`.
///
/// Fetched issuers are cached only once their path verifies: one link proves nothing about the
/// path above it, and Azure's caIssuers URLs are plain HTTP. A cached issuer whose paths all
/// fail is evicted. When no path verifies, a warning says why beside the longest path tried:
/// the evidence is written anyway (the verifier decides, and a newer one may ship the missing
/// CA).
fn ak_issuers(
    source: &CertificateSource,
    leaf_nv: &[u8],
    anchors: &VtpmAnchors,
    now: UnixTime,
) -> (Vec<Vec<u8>>, Vec<String>) {
    let mut warnings = Vec::new();
    let Ok(leaf) = vtpm_akcert::der_from_nv(leaf_nv) else {
        // Not a certificate: the verifier names what is wrong with it.
        return (Vec::new(), warnings);
    };
    let mut search = PathSearch {
        source,
        leaf,
        anchors,
        now,
        deadline: SystemTime::now() + AK_ISSUERS_DEADLINE,
        first_failure: None,
        longest: Vec::new(),
        problems: Vec::new(),
    };
    let mut path = Vec::new();
    let found = search.extend(&mut path);
    if found {
        for (child, issuer) in links(leaf, &path) {
            if issuer.source != Source::Cache
                && let Err(e) = source.store_issuer(child, &issuer.value)
            {
                search
                    .problems
                    .push(format!("{e}; continuing without caching"));
            }
        }
    } else {
        path = std::mem::take(&mut search.longest);
        warnings.push(format!(
            "the AK certificate does not verify with the CA certificates the evidence carries \
             ({} fetched by AIA): {}; the evidence is written anyway",
            path.len(),
            search.first_failure.take().unwrap_or_default()
        ));
    }
    warnings.append(&mut search.problems);
    let ders = path
        .into_iter()
        .map(|issuer| issuer.value.into_der())
        .collect();
    (ders, warnings)
}

/// The (child, issuer) links of a path above `leaf`, the leaf's first.
fn links<'a>(
    leaf: &'a [u8],
    path: &'a [Fetched<CaCertificate>],
) -> impl Iterator<Item = (&'a [u8], &'a Fetched<CaCertificate>)> {
    std::iter::once(leaf)
        .chain(path.iter().map(|issuer| issuer.value.der()))
        .zip(path)
}

/// A depth-first search for a path from the AK certificate to a root of the anchors.
struct PathSearch<'a> {
    source: &'a CertificateSource,
    leaf: &'a [u8],
    anchors: &'a VtpmAnchors,
    now: UnixTime,
    deadline: SystemTime,
    /// Why the first path that failed failed (what the warning reports).
    first_failure: Option<String>,
    /// The longest path tried (what the evidence carries when none verifies).
    longest: Vec<Fetched<CaCertificate>>,
    /// Cache operations that failed.
    problems: Vec<String>,
}

impl PathSearch<'_> {
    /// Extends `path` (the issuers above the leaf so far) until the leaf verifies; true when
    /// it does, with `path` holding the issuers.
    fn extend(&mut self, path: &mut Vec<Fetched<CaCertificate>>) -> bool {
        let carried: Vec<&[u8]> = path.iter().map(|issuer| issuer.value.der()).collect();
        match verify_ak_certificate(self.leaf, &carried, self.anchors, self.now) {
            Ok(_) => return true,
            Err(e) if e.kind() != AkErrorKind::Unavailable => {
                return self.failed(path, e.to_string());
            }
            Err(e) if path.len() >= MAX_PATH_CAS => return self.failed(path, e.to_string()),
            Err(_) => {}
        }
        let child = path
            .last()
            .map_or(self.leaf, |issuer| issuer.value.der())
            .to_vec();
        for candidate in self
            .source
            .ca_issuer_candidates(&child, Some(self.deadline))
        {
            let issuer = match candidate {
                Ok(issuer) => issuer,
                Err(e) => {
                    self.failed(path, format!("cannot get the issuer: {e}"));
                    continue;
                }
            };
            if path
                .iter()
                .any(|seen| seen.value.der() == issuer.value.der())
            {
                self.failed(
                    path,
                    format!(
                        "the caIssuers URLs lead back to \"{}\", already in the path",
                        issuer.value.subject()
                    ),
                );
                continue;
            }
            let cached = issuer.source == Source::Cache;
            path.push(issuer);
            if self.extend(path) {
                return true;
            }
            path.pop();
            if cached && let Err(e) = self.source.remove_issuer(&child) {
                self.problems.push(e.to_string());
            }
        }
        false
    }

    /// Notes why `path` leads nowhere; always false.
    fn failed(&mut self, path: &[Fetched<CaCertificate>], reason: String) -> bool {
        self.first_failure.get_or_insert(reason);
        if path.len() > self.longest.len() {
            self.longest = path.to_vec();
        }
        false
    }
}

/// Whether the kernel's event log (securityfs) describes the TPM behind `tcti`: not for the
/// simulators' TCTIs.
fn describes_kernel_tpm(tcti: &str) -> bool {
    !vtpm_quote::guest::is_simulator_tcti(tcti)
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
