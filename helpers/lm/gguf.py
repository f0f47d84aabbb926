"""GGUF model files: assembled from a package's chunks, with their tokenizer and config converted once.

Reading a GGUF file's tokenizer or config with ``transformers`` converts it
first, which takes close to a minute for Gemma 3 (a vocabulary of 262k
tokens) on two cores. :func:`converted` does that once per file and saves
the result as ordinary Hugging Face files in a folder of the model cache
(the environment variable ``HELPERS_MODEL_CACHE``, default
``~/.cache/brain-lm-alignment``), named after the GGUF file and its size;
later loads read them in seconds. The weights themselves are still read
from the GGUF file.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from pathlib import Path

from filelock import FileLock

CACHE_VARIABLE = "HELPERS_MODEL_CACHE"


def cache_root() -> Path:
    """Where converted and assembled model files are kept."""
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "brain-lm-alignment")


def converted(folder: str | os.PathLike, gguf_file: str) -> Path:
    """A folder holding the tokenizer and config of ``folder/gguf_file`` as Hugging Face files (made on first use)."""
    from transformers import AutoConfig, AutoTokenizer

    source = Path(folder) / gguf_file
    if not source.is_file():
        raise FileNotFoundError(f"no GGUF file {source}; reinstall the package that ships it, or pass the folder that holds it.")
    target = cache_root() / "gguf" / f"{source.stem}-{source.stat().st_size}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{target}.lock"):  # one conversion, however many processes ask at once
        if (target / "config.json").is_file():
            return target
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            options = {"gguf_file": gguf_file, "trust_remote_code": False}
            AutoTokenizer.from_pretrained(folder, **options).save_pretrained(work)
            AutoConfig.from_pretrained(folder, **options).save_pretrained(work)  # written last: it marks the folder done
            os.replace(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def assembled(package: str, gguf_file: str) -> Path:
    """The folder of a GGUF file that ``package`` ships in chunks, joined (and its SHA-256 checked) on first use."""
    module = importlib.import_module(package)
    target = cache_root() / package / gguf_file
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{target.parent}.lock"):  # beside the folder, so that the folder holds the model's files only
        return module.assemble(target).parent
