"""Chat tab: talk to a base model or an adapter, or to both side by side."""

from __future__ import annotations

import threading

import gradio as gr

from ftcore.runtime.chat import BASE_SIDE, TUNED_SIDE, ChatRequest, Conversation, stream_chat_turn
from ftcore.runtime.generation import GenerationSettings
from ftcore.ui.choices import BASE_CHOICES, NO_ADAPTER, adapter_choices, chosen_adapter
from ftcore.ui.error_toasts import shows_errors

EXAMPLES = [
    "给外婆写一条温馨的春节祝福。",
    "西红柿炒鸡蛋怎么做？",
    "Write a short New Year greeting for a colleague.",
]


def chat_request(
    base,
    adapter,
    load_in_4bit,
    compare,
    system,
    max_new_tokens,
    temperature,
    top_p,
    repetition_penalty,
    seed,
    no_repeat_ngram_size=0,
) -> ChatRequest:
    """The widget values, in the order of `settings_inputs`, as a ChatRequest."""
    settings = GenerationSettings(
        int(max_new_tokens),
        float(temperature),
        float(top_p),
        float(repetition_penalty),
        int(seed or 0),
        int(no_repeat_ngram_size or 0),
    )
    return ChatRequest(
        base,
        chosen_adapter(adapter),
        bool(load_in_4bit),
        bool(compare),
        (system or "").strip(),
        settings,
    )


def visible_turns(conversation: Conversation, side: str) -> list[dict]:
    """The side's messages as the Chatbot shows them (the system prompt stays hidden)."""
    return [m for m in conversation.sides.get(side, []) if m["role"] != "system"]


def chat_views(conversation: Conversation, request: ChatRequest) -> tuple[list, list]:
    """(left, right) chatbot values: the one model alone, or base left and tuned right."""
    if request.compare:
        return visible_turns(conversation, BASE_SIDE), visible_turns(conversation, TUNED_SIDE)
    return visible_turns(conversation, request.sides()[0]), []


class ChatHandlers:
    """The tab's event handlers; Stop reaches a running reply through `stop_events`."""

    def __init__(self, context):
        self.context = context
        self.stop_events: dict[str, threading.Event] = {}  # conversation id -> its Stop

    @shows_errors
    def respond(self, message: str, conversation: Conversation | None, *settings):
        if not message.strip():
            raise gr.Error("Type a message first.")
        request = chat_request(*settings)
        conversation = conversation or Conversation()
        self.stop_events[conversation.id] = stop = threading.Event()
        yield "", *chat_views(conversation, request), conversation, "Loading model…"
        summary = self.context.models.get(request.base, request.load_in_4bit).loaded.summary()
        # The conversation is updated in place; each step re-renders it.
        for _ in stream_chat_turn(
            self.context.models, self.context.db, conversation, message, request, stop
        ):
            yield "", *chat_views(conversation, request), conversation, summary
        self.stop_events.pop(conversation.id, None)

    def stop(self, conversation: Conversation | None) -> None:
        if conversation and conversation.id in self.stop_events:
            self.stop_events[conversation.id].set()

    @staticmethod
    def new_conversation(adapter: str | None, compare: bool):
        """Changing model, adapter or mode starts a new conversation."""
        tuned_alone = chosen_adapter(adapter) and not compare
        return (
            gr.Chatbot(value=[], label="Fine-tuned" if tuned_alone else "Base model"),
            gr.Chatbot(value=[], visible=compare),
            None,
        )


def settings_accordion() -> list[gr.components.Component]:
    """System prompt and decoding settings, defaulting to the demo model's (greedy, with its
    loop guards)."""
    defaults = GenerationSettings.for_model()
    with gr.Accordion("Generation settings", open=False):
        system = gr.Textbox(label="System prompt (optional)", lines=2)
        with gr.Row():
            widgets = [
                gr.Slider(16, 2048, value=defaults.max_new_tokens, step=16, label="Max new tokens"),
                gr.Slider(
                    0,
                    2,
                    value=defaults.temperature,
                    step=0.05,
                    label="Temperature (0 = greedy, reproducible)",
                ),
                gr.Slider(0.05, 1, value=defaults.top_p, step=0.05, label="Top-p (sampling only)"),
                gr.Slider(
                    1, 2, value=defaults.repetition_penalty, step=0.05, label="Repetition penalty"
                ),
                gr.Number(value=defaults.seed, precision=0, label="Seed (sampling only)"),
                gr.Slider(
                    0,
                    10,
                    value=defaults.no_repeat_ngram_size,
                    step=1,
                    label="No-repeat n-gram size (0 = off)",
                ),
            ]
    return [system, *widgets]


def build_chat_tab(context) -> None:
    handlers = ChatHandlers(context)
    with gr.Tab("Chat") as tab:
        with gr.Row():
            base = gr.Dropdown(
                BASE_CHOICES,
                value="demo",
                label="Base model",
                scale=3,
                allow_custom_value=True,
                info="'demo' (embedded), a model folder, or a Hub id",
            )
            adapter = gr.Dropdown(
                adapter_choices(context),
                value=NO_ADAPTER,
                label="Adapter",
                allow_custom_value=True,
                scale=4,
                info="a LoRA adapter folder; trained runs are listed",
            )
            refresh = gr.Button("↻ Refresh", scale=0, size="sm", min_width=90)
        with gr.Row():
            compare = gr.Checkbox(label="Side by side: base vs fine-tuned on the same prompt")
            load_in_4bit = gr.Checkbox(label="Load in 4-bit (NF4, as QLoRA trains)")
        status = gr.Markdown("The model loads with the first message.")
        with gr.Row():
            left = gr.Chatbot(label="Base model", height=420, buttons=["copy"])
            right = gr.Chatbot(label="Fine-tuned", height=420, visible=False, buttons=["copy"])
        with gr.Row():
            prompt = gr.Textbox(
                placeholder="Type a message and press Enter",
                show_label=False,
                scale=6,
                autofocus=True,
            )
            send = gr.Button("Send", variant="primary", scale=1)
            stop = gr.Button("Stop", variant="stop", scale=1)
            clear = gr.Button("Clear", scale=1, elem_id="clear-chat")
        gr.Examples(EXAMPLES, inputs=prompt, label="Try")
        system, *decoding = settings_accordion()
        conversation = gr.State(None)

    request_inputs = [base, adapter, load_in_4bit, compare, system, *decoding]
    gr.on(
        [prompt.submit, send.click],
        handlers.respond,
        [prompt, conversation, *request_inputs],
        [prompt, left, right, conversation, status],
        api_name="chat",
    )
    stop.click(handlers.stop, conversation, None, concurrency_limit=None, api_name="stop")
    reset = [left, right, conversation]
    clear.click(handlers.new_conversation, [adapter, compare], reset, api_name="clear")
    for widget in (base, adapter, compare, load_in_4bit):
        widget.change(handlers.new_conversation, [adapter, compare], reset, api_name=False)
    tab.select(lambda: gr.Dropdown(choices=adapter_choices(context)), None, adapter, api_name=False)
    refresh.click(
        lambda: gr.Dropdown(choices=adapter_choices(context)), None, adapter, api_name=False
    )
