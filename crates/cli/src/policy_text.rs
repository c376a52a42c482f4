//! Policies written for people and other tools: captured reference values as commented TOML
//! (which `verify --policy` reads unchanged) or as trustee reference values (RVPS), and any
//! policy explained in words.

use std::fmt::Write as _;

use base64::Engine as _;
use hcl_parse::{Hex, HexBytes};
use serde_json::{Value, json};

use crate::capture::{ReferenceValues, product_name};
use crate::catalog::{FirmwareCatalog, IdentityKind};
use crate::policy::{AkCertificateRule, EvidencePolicy, Platform};

/// What a PCR measures on an Azure CVM booting Linux (TCG PC Client conventions, then what
/// boot loaders and systemd use them for).
pub fn pcr_purpose(index: u8) -> &'static str {
    match index {
        0 => "firmware code (the UEFI firmware the VM boots)",
        1 => "firmware configuration (UEFI variables such as the boot order, SMBIOS tables)",
        2 => "option ROMs and UEFI drivers from devices",
        3 => "option ROM configuration",
        4 => "boot applications the firmware loaded (shim, GRUB, systemd-boot, a UKI, the kernel)",
        5 => "boot manager configuration (the GPT partition table, the boot variables read)",
        6 => "platform-specific events (resume, manufacturer use)",
        7 => {
            "Secure Boot state and keys (PK, KEK, db, dbx) and the certificates that approved boot images"
        }
        8 => "kernel command line and boot loader commands (GRUB; systemd-boot before v251)",
        9 => {
            "files the boot loader read (GRUB: kernel, initrd, configuration); the Linux EFI stub's initrd and load options"
        }
        10 => "IMA, the kernel's measurements of files at run time",
        11 => "the unified kernel image's sections (systemd-stub)",
        12 => "kernel command line, credentials and add-ons (systemd-stub)",
        13 => "system extension images (systemd-stub)",
        14 => "shim's machine owner keys and state (MokList, MokListX, MokSBState)",
        15 => "system identity (systemd: machine ID, root file system)",
        16 => "debug",
        17..=22 => "dynamic root of trust (DRTM)",
        23 => "application support",
        _ => "no such PCR",
    }
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text from evidence, safe inside a one-line comment.
fn comment_text(text: &str) -> String {
    text.escape_debug().to_string()
}

/// The catalog entries naming `value` as a `kind`, for a comment.
fn catalog_note(catalog: &FirmwareCatalog, kind: IdentityKind, value: &Hex<48>) -> String {
    let names: Vec<&str> = catalog
        .find(kind, &value.0)
        .map(|e| e.name.as_str())
        .collect();
    if names.is_empty() {
        "in no firmware-catalog entry: this policy is what makes it known".into()
    } else {
        format!("firmware catalog: {}", comment_text(&names.join(", ")))
    }
}

fn hex_list_lines(out: &mut String, key: &str, values: &[String], notes: &[String]) {
    let _ = writeln!(out, "{key} = [");
    for (value, note) in values.iter().zip(notes) {
        if note.is_empty() {
            let _ = writeln!(out, "  \"{value}\",");
        } else {
            let _ = writeln!(out, "  \"{value}\", # {note}");
        }
    }
    let _ = writeln!(out, "]");
}

/// The reference values as commented TOML that `verify --policy` reads unchanged;
/// `catalog` names the firmware entries in comments.
pub fn to_toml(values: &ReferenceValues, catalog: &FirmwareCatalog) -> String {
    let mut out = String::new();
    let platform = match values.platform {
        Platform::Snp => "AMD SEV-SNP",
        Platform::Tdx => "Intel TDX",
    };
    let _ = writeln!(
        out,
        "# Policy captured by `snp-vtpm policy capture` from verified evidence ({platform}, Azure vTPM).\n\
         # It accepts the VMs it was captured from and refuses others; `--merge` widens it to\n\
         # more VMs. `snp-vtpm policy explain FILE` says in words what it accepts.\n\
         extends = \"{}\"",
        values.preset()
    );
    if values.report_bound_to_nonce {
        out.push_str(
            "\n# The evidence bound its report to the nonce: every evidence must.\nrequire_report_bound_to_nonce = true\n",
        );
    }
    if values.ak_certificate_required {
        out.push_str(
            "\n# The evidence carried an AK certificate that verified: every evidence must.\nak_certificate = \"required\"\n",
        );
    }
    match values.platform {
        Platform::Snp => snp_section(&mut out, values, catalog),
        Platform::Tdx => {
            out.push_str("\n[tdx]\n# Firmware identity: the paravisor's MRTD.\n");
            let hex: Vec<String> = values.mrtds.iter().map(ToString::to_string).collect();
            let notes: Vec<String> = values
                .mrtds
                .iter()
                .map(|m| catalog_note(catalog, IdentityKind::Mrtd, m))
                .collect();
            hex_list_lines(&mut out, "allowed_mrtds", &hex, &notes);
        }
    }
    pcr_section(&mut out, values);
    vm_configuration_section(&mut out, values);
    event_log_section(&mut out, values);
    out
}

