//! Which collateral a TD quote needs: its platform's FMSPC (TCB info is per FMSPC) and which
//! Intel CA issued its PCK (the PCK CRL is per CA). Read from the quote's PCK certificate once
//! its chain verified under the pinned root: a fetcher asks only for platforms Intel certified
//! (a made-up FMSPC in a forged certificate would send it to the network for nothing), and
//! verification decides later whether the quote and the collateral belong together.

use alloc::format;
use alloc::string::String;
use core::fmt;

use attest_prims::UnixTime;

use crate::error::{Error, Result};
use crate::pki::{IntelRoots, pem_chain};
use crate::quote::TdQuote;
use crate::sgx_ext::SgxExtensions;
use crate::verify::verified_pck_chain;

/// The Intel CA that issues PCK certificates, and its PCK CRL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PckCa {
    /// "Intel SGX PCK Platform CA" (multi-package platforms, every TDX host so far).
    Platform,
    /// "Intel SGX PCK Processor CA".
    Processor,
}

impl PckCa {
    /// The CA's common name.
    pub fn common_name(self) -> &'static str {
        match self {
            Self::Platform => "Intel SGX PCK Platform CA",
            Self::Processor => "Intel SGX PCK Processor CA",
        }
    }

    /// The value of PCS's `ca` query parameter: `platform` or `processor`.
    pub fn query_value(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Processor => "processor",
        }
    }

    /// The CA with this common name.
    pub fn from_common_name(name: &str) -> Option<Self> {
        [Self::Platform, Self::Processor]
            .into_iter()
            .find(|ca| ca.common_name() == name)
    }

    /// The CA with this `ca` query value.
    pub fn from_query_value(value: &str) -> Option<Self> {
        [Self::Platform, Self::Processor]
            .into_iter()
            .find(|ca| ca.query_value() == value)
    }
}

impl fmt::Display for PckCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.common_name())
    }
}

/// The collateral one platform's quotes are verified with: TCB info of `fmspc`, the PCK CRL of
/// `ca` (the QE identity and the root CA CRL are the same for every platform).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CollateralRequest {
    /// Family, model, stepping, platform type and customisation (6 bytes).
    pub fmspc: [u8; 6],
    /// The CA that issued the platform's PCK certificate.
    pub ca: PckCa,
}

impl CollateralRequest {
    /// What the quote's PCK certificate names (its SGX extension's FMSPC, its issuer), once
    /// the quote's PCK chain verified under `roots` at `time` (nothing else is verified).
    pub fn of_quote(quote: &[u8], roots: &IntelRoots, time: UnixTime) -> Result<Self> {
        let quote = TdQuote::parse(quote)?;
        let ders = pem_chain("TD quote PCK certificate chain", quote.pck_chain_pem)?;
        let chain = verified_pck_chain(&ders, roots, time)?;
        let pck = &chain.pck;
        let issuer = attest_prims::x509::common_name(pck.issuer_name()).unwrap_or_default();
        let ca = PckCa::from_common_name(&issuer).ok_or_else(|| {
            Error::unexpected(
                "PCK certificate issuer",
                format!(
                    "\"{}\" or \"{}\"",
                    PckCa::Platform.common_name(),
                    PckCa::Processor.common_name()
                ),
                format!("\"{issuer}\""),
            )
        })?;
        let fmspc = SgxExtensions::of(&pck.cert)?.fmspc;
        Ok(Self { fmspc, ca })
    }

    /// The FMSPC in upper-case hex, as PCS writes it.
    pub fn fmspc_hex(&self) -> String {
        hex::encode_upper(self.fmspc)
    }
}

impl fmt::Display for CollateralRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FMSPC {}, PCK CRL of the {}",
            self.fmspc_hex(),
            self.ca.common_name()
        )
    }
}
