"""Scenarios on the real datasets' file formats, end to end through the pipeline.

The simulator writes Harry-Potter-format files; the book's pipeline then reads
them with the real loader and must find the planted layer as it does on the
simulated recordings directly. Pereira-layout files go through the sentence
path (no smoothing: a word's brain vector is its sentence's response).
"""

import dataclasses

import numpy as np
import pytest

from helpers.data import harry_potter

from helpers.run import pipeline, tables
from helpers.run.scenario import Scenario
from tests.test_pereira import write as write_pereira

PLANTED = 3


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    return Scenario(
        n_subjects=2, n_voxels=500, snr=10.0, split="blocks", models=("all-MiniLM-L6-v2",),
        planted_model="all-MiniLM-L6-v2", planted_layer=PLANTED, cache_dir=str(tmp_path_factory.mktemp("cache")),
    )


@pytest.fixture(scope="module")
def harry_potter_files(simulated, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hp")
    for n, rec in enumerate(pipeline.recordings(simulated), start=1):
        harry_potter.save(rec, harry_potter.file_path(folder, n))
    return folder


def test_simulated_harry_potter_files_run_end_to_end_through_the_real_loader(simulated, harry_potter_files):
    cfg = dataclasses.replace(simulated, dataset="harry_potter", data_dir=str(harry_potter_files), subjects=("1", "2"))
    loaded, made = pipeline.recordings(cfg), pipeline.recordings(simulated)
    assert [r.dataset for r in loaded] == ["harry_potter"] * 2
    for a, b in zip(loaded, made):
        np.testing.assert_array_equal(a.data, b.data)
        np.testing.assert_array_equal(a.words, b.words)
    np.testing.assert_array_equal(pipeline.stimulus_items(cfg), pipeline.stimulus_items(simulated))
    np.testing.assert_array_equal(pipeline.stimulus_runs(cfg), pipeline.stimulus_runs(simulated))
    table = tables.scores(cfg, "procrustes", progress=False)
    assert set(table["dataset"]) == {"harry_potter"}
    rows = table[(table["metric"] == "P@10") & (table["retrieval"] == "csls")]
    means = rows.groupby("layer")["value"].mean()
    assert means[PLANTED] > 5 * rows["chance"].iloc[0]
    assert means[PLANTED] >= means.max() - 0.03
    expected = tables.scores(simulated, "procrustes", progress=False)
    np.testing.assert_allclose(table["value"], expected["value"])  # the same numbers as without the files


def test_results_are_keyed_by_the_files_contents(simulated, harry_potter_files, tmp_path):
    cfg = dataclasses.replace(simulated, dataset="harry_potter", data_dir=str(harry_potter_files), subjects=("1",))
    key = pipeline.recording_key(cfg, pipeline.recordings(cfg)[0].subject)
    copy = tmp_path / "subject_1.mat"
    copy.write_bytes(harry_potter.file_path(harry_potter_files, 2).read_bytes())  # another subject's file under the same name
    other = dataclasses.replace(cfg, data_dir=str(tmp_path))
    assert pipeline.recording_key(other, pipeline.recordings(other)[0].subject)["file"] != key["file"]


def test_missing_harry_potter_files_say_how_to_get_them(tmp_path):
    cfg = Scenario(dataset="harry_potter", data_dir=str(tmp_path), subjects=("3",), cache_dir=str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match=r"subject_3\.mat.*download: true"):
        pipeline.recordings(cfg)
    with pytest.raises(ValueError, match="Harry Potter subjects are numbers 1-8, got 'S1'"):
        pipeline.recordings(dataclasses.replace(cfg, subjects=("S1",)))


def test_subjects_who_saw_different_words_are_refused(simulated, harry_potter_files, tmp_path):
    recs = pipeline.recordings(simulated)
    harry_potter.save(recs[0], harry_potter.file_path(tmp_path, 1))
    shorter = dataclasses.replace(recs[1], words=recs[1].words[:-5], onsets=recs[1].onsets[:-5])
    harry_potter.save(shorter, harry_potter.file_path(tmp_path, 2))
    cfg = dataclasses.replace(simulated, dataset="harry_potter", data_dir=str(tmp_path), subjects=("1", "2"))
    with pytest.raises(ValueError, match="saw other words than subject"):
        pipeline.recordings(cfg)


def test_pereira_words_get_their_sentences_responses(tmp_path):
    sentences = [f"The {a} {b} saw the {c}." for a in ("old", "young", "tall", "small") for b in ("owl", "fox", "cat")
                 for c in ("moon", "river", "hill")]
    rng = np.random.default_rng(3)
    path = write_pereira(tmp_path, sentences=sentences,
                         examples_passagesentences=rng.standard_normal((len(sentences), 5)),
                         labelsPassageForEachSentence=np.ones((len(sentences), 1)))
    cfg = Scenario(dataset="pereira", data_dir=str(tmp_path), subjects=("M02",), models=("all-MiniLM-L6-v2",),
                   brain_dims="voxels", ks=(1, 5, 10), cache_dir=str(tmp_path / "cache"))  # 12 word types: k up to 10
    items = pipeline.stimulus_items(cfg)
    assert len(items) == 6 * len(sentences) and items[:6].tolist() == ["The", "old", "owl", "saw", "the", "moon."]
    rec = pipeline.recordings(cfg)[0]
    vectors = pipeline.brain_vectors(cfg, rec, None)
    np.testing.assert_allclose(vectors[6:12], np.repeat(rec.data[1:2], 6, axis=0))  # sentence 1's six words
    np.testing.assert_array_equal(pipeline.word_onsets(cfg)[:13], [0] * 6 + [1] * 6 + [2])
    table = tables.scores(cfg, "procrustes", progress=False)
    n_types = len(set(pipeline.occurrence_types(cfg)))
    assert set(table["dataset"]) == {"pereira"} and set(table["n_candidates"]) == {n_types}
    np.testing.assert_allclose(table.loc[table["metric"] == "P@10", "chance"], 10 / n_types)
    assert rec.info["file"] == str(path)


def test_simulated_subjects_are_named_without_simulating_and_as_the_recordings_name_them(tmp_path):
    from helpers.data import datasets as D

    assert D.Simulated(n_subjects=3).recorded_subjects() == ("sim-01", "sim-02", "sim-03")  # no driver, no simulation
    with pytest.raises(ValueError, match="needs a driver"):
        D.Simulated(n_subjects=3).recordings()
    cfg = Scenario(n_subjects=2, n_voxels=50, models=("trivial:length",), planted_model="trivial:length", planted_layer=0,
                   focus_model="trivial:length", cache_dir=str(tmp_path))
    assert pipeline.subjects(cfg) == tuple(rec.subject for rec in pipeline.recordings(cfg)) == ("sim-01", "sim-02")
