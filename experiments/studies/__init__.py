"""One-off studies: each script answers one question about the methods; its docstring gives the answer."""
