"""Check an operator's OpenPGP public key before `vault.init` hands it to the server.

The server encrypts each unseal key share to one public key while it initialises; a key
it cannot encrypt to (mistyped, a private key, sign-only) fails it half-way. So the key
is read here first (RFC 4880 and 9580 packet framing, the armor's CRC24, the key flags of
its self-signatures) and must hold exactly one certificate with a key that can encrypt.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

ARMOR_BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
PUBLIC_KEY, PUBLIC_SUBKEY, SIGNATURE = 6, 14, 2
SECRET_KEYS = {5, 7}
# RSA, RSA encrypt-only, Elgamal, ECDH, X25519, X448: algorithms that can encrypt.
ENCRYPTING = {1, 2, 16, 18, 25, 26}
KEY_FLAGS = 27
ENCRYPT_FLAGS = 0x04 | 0x08  # communications, storage
SEVERAL = "holds several keys: give one file per operator"


class KeyProblem(ValueError):
    """Why the bytes are not a usable public key: the end of a sentence."""


@dataclass
class _Key:
    algorithm: int
    flags: list[int] = field(default_factory=list)

    def encrypts(self) -> bool:
        # Without key flags, the algorithm alone says what a key may do.
        allowed = any(f & ENCRYPT_FLAGS for f in self.flags) if self.flags else True
        return self.algorithm in ENCRYPTING and allowed


def unarmor(text: str) -> bytes:
    """The binary key inside ASCII armor, its CRC24 checked when it has one."""
    if text.count(ARMOR_BEGIN) > 1:
        raise KeyProblem(SEVERAL)
    body = text.split(ARMOR_BEGIN, 1)[1].split("-----END", 1)[0]
    # Armor: header lines, a blank line, base64 lines, then "=XXXX" (the CRC24).
    lines = [ln.strip() for ln in body.strip().splitlines()]
    if "" in lines:
        lines = lines[lines.index("") + 1 :]
    checksum = [ln[1:] for ln in lines if ln.startswith("=")]
    try:
        raw = base64.b64decode("".join(ln for ln in lines if ln and ln[0] != "="), validate=True)
        crc = base64.b64decode(checksum[0], validate=True) if checksum else None
    except binascii.Error:
        raise KeyProblem("is not valid ASCII armor (mistyped?)") from None
    if crc is not None and crc != _crc24(raw).to_bytes(3, "big"):
        raise KeyProblem("fails its armor checksum (mistyped or damaged)")
    return raw


def _crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def _packets(raw: bytes) -> list[tuple[int, bytes]]:
    """(tag, body) of each packet; KeyProblem when the framing does not add up."""
    found, at = [], 0
    while at < len(raw):
        head = raw[at]
        if not head & 0x80:
            raise KeyProblem("is not an OpenPGP key (export it with `gpg --export`)")
        if head & 0x40:
            tag, first = head & 0x3F, raw[at + 1] if at + 1 < len(raw) else 0
            if first < 192:
                size, at = first, at + 2
            elif first < 224:
                size, at = ((first - 192) << 8) + raw[at + 2] + 192, at + 3
            elif first == 255:
                size, at = int.from_bytes(raw[at + 2 : at + 6], "big"), at + 6
            else:
                raise KeyProblem("is damaged (a partial-length key packet)")
        else:
            tag, width = (head >> 2) & 0x0F, (1, 2, 4, 0)[head & 0x03]
            if not width:
                raise KeyProblem("is damaged (a packet of unknown length)")
            size, at = int.from_bytes(raw[at + 1 : at + 1 + width], "big"), at + 1 + width
        if at + size > len(raw):
            raise KeyProblem("is truncated or damaged")
        found.append((tag, raw[at : at + size]))
        at += size
    return found


def _key_flags(signature: bytes) -> int | None:
    """The key-flags subpacket of a v4 or v6 signature's hashed area, if it has one."""
    if not signature or signature[0] not in (4, 6):
        return None
    width = 2 if signature[0] == 4 else 4
    end = 4 + width + int.from_bytes(signature[4 : 4 + width], "big")
    at = 4 + width
    while at < min(end, len(signature)):
        first = signature[at]
        if first < 192:
            size, at = first, at + 1
        elif first < 255:
            size, at = ((first - 192) << 8) + signature[at + 1] + 192, at + 2
        else:
            size, at = int.from_bytes(signature[at + 1 : at + 5], "big"), at + 5
        if size and signature[at] & 0x7F == KEY_FLAGS and size > 1:
            return signature[at + 1]
        at += size
    return None


def check(raw: bytes) -> None:
    """Accept one public certificate with a key that can encrypt; else KeyProblem."""
    packets = _packets(raw)
    tags = [tag for tag, _ in packets]
    if SECRET_KEYS & set(tags):
        raise KeyProblem("holds a private key: hand in the public key only (`gpg --export`)")
    if not tags or tags[0] != PUBLIC_KEY:
        raise KeyProblem("is not an OpenPGP public key (export it with `gpg --export`)")
    if tags.count(PUBLIC_KEY) > 1:
        raise KeyProblem(SEVERAL)
    keys: list[_Key] = []
    for tag, body in packets:
        if tag in (PUBLIC_KEY, PUBLIC_SUBKEY):
            if len(body) < 6 or body[0] not in (4, 5, 6):
                raise KeyProblem("is damaged or of an unsupported version")
            keys.append(_Key(body[5]))
        elif tag == SIGNATURE and keys:
            flags = _key_flags(body)
            if flags is not None:
                keys[-1].flags.append(flags)
    if not any(key.encrypts() for key in keys):
        raise KeyProblem("can only sign, not encrypt: give a key with an encryption subkey")
