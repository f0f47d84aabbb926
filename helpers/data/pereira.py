"""Pereira et al. (2018), experiments 2 and 3: brain responses to whole sentences.

Subjects read 384 sentences (experiment 2, 96 passages) or 243 sentences
(experiment 3, 72 passages); each sentence has one brain image. Words are
not time-locked, so the dataset gives a
:class:`~helpers.data.recording.SentenceRecording`, whose
``item_sentences`` states how words get brain vectors.

Where the files come from, and what is assumed
----------------------------------------------
Established from the dataset's page (Fedorenko lab, "Toward a universal
decoder of linguistic meaning from brain activation",
https://web.mit.edu/evlab//sites/default/files/documents/index2.html, which
also lists who took part in which experiment) and from public code that
reads these files (Brain-Score's ``neural_nlp`` loader, Oota et al.'s
preprocessing, and several course projects):

* The data are on OSF (project https://osf.io/crwz7/) and the page above, one
  archive per subject. Unpacked, each subject has ``data_384sentences.mat``
  (experiment 2) and/or ``data_243sentences.mat`` (experiment 3). Some
  archives unpack to ``<subject>/<subject>/``: move the files up one level.
  :func:`load` expects ``<data_dir>/<subject>/data_<n>sentences.mat``.
* Variables: ``examples_passagesentences`` (n_sentences x n_voxels, one row
  per sentence, in presentation order of ``keySentences``); ``keySentences``
  (n_sentences x 1 cell of the sentences as shown; the sentence texts live
  here, so no separate text file is needed); ``labelsPassageForEachSentence``,
  ``keyPassages``, ``labelsPassageCategory``, ``keyPassageCategory``
  (passages and topics, not used here); ``meta``, a struct with among others
  ``colToCoord`` (1-based voxel indices), ``atlases`` (cell of atlas names,
  ``aal_1ofN`` first), ``rois`` (per atlas, a cell of region names),
  ``roiMultimask`` (per atlas, the 1-based region number of each voxel, 0 =
  none) and ``roiColumns``.
* Re-exports named ``examples_<n>sentences.mat`` hold the same sentences with
  the responses in ``examples``; :func:`load` reads those too.

Assumed, not confirmed by a source we could read: that ``meta`` has a 4 x 4
``matrix`` to MNI space as the Harry Potter files do (read the same way, see
:func:`helpers.data.matlab.voxel_mni`). Voxel coordinates and regions are
therefore optional: a file without ``matrix`` (or without ``atlases``) loads
with ``voxel_mni`` (or ``voxel_regions``) set to None, noted in ``info``.

Downloads are by hand (the OSF files have no stable per-subject URLs we
could confirm), so :func:`fetch` checks that the files are in place and
says where to get the missing ones.

Word cleaning follows :mod:`helpers.data.words`: a sentence is split on white
space, an item is a word if it contains a letter or digit, and its type is
its core (without surrounding punctuation) in lower case.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from . import matlab as mat
from .recording import SentenceRecording, screen_voxels

LOADER_VERSION = 1  # bump when a change alters what load() returns; cache keys include it
DATASET = "pereira"
OSF_URL = "https://osf.io/crwz7/"
PAGE_URL = "https://web.mit.edu/evlab//sites/default/files/documents/index2.html"
N_SENTENCES = {2: 384, 3: 243}
SUBJECTS = {
    2: ("P01", "M02", "M04", "M07", "M08", "M09", "M14", "M15"),
    3: ("P01", "M02", "M03", "M04", "M07", "M15"),
}
RESPONSE_VARIABLES = ("examples_passagesentences", "examples")
ATLAS = "aal_1ofN"


def file_path(data_dir: str | os.PathLike, subject: str, experiment: int) -> Path:
    """Where a subject's file for experiment 2 or 3 is expected."""
    if experiment not in N_SENTENCES:
        raise ValueError(f"experiment must be 2 (384 sentences) or 3 (243 sentences), got {experiment!r}.")
    return Path(data_dir) / subject / f"data_{N_SENTENCES[experiment]}sentences.mat"


