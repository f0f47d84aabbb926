import dataclasses
import json
from importlib.metadata import version

import numpy as np
import pytest
import torch
import transformers

from helpers.lm import extraction as F
from helpers.lm import passages as T
from helpers.lm import storage as D
from helpers.lm import vectors as V
from helpers.lm import models as M


@pytest.fixture(scope="module")
def minilm():
    tokenizer, model, _ = M.load("all-MiniLM-L6-v2", device="cpu")
    return tokenizer, model


@pytest.fixture(scope="module")
def smollm():
    tokenizer, model, _ = M.load("SmolLM2-135M", device="cpu")
    return tokenizer, model


def test_a_gguf_models_weights_are_kept_dequantised_and_are_those_the_gguf_file_gives(smollm):
    from transformers import AutoModel

    resolved = M.resolve("SmolLM2-135M")
    kept = M.gguf.dequantized(resolved.folder, resolved.gguf_file)  # made when the fixture loaded the model
    assert sorted(p.name for p in kept.iterdir()) == ["config.json", "model.safetensors"]
    assert kept.name.endswith(f"-float32-transformers-{transformers.__version__}-gguf-{version('gguf')}")
    assert "quantization_config" not in json.loads((kept / "config.json").read_text())
    direct = AutoModel.from_pretrained(resolved.folder, gguf_file=resolved.gguf_file, dtype=torch.float32)
    ours, theirs = smollm[1].state_dict(), direct.state_dict()
    assert ours.keys() == theirs.keys() and len(ours) > 100
    assert all(ours[k].dtype == theirs[k].dtype == torch.float32 and torch.equal(ours[k], theirs[k]) for k in ours)


def test_a_converted_gguf_file_is_made_once_and_replaces_what_older_libraries_made(tmp_path, monkeypatch):
    monkeypatch.setenv(M.gguf.CACHE_VARIABLE, str(tmp_path / "models"))
    (tmp_path / "m.gguf").write_bytes(b"GGUF" + bytes(60))
    made = []

    def convert(options, work):
        made.append(options["gguf_file"])
        (work / "weights").write_text(str(len(made)))

    older = M.gguf._kept(tmp_path, "m.gguf", "-float32-v1", convert, replaces="-float32-*")
    assert M.gguf._kept(tmp_path, "m.gguf", "-float32-v1", convert, replaces="-float32-*") == older and made == ["m.gguf"]
    tokenizer = M.gguf._kept(tmp_path, "m.gguf", "", convert)  # another kind of conversion of the same file: kept
    newer = M.gguf._kept(tmp_path, "m.gguf", "-float32-v2", convert, replaces="-float32-*")
    assert newer.name == "m-64-float32-v2" and (newer / "weights").read_text() == "3"
    assert not older.exists() and tokenizer.is_dir()
    with pytest.raises(FileNotFoundError, match="no GGUF file .*other.gguf; reinstall the package"):
        M.gguf._kept(tmp_path, "other.gguf", "", convert)


def test_a_gguf_files_metadata_is_parsed_once_per_conversion_and_each_caller_gets_its_own_copy(tmp_path, monkeypatch):
    """transformers parses a GGUF file's metadata for every config it makes; during a conversion the first parse serves."""
    from transformers import modeling_gguf_pytorch_utils as library

    parsed = []

    def parse(path, return_tensors=False, **options):
        parsed.append((str(path), return_tensors))
        return {"config": {"model_type": "llama", "layers": [len(parsed)]}}

    monkeypatch.setattr(library, "load_gguf_checkpoint", parse)
    monkeypatch.setattr(M.gguf, "_METADATA", {})
    files = [tmp_path / f"{name}.gguf" for name in "abc"]
    for path in files:
        path.write_bytes(b"GGUF" + bytes(8))
    with M.gguf._metadata_read_once():
        first = library.load_gguf_checkpoint(files[0])
        first["config"]["layers"].append("changed by its caller")
        assert library.load_gguf_checkpoint(str(files[0]), return_tensors=False) == {"config": {"model_type": "llama", "layers": [1]}}
        library.load_gguf_checkpoint(files[0], return_tensors=True)  # tensors: always read
        library.load_gguf_checkpoint(files[1])
        library.load_gguf_checkpoint(files[2])  # the oldest of three files is let go
    assert library.load_gguf_checkpoint is parse  # put back
    assert parsed == [(str(files[0]), False), (str(files[0]), True), (str(files[1]), False), (str(files[2]), False)]
    with M.gguf._metadata_read_once():
        library.load_gguf_checkpoint(files[1])  # kept from before
        files[1].write_bytes(b"GGUF" + bytes(9))  # a changed file is parsed again
        library.load_gguf_checkpoint(files[1])
        library.load_gguf_checkpoint(files[0])
    assert parsed[4:] == [(str(files[1]), False), (str(files[0]), False)]


