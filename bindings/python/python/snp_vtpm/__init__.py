"""Verify Azure SEV-SNP and TDX confidential VM evidence offline, with the snp-vtpm verifier.

``verify`` returns the document ``snp-vtpm verify --json`` prints (a dict with ``verified``,
``exit_code`` and ``verdict`` or ``failed_check`` and ``error``). Input that cannot be used
raises :class:`InputError`; with ``check=True`` every failure raises its typed exception,
which mirrors the tool's exit codes (1 input, 2 verification, 3 policy, 4 unavailable).
Nothing here reads the network or a clock other than the default of ``at``.
"""

from __future__ import annotations

import datetime as _datetime
import json as _json
import math as _math
import time as _time
from typing import Any, Dict, Iterable, Optional, Union

from . import _native

__all__ = [
    "verify",
    "decode",
    "capture_policy",
    "version",
    "pcr_purpose",
    "SnpVtpmError",
    "InputError",
    "VerificationError",
    "PolicyError",
    "UnavailableError",
]

Data = Union[bytes, bytearray, memoryview, str]
Time = Union[_datetime.datetime, int, float, None]


class SnpVtpmError(Exception):
    """A failure, with the document that describes it (``exit_code``, ``failed_check``, ``error``)."""

    exit_code = 0

    def __init__(self, document: Dict[str, Any]):
        super().__init__(f"{document.get('failed_check')}: {document.get('error')}")
        self.document = document
        self.failed_check: Optional[str] = document.get("failed_check")
        self.error: Optional[str] = document.get("error")


class InputError(SnpVtpmError, ValueError):
    """Unreadable or malformed input (exit code 1)."""

    exit_code = 1


class VerificationError(SnpVtpmError):
    """A cryptographic, binding or freshness check failed: the evidence is not authentic (2)."""

    exit_code = 2


class PolicyError(SnpVtpmError):
    """The evidence is authentic but the policy refuses it (3)."""

    exit_code = 3


class UnavailableError(SnpVtpmError):
    """Certificates, a CRL or collateral the verification needs were not given (4)."""

    exit_code = 4


_BY_CODE = {error.exit_code: error for error in (InputError, VerificationError, PolicyError, UnavailableError)}


def _raise_for(document: Dict[str, Any]) -> None:
    code = document.get("exit_code", 1)
    if code != 0:
        raise _BY_CODE.get(code, SnpVtpmError)(document)


#: Inputs above this size are refused before they are parsed (as the tool refuses files).
INPUT_LIMIT = 1024 * 1024


def _input_error(message: str) -> InputError:
    return InputError({"verified": False, "exit_code": 1, "failed_check": "input", "error": message})


def _bytes(value: Data, name: str) -> bytes:
    if isinstance(value, str):
        if len(value) > INPUT_LIMIT:
            raise _input_error(f"{name} is over the {INPUT_LIMIT}-byte input limit")
        try:
            value = value.encode("utf-8")
        except UnicodeEncodeError:
            raise _input_error(f"{name} has a lone surrogate: it is not text") from None
    elif isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value)
    else:
        raise _input_error(f"{name} must be bytes or str, not {type(value).__name__}")
    if len(value) > INPUT_LIMIT:
        raise _input_error(f"{name} is over the {INPUT_LIMIT}-byte input limit")
    return value


def _text(value: Optional[Data], name: str) -> Optional[str]:
    if value is None:
        return None
    try:
        return _bytes(value, name).decode("utf-8")
    except UnicodeDecodeError:
        raise _input_error(f"{name} is not UTF-8 text") from None


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise _input_error(f"{name} must be True or False, not {value!r}")
    return value


def _seconds(at: Time) -> int:
    if at is None:
        return int(_time.time())
    if isinstance(at, _datetime.datetime):
        if at.tzinfo is None:
            raise _input_error("at must be an aware datetime (UTC)")
        return int(at.timestamp())
    if isinstance(at, (int, float)) and not isinstance(at, bool) and _math.isfinite(at) and 0 <= at < 2**63:
        return int(at)
    raise _input_error("at must be a datetime or seconds since the epoch")


