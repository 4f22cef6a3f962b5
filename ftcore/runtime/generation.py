"""Generate replies: decoding settings, whole-character decoding, and streaming that can
be stopped mid-reply.

Decoding settings are always built from scratch rather than inherited from a checkpoint's
generation_config.json, which may sample or stop after 20 tokens: the same settings give
the same reply on every model. Only the chat's defaults (`GenerationSettings.for_model`)
take a local model's loop guards from that file, shown in the settings a user can change.
Every reply, streamed, stored or scored, is decoded by `decode_complete`, so none holds
the U+FFFD of a character cut between tokens.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ftcore.chat_format import Message, encode_for_generation
from ftcore.errors import ConfigError, FtcoreError
from ftcore.files import read_json
from ftcore.runtime.adapters import ChatModel
from ftcore.runtime.models import DEMO_MODEL_NAME, resolve_model_source

REPLACEMENT_CHARACTER = "\ufffd"


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings; the defaults are greedy, so a rerun gives the same reply."""

    max_new_tokens: int = 256  # the reply stops here at the latest
    temperature: float = 0.0  # 0 means greedy decoding; above 0 samples
    top_p: float = 1.0  # nucleus sampling mass, used only when sampling
    repetition_penalty: float = 1.0  # >1 discourages repeating tokens (1 = off)
    seed: int = 0  # sampling seed, so sampled replies are reproducible too
    no_repeat_ngram_size: int = 0  # >0 never repeats an n-gram of this many tokens (0 = off)

    def __post_init__(self) -> None:
        if not 1 <= self.max_new_tokens <= 32_768:
            raise ConfigError("max_new_tokens", self.max_new_tokens, "an integer in 1..32768")
        if not 0.0 <= self.temperature <= 5.0:
            raise ConfigError("temperature", self.temperature, "a number in 0..5 (0 = greedy)")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError("top_p", self.top_p, "a number in (0, 1]")
        if not 1.0 <= self.repetition_penalty <= 2.0:
            raise ConfigError("repetition_penalty", self.repetition_penalty, "a number in 1..2")
        if not 0 <= self.no_repeat_ngram_size <= 20:
            raise ConfigError(
                "no_repeat_ngram_size", self.no_repeat_ngram_size, "an integer in 0..20 (0 = off)"
            )

    @classmethod
    def for_model(cls, name_or_path: str = DEMO_MODEL_NAME) -> GenerationSettings:
        """Greedy settings with the loop guards a local model's generation_config.json
        asks for (repetition_penalty, no_repeat_ngram_size): the tiny demo model repeats
        itself ("新年年年年…") without them. Hub ids are not fetched for this; their
        defaults stay plain greedy."""
        try:
            config = Path(resolve_model_source(name_or_path)) / "generation_config.json"
        except FtcoreError:  # not a model folder: loading it will say so, not the defaults
            return cls()
        if not config.is_file():
            return cls()
        asked = read_json(config)
        return cls(
            repetition_penalty=float(asked.get("repetition_penalty") or 1.0),
            no_repeat_ngram_size=int(asked.get("no_repeat_ngram_size") or 0),
        )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def decode_complete(tokenizer, token_ids: Iterable[int]) -> str:
    """The text of `token_ids` in whole characters only, special tokens dropped.

    A byte-level token may end part-way through a character (a Chinese character is three
    UTF-8 bytes, which the demo tokenizer often splits over two or three tokens), and the
    tokenizer decodes bytes that form no whole character as U+FFFD. At the end of the ids
    such bytes are held back (the next token may complete them); anywhere else they can
    never be completed, so they are dropped. Decoding a longer prefix of the same ids thus
    only ever appends text, which is what lets a stream show it piece by piece. A U+FFFD
    the model spelt out in full is dropped too: no reply contains one.
    """
    text = tokenizer.decode(list(token_ids), skip_special_tokens=True)
    return text.replace(REPLACEMENT_CHARACTER, "")


