//! The SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1): the platform's TCB as
//! Intel certified it (sixteen CPU SVN components and the PCE SVN), its FMSPC and PCE id.
//! A SEQUENCE of (OID, value) pairs; the TCB is itself such a SEQUENCE.

use alloc::format;
use alloc::string::ToString;

use der::asn1::{Int, ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Reader, SliceReader};
use x509_cert::Certificate;

use crate::error::{Error, Result};

/// The SGX extension.
pub(crate) const OID_SGX_EXTENSIONS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1");
const OID_TCB: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.2");
const OID_PCE_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.3");
const OID_FMSPC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.4");

const WHAT: &str = "PCK certificate SGX extension";

/// What the PCK certificate certifies about the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SgxExtensions {
    /// The sixteen SGX TCB component SVNs (…1.2.1 to …1.2.16).
    pub cpu_svn_components: [u8; 16],
    /// The PCE SVN (…1.2.17).
    pub pce_svn: u16,
    /// The FMSPC: family, model, stepping, platform type and customisation (…1.4).
    pub fmspc: [u8; 6],
    /// The PCE id (…1.3).
    pub pce_id: [u8; 2],
}

impl SgxExtensions {
    /// Reads the extension from a PCK certificate.
    pub(crate) fn of(cert: &Certificate) -> Result<Self> {
        let extension = cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == OID_SGX_EXTENSIONS)
            .ok_or_else(|| Error::malformed(WHAT, "the PCK certificate has no SGX extension"))?;
        Self::parse(extension.extn_value.as_bytes())
    }

    fn parse(value: &[u8]) -> Result<Self> {
        let mut tcb = None;
        let mut pce_id = None;
        let mut fmspc = None;
        for (oid, any) in pairs(value, WHAT)? {
            if oid == OID_TCB {
                let encoded = any
                    .to_der()
                    .map_err(|e| Error::malformed(WHAT, format!("TCB: {e}")))?;
                tcb = Some(parse_tcb(&encoded)?);
            } else if oid == OID_PCE_ID {
                pce_id = Some(octets::<2>(&any, "PCE-ID")?);
            } else if oid == OID_FMSPC {
                fmspc = Some(octets::<6>(&any, "FMSPC")?);
            }
        }
        let missing = |name: &str| Error::malformed(WHAT, format!("no {name}"));
        let (cpu_svn_components, pce_svn) = tcb.ok_or_else(|| missing("TCB"))?;
        Ok(Self {
            cpu_svn_components,
            pce_svn,
            fmspc: fmspc.ok_or_else(|| missing("FMSPC"))?,
            pce_id: pce_id.ok_or_else(|| missing("PCE-ID"))?,
        })
    }
}

/// The (OID, value) pairs of a SEQUENCE OF SEQUENCE { OID, ANY } (`bytes`: its encoding).
fn pairs(bytes: &[u8], what: &str) -> Result<alloc::vec::Vec<(ObjectIdentifier, Any)>> {
    let malformed = |e: der::Error| Error::malformed(what, e.to_string());
    let mut reader = SliceReader::new(bytes).map_err(malformed)?;
    let pairs = reader
        .sequence(|outer| {
            let mut pairs = alloc::vec::Vec::new();
            while !outer.is_finished() {
                pairs.push(outer.sequence(|pair| {
                    let oid = ObjectIdentifier::decode(pair)?;
                    let value = Any::decode(pair)?;
                    Ok::<_, der::Error>((oid, value))
                })?);
            }
            Ok::<_, der::Error>(pairs)
        })
        .map_err(malformed)?;
    reader.finish().map_err(malformed)?;
    Ok(pairs)
}

/// The TCB (its SEQUENCE's encoding): sixteen component SVNs (…2.1 to …2.16) and the PCE SVN
/// (…2.17); the CPUSVN octets (…2.18) repeat the components.
fn parse_tcb(encoded: &[u8]) -> Result<([u8; 16], u16)> {
    let mut components = [None::<u8>; 16];
    let mut pce_svn = None;
    for (oid, any) in pairs(encoded, "PCK certificate SGX TCB")? {
        let arcs: alloc::vec::Vec<u32> = oid.arcs().collect();
        let (Some(&last), true) = (arcs.last(), oid.parent() == Some(OID_TCB)) else {
            continue;
        };
        match last {
            1..=16 => {
                let value = small_integer(&any, "SGX TCB component")?;
                let slot = components
                    .get_mut(usize::try_from(last - 1).unwrap_or(usize::MAX))
                    .ok_or_else(|| Error::malformed(WHAT, "component index"))?;
                *slot = Some(u8::try_from(value).map_err(|_| {
                    Error::malformed(WHAT, format!("TCB component {last} is {value}, above 255"))
                })?);
            }
            17 => {
                let value = small_integer(&any, "PCESVN")?;
                pce_svn = Some(u16::try_from(value).map_err(|_| {
                    Error::malformed(WHAT, format!("PCESVN is {value}, above 65535"))
                })?);
            }
            _ => {}
        }
    }
    let mut out = [0u8; 16];
    for (index, (slot, found)) in out.iter_mut().zip(components).enumerate() {
        *slot = found.ok_or_else(|| {
            Error::malformed(WHAT, format!("TCB component {} is missing", index + 1))
        })?;
    }
    let pce_svn = pce_svn.ok_or_else(|| Error::malformed(WHAT, "PCESVN is missing"))?;
    Ok((out, pce_svn))
}

fn small_integer(any: &Any, what: &str) -> Result<u32> {
    let int: Int = any
        .decode_as()
        .map_err(|e| Error::malformed(WHAT, format!("{what}: {e}")))?;
    let bytes = int.as_bytes();
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let digits: &[u8] = match bytes {
        [0, rest @ ..] => rest,
        other => other,
    };
    if negative || digits.len() > 4 {
        return Err(Error::malformed(
            WHAT,
            format!("{what}: expected a small non-negative INTEGER"),
        ));
    }
    Ok(digits
        .iter()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
}

fn octets<const N: usize>(any: &Any, what: &str) -> Result<[u8; N]> {
    let octets: OctetString = any
        .decode_as()
        .map_err(|e| Error::malformed(WHAT, format!("{what}: {e}")))?;
    octets.as_bytes().try_into().map_err(|_| {
        Error::malformed(
            WHAT,
            format!(
                "{what}: expected {N} bytes, found {}",
                octets.as_bytes().len()
            ),
        )
    })
}
