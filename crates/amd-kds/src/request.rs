//! Typed requests: which VCEK (product, hardware id, TCB) and which chain, and the KDS paths
//! they map to (VCEK Certificate and KDS Interface Specification, AMD pub. 57230).

use std::fmt::{self, Write as _};

use hcl_parse::{Generation, HclReport, SnpReport, TcbComponents, TcbVersion};

use crate::error::{ArtifactKind, Error, Result};

/// The VCEK of one chip at one TCB: what KDS keys a VCEK on.
///
/// Milan and Genoa use the 64-byte chip id and four SPLs; Turin uses the first 8 bytes of the
/// chip id and adds the FMC SPL.
///
/// ```
/// use amd_kds::VcekRequest;
/// use hcl_parse::{Generation, TcbComponents};
///
/// let tcb = TcbComponents { fmc: Some(1), bootloader: 2, tee: 0, snp: 9, microcode: 72 };
/// let request = VcekRequest::new(Generation::Turin, &[0xAB; 8], tcb).unwrap();
/// assert_eq!(
///     request.path(),
///     "/vcek/v1/Turin/abababababababab?fmcSPL=01&blSPL=02&teeSPL=00&snpSPL=09&ucodeSPL=72"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VcekRequest {
    product: Generation,
    hw_id: Vec<u8>,
    fmc: Option<u8>,
    bootloader: u8,
    tee: u8,
    snp: u8,
    microcode: u8,
}

impl VcekRequest {
    /// A request for `product`'s VCEK with hardware id `hw_id` (64 bytes for Milan and Genoa,
    /// 8 for Turin) at the TCB `tcb` (Turin needs `tcb.fmc`; earlier products ignore it).
    pub fn new(product: Generation, hw_id: &[u8], tcb: TcbComponents) -> Result<Self> {
        if hw_id.len() != product.hwid_len() {
            return Err(Error::invalid_request(format!(
                "a {product} hardware id is {} bytes, found {}",
                product.hwid_len(),
                hw_id.len()
            )));
        }
        if hw_id.iter().all(|&b| b == 0) {
            return Err(Error::invalid_request(
                "the chip id is all zero (masked by the guest policy): no VCEK can be looked up",
            ));
        }
        let fmc = match product {
            Generation::Milan | Generation::Genoa => None,
            Generation::Turin => Some(tcb.fmc.ok_or_else(|| {
                Error::invalid_request("a Turin VCEK request needs the FMC SPL (fmcSPL)")
            })?),
        };
        Ok(Self {
            product,
            hw_id: hw_id.to_vec(),
            fmc,
            bootloader: tcb.bootloader,
            tee: tcb.tee,
            snp: tcb.snp,
            microcode: tcb.microcode,
        })
    }

    /// The VCEK that signs `report`: its `chip_id` (first 8 bytes on Turin) and its
    /// `reported_tcb` decoded for `product`.
    ///
    /// Fails when the chip id is masked, or when the report's CPUID (version 3 and later)
    /// names another product than `product`.
    pub fn from_report(report: &SnpReport<'_>, product: Generation) -> Result<Self> {
        if let Ok(Some(found)) = report.generation()
            && found != product
        {
            return Err(Error::invalid_request(format!(
                "the report's CPUID names a {found} processor, but a {product} VCEK was asked for"
            )));
        }
        let chip_id = report.chip_id();
        let hw_id = chip_id.get(..product.hwid_len()).unwrap_or(chip_id);
        Self::new(product, hw_id, report.reported_tcb().components(product))
    }

    /// Like [`VcekRequest::from_report`], taking the product from the report's CPUID fields
    /// (version 3 and later) and else from `hint` (version 2 reports carry no CPUID).
    pub fn detect(report: &SnpReport<'_>, hint: Option<Generation>) -> Result<Self> {
        let product = match report.generation() {
            Ok(Some(found)) => found,
            Ok(None) => hint.ok_or_else(|| {
                Error::invalid_request(
                    "a version 2 SNP report does not name its processor: give the product",
                )
            })?,
            Err(e) => match hint {
                Some(product) => product,
                None => return Err(Error::invalid_request(e.to_string())),
            },
        };
        Self::from_report(report, product)
    }

    /// The VCEK of the SNP report inside an HCL report (see [`VcekRequest::detect`]).
    pub fn from_hcl_report(hcl: &HclReport<'_>, hint: Option<Generation>) -> Result<Self> {
        let report = hcl
            .snp_report()
            .map_err(|e| Error::invalid_request(e.to_string()))?;
        Self::detect(&report, hint)
    }

    /// The product (Milan, Genoa, Turin).
    pub fn product(&self) -> Generation {
        self.product
    }

    /// The hardware id: 64 bytes (Milan, Genoa) or 8 bytes (Turin).
    pub fn hw_id(&self) -> &[u8] {
        &self.hw_id
    }

    /// The SPLs the VCEK is derived from (`fmc` only for Turin).
    pub fn tcb(&self) -> TcbComponents {
        TcbComponents {
            fmc: self.fmc,
            bootloader: self.bootloader,
            tee: self.tee,
            snp: self.snp,
            microcode: self.microcode,
        }
    }