fn snp_section(out: &mut String, values: &ReferenceValues, catalog: &FirmwareCatalog) {
    out.push_str(if values.id_key_digests.is_empty() {
        "\n[report]\n\
         # Firmware identity: the build that ran. Its signing key is in no catalog entry, so no key\n\
         # is pinned and only these builds are accepted.\n"
    } else {
        "\n[report]\n\
         # Firmware identity: the key that signed the paravisor and the build that ran. A paravisor\n\
         # update changes the measurement: delete allowed_measurements to accept every build\n\
         # signed with the key.\n"
    });
    let note = |kind, list: &[Hex<48>]| -> (Vec<String>, Vec<String>) {
        (
            list.iter().map(ToString::to_string).collect(),
            list.iter()
                .map(|v| catalog_note(catalog, kind, v))
                .collect(),
        )
    };
    let (keys, key_notes) = note(IdentityKind::IdKeyDigest, &values.id_key_digests);
    hex_list_lines(out, "allowed_id_key_digests", &keys, &key_notes);
    let (builds, build_notes) = note(IdentityKind::Measurement, &values.measurements);
    hex_list_lines(out, "allowed_measurements", &builds, &build_notes);
    let _ = writeln!(
        out,
        "# The guest policy the VM launched with.\nallow_debug = {}\nallow_migrate_ma = {}\nallow_smt = {}",
        values.allow_debug, values.allow_migrate_ma, values.allow_smt
    );
    if let Some(vmpl) = values.vmpl {
        let _ = writeln!(out, "required_vmpl = {vmpl}");
    }
    for (product, tcb) in &values.tcb_floors {
        let _ = writeln!(
            out,
            "\n# TCB floor for {product:?} hosts: the reported TCB (what the VCEK certifies) of the\n\
             # host the evidence came from. SPLs of different products do not compare.\n\
             [report.minimum_tcb_by_product.{}.reported]",
            product_name(*product)
        );
        if let Some(fmc) = tcb.fmc {
            let _ = writeln!(out, "fmc = {fmc}");
        }
        let _ = writeln!(
            out,
            "bootloader = {}\ntee = {}\nsnp = {}\nmicrocode = {}",
            tcb.bootloader, tcb.tee, tcb.snp, tcb.microcode
        );
    }
}

fn pcr_section(out: &mut String, values: &ReferenceValues) {
    let indices: Vec<String> = values.pcrs.keys().map(ToString::to_string).collect();
    let _ = writeln!(
        out,
        "\n[pcrs]\nbank = \"{}\"\nrequired = [{}]\n\n[pcrs.expected]",
        values.pcr_bank,
        indices.join(", ")
    );
    for (index, accepted) in &values.pcrs {
        let _ = writeln!(out, "# PCR {index}: {}", pcr_purpose(*index));
        match accepted.as_slice() {
            [one] => {
                let _ = writeln!(out, "\"{index}\" = \"{one}\"");
            }
            many => {
                let hex: Vec<String> = many.iter().map(ToString::to_string).collect();
                let notes = vec![String::new(); hex.len()];
                hex_list_lines(out, &format!("\"{index}\""), &hex, &notes);
            }
        }
    }
}

fn vm_configuration_section(out: &mut String, values: &ReferenceValues) {
    let config = &values.vm_configuration;
    out.push_str("\n# The runtime claims' vm-configuration, as the paravisor reported it.\n[vm_configuration]\n");
    let fields = [
        ("secure_boot", config.secure_boot),
        ("tpm_enabled", config.tpm_enabled),
        ("console_enabled", config.console_enabled),
    ];
    for (name, value) in fields {
        match value {
            Some(value) => {
                let _ = writeln!(out, "{name} = {value}");
            }
            None => {
                let _ = writeln!(out, "# {name}: not in the claims, not pinned");
            }
        }
    }
}

