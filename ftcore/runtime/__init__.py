"""The model runtime: load models and tokenizers, attach adapters, generate, chat."""
