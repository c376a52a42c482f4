//! Certificate fetching for AMD SEV-SNP: VCEK/VLEK, chains and CRLs from AMD's key
//! distribution service and Azure's IMDS, with a disk cache and a retry policy.
//!
//! The implementation lands with the certificate-fetching issue; the crate exists so that the
//! workspace layout is complete.