fn event_log_section(out: &mut String, values: &ReferenceValues) {
    let Some(log) = &values.event_log else {
        out.push_str("\n# The evidence carried no TCG event log: nothing of it is pinned.\n");
        return;
    };
    out.push_str("\n# What the TCG event log showed (only attested events count).\n[event_log]\nrequired = true\n");
    match log.secure_boot {
        Some(on) => {
            let _ = writeln!(out, "secure_boot = {on}");
        }
        None => out
            .push_str("# secure_boot: the log measured no SecureBoot variable it can vouch for\n"),
    }
    if log.kernel_cmdlines.is_empty() {
        out.push_str(
            "# allowed_kernel_cmdlines: none pinned (PCRs 8, 9 and 12 not all attested, an opaque\n\
             # command-line event, a kernel record no command line matches, or a command line\n\
             # ending in '*', which a policy reads as a prefix; pin PCRs 8 and 12 instead)\n",
        );
    } else {
        out.push_str("# Every kernel command line the log measured (PCRs 8 and 12).\nallowed_kernel_cmdlines = [\n");
        for cmdline in &log.kernel_cmdlines {
            let _ = writeln!(out, "  {},", toml_string(cmdline));
        }
        out.push_str("]\n");
    }
    if log.boot_images.is_empty() {
        out.push_str(
            "# allowed_boot_images: none pinned (PCR 4 not attested in sha256, or an event there\n\
             # the log does not explain)\n",
        );
    } else {
        out.push_str(
            "# The boot applications the firmware loaded (PCR 4), by SHA-256 Authenticode digest;\n\
             # the paths are the log's description, not attested.\nallowed_boot_images = [\n",
        );
        for (digest, path) in &log.boot_images {
            match path {
                Some(path) => {
                    let _ = writeln!(out, "  \"{digest}\", # {}", comment_text(path));
                }
                None => {
                    let _ = writeln!(out, "  \"{digest}\",");
                }
            }
        }
        out.push_str("]\n");
    }
}

/// The reference values as a trustee RVPS message (the "sample" provenance type, as trustee's
/// RVPS documentation describes it): `{"version", "type": "sample", "payload": base64(JSON)}`,
/// the payload mapping each reference-value name of trustee's default Azure policies to a list
/// of strings. RVPS compares by membership, so TCB values are the captured ones, not floors.
pub fn to_rvps(values: &ReferenceValues) -> Value {
    let provenance = rvps_reference_values(values);
    let payload = base64::engine::general_purpose::STANDARD.encode(provenance.to_string());
    json!({ "version": "0.1.0", "type": "sample", "payload": payload })
}

/// The reference values by trustee's names (`measurement`, `tcb_*`, `smt_allowed`,
/// `snp_pcrNN` for SNP; `mr_td`, `tdx_pcrNN` for TDX), each a list of strings.
pub fn rvps_reference_values(values: &ReferenceValues) -> Value {
    let mut names = serde_json::Map::new();
    let strings = |items: Vec<String>| Value::from(items);
    let prefix = match values.platform {
        Platform::Snp => {
            names.insert(
                "measurement".into(),
                strings(
                    values
                        .measurements
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                ),
            );
            let component = |read: fn(&hcl_parse::TcbComponents) -> u8| {
                let mut found: Vec<String> = Vec::new();
                for tcb in values.tcb_floors.values() {
                    let value = read(tcb).to_string();
                    if !found.contains(&value) {
                        found.push(value);
                    }
                }
                strings(found)
            };
            names.insert("tcb_bootloader".into(), component(|t| t.bootloader));
            names.insert("tcb_tee".into(), component(|t| t.tee));
            names.insert("tcb_snp".into(), component(|t| t.snp));
            names.insert("tcb_microcode".into(), component(|t| t.microcode));
            names.insert(
                "smt_allowed".into(),
                strings(vec![values.allow_smt.to_string()]),
            );
            "snp"
        }
        Platform::Tdx => {
            names.insert(
                "mr_td".into(),
                strings(values.mrtds.iter().map(ToString::to_string).collect()),
            );
            "tdx"
        }
    };
    for (index, accepted) in &values.pcrs {
        names.insert(
            format!("{prefix}_pcr{index:02}"),
            strings(accepted.iter().map(HexBytes::to_string).collect()),
        );
    }
    Value::Object(names)
}

