"""Seeded generation: ids, and embedding vectors whose directions follow the words of a text.

Everything here is a pure function of its inputs (a seed string, a text), so the same
request against the same scenario gives the same bytes on any machine. JSON values for a
schema are made in `schema_instances.py`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import math
import re
import struct
from array import array

__all__ = ["derive", "embedding", "float32_base64", "ident", "logprobs"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Maps every byte to an id character (a tiny bias towards the first few is harmless here).
_ID_TABLE = bytes(ord(_ALPHABET[b % 62]) for b in range(256))


def derive(*parts: object) -> int:
    """A 64-bit integer from any parts, stable across runs and machines."""
    blob = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "big")


def ident(key: str, prefix: str, label: object = "", length: int = 24) -> str:
    """A deterministic id such as `chatcmpl-4fQ...` for the object `label` of an answer."""
    digest = hashlib.blake2b(f"{key}\x1f{prefix}\x1f{label}".encode(), digest_size=min(64, length)).digest()
    return prefix + digest.translate(_ID_TABLE).decode()


_STOP_WORDS = frozenset(
    "a an and are as at be but by for from has have i in is it its of on or that the this to was"
    " were will with you your we they he she them our my me do does did not no so if then than".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)


@functools.lru_cache(maxsize=8192)
def _feature(seed: int, token: str, dims: int) -> array[int]:
    """A pseudo-random direction for one word or word pair."""
    digest = hashlib.shake_256(f"{seed}\x1f{token}".encode()).digest(dims)
    return array("b", digest)


def embedding(text: str, dims: int, seed: int) -> list[float]:
    """A unit vector for `text`: texts that share words point in similar directions.

    Each word contributes a fixed pseudo-random direction (common English words count
    less, adjacent word pairs a little); the sum is normalised and rounded to float32.
    """
    words = [w.lower() for w in _WORD.findall(text)]
    acc = [0.0] * dims
    weights: list[tuple[str, float]] = []
    for word in words:
        weights.append((word, 0.25 if word in _STOP_WORDS else 1.0))
    for first, second in itertools.pairwise(words):
        weights.append((f"{first} {second}", 0.35))
    if not weights:
        weights.append((f"\x00{text}", 1.0))
    for token, weight in weights:
        feature = _feature(seed, token, dims)
        acc = [a + weight * f for a, f in zip(acc, feature, strict=True)]
    norm = math.sqrt(sum(a * a for a in acc)) or 1.0
    packed = struct.pack(f"<{dims}f", *(a / norm for a in acc))
    return list(struct.unpack(f"<{dims}f", packed))


def float32_base64(vector: list[float]) -> str:
    """The vector as base64 of little-endian float32 values (OpenAI's `base64` encoding)."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")  # a word or a mark with the space before it, as BPE cuts text
_ALTERNATIVES = tuple(
    "the| a| and| of| to| is| it|.|,| that| in| for| on| with| as| be| at| this| by|:| or| an| not| I".split("|")
)  # more than the 20 a request may ask for


Choice = tuple[str, float]  # a token and its log probability


def logprobs(text: str, top: int) -> list[tuple[Choice, tuple[Choice, ...]]]:
    """Each token of `text` with its log probability, and the `top` likeliest tokens there (itself first).

    A pure function of the text (a token has the same numbers wherever it is, streamed or
    not): the tokens join back into the text, most are near-certain as a model's are, the
    chosen token is the likeliest, and the probabilities never sum past 1.
    """
    out: list[tuple[Choice, tuple[Choice, ...]]] = []
    for token in _TOKEN.findall(text):
        h = derive("logprob", token)
        chosen = (token, _rounded(-(((h & 0xFFFF) / 0xFFFF) ** 4) * 0.69))  # at most ln 2 below certain
        rest = max(1e-9, 1 - math.exp(chosen[1]))  # what the alternatives share
        turn = h % len(_ALTERNATIVES)
        others = [a for a in _ALTERNATIVES[turn:] + _ALTERNATIVES[:turn] if a != token][: max(0, top - 1)]
        likeliest = [chosen][:top] + [(a, _rounded(math.log(rest * 0.6 * 0.4**j))) for j, a in enumerate(others)]
        out.append((chosen, tuple(likeliest)))
    return out


def _rounded(logprob: float) -> float:
    return round(logprob, 6) + 0.0  # never -0.0