    /// The TCB as the 8-byte TCB_VERSION of this product (reserved bytes zero).
    pub fn tcb_version(&self) -> TcbVersion {
        TcbVersion::from_components(self.product, self.tcb())
    }

    /// The hardware id in lower-case hex, as in KDS URLs.
    pub fn hw_id_hex(&self) -> String {
        hex_lower(&self.hw_id)
    }

    /// The KDS query string: `blSPL=NN&teeSPL=NN&snpSPL=NN&ucodeSPL=NN`, preceded by
    /// `fmcSPL=NN&` on Turin (each value `{:02}`).
    pub fn query(&self) -> String {
        let mut query = String::with_capacity(64);
        if let Some(fmc) = self.fmc {
            let _ = write!(query, "fmcSPL={fmc:02}&");
        }
        let _ = write!(
            query,
            "blSPL={:02}&teeSPL={:02}&snpSPL={:02}&ucodeSPL={:02}",
            self.bootloader, self.tee, self.snp, self.microcode
        );
        query
    }

    /// The KDS path and query: `/vcek/v1/{product}/{hwid}?{query}`.
    pub fn path(&self) -> String {
        format!(
            "/vcek/v1/{}/{}?{}",
            self.product.name(),
            self.hw_id_hex(),
            self.query()
        )
    }

    /// The TCB part of the cache key: `[fmcNN-]blNN-teeNN-snpNN-ucodeNN`.
    pub(crate) fn tcb_key(&self) -> String {
        let mut key = String::with_capacity(40);
        if let Some(fmc) = self.fmc {
            let _ = write!(key, "fmc{fmc:02}-");
        }
        let _ = write!(
            key,
            "bl{:02}-tee{:02}-snp{:02}-ucode{:02}",
            self.bootloader, self.tee, self.snp, self.microcode
        );
        key
    }
}

impl fmt::Display for VcekRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} VCEK of chip {} at TCB {}",
            self.product,
            self.hw_id_hex(),
            self.tcb()
        )
    }
}

/// Which CA chain: the one above VCEKs (ASK) or the one above VLEKs (ASVK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainKind {
    /// ASK then ARK, at `/vcek/v1/{product}/cert_chain`.
    Vcek,
    /// ASVK then ARK, at `/vlek/v1/{product}/cert_chain`.
    Vlek,
}

impl ChainKind {
    /// The first path segment KDS uses: `vcek` or `vlek`.
    pub fn segment(self) -> &'static str {
        match self {
            Self::Vcek => "vcek",
            Self::Vlek => "vlek",
        }
    }

    /// The KDS path of `product`'s chain of this kind.
    pub fn path(self, product: Generation) -> String {
        format!("/{}/v1/{}/cert_chain", self.segment(), product.name())
    }

    /// What a chain of this kind is, in errors.
    pub(crate) fn artifact_kind(self) -> ArtifactKind {
        match self {
            Self::Vcek => ArtifactKind::VcekChain,
            Self::Vlek => ArtifactKind::VlekChain,
        }
    }
}

/// The KDS path of `product`'s CRL: `/vcek/v1/{product}/crl`.
pub fn crl_path(product: Generation) -> String {
    format!("/vcek/v1/{}/crl", product.name())
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcb(fmc: Option<u8>) -> TcbComponents {
        TcbComponents {
            fmc,
            bootloader: 3,
            tee: 0,
            snp: 8,
            microcode: 115,
        }
    }

    #[test]
    fn milan_path_has_four_spls_and_64_byte_id() {
        let request = VcekRequest::new(Generation::Milan, &[0x5A; 64], tcb(Some(7))).unwrap();
        assert_eq!(
            request.path(),
            format!(
                "/vcek/v1/Milan/{}?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115",
                "5a".repeat(64)
            )
        );
        assert_eq!(request.tcb().fmc, None, "fmc is dropped before Turin");
        assert_eq!(request.tcb_key(), "bl03-tee00-snp08-ucode115");
    }

    #[test]
    fn turin_needs_fmc_and_8_bytes() {
        assert!(VcekRequest::new(Generation::Turin, &[1; 8], tcb(None)).is_err());
        assert!(VcekRequest::new(Generation::Turin, &[1; 64], tcb(Some(1))).is_err());
        let request = VcekRequest::new(Generation::Turin, &[1; 8], tcb(Some(1))).unwrap();
        assert_eq!(request.tcb_key(), "fmc01-bl03-tee00-snp08-ucode115");
        assert_eq!(request.tcb_version().0, [1, 3, 0, 8, 0, 0, 0, 115]);
    }

    #[test]
    fn masked_chip_id_is_refused() {
        let e = VcekRequest::new(Generation::Genoa, &[0; 64], tcb(None)).unwrap_err();
        assert!(e.to_string().contains("masked"), "{e}");
    }

    #[test]
    fn chain_and_crl_paths() {
        assert_eq!(
            ChainKind::Vcek.path(Generation::Genoa),
            "/vcek/v1/Genoa/cert_chain"
        );
        assert_eq!(
            ChainKind::Vlek.path(Generation::Turin),
            "/vlek/v1/Turin/cert_chain"
        );
        assert_eq!(crl_path(Generation::Milan), "/vcek/v1/Milan/crl");
    }
}
