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
        # A profile's keys were pydantic's "Extra inputs are not permitted", with no key to use instead.
        ("[profiles.big]\ncpu_limt = 2\n", "profiles.big.cpu_limt", "profiles.big.cpu_limit"),
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


def test_keep_replaced_is_the_operators_seconds_zero_or_more():
    """code16: how long a replaced catalogue version stays was a constant (an hour); it is ``archive.keep_replaced``
    now, and a negative time is refused naming the key and the bound."""
    config = load_config(overrides=["archive.keep_replaced=7200"], environ={})
    assert config.archive.keep_replaced == 7200
    with pytest.raises(ConfigError) as info:
        load_config(overrides=["archive.keep_replaced=-1"], environ={})
    assert info.value.key == "archive.keep_replaced"
    assert "archive.keep_replaced" in str(info.value) and "greater than or equal to 0" in str(info.value)


def test_section_given_a_scalar():
    with pytest.raises(ConfigError, match="'hub' .* must be a table"):
        load_config(overrides=["hub=3"], environ={})


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"is not valid TOML, line 1, column 5 \('\[hub'\)") as raised:
        load_config(write(tmp_path, "[hub\n"), environ={})
    assert (raised.value.line, raised.value.column, raised.value.code) == (1, 5, "config-syntax")
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
    config = LocalConfig(gateway={"enabled": False}, archive={"enabled": False}, classes={"enabled": False})
    assert set(config.ports()) == {"hub.port", "hub.hub_port", "hub.proxy_api_port"}
    assert "gateway.port" in LocalConfig().ports()


def test_docs_reference_matches_the_model():
    from platform_lib.local.config import reference_markdown

    docs = (Path(__file__).resolve().parents[2] / "docs" / "local-platform.md").read_text()
    embedded = docs.split("<!-- config-reference -->\n", 1)[1].split("<!-- /config-reference -->", 1)[0]
    assert embedded.strip() == reference_markdown().strip(), "regenerate the table in docs/local-platform.md"


@pytest.mark.parametrize(
    ("name", "suggestion", "closest_key"),
    [
        ("PLATFORM_HUB_PORT", "PLATFORM_HUB__PORT", "hub.port"),  # one underscore where levels need two
        ("PLATFORM_HUB_HUB_PORT", "PLATFORM_HUB__HUB_PORT", "hub.hub_port"),
        ("PLATFORM_GATEWAY_ENABLED", "PLATFORM_GATEWAY__ENABLED", "gateway.enabled"),
        ("PLATFORM_DATA_DIRR", "PLATFORM_DATA_DIR", "data_dir"),
        ("PLATFORM_DATASET", "PLATFORM_DATASETS", None),  # a typo of the library's variable
    ],
)
def test_unknown_flat_variable_is_an_error_naming_the_closest(name, suggestion, closest_key):
    with pytest.raises(ConfigError) as info:
        load_config(environ={name: "9999"})
    error = info.value
    assert error.key == name and error.suggestion == suggestion and error.value == "9999"
    assert error.source == f"environment variable {name}"
    assert f"unknown environment variable {name} " in str(error)
    assert f"did you mean {suggestion}" in str(error)
    if closest_key:
        assert f"'{closest_key}'" in str(error)


def test_unknown_variable_without_close_match_explains_the_forms():
    with pytest.raises(ConfigError) as info:
        load_config(environ={"PLATFORM_QQQQQQQQ": "1"})
    assert info.value.suggestion is None
    assert "PLATFORM_<SECTION>__<KEY>" in str(info.value) and "PLATFORM_HOME" in str(info.value)


def test_library_variables_of_a_user_server_do_not_break_up(tmp_path):
    """``astrohub up`` from a user's terminal: every variable the hub sets there is the library's."""
    from astrohub_hub.environment import user_environment
    from astrohub_hub.settings import HubSettings

    settings = HubSettings.model_validate({
        "mode": "local",
        "storage": {"home": "/h/{username}", "groupsRoot": "/g", "datasets": "/d", "scratch": "/s/{username}"},
        "services": [{"name": "archive", "url": "http://127.0.0.1:9"}],
        "daskGateway": {"address": "http://127.0.0.1:8000/services/dask-gateway"},
    })
    server_env = user_environment(settings, "ann", ["astro101"])
    platform_vars = {k: v for k, v in server_env.items() if k.startswith("PLATFORM_")}
    assert {"PLATFORM_GROUPS", "PLATFORM_HOME", "PLATFORM_ARCHIVE_URL", "PLATFORM_DASK_GATEWAY_URL"} <= set(platform_vars)
    env = {**platform_vars, "PLATFORM_API_TOKEN": "t", "PLATFORM_HUB_API_URL": "http://h", "PLATFORM_HUB__PORT": "9100"}
    config = load_config(environ=env)
    assert config.hub.port == 9100
    assert config.groups == {}  # PLATFORM_GROUPS is the user's group list, not the groups table


def test_variable_owners():
    from platform_lib.local.config import library_variables, variable_owner
    from platform_lib.settings import PlatformSettings

    assert library_variables() == {f"PLATFORM_{f.upper()}" for f in PlatformSettings.model_fields}
    assert variable_owner("PLATFORM_CONFIG") == "config"
    assert variable_owner("PLATFORM_DATA_DIR") == "config"
    assert variable_owner("PLATFORM_GROUPS__ASTRO101__MEMBERS") == "config"
    assert variable_owner("PLATFORM_GROUPS") == "library"
    assert variable_owner("PLATFORM_USER") == "library"
    assert variable_owner("PLATFORM_HUB_PORT") is None
    assert variable_owner("HOME") is None


def test_groups_table_from_the_environment():
    config = load_config(environ={"PLATFORM_GROUPS__ASTRO101__MEMBERS": '["ann"]', "PLATFORM_GROUPS": '["x"]'})
    assert config.groups["astro101"].members == ["ann"]
