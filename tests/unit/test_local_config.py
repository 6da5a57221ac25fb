"""Unit tests for the local platform's configuration loading and validation (platform_lib.local.config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_lib.local.config import LocalConfig, load_config, parse_override
from platform_lib.local.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "astrohub.toml"
    path.write_text(text)
    return path


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.hub.port == 8000
    assert config.gateway.enabled is True
    assert config.data_dir.is_absolute()


def test_file_env_and_overrides_precedence(tmp_path):
    path = write(tmp_path, 'data_dir = "data"\n[hub]\nport = 9000\nhub_port = 9001\n[auth]\nadmin_user = "prof"\n')
    env = {"PLATFORM_HUB__PORT": "9100", "PLATFORM_HUB__HUB_PORT": "9101", "PLATFORM_USER": "ignored-library-var"}
    config = load_config(path, overrides=["hub.port=9200"], environ=env)
    assert config.hub.port == 9200  # --set beats the environment
    assert config.hub.hub_port == 9101  # environment beats the file
    assert config.auth.admin_user == "prof"  # the file beats the default
    assert config.data_dir == tmp_path / "data"  # relative to the file


def test_groups_section(tmp_path):
    path = write(
        tmp_path,
        '[groups.astro101]\nmembers = ["ann", "bob"]\n[groups.teachers]\ninstructors_of = ["astro101"]\n',
    )
    config = load_config(path, environ={})
    assert config.groups["astro101"].members == ["ann", "bob"]
    assert config.groups["teachers"].instructors_of == ["astro101"]


@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        ("[hub]\nprot = 1\n", "hub.prot", "hub.port"),
        ("[gatway]\nenabled = false\n", "gatway", "gateway"),
        ("data_dri = '/x'\n", "data_dri", "data_dir"),
        ("[groups.a]\nmembrs = []\n", "groups.a.membrs", "groups.a.members"),
    ],
)
def test_unknown_key_in_file_names_closest(tmp_path, text, key, suggestion):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    assert info.value.key == key
    assert info.value.suggestion == suggestion
    assert f"'{key}'" in str(info.value) and f"'{suggestion}'" in str(info.value)
    assert "astrohub.toml" in str(info.value)


def test_unknown_key_in_env_and_override():
    with pytest.raises(ConfigError) as info:
        load_config(environ={"PLATFORM_HUB__PROT": "1"})
    assert info.value.key == "hub.prot" and "PLATFORM_HUB__PROT" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_config(overrides=["archive.enabeld=false"], environ={})
    assert info.value.suggestion == "archive.enabled"


def test_unknown_key_without_close_match_lists_valid_keys():
    with pytest.raises(ConfigError) as info:
        load_config(overrides=["hub.zzzzzz=1"], environ={})
    assert info.value.suggestion is None
    assert "hub.port" in str(info.value)


@pytest.mark.parametrize("override", ["hub.port=abc", "hub.port=70000", "auth.kind=ldap", "gateway.enabled=[1]"])
def test_bad_values_name_the_key(override):
    key = override.partition("=")[0]
    with pytest.raises(ConfigError) as info:
        load_config(overrides=[override], environ={})
    assert info.value.key == key
    assert key in str(info.value)


def test_section_given_a_scalar():
    with pytest.raises(ConfigError, match="'hub' .* must be a table"):
        load_config(overrides=["hub=3"], environ={})


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(write(tmp_path, "[hub\n"), environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_parse_override_types():
    assert parse_override("hub.port=8001") == ("hub.port", 8001)
    assert parse_override("gateway.enabled=false") == ("gateway.enabled", False)
    assert parse_override("data_dir=/srv/x") == ("data_dir", "/srv/x")
    assert parse_override('groups.a.members=["x","y"]') == ("groups.a.members", ["x", "y"])
    with pytest.raises(ConfigError):
        parse_override("novalue")


def test_ports_lists_enabled_components_only():
    config = LocalConfig(gateway={"enabled": False}, archive={"enabled": False})
    assert set(config.ports()) == {"hub.port", "hub.hub_port", "hub.proxy_api_port"}
    assert "gateway.port" in LocalConfig().ports()


def test_docs_reference_matches_the_model():
    from platform_lib.local.config import reference_markdown

    docs = (Path(__file__).resolve().parents[2] / "docs" / "local-platform.md").read_text()
    embedded = docs.split("<!-- config-reference -->\n", 1)[1].split("<!-- /config-reference -->", 1)[0]
    assert embedded.strip() == reference_markdown().strip(), "regenerate the table in docs/local-platform.md"
