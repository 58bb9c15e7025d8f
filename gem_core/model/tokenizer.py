"""GemTokenizer: the published SentencePiece `tokenizer.model` (slow LLaMA tokenizer).

transformers 5 has no SentencePiece-backed LlamaTokenizer any more (its LlamaTokenizer converts
the model to a `tokenizers` BPE), so the slow tokenizer's behaviour is reproduced directly with
`sentencepiece`: for text without special-token strings, LLaMA's slow tokenizer gives exactly
`SentencePieceProcessor.encode(text)` (dummy-prefix space included) and decodes with
`SentencePieceProcessor.decode` after dropping special ids.
"""
from __future__ import annotations


class GemTokenizer:
    def __init__(self, model_proto: bytes, source: str = "tokenizer.model"):
        import sentencepiece as spm

        self.model_proto = bytes(model_proto)
        self.source = source
        self.sp = spm.SentencePieceProcessor(model_proto=self.model_proto)
        self.bos_token_id = self.sp.bos_id()  # 1 in LLaMA
        self.eos_token_id = self.sp.eos_id()  # 2
        self.unk_token_id = self.sp.unk_id()  # 0
        # LLaMA has no pad piece; the published config pads with unk (0).
        self.pad_token_id = self.sp.pad_id() if self.sp.pad_id() >= 0 else self.unk_token_id
        self.special_ids = {i for i in (self.bos_token_id, self.eos_token_id, self.unk_token_id,
                                        self.pad_token_id) if i >= 0}

    @classmethod
    def from_file(cls, path) -> "GemTokenizer":
        with open(path, "rb") as f:
            return cls(f.read(), source=str(path))

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str, add_bos: bool = True) -> list[int]:
        ids = self.sp.encode(text)
        return [self.bos_token_id] + ids if add_bos else ids

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        ids = [int(i) for i in ids]
        if skip_special_tokens:
            ids = [i for i in ids if i not in self.special_ids]
        return self.sp.decode(ids)

    def id_to_piece(self, i: int) -> str:
        return self.sp.id_to_piece(int(i))

    def save(self, path) -> None:
        with open(path, "wb") as f:
            f.write(self.model_proto)
