"""GGUF model files: assembled from a package's chunks, their tokenizer, config and weights converted once.

Reading a GGUF file with ``transformers`` converts it first: the tokenizer
and config take close to a minute for Gemma 3 (a vocabulary of 262k tokens)
on two cores, and the weights, dequantised to float32, 25 s for SmolLM2 and
54 s for Gemma 3 (``benchmarks/gguf_load.py``). :func:`converted` (tokenizer
and config) and :func:`dequantized` (the bare model's weights, as
``transformers`` dequantises them, saved as safetensors) do that once per
file and keep the result as ordinary Hugging Face files in folders of the
model cache (the environment variable ``HELPERS_MODEL_CACHE``, default
``~/.cache/brain-lm-alignment``), named after the GGUF file and its size
(the weights also after the versions of ``transformers`` and ``gguf``);
later loads read them in a second or two, the same weights to the bit. The
dequantised weights take four bytes a parameter on disk (0.5 GB for
SmolLM2, 1.1 GB for Gemma 3). ``transformers`` parses a file's metadata
again for every config it makes; during the conversions the first parse
serves them all (:func:`_metadata_read_once`): both files converted and
dequantised in 93 s instead of 122 s on one core, the same bytes.
"""

from __future__ import annotations

import copy
import importlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock

CACHE_VARIABLE = "HELPERS_MODEL_CACHE"


def cache_root() -> Path:
    """Where converted and assembled model files are kept."""
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "brain-lm-alignment")


def converted(folder: str | os.PathLike, gguf_file: str) -> Path:
    """A folder holding the tokenizer and config of ``folder/gguf_file`` as Hugging Face files (made on first use)."""
    from transformers import AutoConfig, AutoTokenizer

    def convert(options: dict, work: Path) -> None:
        AutoTokenizer.from_pretrained(folder, **options).save_pretrained(work)
        AutoConfig.from_pretrained(folder, **options).save_pretrained(work)

    return _kept(folder, gguf_file, "", convert)


def dequantized(folder: str | os.PathLike, gguf_file: str) -> Path:
    """A folder holding the config and float32 weights of the bare model in ``folder/gguf_file`` (no language-model
    head), as ``transformers`` dequantises them from the GGUF file, saved as safetensors (made on first use, and
    again under another version of ``transformers`` or ``gguf``, which do the dequantising; the older copy is then
    removed)."""
    from importlib.metadata import version

    import torch
    from safetensors.torch import save_file
    from transformers import AutoModel

    def convert(options: dict, work: Path) -> None:
        model = AutoModel.from_pretrained(folder, **options, dtype=torch.float32)  # transformers will not save it itself
        save_file({name: weight.contiguous() for name, weight in model.state_dict().items()}, work / "model.safetensors",
                  metadata={"format": "pt"})
        config = model.config
        if hasattr(config, "quantization_config"):  # the weights saved are plain float32, read without the GGUF file
            del config.quantization_config
        config.save_pretrained(work)

    made_by = f"transformers-{version('transformers')}-gguf-{version('gguf')}"
    return _kept(folder, gguf_file, f"-float32-{made_by}", convert, replaces="-float32-*")


def _kept(folder: str | os.PathLike, gguf_file: str, suffix: str, convert, replaces: str | None = None) -> Path:
    """The folder of the model cache where ``convert(options, work)`` has written what it makes of
    ``folder/gguf_file``: made once, in a temporary folder renamed when it is complete, under a lock. Once it is
    made, the other folders of that file whose suffix matches the pattern ``replaces`` are removed."""
    source = Path(folder) / gguf_file
    if not source.is_file():
        raise FileNotFoundError(f"no GGUF file {source}; reinstall the package that ships it, or pass the folder that holds it.")
    target = cache_root() / "gguf" / f"{source.stem}-{source.stat().st_size}{suffix}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{target}.lock"):  # one conversion, however many processes ask at once
        if target.is_dir():
            return target
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            with _metadata_read_once():
                convert({"gguf_file": gguf_file, "trust_remote_code": False}, work)
            os.replace(work, target)  # complete: the folder appears at once
        finally:
            shutil.rmtree(work, ignore_errors=True)
        for older in target.parent.glob(f"{source.stem}-{source.stat().st_size}{replaces}") if replaces else ():
            if older.is_dir() and older != target:
                shutil.rmtree(older, ignore_errors=True)
    return target


# A GGUF file's metadata as ``transformers`` parses it for a config, by (path, size, modification time): kept for
# the conversions of one process (see _metadata_read_once); the last two files.
_METADATA: dict[tuple[str, int, int], dict] = {}


@contextmanager
def _metadata_read_once():
    """While converting, ``transformers`` reads a GGUF file's metadata once, not at every step.

    ``transformers`` parses every metadata field of the file (Gemma 3's 262k
    tokens among them, about 18 s on one core) each time it needs a config:
    for the tokenizer, again for the config, and again before dequantising
    the weights. Inside this block its ``load_gguf_checkpoint`` without
    tensors keeps the first parse of a file and hands each later caller a
    copy of it (the parse depends on the file alone, so what is saved is the
    same bytes); the function is put back on leaving the block.
    """
    from transformers import modeling_gguf_pytorch_utils as library

    parse = library.load_gguf_checkpoint

    def parse_once(path, return_tensors=False, **options):
        if return_tensors or options:
            return parse(path, return_tensors=return_tensors, **options)
        stat = os.stat(path)
        slot = (os.fspath(path), stat.st_size, stat.st_mtime_ns)
        if slot not in _METADATA:
            while len(_METADATA) >= 2:
                _METADATA.pop(next(iter(_METADATA)))
            _METADATA[slot] = parse(path, return_tensors=False)
        return copy.deepcopy(_METADATA[slot])

    library.load_gguf_checkpoint = parse_once
    try:
        yield
    finally:
        library.load_gguf_checkpoint = parse


def assembled(package: str, gguf_file: str) -> Path:
    """The folder of a GGUF file that ``package`` ships in chunks, joined (and its SHA-256 checked) on first use."""
    module = importlib.import_module(package)
    target = cache_root() / package / gguf_file
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{target.parent}.lock"):  # beside the folder, so that the folder holds the model's files only
        return module.assemble(target).parent
