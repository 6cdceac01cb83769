"""Adapters for other frameworks, each behind its own extra and imported only when used:

- ``ragkit.integrations.langchain`` (``pip install 'ragkit[integrations]'``): retriever, ask runnable, loader.
- ``ragkit.integrations.llamaindex`` (same extra): retriever (``NodeWithScore``), reader.
"""