/// What `policy` accepts and refuses, in words, with the firmware `catalog` knows.
pub fn explain(policy: &EvidencePolicy, catalog: &FirmwareCatalog) -> String {
    let mut out = String::new();
    let (hardware, kinds) = match policy.platform {
        Platform::Snp => (
            "AMD SEV-SNP",
            [IdentityKind::IdKeyDigest, IdentityKind::Measurement].as_slice(),
        ),
        Platform::Tdx => ("Intel TDX", [IdentityKind::Mrtd].as_slice()),
    };
    let _ = writeln!(
        out,
        "This policy accepts {hardware} evidence from an Azure vTPM when every line below holds,\nand refuses everything else (evidence of other hardware is a usage error).\n"
    );
    let known: Vec<&str> = catalog
        .entries
        .iter()
        .filter(|e| kinds.contains(&e.kind))
        .map(|e| e.name.as_str())
        .collect();
    let _ = writeln!(
        out,
        "Firmware\n  - known: named by the firmware catalog ({} {} entries: {}) or by the lists below",
        known.len(),
        hardware,
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    );
    match policy.platform {
        Platform::Snp => explain_snp(&mut out, policy),
        Platform::Tdx => explain_tdx(&mut out, policy),
    }
    explain_vtpm(&mut out, policy);
    out
}