class ReplyStreamer:
    """A `generate(streamer=...)` target that passes on the reply so far, decoded by
    `decode_complete` after each new token; iterate over it in another thread. Only a
    token that completes a character yields new text."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.reply_ids: list[int] = []
        self.text = ""
        self._prompt_seen = False
        self._texts: queue.Queue[str | None] = queue.Queue()

    def put(self, token_ids) -> None:
        if not self._prompt_seen:  # generate() first passes the prompt, then each token
            self._prompt_seen = True
            return
        self.reply_ids.extend(token_ids.reshape(-1).tolist())
        text = decode_complete(self.tokenizer, self.reply_ids)
        if text != self.text:
            self.text = text
            self._texts.put(text)

    def end(self) -> None:
        self._texts.put(None)

    def __iter__(self) -> Iterator[str]:
        while (text := self._texts.get()) is not None:
            yield text


def end_of_turn_ids(model, tokenizer) -> list[int]:
    """Token ids that end a reply: the tokenizer's EOS, the checkpoint's EOS list and
    ChatML's <|im_end|> when the vocabulary has it."""
    ids = {tokenizer.eos_token_id}
    configured = model.generation_config.eos_token_id
    ids.update(configured if isinstance(configured, list) else [configured])
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if im_end != tokenizer.unk_token_id:
        ids.add(im_end)
    return sorted(i for i in ids if isinstance(i, int))


def generation_config(settings: GenerationSettings, model, tokenizer):
    from transformers import GenerationConfig

    sampling = {"temperature": settings.temperature, "top_p": settings.top_p}
    return GenerationConfig(
        max_new_tokens=settings.max_new_tokens,
        do_sample=not settings.greedy,
        repetition_penalty=settings.repetition_penalty,
        no_repeat_ngram_size=settings.no_repeat_ngram_size,
        eos_token_id=end_of_turn_ids(model, tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        **({} if settings.greedy else sampling),
    )


class _StopOnEvents:
    """A stopping criterion that ends generation once any of `events` is set."""

    def __init__(self, *events: threading.Event):
        self.events = events

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        stopped = any(event.is_set() for event in self.events)
        return torch.full((input_ids.shape[0],), stopped, dtype=torch.bool)


def stream_reply(
    chat_model: ChatModel,
    messages: Sequence[Message],
    settings: GenerationSettings = GenerationSettings(),
    *,
    adapter: str | None = None,
    stop: threading.Event | None = None,
) -> Iterator[str]:
    """Yield the reply to `messages` as it grows (the whole text so far each time, in whole
    characters: each yield extends the one before, and the last is `reply`'s text).

    `adapter` picks the LoRA adapter (None: the base model). Setting `stop` ends the reply
    after the current token; so does closing the iterator, which frees the model at once.
    """
    import torch
    from transformers import StoppingCriteriaList

    tokenizer = chat_model.tokenizer
    prompt_ids = encode_for_generation(tokenizer, messages)
    stop = stop or threading.Event()
    abandoned = threading.Event()  # the caller stopped reading: free the model now
    streamer = ReplyStreamer(tokenizer)
    failure: list[BaseException] = []

    def generate() -> None:
        try:
            with chat_model.using(adapter) as model, torch.inference_mode():
                input_ids = torch.tensor([prompt_ids], device=chat_model.loaded.device)
                if not settings.greedy:
                    torch.manual_seed(settings.seed)
                model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    generation_config=generation_config(settings, model, tokenizer),
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([_StopOnEvents(stop, abandoned)]),
                )
        except BaseException as exc:  # re-raised in the caller's thread below
            failure.append(exc)
            streamer.end()

    worker = threading.Thread(target=generate, name="ftcore-generate", daemon=True)
    worker.start()
    try:
        yield from streamer
    finally:
        abandoned.set()
        worker.join()
    if failure:
        raise failure[0]


def reply(
    chat_model: ChatModel,
    messages: Sequence[Message],
    settings: GenerationSettings = GenerationSettings(),
    *,
    adapter: str | None = None,
) -> str:
    """The whole reply at once (the CLI and tests); same tokens as the streamed one."""
    final = deque(stream_reply(chat_model, messages, settings, adapter=adapter), maxlen=1)
    return final[0] if final else ""
