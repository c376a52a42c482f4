//! The guest side: reading the Azure vTPM through tss-esapi (feature `tpm`).
//!
//! Sessions follow the rules of libtss2-esys 3.2: commands that need authorisation (NV
//! read/write/define, Quote, PCR_Extend, CreatePrimary, EvictControl) run with a password
//! session; ReadPublic, PCR_Read and TR_FromTPMPublic run without one (the latter crashes
//! libtss2-esys 3.2.1 when a session is set).

mod device;
mod error;
pub mod fresh;
mod provision;

pub use device::{QuoteOutput, Vtpm};
pub use error::TpmError;
/// Whether `tcti` reaches a TPM simulator (swtpm or the Microsoft simulator) rather than a
/// device: the kernel's event log does not describe it, and provisioning may touch it.
pub fn is_simulator_tcti(tcti: &str) -> bool {
    tcti.starts_with("swtpm") || tcti.starts_with("mssim")
}

pub use provision::{
    azure_ak_public_template, provision_azure_layout, substitute_ak, write_nv_index,
};

/// NV index of the HCL report.
pub const HCL_REPORT_NV_INDEX: u32 = 0x0140_0001;
/// NV index of the 64 bytes of user data the next report carries.
pub const USER_DATA_NV_INDEX: u32 = 0x0140_0002;
/// NV index of the AK certificate Azure issues.
pub const AK_CERT_NV_INDEX: u32 = 0x01C1_01D0;
/// Persistent handle of the attestation key.
pub const AK_PERSISTENT_HANDLE: u32 = 0x8100_0003;
/// The TCTI used when none is given: the kernel's resource manager.
pub const DEFAULT_TCTI: &str = "device:/dev/tpmrm0";
/// Environment variable that names the TCTI.
pub const TCTI_ENV: &str = "SNP_VTPM_TCTI";
/// The largest nonce Azure's vTPM accepts in a quote (TPM_RC_SIZE above it).
pub const MAX_NONCE_LEN: usize = 50;
/// Where Linux exposes the TCG event log.
pub const EVENT_LOG_PATH: &str = "/sys/kernel/security/tpm0/binary_bios_measurements";
/// NV reads and writes go in chunks of at most this size (TPM2_PT_NV_BUFFER_MAX of swtpm).
pub const NV_CHUNK: usize = 1024;