def tiny_folder(folder, kind: str) -> str:
    """A 2-block, 16-wide random model with a real tokenizer (MiniLM's WordPiece or SmolLM2's BPE), 64 positions."""
    from transformers import BertConfig, BertModel, LlamaConfig, LlamaModel

    torch.manual_seed(0)
    if kind == "bert":
        M.load_tokenizer("all-MiniLM-L6-v2").save_pretrained(folder)
        config = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
        BertModel(config).save_pretrained(folder)
    else:
        M.load_tokenizer("SmolLM2-135M").save_pretrained(folder)
        config = LlamaConfig(vocab_size=49152, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                             intermediate_size=32, max_position_embeddings=64)
        LlamaModel(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    folder = tiny_folder(tmp_path_factory.mktemp("tiny_bert"), "bert")
    tokenizer, model, _ = M.load(folder, device="cpu")
    return tokenizer, model, folder


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    tokenizer, model, _ = M.load(tiny_folder(tmp_path_factory.mktemp("tiny_llama"), "llama"), device="cpu")
    return tokenizer, model


ITEMS = ["Harry's", "owl,", "unbelievably", "flew.", "+", '"Stop!"', "she", "said."]
STORY = ["The", "ferry", "crossed.", "+", "Mara", "watched", "the", "unbelievably", "slow", "rope", "move.", "Rain", "fell", "on",
         "the", "river,", "and", "the", "owl", "flew", "home."]


def pooled_tokens(tokenizer, items, index, context="sentence"):
    table = T.token_table(tokenizer, items, index, context)
    return [(row.token, row.word) for row in table.itertuples() if isinstance(row.word, str)]


def test_wordpiece_mapping(minilm):
    tokenizer, _ = minilm
    assert pooled_tokens(tokenizer, ITEMS, 0) == [
        ("harry", "Harry's"), ("'", "Harry's"), ("s", "Harry's"), ("owl", "owl,"),
        ("un", "unbelievably"), ("##bel", "unbelievably"), ("##ie", "unbelievably"), ("##va", "unbelievably"),
        ("##bly", "unbelievably"), ("flew", "flew."),
    ]  # the comma, the full stop, [CLS] and [SEP] belong to no word
    assert pooled_tokens(tokenizer, ITEMS, 1) == [("stop", '"Stop!"')]
    # a hyphen inside a word stays in it; brackets and a trailing apostrophe do not
    assert pooled_tokens(tokenizer, ["Twenty-one", "owls'", "(1984)", "survived."], 0) == [
        ("twenty", "Twenty-one"), ("-", "Twenty-one"), ("one", "Twenty-one"), ("owls", "owls'"), ("1984", "(1984)"),
        ("survived", "survived."),
    ]


def test_bpe_mapping_keeps_leading_spaces(smollm):
    tokenizer, _ = smollm
    assert pooled_tokens(tokenizer, ITEMS, 0) == [
        ("H", "Harry's"), ("arry", "Harry's"), ("'s", "Harry's"), ("Ġowl", "owl,"),
        ("Ġunbelie", "unbelievably"), ("v", "unbelievably"), ("ably", "unbelievably"), ("Ġflew", "flew."),
    ]
    assert pooled_tokens(tokenizer, ITEMS, 2) == [("she", "she"), ("Ġsaid", "said.")]
    # "Ġ(" holds the space and the bracket, outside the word; digits are single tokens
    assert pooled_tokens(tokenizer, ["Twenty-one", "owls'", "(1984)", "survived."], 0) == [
        ("Twenty", "Twenty-one"), ("-", "Twenty-one"), ("one", "Twenty-one"), ("Ġowls", "owls'"),
        ("1", "(1984)"), ("9", "(1984)"), ("8", "(1984)"), ("4", "(1984)"), ("Ġsurvived", "survived."),
    ]


def test_a_previous_words_window_reads_out_only_its_last_word(minilm, smollm):
    # the third window of previous:1 is "owl, unbelievably": "owl" is context only
    assert [word for _, word in pooled_tokens(minilm[0], ITEMS, 2, "previous:1")] == ["unbelievably"] * 5
    assert pooled_tokens(smollm[0], ITEMS, 2, "previous:1") == [("Ġunbelie", "unbelievably"), ("v", "unbelievably"), ("ably", "unbelievably")]


def test_token_word_index_on_hand_made_offsets():
    # text 'Hello owl, ran.': word cores 'Hello', 'owl', 'ran'
    spans = np.array([[0, 5], [6, 9], [11, 14]])
    # special token, 'Hel', 'lo', ' owl' (leading space), ',', ' ran', '.'
    offsets = np.array([[0, 0], [0, 3], [3, 5], [5, 9], [9, 10], [10, 14], [14, 15]])
    assert T.token_word_index(offsets, spans).tolist() == [-1, 0, 0, 1, -1, 2, -1]


def test_passages_of_each_context():
    items = ["A", "cat", "sat.", "+", "It", "slept.", "Then", "rain."]
    runs = [0, 0, 0, 0, 0, 0, 1, 1]
    sentence = T.passages(items, "sentence")
    assert [p.text for p in sentence] == ["A cat sat.", "It slept.", "Then rain."]
    assert sentence[0].spans.tolist() == [[0, 1], [2, 5], [6, 9]] and sentence[0].read.all()
    run = T.passages(items, "run", runs)
    assert [p.text for p in run] == ["A cat sat. It slept.", "Then rain."]  # the fixation mark is not text
    assert run[0].items.tolist() == [0, 1, 2, 4, 5]
    previous = T.passages(items, "previous:2", runs)
    assert [p.text for p in previous] == ["A", "A cat", "A cat sat.", "cat sat. It", "sat. It slept.", "Then", "Then rain."]
    assert [p.read.tolist() for p in previous[:3]] == [[True], [False, True], [False, False, True]]
    assert [p.text for p in T.passages(items, "previous:0")] == ["A", "cat", "sat.", "It", "slept.", "Then", "rain."]
    with pytest.raises(ValueError, match="one run per item"):
        T.passages(items, "run", runs[:3])


def test_windows_on_hand_made_tokens():
    # [CLS] + 10 text tokens + [SEP]; words: 0 (2 tokens), 1, 2 (3 tokens), 3, 4 (3 tokens)
    ids = np.array([101, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 102])
    target = np.array([-1, 0, 0, 1, 2, 2, 2, 3, 4, 4, 4, -1])
    special = np.array([1] + [0] * 10 + [1])
    assert T.windows(ids, target, special, 12)[0][0] is ids  # fits: unchanged
    # limit 6: windows of 4 text tokens every 2 tokens, starting at 0, 2, 4, 6
    got = T.windows(ids, target, special, 6)
    assert [w[0].tolist() for w in got] == [[101, 11, 12, 13, 14, 102], [101, 13, 14, 15, 16, 102], [101, 15, 16, 17, 18, 102], [101, 17, 18, 19, 20, 102]]
    # each word is read where it has the most left context among the windows that hold it whole
    assert [w[1].tolist() for w in got] == [[-1, 0, 0, 1, -1, -1], [-1, -1, 2, 2, 2, -1], [-1, -1, -1, 3, -1, -1], [-1, -1, 4, 4, 4, -1]]
    with pytest.raises(ValueError, match="more tokens than half"):
        T.windows(ids, np.array([-1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, -1]), special, 6)


@pytest.mark.parametrize("which", ["minilm", "smollm"])
def test_batched_equals_one_sentence_at_a_time(which, request):
    tokenizer, model = request.getfixturevalue(which)
    batched = F.extract(tokenizer, model, STORY[:13], token_budget=4096, progress=False)
    single = F.extract(tokenizer, model, STORY[:13], token_budget=1, progress=False)  # one sentence per batch
    assert batched.shape == (model.config.num_hidden_layers + 1, 12, model.config.hidden_size)
    # SmolLM2 has a few "massive activation" dimensions (values near 800) where
    # float32 sums differ in the 5th significant digit, hence rtol beside atol.
    np.testing.assert_allclose(batched, single, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("context", ["previous:3", "run"])
def test_batched_equals_one_window_at_a_time(tiny_bert, context):
    tokenizer, model, _ = tiny_bert
    items = STORY * 4  # 80 words, longer than the model's 64 positions: cut into windows
    batched = F.extract(tokenizer, model, items, context, token_budget=4096, progress=False)
    single = F.extract(tokenizer, model, items, context, token_budget=1, progress=False)
    np.testing.assert_allclose(batched, single, atol=1e-4)


def test_previous_zero_reads_every_word_alone(minilm):
    tokenizer, model = minilm
    alone = np.concatenate([F.extract(tokenizer, model, [item], progress=False) for item in ITEMS if item != "+"], axis=1)
    np.testing.assert_allclose(F.extract(tokenizer, model, ITEMS, "previous:0", progress=False), alone, atol=1e-5)


def raw_states(model, ids) -> np.ndarray:
    with torch.inference_mode():
        return torch.stack(model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states)[:, 0].numpy()


def test_previous_words_against_the_raw_model(tiny_llama):
    tokenizer, model = tiny_llama
    items = ["The", "owl", "flew", "home."]
    got = F.extract(tokenizer, model, items, "previous:1", progress=False)
    # "flew" with one previous word is the text "owl flew", tokens ['owl', 'Ġflew']
    ids = tokenizer("owl flew")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids)[-1] == "Ġflew"
    np.testing.assert_allclose(got[:, 2], raw_states(model, ids)[:, -1], atol=1e-5)


def test_whole_run_context(tiny_llama):
    tokenizer, model = tiny_llama
    items = ["The", "owl", "flew.", "It", "rained."]
    run = F.extract(tokenizer, model, items, "run", progress=False)
    np.testing.assert_array_equal(run, F.extract(tokenizer, model, items, "run", max_length=40, progress=False))
    sentence = F.extract(tokenizer, model, items, "sentence", progress=False)
    # a causal model: the first sentence reads the same; the second now has the first as left context
    np.testing.assert_allclose(run[:, :3], sentence[:, :3], atol=1e-5)
    assert not np.allclose(run[1:, 3:], sentence[1:, 3:], atol=1e-3)


def test_whole_run_in_windows_against_the_raw_model(tiny_llama):
    tokenizer, model = tiny_llama
    items = STORY * 2
    got = F.extract(tokenizer, model, items, "run", max_length=8, progress=False)
    # by hand: windows of 8 tokens every 4 (no special tokens); a word ending at token e is read, by a
    # causal model, from the first window that holds it whole (the most left context): start 4 * ceil((e - 8) / 4)
    words = [item for item in items if item != "+"]
    encoded = tokenizer(" ".join(words), return_offsets_mapping=True)
    ids, offsets = encoded["input_ids"], np.array(encoded["offset_mapping"])
    position = 0
    for w, word in enumerate(words):
        core = word.rstrip(".,")
        tokens = np.flatnonzero((offsets[:, 1] > position) & (offsets[:, 0] < position + len(core)))
        position += len(word) + 1
        start = max(0, -((8 - tokens[-1] - 1) // 4)) * 4
        expected = raw_states(model, ids[start: tokens[-1] + 1])[:, tokens - start].mean(axis=1)
        np.testing.assert_allclose(got[:, w], expected, atol=1e-5)


def test_mean_and_first_pooling_against_the_raw_model(minilm):
    tokenizer, model = minilm
    items = ["unbelievably", "slow."]
    mean = F.extract(tokenizer, model, items, progress=False)
    first = F.extract(tokenizer, model, items, pooling="first", progress=False)
    states = raw_states(model, tokenizer("unbelievably slow.")["input_ids"])
    # tokens: [CLS] un ##bel ##ie ##va ##bly slow . [SEP]
    np.testing.assert_allclose(mean[:, 0], states[:, 1:6].mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(first[:, 0], states[:, 1], atol=1e-5)
    np.testing.assert_allclose(mean[:, 1], states[:, 6], atol=1e-5)


def test_bfloat16_model_gives_float32_close_to_float32_model(tiny_bert):
    tokenizer, model, folder = tiny_bert
    half = M.load(folder, device="cpu", dtype="bfloat16")[1]
    assert next(half.parameters()).dtype == torch.bfloat16
    low = F.extract(tokenizer, half, STORY, progress=False)
    full = F.extract(tokenizer, model, STORY, progress=False)
    assert low.dtype == np.float32
    np.testing.assert_allclose(low, full, atol=0.05 * np.abs(full).max())


def test_streaming_matches_memory_and_resumes_without_recomputing(tiny_bert, tmp_path):
    tokenizer, model, _ = tiny_bert
    items = STORY * 10
    calls = []
    hook = model.register_forward_hook(lambda *args: calls.append(1))
    try:
        options = dict(token_budget=64, memory_mib=0.005, progress=False)  # 0.005 MiB: about 50 words a group
        plan = F.make_plan(tokenizer, model.config, items, options["token_budget"], memory_mib=options["memory_mib"])
        assert len(plan.groups) >= 3

        def interrupt(group):
            if group == 1:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            D.write_features(tmp_path, tokenizer, model, items, on_part=interrupt, **options)
        assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == ["00000", "00001"]
        assert len(calls) == len(plan.groups[0]) + len(plan.groups[1])
        calls.clear()
        finished = []
        record = D.write_features(tmp_path, tokenizer, model, items, on_part=finished.append, **options)
    finally:
        hook.remove()
    assert finished == list(range(2, len(plan.groups)))  # the two saved groups are not computed again
    assert len(calls) == sum(len(group) for group in plan.groups[2:]) == record["batches"]
    assert not (tmp_path / "parts").exists() and not (tmp_path / "plan.json").exists()
    assert json.loads((tmp_path / "extraction.json").read_text())["stored"] == F.STORED
    stored = D.read_features(tmp_path)
    assert stored.dtype == np.float32 and np.load(tmp_path / "layer_000.npy").dtype == np.float16
    assert D.read_shape(tmp_path) == stored.shape and stored.shape[0] == record["n_states"]  # from headers alone
    expected = F.extract(tokenizer, model, items, progress=False)
    np.testing.assert_allclose(stored, expected, atol=2e-3 * np.abs(expected).max())


def test_an_interruption_while_writing_layers_keeps_the_layers_written(tiny_bert, tmp_path, monkeypatch):
    tokenizer, model, _ = tiny_bert
    real_write, saved, calls = D.write_atomic, [], []

    def write_one_layer_then_stop(path, write):
        if path.name.startswith("layer_"):
            if saved:
                raise KeyboardInterrupt
            saved.append(path.name)
        return real_write(path, write)

    def write_and_note(path, write):
        if path.name.startswith("layer_"):
            saved.append(path.name)
        return real_write(path, write)

    monkeypatch.setattr(D, "write_atomic", write_one_layer_then_stop)
    with pytest.raises(KeyboardInterrupt):
        D.write_features(tmp_path, tokenizer, model, STORY, progress=False)
    assert [p.name for p in tmp_path.glob("layer_*.npy")] == ["layer_000.npy"]
    monkeypatch.setattr(D, "write_atomic", write_and_note)
    hook = model.register_forward_hook(lambda *args: calls.append(1))
    try:
        record = D.write_features(tmp_path, tokenizer, model, STORY, progress=False)
    finally:
        hook.remove()
    assert calls == [] and record["batches"] == 0  # nothing computed again
    assert saved == ["layer_000.npy", "layer_001.npy", "layer_002.npy"]  # layer 0 written once
    np.testing.assert_allclose(D.read_features(tmp_path), F.extract(tokenizer, model, STORY, progress=False), atol=1e-2)


def test_a_resumed_run_cut_differently_starts_again(tiny_bert, tmp_path):
    tokenizer, model, _ = tiny_bert

    def stop(group):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        D.write_features(tmp_path, tokenizer, model, STORY * 10, token_budget=64, memory_mib=0.005, on_part=stop, progress=False)
    # a larger memory budget: the same batches in one group, so the saved part does not fit the new cut
    record = D.write_features(tmp_path, tokenizer, model, STORY * 10, token_budget=64, memory_mib=1, progress=False)
    assert record["groups"] == "1 of 1 computed"


def test_the_similarity_between_layers_is_cached_and_read_back_without_the_hidden_states(tiny_bert, tmp_path, monkeypatch):
    from helpers.align import statistics
    from helpers.run import pipeline, tables
    from helpers.run.scenario import Scenario

    folder = tiny_bert[2]
    cfg = Scenario(models=(folder,), cache_dir=str(tmp_path))
    made = tables.layer_similarity(cfg, folder)
    assert made.shape == (3, 3) and made.dtype == np.float64
    np.testing.assert_array_equal(made, statistics.layer_similarity(pipeline.lm_features(cfg, folder).vectors))
    first = tables.layer_similarity(dataclasses.replace(cfg, pooling="first"), folder)  # other features, another entry
    assert not np.array_equal(first, made)
    monkeypatch.setattr(tables, "lm_features", lambda *args: pytest.fail("the hidden states were read again"))
    np.testing.assert_array_equal(tables.layer_similarity(cfg, folder), made)


def test_pipeline_keeps_one_entry_per_parameter_set(tiny_bert, tmp_path, monkeypatch):
    from helpers.run import pipeline
    from helpers.run.scenario import Scenario

    folder = tiny_bert[2]
    loads = []
    real_load = M.load
    monkeypatch.setattr(M, "load", lambda *a, **k: loads.append(a[0]) or real_load(*a, **k))
    cfg = Scenario(models=(folder,), cache_dir=str(tmp_path))
    feats = pipeline.lm_features(cfg, folder)
    # another variant of the scenario with the same features shares the one copy in memory
    assert pipeline.lm_features(dataclasses.replace(cfg, split="blocks", snr=3.0), folder).vectors is feats.vectors
    n_words = len(pipeline.occurrence_types(cfg))
    assert feats.vectors.shape == (3, n_words, 16) and feats.vectors.dtype == np.float32
    assert feats.extraction["device"] == "cpu" and feats.extraction["tokens_per_s"] > 0
    # the key holds the dtype the model ran in (the device's default here), never the device
    assert feats.key["dtype"] == str(M.choose_device()[1]).removeprefix("torch.") and "cpu" not in json.dumps(feats.key)
    assert feats.key["stored"] == F.STORED and len(feats.key["run_starts"]) == cfg.n_runs - 1
    pinned = pipeline.features_key(Scenario(models=(folder,), cache_dir=str(tmp_path), lm_dtype="bfloat16"), folder)[0]
    assert pinned["dtype"] == "bfloat16" and pinned != feats.key
    pipeline.MEMORY.clear()
    np.testing.assert_array_equal(pipeline.lm_features(cfg, folder).vectors, feats.vectors)  # read back
    assert len(loads) == 1
    for change in ({"pooling": "first"}, {"context": "previous:2"}, {"context": "run"}):
        other = pipeline.lm_features(Scenario(models=(folder,), cache_dir=str(tmp_path), **change), folder)
        assert other.key != feats.key and not np.array_equal(other.vectors, feats.vectors)
    assert len(loads) == 4
    assert len([p for p in (tmp_path / "features").iterdir() if not p.name.startswith(".")]) == 4
    with pytest.raises(ValueError, match="unknown context 'previous:x'"):
        pipeline.features_key(Scenario(models=(folder,), cache_dir=str(tmp_path), context="previous:x"), folder)


def test_word_across_layers():
    vectors = np.zeros((3, 2, 2), dtype=np.float32)
    vectors[:, 0] = [[1, 0], [1, 1], [0, 2]]  # the word turns by 45 degrees twice
    vectors[:, 1] = [[1, 0], [0, 1], [0, 1]]
    table = V.word_across_layers(vectors, 0)
    np.testing.assert_allclose(table["norm"], [1, np.sqrt(2), 2])
    np.testing.assert_allclose(table["cosine with previous layer"][1:], [np.sqrt(0.5)] * 2)
    np.testing.assert_allclose(table["cosine with embedding layer"], [1, np.sqrt(0.5), 0], atol=1e-12)
    np.testing.assert_allclose(table["mean cosine with other words"], [1, np.sqrt(0.5), 1])


def test_type_means():
    vectors = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    names, means = V.type_means(vectors, ["b", "a", "b", "c"])
    assert names.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(means[:, 1], (vectors[:, 0] + vectors[:, 2]) / 2)
    np.testing.assert_allclose(means[:, 0], vectors[:, 1])
    with pytest.raises(ValueError, match="one type per occurrence"):
        V.type_means(vectors, ["a"])


def test_bad_options(minilm):
    tokenizer, model = minilm
    for context in ("document", "previous:", "previous:-1", "previous:two"):
        with pytest.raises(ValueError, match=f"unknown context '{context}'"):
            F.extract(tokenizer, model, ["a"], context=context)
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        F.extract(tokenizer, model, ["a"], pooling="max")
    with pytest.raises(ValueError, match="none of the items is a word"):
        F.extract(tokenizer, model, ["+", "--"])
    with pytest.raises(ValueError, match="token_budget must be positive"):
        F.extract(tokenizer, model, ["a"], token_budget=0)


def test_layers_beyond_float16s_range_are_stored_in_float32(tmp_path):
    """Massive activations (Gemma's residual stream reaches ~1e5) would become inf in float16."""
    import copy

    from transformers import LlamaConfig, LlamaModel

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=49152, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                         intermediate_size=32, max_position_embeddings=64)
    model = LlamaModel(config).eval()
    big = copy.deepcopy(model)
    with torch.no_grad():
        big.embed_tokens.weight *= 1e7  # the embedding layer's hidden state is the raw embedding
    tokenizer = M.load_tokenizer("SmolLM2-135M")
    D.write_features(tmp_path / "big", tokenizer, big, STORY, progress=False)
    D.write_features(tmp_path / "small", tokenizer, model, STORY, progress=False)
    assert np.load(tmp_path / "big" / "layer_000.npy").dtype == np.float32
    assert np.load(tmp_path / "small" / "layer_000.npy").dtype == np.float16
    stored = D.read_features(tmp_path / "big")
    assert np.isfinite(stored).all() and np.abs(stored[0]).max() > 1e5
    np.testing.assert_allclose(stored, F.extract(tokenizer, big, STORY, progress=False), rtol=1e-3, atol=1e-3)
