//! Differential test: every field of every real SNP report equals what the `sev` crate
//! (pure-Rust parsing, no OpenSSL) reads from the same bytes.

use hcl_parse::{Generation, HclReport, SnpReport, TcbVersion};
use sev::firmware::guest::AttestationReport;
use sev::parser::ByteParser;
use snp_vtpm_testkit::vectors;

fn same_tcb(
    name: &str,
    field: &str,
    ours: TcbVersion,
    generation: Generation,
    theirs: sev::firmware::host::TcbVersion,
) {
    let c = ours.components(generation);
    assert_eq!(
        (c.fmc, c.bootloader, c.tee, c.snp, c.microcode),
        (
            theirs.fmc,
            theirs.bootloader,
            theirs.tee,
            theirs.snp,
            theirs.microcode
        ),
        "{name}: {field}"
    );
}

fn compare(name: &str, bytes: &[u8], generation: Generation) {
    let ours = SnpReport::from_bytes(bytes).unwrap();
    let theirs =
        AttestationReport::from_bytes(bytes).unwrap_or_else(|e| panic!("{name}: sev: {e}"));
    assert_eq!(ours.version(), theirs.version, "{name}");
    assert_eq!(ours.guest_svn(), theirs.guest_svn, "{name}");
    assert_eq!(ours.policy().0, u64::from(theirs.policy), "{name}");
    let p = ours.policy();
    assert_eq!(
        (
            p.abi_major(),
            p.abi_minor(),
            p.smt_allowed(),
            p.migrate_ma_allowed(),
            p.debug_allowed()
        ),
        (
            theirs.policy.abi_major() as u8,
            theirs.policy.abi_minor() as u8,
            theirs.policy.smt_allowed(),
            theirs.policy.migrate_ma_allowed(),
            theirs.policy.debug_allowed()
        ),
        "{name}: policy bits"
    );
    assert_eq!(ours.family_id(), &theirs.family_id, "{name}");
    assert_eq!(ours.image_id(), &theirs.image_id, "{name}");
    assert_eq!(ours.vmpl(), theirs.vmpl, "{name}");
    assert_eq!(ours.signature_algo(), theirs.sig_algo, "{name}");
    same_tcb(
        name,
        "current_tcb",
        ours.current_tcb(),
        generation,
        theirs.current_tcb,
    );
    assert_eq!(ours.platform_info().0, theirs.plat_info.0, "{name}");
    assert_eq!(
        ours.platform_info().smt_enabled(),
        theirs.plat_info.smt_enabled(),
        "{name}"
    );
    assert_eq!(
        ours.platform_info().tsme_enabled(),
        theirs.plat_info.tsme_enabled(),
        "{name}"
    );
    assert_eq!(ours.key_info().0, theirs.key_info.0, "{name}");
    assert_eq!(
        ours.key_info().author_key_enabled(),
        theirs.key_info.author_key_en(),
        "{name}"
    );
    assert_eq!(
        ours.key_info().chip_key_masked(),
        theirs.key_info.mask_chip_key(),
        "{name}"
    );
    assert_eq!(ours.report_data(), &theirs.report_data, "{name}");
    assert_eq!(ours.measurement(), &theirs.measurement, "{name}");
    assert_eq!(ours.host_data(), &theirs.host_data, "{name}");
    assert_eq!(ours.id_key_digest(), &theirs.id_key_digest, "{name}");
    assert_eq!(
        ours.author_key_digest(),
        &theirs.author_key_digest,
        "{name}"
    );
    assert_eq!(ours.report_id(), &theirs.report_id, "{name}");
    assert_eq!(ours.report_id_ma(), &theirs.report_id_ma, "{name}");
    same_tcb(
        name,
        "reported_tcb",
        ours.reported_tcb(),
        generation,
        theirs.reported_tcb,
    );
    let cpuid = ours.cpuid();
    assert_eq!(cpuid.map(|c| c.family), theirs.cpuid_fam_id, "{name}");
    assert_eq!(cpuid.map(|c| c.model), theirs.cpuid_mod_id, "{name}");
    assert_eq!(cpuid.map(|c| c.stepping), theirs.cpuid_step, "{name}");
    assert_eq!(ours.chip_id(), &theirs.chip_id, "{name}");
    same_tcb(
        name,
        "committed_tcb",
        ours.committed_tcb(),
        generation,
        theirs.committed_tcb,
    );
    let (cur, com) = (ours.current_version(), ours.committed_version());
    assert_eq!(
        (cur.major, cur.minor, cur.build),
        (
            theirs.current.major,
            theirs.current.minor,
            theirs.current.build
        ),
        "{name}"
    );
    assert_eq!(
        (com.major, com.minor, com.build),
        (
            theirs.committed.major,
            theirs.committed.minor,
            theirs.committed.build
        ),
        "{name}"
    );
    same_tcb(
        name,
        "launch_tcb",
        ours.launch_tcb(),
        generation,
        theirs.launch_tcb,
    );
    assert_eq!(ours.launch_mit_vector(), theirs.launch_mit_vector, "{name}");
    assert_eq!(
        ours.current_mit_vector(),
        theirs.current_mit_vector,
        "{name}"
    );
    assert_eq!(ours.signature().r, theirs.signature.r(), "{name}");
    assert_eq!(ours.signature().s, theirs.signature.s(), "{name}");
}

#[test]
fn every_real_snp_report_matches_the_sev_crate() {
    let mut compared = 0;
    for sample in vectors::azure_snp_reports() {
        let hcl = HclReport::parse(&sample.bytes).unwrap();
        let generation = Generation::from_product_name(sample.product).unwrap();
        compare(sample.name, hcl.hardware_report(), generation);
        compared += 1;
    }
    compare("snp/milan", &vectors::raw_milan_report(), Generation::Milan);
    assert_eq!(compared + 1, 6);
}
