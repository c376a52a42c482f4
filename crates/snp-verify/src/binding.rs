//! Binding a VCEK/VLEK to a report, checked before the signature so that a certificate of
//! another chip or TCB is reported as exactly that.

use alloc::format;
use alloc::string::String;

use hcl_parse::{Generation, HexSlice, SigningKey, SnpReport};

use crate::chain::VerifiedLeaf;
use crate::error::{CertRole, Error, Result};

/// Decides the report's generation from every source that names one; any two that disagree
/// are an error. `chain` is the product of the pinned root.
pub fn resolve_generation(
    report: &SnpReport<'_>,
    chain: Generation,
    leaf: &VerifiedLeaf,
    hint: Option<Generation>,
) -> Result<Generation> {
    let sources = [
        ("report CPUID", cpuid_generation(report, chain)?),
        ("VCEK productName", Some(leaf.extensions().generation)),
        ("caller hint", hint),
    ];
    for (source, generation) in sources {
        if let Some(generation) = generation.filter(|&g| g != chain) {
            return Err(Error::GenerationConflict {
                first_source: "AMD root",
                first: chain,
                second_source: source,
                second: generation,
            });
        }
    }
    Ok(chain)
}

/// The generation the report's CPUID names. A model this crate does not know in a family it
/// does know (a new stepping or part number) is no contradiction when the family is the
/// pinned root's: it yields `None`, so the root and the VCEK decide, and the verified
/// report carries a warning ([`unknown_cpu_model`]). An unknown family stays an error.
fn cpuid_generation(report: &SnpReport<'_>, chain: Generation) -> Result<Option<Generation>> {
    match report.generation() {
        Err(hcl_parse::Error::UnknownCpu { family, .. }) if family_of(chain) == family => Ok(None),
        other => Ok(other?),
    }
}

/// The CPUID family of a generation (FACTS section 2).
fn family_of(generation: Generation) -> u8 {
    match generation {
        Generation::Milan | Generation::Genoa => 0x19,
        Generation::Turin => 0x1A,
    }
}

/// The warning for a CPUID model this crate does not know, in the generation's family.
pub(crate) fn unknown_cpu_model(report: &SnpReport<'_>, generation: Generation) -> Option<String> {
    match report.generation() {
        Err(hcl_parse::Error::UnknownCpu { family, model }) => Some(format!(
            "CPUID family {family:#04x} model {model:#04x} is not a model this verifier knows; the product ({generation}) comes from the pinned AMD root and the VCEK, which agree"
        )),
        _ => None,
    }
}

/// Checks key kind, hwID and every SPL of the certificate against the report: SIGNING_KEY,
/// CHIP_ID and REPORTED_TCB (56860 rev. 1.58, Table 23) against the leaf's extensions (57230
/// rev. 0.51, Table 8).
pub fn check_leaf_matches_report(
    report: &SnpReport<'_>,
    leaf: &VerifiedLeaf,
    generation: Generation,
) -> Result<()> {
    let expected_key = match leaf.role() {
        CertRole::Vlek => SigningKey::Vlek,
        _ => SigningKey::Vcek,
    };
    let signing_key = report.key_info().signing_key();
    if signing_key != expected_key {
        return Err(Error::SigningKeyMismatch {
            report: signing_key,
            certificate: leaf.role(),
        });
    }
    let extensions = leaf.extensions();
    if let Some(hw_id) = &extensions.hw_id {
        if report.is_chip_id_masked() {
            return Err(Error::ChipIdMasked);
        }
        let chip_id = report.chip_id().get(..hw_id.len()).unwrap_or_default();
        if chip_id != hw_id.as_slice() {
            return Err(Error::HwIdMismatch {
                expected: format!("{}", HexSlice(chip_id)),
                found: format!("{}", HexSlice(hw_id)),
            });
        }
    }
    let reported = report.reported_tcb().components(generation);
    let certified = extensions.tcb;
    let pairs = [
        ("blSPL", reported.bootloader, certified.bootloader),
        ("teeSPL", reported.tee, certified.tee),
        ("snpSPL", reported.snp, certified.snp),
        ("ucodeSPL", reported.microcode, certified.microcode),
        (
            "fmcSPL",
            reported.fmc.unwrap_or(0),
            certified.fmc.unwrap_or(0),
        ),
    ];
    for (component, expected, found) in pairs {
        if expected != found {
            return Err(Error::TcbMismatch {
                role: leaf.role(),
                component,
                expected,
                found,
            });
        }
    }
    Ok(())
}
