"""The config parser, property-based (hypothesis): every key set to any valid value reads back the
same, survives save → load (TOML written and read back), and takes its string form from the command
line; invalid values and unknown keys are refused with an error naming the key and what is valid."""
from __future__ import annotations

import math
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ragkit.config import Config

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


def _leaves() -> list[tuple[str, Any, tuple[str, ...]]]:
    """(dotted key, default value, choices) of every setting, tables' own keys included."""
    out = []
    config = Config()
    for section in fields(config):
        for f in fields(getattr(config, section.name)):
            value = getattr(getattr(config, section.name), f.name)
            if isinstance(value, dict):
                out += [(f"{section.name}.{f.name}.{k}", v, ()) for k, v in value.items()]
            else:
                out.append((f"{section.name}.{f.name}", value, tuple(f.metadata.get("choices", ()))))
    return out


LEAVES = _leaves()
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # any text a TOML file can hold


LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
LABELS = st.lists(LABEL, max_size=4)
LIST_VALUES = {  # list-valued settings: what each holds (docs/access.md)
    "server.token_labels": LABELS,
    "server.tokens": st.lists(st.fixed_dictionaries({"env": st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True),
                                                     "labels": LABELS}), max_size=3),
    "server.allowed_hosts": st.lists(st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True), max_size=3),
    "server.cors_origins": st.lists(st.from_regex(r"https?://[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True), max_size=3),
    "server.generators": st.lists(st.sampled_from(["extractive", "local", "openai", "vllm"]), max_size=3, unique=True),
    "access.rules": st.lists(st.fixed_dictionaries({"glob": TEXT.filter(str.strip), "labels": LABELS}), max_size=3),
}


def valid_values(default: Any, choices: tuple[str, ...], key: str = "") -> st.SearchStrategy[Any]:
    if isinstance(default, list):
        return LIST_VALUES[key]
    if choices:
        return st.sampled_from(choices)
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(-(2**63), 2**63 - 1)
    if isinstance(default, float):
        return st.floats(allow_nan=False, allow_infinity=False)
    return TEXT


@st.composite
def assignments(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(LEAVES), min_size=1, max_size=12, unique_by=lambda leaf: leaf[0]))
    return {key: draw(valid_values(default, choices, key)) for key, default, choices in chosen}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b and type(a) is type(b)


@PROPERTY_SETTINGS
@given(values=assignments())
def test_set_get_save_load_round_trip(values: dict[str, Any]) -> None:
    config = Config()
    for key, value in values.items():
        config.set(key, value)
    for key, value in values.items():
        assert _same(config.get(key), value), key
    with tempfile.TemporaryDirectory() as tmp:
        config.save(tmp)
        loaded = Config.load(tmp, env={})
    assert loaded.to_dict() == config.to_dict()
    for key, value in values.items():
        assert _same(loaded.get(key), value), key


def _cli_form(value: Any) -> str:
    if isinstance(value, list):
        import json

        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def test_a_bad_access_rule_is_refused_by_set_as_by_load() -> None:
    with pytest.raises(ValueError, match=r"access.rules\[0\]: glob must be a non-empty string"):
        Config().set("access.rules", [{"glob": " ", "labels": ["hr"]}])


@PROPERTY_SETTINGS
@given(values=assignments())
def test_strings_from_the_command_line_and_environment(values: dict[str, Any]) -> None:
    config = Config()
    for key, value in values.items():
        config.set(key, _cli_form(value))
        assert _same(config.get(key), value), key
    with tempfile.TemporaryDirectory() as tmp:
        env = {f"RAGKIT_{k.replace('.', '_').upper()}": _cli_form(v) for k, v in values.items() if k.count(".") == 1}
        from_env = Config.load(tmp, env=env)
        for key in [k for k in values if k.count(".") == 1]:
            assert _same(from_env.get(key), values[key]), key


NUMERIC = [(k, d) for k, d, c in LEAVES if isinstance(d, (int, float)) and not isinstance(d, bool)]
BOOLEAN = [k for k, d, c in LEAVES if isinstance(d, bool)]
CHOICE = [(k, c) for k, d, c in LEAVES if c]


@PROPERTY_SETTINGS
@given(leaf=st.sampled_from(NUMERIC), junk=st.text(max_size=20))
@example(leaf=("limits.parse_timeout", 60.0), junk="nan")
@example(leaf=("limits.parse_timeout", 60.0), junk="-inf")
@example(leaf=("retrieval.weight", 0.5), junk="1e400")
@example(leaf=("retrieval.k", 10), junk="1e3")
def test_numbers_refuse_what_is_not_a_number(leaf: tuple[str, Any], junk: str) -> None:
    key, default = leaf
    try:
        expected = type(default)(junk)
        if isinstance(default, float) and not math.isfinite(expected):
            raise ValueError
    except ValueError:
        with pytest.raises(ValueError, match=rf"{key} must be a (whole |finite )?number, got"):
            Config().set(key, junk)
    else:
        config = Config()
        config.set(key, junk)
        assert _same(config.get(key), expected)


@PROPERTY_SETTINGS
@given(key=st.sampled_from(BOOLEAN), junk=st.text(max_size=10))
def test_booleans_refuse_other_words(key: str, junk: str) -> None:
    if junk.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return
    with pytest.raises(ValueError, match=rf"{key} must be true or false"):
        Config().set(key, junk)


@PROPERTY_SETTINGS
@given(leaf=st.sampled_from(CHOICE), junk=TEXT)
def test_choices_refuse_others_and_list_the_valid(leaf: tuple[str, tuple[str, ...]], junk: str) -> None:
    key, choices = leaf
    if junk in choices:
        return
    with pytest.raises(ValueError) as err:
        Config().set(key, junk)
    assert key in str(err.value) and all(c in str(err.value) for c in choices if c)


@PROPERTY_SETTINGS
@given(section=st.text(st.characters(categories=("Ll",)), min_size=1, max_size=12),
       key=st.text(st.characters(categories=("Ll",)), min_size=1, max_size=12))
def test_unknown_keys_are_refused_listing_the_valid(section: str, key: str) -> None:
    config = Config()
    sections = [f.name for f in fields(config)]
    if section not in sections:
        with pytest.raises(KeyError, match="unknown config section .*; valid: embedder"):
            config.set(f"{section}.{key}", "1")
    elif key not in [f.name for f in fields(getattr(config, section))]:
        with pytest.raises(KeyError, match=rf"unknown key '{key}' in \[{section}\]; valid: "):
            config.set(f"{section}.{key}", "1")


@PROPERTY_SETTINGS
@given(text=st.text(max_size=200))
def test_a_broken_config_file_names_the_file(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.toml").write_text(text, encoding="utf-8")
        try:
            Config.load(tmp, env={})
        except (ValueError, KeyError) as exc:
            assert "config.toml" in str(exc)
