"""A small BPE tokenizer trained here, and the model folders the trained-view tests use.

The tokenizer is trained with the ``tokenizers`` library on the texts of a fixture (nothing is
downloaded); the chat templates are real-world ones written as test data in
``fixtures/tokenizers/templates``. ``python -m tests.tokenizer_fixtures`` rewrites the folders
committed under ``fixtures/tokenizers`` (the rule cases name them); a test checks that they
are what training gives today.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tokenizers

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TEMPLATES = FIXTURES / "tokenizers" / "templates"
CORPUS = FIXTURES / "realdata" / "toy_chat_fine_tuning.jsonl"

BOS, EOS = "<|begin_of_text|>", "<|endoftext|>"
SPECIALS = [
    EOS,
    BOS,
    "<|im_start|>",
    "<|im_end|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<start_of_turn>",
    "<end_of_turn>",
]

#: Folder name -> (template file, whether the tokenizer adds BOS to every text it encodes).
MODELS = {
    "bpe": ("chatml_generation.jinja", False),
    "bpe-bos": ("llama3.jinja", True),
}


def train(adds_bos: bool = False) -> tokenizers.Tokenizer:
    """A byte-level BPE of 600 tokens trained on the fixture's texts."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    texts = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        for message in json.loads(line)["messages"]:
            texts.append(message["content"])
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    if adds_bos:
        bos_id = tokenizer.token_to_id(BOS)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{BOS} $A", special_tokens=[(BOS, bos_id)]
        )
    return tokenizer


def template(name: str) -> str:
    """The text of a template of ``fixtures/tokenizers/templates``."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


def write_model(
    folder: Path,
    template_name: str,
    *,
    adds_bos: bool = False,
    tokenizer: tokenizers.Tokenizer | None = None,
) -> Path:
    """A model folder (``tokenizer.json`` and ``tokenizer_config.json`` with the template)."""
    folder.mkdir(parents=True, exist_ok=True)
    (tokenizer or train(adds_bos)).save(str(folder / "tokenizer.json"))
    config = {"chat_template": template(template_name), "bos_token": BOS, "eos_token": EOS}
    (folder / "tokenizer_config.json").write_text(
        json.dumps(config, indent=1) + "\n", encoding="utf-8"
    )
    return folder


def write_all(root: Path) -> None:
    """Write every folder of :data:`MODELS` under ``root``."""
    for name, (template_name, adds_bos) in MODELS.items():
        write_model(root / name, template_name, adds_bos=adds_bos)


if __name__ == "__main__":
    write_all(FIXTURES / "tokenizers")