def fetch(data_dir: str | os.PathLike, experiment: int = 2, subjects: Iterable[str] | None = None) -> list[Path]:
    """The subjects' files for one experiment, after checking they are in ``data_dir``.

    The files are downloaded by hand (see the module's notes); this names
    every missing file and where to get it.
    """
    if experiment not in SUBJECTS:
        raise ValueError(f"experiment must be 2 (384 sentences) or 3 (243 sentences), got {experiment!r}.")
    subjects = SUBJECTS[experiment] if subjects is None else tuple(subjects)
    unknown = sorted(set(subjects) - set(SUBJECTS[experiment]))
    if unknown:
        raise ValueError(f"subjects {unknown} did not take part in experiment {experiment}; those who did: {SUBJECTS[experiment]}.")
    paths = [file_path(data_dir, s, experiment) for s in subjects]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} Pereira et al. file(s) missing: {', '.join(missing)}. They are not downloaded automatically: "
            f"get each subject's archive from {OSF_URL} (or {PAGE_URL}), unpack it and place the files as "
            f"<data_dir>/<subject>/data_{N_SENTENCES[experiment]}sentences.mat."
        )
    return paths


def load(path: str | os.PathLike, bad_voxels: str = "drop", atlas: str = ATLAS) -> SentenceRecording:
    """One subject's sentence responses from a Pereira et al. ``.mat`` file.

    Parameters
    ----------
    path : path
        ``<data_dir>/<subject>/data_384sentences.mat`` (or ``..._243...``);
        the folder's name is the subject's label.
    bad_voxels : {"drop", "error"}
        What to do with voxels that hold NaN or infinite values or have the
        same response to every sentence: leave them out (with a warning,
        listed in ``info``) or refuse the file.
    atlas : str
        Which of ``meta.atlases`` labels the voxels (default: AAL).
    """
    path = Path(path)
    where = str(path)
    how = f"Get it from {OSF_URL} (see helpers.data.pereira for the folder layout)."
    variables = mat.read(path, "Pereira et al. file", how)
    name = next((n for n in RESPONSE_VARIABLES if n in variables), None)
    if name is None:
        raise ValueError(f"{where} has none of the response variables {RESPONSE_VARIABLES}; is it a Pereira et al. sentence file?")
    data = mat.matrix(variables[name], f"{where}: {name}")
    sentences = mat.strings(mat.field(variables, "keySentences", where), f"{where}: keySentences")
    if len(sentences) != data.shape[0]:
        raise ValueError(f"{where}: {len(sentences)} sentences in keySentences but {data.shape[0]} rows in {name}; they must match.")
    meta = mat.struct(mat.field(variables, "meta", where), f"{where}: meta")
    mni, regions, missing = _voxels(meta, atlas, data.shape[1], f"{where}: meta")
    keep, note = screen_voxels(data, bad_voxels, where)
    info = {"file": str(path), "experiment": {n: e for e, n in N_SENTENCES.items()}.get(len(sentences)), **note}
    if missing:
        info["voxel_metadata_missing"] = missing
    return SentenceRecording(
        dataset=DATASET,
        subject=path.parent.name,
        sentences=sentences,
        data=data[:, keep].astype(np.float32, copy=False),
        voxel_mni=None if mni is None else mni[keep],
        voxel_regions=None if regions is None else regions[keep],
        info=info,
    )


def _voxels(meta, atlas: str, n_voxels: int, where: str) -> tuple[np.ndarray | None, np.ndarray | None, list[str]]:
    """MNI coordinates and atlas labels of the voxels, where ``meta`` has them."""
    fields = meta.dtype.names
    missing = [f for f in ("colToCoord", "matrix", "atlases", "rois", "roiMultimask") if f not in fields]
    mni = regions = None
    if "colToCoord" in fields and "matrix" in fields:
        mni = mat.voxel_mni(meta["colToCoord"], meta["matrix"], where)
        if len(mni) != n_voxels:
            raise ValueError(f"{where}.colToCoord describes {len(mni)} voxels but the data have {n_voxels} columns.")
    if not {"atlases", "rois", "roiMultimask"} - set(fields):
        atlases = mat.strings(meta["atlases"], f"{where}.atlases")
        if atlas not in atlases:
            raise ValueError(f"{where}.atlases has no atlas {atlas!r}; it has: {', '.join(atlases)}.")
        k = int(np.flatnonzero(atlases == atlas)[0])
        names = mat.strings(np.asarray(meta["rois"]).reshape(-1)[k], f"{where}.rois{{{k + 1}}}")
        numbers = mat.vector(np.asarray(meta["roiMultimask"]).reshape(-1)[k], f"{where}.roiMultimask{{{k + 1}}}")
        if len(numbers) != n_voxels:
            raise ValueError(f"{where}.roiMultimask{{{k + 1}}} labels {len(numbers)} voxels but the data have {n_voxels} columns.")
        regions = mat.region_names(np.nan_to_num(numbers), names, f"{where}.roiMultimask{{{k + 1}}}")
    return mni, regions, missing
