"""The llava_v1 template, the chunked prompt rule and gem-tiny's SentencePiece tokenizer."""
from __future__ import annotations

from gem_core.model.prompt import GROUNDING_QUESTION, build_prompt, tokenize_prompt
from gem_core.model.tiny_tokenizer import build_tiny_tokenizer, train_tiny_sentencepiece
from gem_core.model.tokenizer import GemTokenizer


def test_tiny_tokenizer_is_deterministic_with_llama_conventions():
    a, b = train_tiny_sentencepiece(), train_tiny_sentencepiece()
    assert a == b
    tok = GemTokenizer(a)
    assert (tok.unk_token_id, tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) == (0, 1, 2, 0)
    assert tok.id_to_piece(3) == "<0x00>"  # byte fallback pieces right after the specials
    text = "QRS 104 ms in V1; ÄŸ ✓ unseen→bytes"
    ids = tok.encode(text)
    assert ids[0] == 1 and tok.unk_token_id not in ids  # byte fallback: nothing is unknown
    assert tok.decode(ids) == text
    assert [tok.id_to_piece(i) for i in tok.encode("104", add_bos=False)] == ["▁", "1", "0", "4"]
    assert tok.decode([1, *tok.encode("Sinus rhythm.", add_bos=False), 2, 0]) == "Sinus rhythm."


def test_llava_v1_template():
    assert build_prompt("What is the rhythm?") == (
        "A chat between a curious human and an artificial intelligence assistant. The assistant "
        "gives helpful, detailed, and polite answers to the human's questions. USER: <image>\n"
        "What is the rhythm? ASSISTANT:")
    assert build_prompt("Hi", with_media=False).endswith(" USER: Hi ASSISTANT:")
    assert GROUNDING_QUESTION.startswith("Interpret the provided ECG image")


def test_chunked_rule_one_bos_placeholder_between_pieces():
    tok = build_tiny_tokenizer()
    prompt = build_prompt(GROUNDING_QUESTION)
    ids = tokenize_prompt(tok, prompt)
    before, after = prompt.split("<image>")
    assert ids == [1] + tok.encode(before, add_bos=False) + [-200] + tok.encode(after, add_bos=False)
    assert ids.count(1) == 1 and ids.count(-200) == 1
    # the piece after the placeholder starts with its own dummy-prefix space, then "\n"
    assert [tok.id_to_piece(i) for i in ids[ids.index(-200) + 1:][:2]] == ["▁", "<0x0A>"]
    # tokenising the whole string at once gives other ids around the placeholder
    whole = tok.encode(prompt.replace("<image>", ""))
    assert whole != [i for i in ids if i != -200]
    assert tokenize_prompt(tok, build_prompt("Hi", with_media=False)) == tok.encode(
        build_prompt("Hi", with_media=False))
