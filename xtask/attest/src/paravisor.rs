//! The paravisor stand-in. swtpm has no paravisor, so this plays its part, openly: it writes a
//! newly signed synthetic HCL report (test PKI, runtime claims carrying the vTPM's AK) into NV
//! 0x01400001 whenever a new nonce is known; on TDX, a TDX HCL report whose TDREPORT carries
//! the claims' hash (the quote comes later, from the IMDS stand-in). On Azure the paravisor
//! does this itself. It also plays Azure's vTPM service, which certifies the AK (NV
//! 0x01C101D0) under its vTPM CA.

use snp_vtpm_testkit::azure::{SyntheticReport, SyntheticTdxReport};
use snp_vtpm_testkit::pki::TestPki;
use vtpm_quote::guest::{self, Vtpm};

/// Provisions the AK (endorsement hierarchy, 0x81000003) and a first report (TDX when `tdx`);
/// returns the AK modulus.
pub fn provision(tcti: &str, pki: &TestPki, tdx: bool) -> Result<Vec<u8>, String> {
    let mut vtpm = Vtpm::open(Some(tcti)).map_err(|e| e.to_string())?;
    let ak = guest::provision_azure_layout(&mut vtpm, |ak| {
        let modulus = ak.key.rsa_modulus().unwrap_or_default();
        if tdx {
            SyntheticTdxReport::new(modulus, [0; 64]).build().0
        } else {
            SyntheticReport::new(modulus, [0; 64]).build(pki).0
        }
    })
    .map_err(|e| e.to_string())?;
    ak.key
        .rsa_modulus()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "the AK is not RSA".to_string())
}

/// Writes a report whose runtime claims carry `nonce` as user-data (zero-padded), signed as
/// firmware with `id_key_digest`.
pub fn write_bound_report(
    tcti: &str,
    pki: &TestPki,
    modulus: &[u8],
    nonce: &[u8],
    id_key_digest: [u8; 48],
) -> Result<(), String> {
    let user_data = user_data(nonce)?;
    let report = SyntheticReport {
        id_key_digest,
        ..SyntheticReport::new(modulus, user_data)
    };
    let (hcl, _) = report.build(pki);
    let mut vtpm = Vtpm::open(Some(tcti)).map_err(|e| e.to_string())?;
    guest::write_nv_index(&mut vtpm, guest::HCL_REPORT_NV_INDEX, &hcl).map_err(|e| e.to_string())
}

/// Writes a TDX HCL report whose runtime claims carry `nonce` as user-data (zero-padded), with
/// the sample paravisor's MRTD or `mr_td`.
pub fn write_bound_tdx_report(
    tcti: &str,
    modulus: &[u8],
    nonce: &[u8],
    mr_td: Option<[u8; 48]>,
) -> Result<(), String> {
    let user_data = user_data(nonce)?;
    let report = SyntheticTdxReport {
        mr_td,
        ..SyntheticTdxReport::new(modulus, user_data)
    };
    let (hcl, _) = report.build();
    let mut vtpm = Vtpm::open(Some(tcti)).map_err(|e| e.to_string())?;
    guest::write_nv_index(&mut vtpm, guest::HCL_REPORT_NV_INDEX, &hcl).map_err(|e| e.to_string())
}

/// The runtime claims' user-data of a report bound to `nonce`: the nonce, then zeros.
fn user_data(nonce: &[u8]) -> Result<[u8; 64], String> {
    let mut user_data = [0u8; 64];
    user_data
        .get_mut(..nonce.len())
        .ok_or("nonce over 64 bytes")?
        .copy_from_slice(nonce);
    Ok(user_data)
}

/// Writes `certificate` (DER) into NV 0x01C101D0 followed by zero padding, as Azure's vTPM
/// service provisions the AK certificate.
pub fn install_ak_certificate(tcti: &str, certificate: &[u8]) -> Result<(), String> {
    let mut nv = certificate.to_vec();
    nv.resize(certificate.len() + 256, 0);
    let mut vtpm = Vtpm::open(Some(tcti)).map_err(|e| e.to_string())?;
    guest::write_nv_index(&mut vtpm, guest::AK_CERT_NV_INDEX, &nv).map_err(|e| e.to_string())
}

/// Replaces the AK at 0x81000003 with another key (CVE-2025-49707's substitution); returns
/// the substitute's modulus.
pub fn substitute_ak(tcti: &str) -> Result<Vec<u8>, String> {
    let mut vtpm = Vtpm::open(Some(tcti)).map_err(|e| e.to_string())?;
    let ak = guest::substitute_ak(&mut vtpm).map_err(|e| e.to_string())?;
    ak.key
        .rsa_modulus()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| "the substitute AK is not RSA".to_string())
}
