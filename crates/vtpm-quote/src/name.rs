//! TPM names: the Azure AK template's name for a modulus, and the quote's qualifiedSigner.

use sha2::{Digest, Sha256};

use crate::alg::id;

/// objectAttributes of Azure's AK: fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth,
/// noDA, restricted, sign.
pub const AZURE_AK_ATTRIBUTES: u32 = 0x0005_0472;
/// TPM_RH_ENDORSEMENT: the hierarchy Azure's AK lives in.
pub const TPM_RH_ENDORSEMENT: u32 = 0x4000_000B;

/// TPMT_PUBLIC of an RSA-2048 key made from the Azure AK template with this modulus.
pub fn azure_ak_template(modulus: &[u8]) -> alloc::vec::Vec<u8> {
    let mut out = alloc::vec::Vec::with_capacity(24 + modulus.len());
    out.extend_from_slice(&id::RSA.to_be_bytes());
    out.extend_from_slice(&id::SHA256.to_be_bytes()); // nameAlg
    out.extend_from_slice(&AZURE_AK_ATTRIBUTES.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes()); // empty authPolicy
    out.extend_from_slice(&id::NULL.to_be_bytes()); // symmetric
    out.extend_from_slice(&id::RSASSA.to_be_bytes());
    out.extend_from_slice(&id::SHA256.to_be_bytes());
    out.extend_from_slice(&2048u16.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes()); // exponent 0 = 65537
    out.extend_from_slice(&(modulus.len() as u16).to_be_bytes());
    out.extend_from_slice(modulus);
    out
}

/// Name of an object: nameAlg (SHA-256) then SHA-256 of its TPMT_PUBLIC.
pub fn sha256_name(tpmt_public: &[u8]) -> [u8; 34] {
    let mut name = [0u8; 34];
    let (alg, digest) = name.split_at_mut(2);
    alg.copy_from_slice(&id::SHA256.to_be_bytes());
    digest.copy_from_slice(&Sha256::digest(tpmt_public));
    name
}

/// Qualified name of a primary object in a hierarchy: SHA-256 of the hierarchy handle and the
/// object's name, tagged with the SHA-256 algorithm id.
pub fn qualified_name_in_hierarchy(hierarchy: u32, name: &[u8]) -> [u8; 34] {
    let mut digest = Sha256::new();
    digest.update(hierarchy.to_be_bytes());
    digest.update(name);
    let mut qualified = [0u8; 34];
    let (alg, rest) = qualified.split_at_mut(2);
    alg.copy_from_slice(&id::SHA256.to_be_bytes());
    rest.copy_from_slice(&digest.finalize());
    qualified
}

/// The qualifiedSigner a quote by Azure's AK with this modulus carries.
pub fn azure_ak_qualified_signer(modulus: &[u8]) -> [u8; 34] {
    qualified_name_in_hierarchy(
        TPM_RH_ENDORSEMENT,
        &sha256_name(&azure_ak_template(modulus)),
    )
}
