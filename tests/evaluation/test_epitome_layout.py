"""The original EPITOME layout of the scorer (``layout: epitome``): seeker post and response encoded apart, one
attention layer from the response to the seeker post, heads and rationale tags on the response."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from empo_kedro.evaluation.epitome import EpitomeScorer, train_epitome_scorer
from empo_kedro.evaluation.epitome.encoding import collate, encode_pairs
from empo_kedro.evaluation.epitome.model import EpitomeModel, split_streams
from empo_kedro.evaluation.epitome.params import EpitomeScorerParams


def test_streams_are_the_seeker_with_its_special_tokens_and_the_first_token_then_the_response():
    # pairs "[CLS] s s [SEP] r r r [SEP]" (length 8) and "[CLS] s [SEP] r [SEP] pad pad pad" (length 5)
    ids = torch.tensor([[2, 10, 11, 3, 20, 21, 22, 3], [2, 12, 3, 23, 3, 0, 0, 0]])
    mask = (ids != 0).long()
    seeker, seeker_mask, response, response_mask = split_streams(ids, mask, torch.tensor([4, 3]), pad_id=0)
    assert seeker.tolist() == [[2, 10, 11, 3], [2, 12, 3, 0]] and seeker_mask.tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert response.tolist() == [[2, 20, 21, 22, 3], [2, 23, 3, 0, 0]]
    assert response_mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    with pytest.raises(ValueError, match="response_start >= 1"):
        split_streams(ids, mask, torch.tensor([0, 3]), pad_id=0)


def test_encoded_pairs_mark_where_the_response_starts(tiny_encoder_dir):
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_encoder_dir))
    (item, empty) = encode_pairs(tokenizer, ["i feel sad", "i feel sad"], ["you are not alone", ""], 32, 12)
    response = tokenizer("you are not alone", add_special_tokens=False)["input_ids"]
    start = item["response_start"]
    assert item["input_ids"][start : start + len(response)] == response
    assert tokenizer.convert_ids_to_tokens(item["input_ids"][start - 1]) == "[SEP]"
    assert empty["response_start"] == len(empty["input_ids"]) - 1  # an empty response: only its closing [SEP]
    assert collate([item, empty], 0)["response_start"].tolist() == [start, empty["response_start"]]


def _model(encoder_dir, layout: str) -> EpitomeModel:
    torch.manual_seed(0)
    encoder = AutoModel.from_pretrained(str(encoder_dir), use_safetensors=True)
    return EpitomeModel(encoder, ["ER", "IP", "EX"], "mean", 0.0, True, layout).eval()


def test_the_seeker_post_reaches_the_epitome_layout_only_through_its_attention_layer(tiny_encoder_dir):
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_encoder_dir))
    responses = ["you are not alone", "you are not alone"]
    batch = collate(encode_pairs(tokenizer, ["i feel sad", "my dog died today and i cry"], responses, 32, 12), 0)
    model = _model(tiny_encoder_dir, "epitome")
    with torch.no_grad():
        logits, token_logits = model(**batch)
        assert not torch.allclose(logits["ER"][0], logits["ER"][1])  # the seeker post matters...
        model.seeker_attention.out_proj.weight.zero_()
        model.seeker_attention.out_proj.bias.zero_()
        cut_logits, cut_tokens = model(**batch)
    for m in ("ER", "IP", "EX"):  # ...only through the response-to-seeker attention
        torch.testing.assert_close(cut_logits[m][0], cut_logits[m][1])
    starts, lengths = batch["response_start"].tolist(), batch["attention_mask"].sum(1).tolist()
    assert token_logits.shape == (*batch["input_ids"].shape, 3)
    for row, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        assert torch.count_nonzero(token_logits[row, :start]) == 0  # seeker positions carry no rationale logits
        assert torch.count_nonzero(token_logits[row, start:length]) > 0
        torch.testing.assert_close(cut_tokens[0, starts[0] : lengths[0]], cut_tokens[row, start:length])
    # with the attention layer cut, a response token's tags are those of the response encoded on its own
    alone = tokenizer(responses[0], return_tensors="pt")
    with torch.no_grad():
        expected = model.rationale_head(model.encoder(**alone).last_hidden_state)[0, 1:]
    torch.testing.assert_close(cut_tokens[0, starts[0] : lengths[0]], expected)
    with pytest.raises(ValueError, match="response_start"):
        model(batch["input_ids"], batch["attention_mask"])
    # the cross-encoder has no such layer: the seeker post is read in every encoder layer
    assert _model(tiny_encoder_dir, "cross").seeker_attention is None


def test_an_epitome_layout_scorer_trains_saves_and_loads(tiny_pairs, tiny_encoder_dir, tiny_params, tmp_path):
    scorer, metrics = train_epitome_scorer(tiny_pairs, tiny_encoder_dir, {**tiny_params, "layout": "epitome"}, seed=0)
    assert metrics["params"]["layout"] == "epitome" and scorer.config["layout"] == "epitome"
    seekers, responses = tiny_pairs["seeker_post"].tolist(), tiny_pairs["response_post"].tolist()
    proba = scorer.predict_proba(seekers, responses, batch_size=5)
    alone = scorer.predict_proba(seekers[:1], responses[:1])
    out = scorer.save(tmp_path / "scorer")
    assert json.loads((out / "epitome_scorer.json").read_text())["layout"] == "epitome"
    loaded = EpitomeScorer.load(out)
    assert loaded.model.seeker_attention is not None
    again = loaded.predict_proba(seekers, responses, batch_size=7)
    for m in proba:
        np.testing.assert_allclose(again[m], proba[m], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(alone[m][0], proba[m][0], atol=1e-5)  # independent of its batch


def test_a_cross_encoder_config_stays_as_it_was_and_an_unknown_layout_is_named(
    tiny_pairs, tiny_encoder_dir, tiny_params
):
    scorer, _ = train_epitome_scorer(tiny_pairs, tiny_encoder_dir, tiny_params, seed=0)
    assert "layout" not in scorer.config  # absent means cross: scorers saved before the layout keep their fingerprint
    with pytest.raises(ValueError, match=r"layout.*'cross', 'epitome'.*'bi'"):
        EpitomeScorerParams.from_mapping({"layout": "bi"})
