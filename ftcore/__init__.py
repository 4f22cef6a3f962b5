"""ftcore: the library behind ftstudio (data, models, training, evaluation, rating).

Submodules import heavy dependencies (torch, transformers, gradio) only where they are
needed, so `import ftcore` and the data / metrics / storage modules stay fast.
"""

__version__ = "0.1.0"
