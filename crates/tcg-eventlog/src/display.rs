//! One line per event content, for humans (`snp-vtpm show`, error messages).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use super::content::EventContent;
use super::efi::{SignatureEntry, VariableValue};

impl fmt::Display for EventContent {
    /// One line for humans.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SpecId { signature } => write!(f, "{signature}"),
            Self::StartupLocality { locality } => write!(f, "StartupLocality {locality}"),
            Self::NoAction { signature } => {
                write!(f, "{}", signature.as_deref().unwrap_or("(no signature)"))
            }
            Self::Separator { value: 0 } => f.write_str("separator"),
            Self::Separator { value } => write!(f, "separator {value:#010x} (error)"),
            Self::EfiVariable(var) => {
                write!(f, "{} = ", var.name)?;
                match &var.value {
                    VariableValue::Empty => f.write_str("(empty)"),
                    VariableValue::Flag { enabled } => {
                        f.write_str(if *enabled { "on (1)" } else { "off (0)" })
                    }
                    VariableValue::SignatureLists { entries } => {
                        let plural = if entries.len() == 1 {
                            "entry"
                        } else {
                            "entries"
                        };
                        write!(f, "{} {plural}", entries.len())?;
                        let subjects: Vec<&str> = entries
                            .iter()
                            .filter_map(|e| match e {
                                SignatureEntry::X509 { subject, .. } => subject.as_deref(),
                                _ => None,
                            })
                            .collect();
                        if !subjects.is_empty() {
                            write!(f, ": {}", subjects.join("; "))?;
                        }
                        Ok(())
                    }
                    VariableValue::Authority { entry } => match entry {
                        SignatureEntry::X509 { subject, .. } => {
                            write!(
                                f,
                                "certificate {}",
                                subject.as_deref().unwrap_or("(unparsed)")
                            )
                        }
                        other => write!(f, "{other:?}"),
                    },
                    VariableValue::BootOrder { order } => {
                        let order: Vec<String> = order.iter().map(|n| format!("{n:04X}")).collect();
                        f.write_str(&order.join(","))
                    }
                    VariableValue::BootOption {
                        description,
                        device_path,
                        ..
                    } => write!(f, "\"{description}\" {device_path}"),
                    VariableValue::Text { text } => write!(f, "{:?}", text),
                    VariableValue::Bytes { length } => write!(f, "{length} bytes"),
                }
            }
            Self::EfiImage {
                device_path,
                file_path,
                length,
                ..
            } => match (file_path, device_path) {
                (Some(file), _) => write!(f, "{file} ({length} bytes)"),
                (None, Some(path)) => write!(f, "{path} ({length} bytes)"),
                (None, None) => write!(f, "image in memory ({length} bytes)"),
            },
            Self::GrubCommand { command } => write!(f, "grub: {}", command.escape_debug()),
            Self::KernelCommandLine { command_line, .. } => {
                write!(f, "kernel command line: {command_line}")
            }
            Self::Text { text } => write!(f, "{}", text.escape_debug()),
            Self::CrtmVersion { version } => write!(f, "{version}"),
            Self::FirmwareBlob {
                description,
                base,
                length,
            } => write!(
                f,
                "{}blob at {base:#x}, {length:#x} bytes",
                description
                    .as_deref()
                    .map(|d| format!("{d}: "))
                    .unwrap_or_default()
            ),
            Self::HandoffTables {
                description,
                tables,
            } => {
                let names: Vec<String> = tables
                    .iter()
                    .map(|(g, n, _)| n.map_or_else(|| g.to_string(), String::from))
                    .collect();
                write!(
                    f,
                    "{}tables: {}",
                    description
                        .as_deref()
                        .map(|d| format!("{d}: "))
                        .unwrap_or_default(),
                    names.join(", ")
                )
            }
            Self::Gpt {
                disk_guid,
                partitions,
            } => write!(f, "GPT disk {disk_guid}, {} partitions", partitions.len()),
            Self::Tagged { id, text } => {
                write!(f, "tag {id:#010x} {}", text.as_deref().unwrap_or(""))
            }
            Self::ConfidentialPlatform {
                platform,
                technology,
            } => write!(f, "{platform}: confidential technology {technology}"),
            Self::Malformed { reason } => write!(f, "(malformed: {reason})"),
            Self::Raw { length } => write!(f, "({length} bytes)"),
        }
    }
}