fn list_or(values: &[impl ToString], any: &str) -> String {
    match values {
        [] => any.to_string(),
        [one] => one.to_string(),
        many => format!(
            "one of {}: {}",
            many.len(),
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn allowed(flag: bool) -> &'static str {
    if flag { "allowed" } else { "refused" }
}

fn explain_snp(out: &mut String, policy: &EvidencePolicy) {
    let report = &policy.report;
    let _ = writeln!(
        out,
        "  - ID-key digest: {}\n  - launch measurement: {}\n  - VMPL: {}\n  - host_data: {}",
        list_or(
            &report.allowed_id_key_digests,
            "any (the firmware must still be known, by its key or its measurement)"
        ),
        list_or(&report.allowed_measurements, "any"),
        match report.required_vmpl {
            None | Some(0) => "0 (vTPM evidence always needs VMPL 0)".to_string(),
            Some(other) => format!(
                "{other}, but vTPM evidence always needs VMPL 0: no vTPM evidence meets this policy"
            ),
        },
        if report.allowed_host_data.is_empty() || report.allowed_host_data == [Hex([0; 32])] {
            "all zero".to_string()
        } else {
            list_or(&report.allowed_host_data, "")
        }
    );
    if !report.allowed_author_key_digests.is_empty() {
        let _ = writeln!(
            out,
            "  - author-key digest: {}",
            list_or(&report.allowed_author_key_digests, "")
        );
    }
    let _ = writeln!(
        out,
        "Guest policy\n  - debugging: {}\n  - migration agent: {}\n  - SMT: {}",
        allowed(report.allow_debug),
        allowed(report.allow_migrate_ma),
        allowed(report.allow_smt)
    );
    out.push_str("TCB\n");
    let floor_lines = |out: &mut String, scope: &str, floor: &snp_verify::MinimumTcb| {
        let kinds = [
            ("reported", &floor.reported),
            ("committed", &floor.committed),
            ("launch", &floor.launch),
            ("current", &floor.current),
        ];
        for (kind, minimum) in kinds {
            if let Some(minimum) = minimum {
                let _ = writeln!(out, "  - {kind} TCB at least {minimum}{scope}");
            }
        }
    };
    floor_lines(out, " (every product)", &report.minimum_tcb);
    for (product, floor) in &report.minimum_tcb_by_product {
        floor_lines(out, &format!(" on {product:?}"), floor);
    }
    let with_floor: Vec<String> = report
        .minimum_tcb_by_product
        .iter()
        .filter(|(_, floor)| floor.is_set())
        .map(|(product, _)| format!("{product:?}"))
        .collect();
    if !report.minimum_tcb.is_set() {
        if with_floor.is_empty() {
            out.push_str("  - no floor: hosts with known, fixed vulnerabilities are accepted (a warning says so)\n");
        } else {
            let _ = writeln!(
                out,
                "  - products other than {} have no floor",
                with_floor.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "  - firmware running but not committed: {}",
        allowed(report.allow_provisional_firmware)
    );
    if let Some(minimum) = &report.minimum_firmware {
        let _ = writeln!(out, "  - firmware version at least {minimum}");
    }
    if let Some(svn) = report.minimum_guest_svn {
        let _ = writeln!(out, "  - guest SVN at least {svn}");
    }
}

fn explain_tdx(out: &mut String, policy: &EvidencePolicy) {
    let tdx = &policy.tdx;
    let statuses: Vec<String> = tdx
        .accepted_tcb_statuses()
        .iter()
        .map(ToString::to_string)
        .collect();
    let _ = writeln!(
        out,
        "  - MRTD: {}\nTD\n  - TCB status: one of {}\n  - debugging: {}\n  - MRCONFIGID, MROWNER, MROWNERCONFIG: {}",
        list_or(&tdx.allowed_mrtds, "any known"),
        statuses.join(", "),
        allowed(tdx.allow_debug),
        if tdx.require_zero_owner_fields {
            "all zero"
        } else {
            "any"
        }
    );
    if tdx.td_attributes_mask.0 != [0; 8] {
        let _ = writeln!(
            out,
            "  - TD attributes under mask {}: {}",
            tdx.td_attributes_mask, tdx.td_attributes
        );
    }
    for (index, value) in &tdx.expected_rtmrs {
        let _ = writeln!(out, "  - RTMR{index}: {value}");
    }
    if !tdx.allowed_xfams.is_empty() {
        let _ = writeln!(out, "  - XFAM: {}", list_or(&tdx.allowed_xfams, ""));
    }
    if !tdx.allowed_mr_seams.is_empty() {
        let _ = writeln!(
            out,
            "  - TDX module: {}",
            list_or(&tdx.allowed_mr_seams, "")
        );
    }
    if tdx.min_tcb_evaluation_data_number > 0 {
        let _ = writeln!(
            out,
            "  - collateral of TCB evaluation {} or later",
            tdx.min_tcb_evaluation_data_number
        );
    }
}

fn explain_vtpm(out: &mut String, policy: &EvidencePolicy) {
    let _ = writeln!(
        out,
        "Evidence\n  - report bound to the nonce: {}\n  - AK certificate: {}\n  - CRL: {}",
        if policy.require_report_bound_to_nonce {
            "required (v2 evidence, user-data = nonce)"
        } else {
            "not required (a report may be older than the nonce; the quote is always fresh)"
        },
        match policy.ak_certificate {
            AkCertificateRule::Required => "required, and verified under Azure's vTPM root",
            AkCertificateRule::IfPresent => "verified when the evidence carries one",
            AkCertificateRule::Ignored => "not looked at",
        },
        if policy.require_crl {
            "required"
        } else {
            "used when given, fetched or cached"
        }
    );
    let pcrs = &policy.pcrs;
    if pcrs.required.is_empty() && pcrs.expected.is_empty() {
        out.push_str("PCRs\n  - none pinned: any software may have booted\n");
    } else {
        let _ = writeln!(out, "PCRs ({} bank)", pcrs.bank);
        for index in &pcrs.required {
            if !pcrs.expected.contains_key(index) {
                let _ = writeln!(
                    out,
                    "  - PCR {index}, {}: quoted, any value",
                    pcr_purpose(*index)
                );
            }
        }
        for (index, values) in &pcrs.expected {
            let _ = writeln!(
                out,
                "  - PCR {index}, {}: {}",
                pcr_purpose(*index),
                list_or(&values.0, "")
            );
        }
    }
    let config = &policy.vm_configuration;
    let fields = [
        ("secure-boot", config.secure_boot),
        ("tpm-enabled", config.tpm_enabled),
        ("console-enabled", config.console_enabled),
    ];
    if fields.iter().any(|(_, v)| v.is_some()) {
        out.push_str("vm-configuration\n");
        for (name, value) in fields {
            if let Some(value) = value {
                let _ = writeln!(out, "  - {name}: {value}");
            }
        }
    }
    let log = &policy.event_log;
    if log.needs_log() {
        out.push_str("Event log\n  - required, and it must replay to the quoted PCRs\n");
        if let Some(on) = log.secure_boot {
            let _ = writeln!(
                out,
                "  - Secure Boot as the firmware measured it: {}",
                if on { "on" } else { "off" }
            );
        }
        if !log.allowed_kernel_cmdlines.is_empty() {
            let _ = writeln!(
                out,
                "  - every measured kernel command line: {}",
                list_or(
                    &log.allowed_kernel_cmdlines
                        .iter()
                        .map(|c| match c.strip_suffix('*') {
                            Some("") => "anything".to_string(),
                            Some(prefix) => {
                                format!("anything starting with \"{}\"", comment_text(prefix))
                            }
                            None => format!("\"{}\"", comment_text(c)),
                        })
                        .collect::<Vec<_>>(),
                    ""
                )
            );
        }
        if !log.allowed_boot_images.is_empty() {
            let _ = writeln!(
                out,
                "  - every boot application loaded (PCR 4, SHA-256): {}",
                list_or(&log.allowed_boot_images, "")
            );
        }
    } else {
        out.push_str(
            "Event log\n  - not required (when present, it must still replay to the quoted PCRs)\n",
        );
    }
}
