//! Making a TPM look like Azure's vTPM: for simulators (swtpm) in tests and demonstrations.
//!
//! Azure provisions the real vTPM itself; nothing here runs on a confidential VM.

use tss_esapi::attributes::ObjectAttributesBuilder;
use tss_esapi::handles::{ObjectHandle, PersistentTpmHandle, TpmHandle};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::interface_types::dynamic_handles::Persistent;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::resource_handles::{Hierarchy, Provision};
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{
    HashScheme, Public, PublicBuilder, PublicKeyRsa, PublicRsaParametersBuilder, RsaExponent,
    RsaScheme, SymmetricDefinitionObject,
};

use super::device::Vtpm;
use super::error::TpmError;
use super::{AK_PERSISTENT_HANDLE, HCL_REPORT_NV_INDEX};
use crate::public::TpmPublic;

/// The public template of Azure's AK: RSA-2048 restricted signing, RSASSA with SHA-256,
/// attributes 0x00050472 (fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, noDA,
/// restricted, sign).
pub fn azure_ak_public_template() -> Result<Public, TpmError> {
    ak_template(PublicKeyRsa::default())
}

/// The AK template with `unique` as the unique field, which seeds a primary key: another value
/// gives another key of the same shape, name algorithm and attributes.
fn ak_template(unique: PublicKeyRsa) -> Result<Public, TpmError> {
    let attributes = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_no_da(true)
        .with_restricted(true)
        .with_sign_encrypt(true)
        .build()
        .map_err(TpmError::command("building AK attributes"))?;
    let parameters = PublicRsaParametersBuilder::new()
        .with_scheme(RsaScheme::RsaSsa(HashScheme::new(HashingAlgorithm::Sha256)))
        .with_key_bits(RsaKeyBits::Rsa2048)
        .with_exponent(RsaExponent::default())
        .with_is_signing_key(true)
        .with_is_decryption_key(false)
        .with_restricted(true)
        .with_symmetric(SymmetricDefinitionObject::Null)
        .build()
        .map_err(TpmError::command("building AK parameters"))?;
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Rsa)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_rsa_parameters(parameters)
        .with_rsa_unique_identifier(unique)
        .build()
        .map_err(TpmError::command("building the AK template"))
}

/// Creates the AK in the endorsement hierarchy, persists it at 0x81000003, then writes the
/// HCL report that `hcl_report_for` builds around it (its runtime claims must carry this AK)
/// into NV 0x01400001. Returns the AK's public area.
pub fn provision_azure_layout(
    vtpm: &mut Vtpm,
    hcl_report_for: impl FnOnce(&TpmPublic) -> Vec<u8>,
) -> Result<TpmPublic, TpmError> {
    simulator_only(vtpm, "provisioning an Azure-like layout")?;
    persist_ak(vtpm, azure_ak_public_template()?)?;
    let ak = vtpm.ak_public()?;
    let report = hcl_report_for(&ak);
    write_nv_index(vtpm, HCL_REPORT_NV_INDEX, &report)?;
    Ok(ak)
}

/// Replaces the key at 0x81000003 with another one of the same shape in the same hierarchy
/// (another unique field seeds another primary key, so its name is what a verifier derives for
/// an Azure AK of that modulus): what a guest administrator did in CVE-2025-49707, to show that
/// a verifier checking the AK certificate refuses quotes from the substitute. Returns the
/// substitute's public area.
pub fn substitute_ak(vtpm: &mut Vtpm) -> Result<TpmPublic, TpmError> {
    simulator_only(vtpm, "replacing the AK")?;
    let persistent =
        PersistentTpmHandle::new(AK_PERSISTENT_HANDLE).map_err(TpmError::command("AK handle"))?;
    let context = vtpm.context();
    let current = context
        .execute_without_session(|ctx| ctx.tr_from_tpm_public(TpmHandle::Persistent(persistent)))
        .map_err(TpmError::command("TR_FromTPMPublic of the AK (0x81000003)"))?;
    context
        .execute_with_session(Some(AuthSession::Password), |ctx| {
            ctx.evict_control(
                Provision::Owner,
                current,
                Persistent::Persistent(persistent),
            )
        })
        .map_err(TpmError::command("EvictControl removing the AK"))?;
    let unique = PublicKeyRsa::try_from(b"CVE-2025-49707 substitute".to_vec())
        .map_err(TpmError::command("building the substitute's unique field"))?;
    persist_ak(vtpm, ak_template(unique)?)?;
    vtpm.ak_public()
}

/// Refuses `what` unless the TPM is a simulator reached through a `swtpm:` or `mssim:` TCTI:
/// nothing here may touch a real vTPM's keys.
fn simulator_only(vtpm: &Vtpm, what: &'static str) -> Result<(), TpmError> {
    let tcti = vtpm.tcti();
    if super::is_simulator_tcti(tcti) {
        return Ok(());
    }
    Err(TpmError::NotASimulator {
        what,
        tcti: tcti.to_string(),
    })
}

/// Creates a primary key of `template` in the endorsement hierarchy and persists it at
/// 0x81000003.
fn persist_ak(vtpm: &mut Vtpm, template: Public) -> Result<(), TpmError> {
    let context = vtpm.context();
    let primary = context
        .execute_with_session(Some(AuthSession::Password), |ctx| {
            ctx.create_primary(Hierarchy::Endorsement, template, None, None, None, None)
        })
        .map_err(TpmError::command("CreatePrimary of the AK"))?;
    let persistent =
        PersistentTpmHandle::new(AK_PERSISTENT_HANDLE).map_err(TpmError::command("AK handle"))?;
    let transient: ObjectHandle = primary.key_handle.into();
    context
        .execute_with_session(Some(AuthSession::Password), |ctx| {
            ctx.evict_control(
                Provision::Owner,
                transient,
                Persistent::Persistent(persistent),
            )
        })
        .map_err(TpmError::command("EvictControl of the AK"))?;
    context
        .flush_context(transient)
        .map_err(TpmError::command("FlushContext of the transient AK"))
}

/// Writes `bytes` as the whole content of an NV index (defined with their size; libtpms caps
/// an index at 2048 bytes).
pub fn write_nv_index(vtpm: &mut Vtpm, index: u32, bytes: &[u8]) -> Result<(), TpmError> {
    simulator_only(vtpm, "writing an NV index")?;
    vtpm.write_nv(index, bytes.len(), bytes)
}
