"""Installing ragkit does not force LangChain or LlamaIndex: each adapter imports its framework lazily and
names the extra to install when it is missing."""
from __future__ import annotations

import importlib
import sys

import pytest

from ragkit.extras import require


def test_require_names_the_extra():
    with pytest.raises(ImportError, match=r"pip install 'ragkit\[server\]'"):
        require("ragkit_no_such_package", "server", "ragkit serve")


@pytest.mark.parametrize(
    "adapter, framework", [("ragkit.integrations.langchain", "langchain_core"),
                           ("ragkit.integrations.llamaindex", "llama_index.core")],
)
def test_adapter_without_its_framework(monkeypatch, adapter, framework):
    monkeypatch.setitem(sys.modules, framework, None)  # as if not installed
    monkeypatch.delitem(sys.modules, adapter, raising=False)
    with pytest.raises(ImportError, match=r"ragkit\[integrations\]"):
        importlib.import_module(adapter)


def test_core_imports_no_framework():
    import subprocess

    code = ("import sys, ragkit, ragkit.kit, ragkit.integrations; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'llama_index', 'fastapi')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