def _pcrs(pcrs: Optional[Iterable[int]]) -> Optional[list]:
    if pcrs is None:
        return None
    if isinstance(pcrs, (str, bytes, bytearray)) or not hasattr(pcrs, "__iter__"):
        raise _input_error("pcrs must be a list of PCR indices (0 to 23)")
    indices = list(pcrs)
    if len(indices) > 24 or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= 23 for i in indices):
        raise _input_error("pcrs must be a list of PCR indices (0 to 23)")
    return indices


def _options(policy, preset, at, chain_pem, crl_pem, collateral, firmware_catalog, require_fresh_report, allow_unknown_firmware, pcrs=None) -> str:
    if preset is not None and not isinstance(preset, str):
        raise _input_error("preset must be a preset's name (str)")
    return _json.dumps({
        "policy": _text(policy, "policy"),
        "preset": preset,
        "at": _seconds(at),
        "chain_pem": _text(chain_pem, "chain_pem"),
        "crl_pem": _text(crl_pem, "crl_pem"),
        "collateral": _text(collateral, "collateral"),
        "firmware_catalog": _text(firmware_catalog, "firmware_catalog"),
        "require_fresh_report": _flag(require_fresh_report, "require_fresh_report"),
        "allow_unknown_firmware": _flag(allow_unknown_firmware, "allow_unknown_firmware"),
        "pcrs": _pcrs(pcrs),
    })


def verify(
    evidence: Data,
    nonce: Optional[Data],
    *,
    policy: Optional[Data] = None,
    preset: Optional[str] = None,
    at: Time = None,
    chain_pem: Optional[Data] = None,
    crl_pem: Optional[Data] = None,
    collateral: Optional[Data] = None,
    firmware_catalog: Optional[Data] = None,
    require_fresh_report: bool = False,
    allow_unknown_firmware: bool = False,
    check: bool = False,
) -> Dict[str, Any]:
    """Verifies evidence (JSON, as bytes or str) against the nonce the quote must carry (bytes;
    a str is taken as UTF-8). The nonce is required: pass None explicitly to check none, and
    the verdict says so.

    Returns the verdict document. Raises :class:`InputError` for input that cannot be used;
    with ``check=True``, raises the typed exception of any failure instead of returning it.
    """
    options = _options(policy, preset, at, chain_pem, crl_pem, collateral, firmware_catalog, require_fresh_report, allow_unknown_firmware)
    nonce_bytes = None if nonce is None else _bytes(nonce, "nonce")
    document = _json.loads(_native.verify(_bytes(evidence, "evidence"), nonce_bytes, options))
    if document.get("exit_code") == 1 or (_flag(check, "check") and not document.get("verified")):
        _raise_for(document)
    return document


def decode(artifact: Data, *, at: Time = None) -> Dict[str, Any]:
    """Decodes any artifact (HCL report, SNP report, TD quote, TPM quote, certificate, CRL,
    public key, evidence, event log) as ``snp-vtpm show --json`` prints it. Nothing in it is
    verified. Raises :class:`InputError` for bytes it does not recognise."""
    document = _json.loads(_native.decode(_bytes(artifact, "artifact"), _seconds(at)))
    if "exit_code" in document and "kind" not in document:
        _raise_for(document)
    return document


def capture_policy(
    evidence: Data,
    nonce: Data,
    *,
    pcrs: Optional[Iterable[int]] = None,
    policy: Optional[Data] = None,
    preset: Optional[str] = None,
    at: Time = None,
    chain_pem: Optional[Data] = None,
    crl_pem: Optional[Data] = None,
    collateral: Optional[Data] = None,
    firmware_catalog: Optional[Data] = None,
) -> str:
    """Verifies the evidence, then returns the policy (TOML) that accepts this VM and refuses
    others, as ``snp-vtpm policy capture`` writes it. Raises the typed exception of a failure."""
    options = _options(policy, preset, at, chain_pem, crl_pem, collateral, firmware_catalog, False, False, pcrs)
    document = _json.loads(_native.capture_policy(_bytes(evidence, "evidence"), _bytes(nonce, "nonce"), options))
    _raise_for(document)
    return document["policy"]


def version() -> Dict[str, Any]:
    """The version, commit, pinned certificates and preset digests of this build."""
    return _json.loads(_native.version())


def pcr_purpose(index: int) -> str:
    """What a PCR measures on Azure's confidential VMs ("no such PCR" past 23)."""
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= 23:
        return "no such PCR"
    return _native.pcr_purpose(index)
