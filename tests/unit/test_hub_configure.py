"""Unit tests of astrohub_hub.configure: traits produced from settings, on a fresh Config."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config

from astrohub_hub import HubConfigError, configure, user_environment, validate_settings
from astrohub_hub.configure import GROUPSYNC_SERVICE, build_roles
from astrohub_hub.local import AstroLocalSpawner

ADMIN_PW = "a" * 32
USER_PW = "class-password"


def base_settings(**extra):
    settings = {
        "mode": "local",
        "auth": {"kind": "shared-password", "adminUsers": ["admin"], "adminPassword": ADMIN_PW,
                 "sharedPassword": USER_PW},
        "storage": {"home": "/srv/home/{username}", "groupsRoot": "/srv/groups",
                    "datasets": "/srv/datasets", "scratch": "/srv/scratch/{username}"},
        "daskGateway": {"address": "http://127.0.0.1:8000/services/dask-gateway",
                        "proxyAddress": "gateway://127.0.0.1:8786", "url": "http://127.0.0.1:8787",
                        "apiToken": "gw-token"},
        "groups": {"teachers": {"members": ["tina"], "instructorsOf": ["astro101"]},
                   "astro101": {"members": ["sam", "sue"], "description": "Intro class"}},
        "profiles": [
            {"slug": "small", "displayName": "Small", "memLimit": "1G", "cpuLimit": 1, "default": True},
            {"slug": "class", "displayName": "Class", "memLimit": "4G", "cpuLimit": 2, "groups": ["astro101"]},
        ],
        "services": [{"name": "archive", "url": "http://127.0.0.1:9000", "apiToken": "arch",
                      "scopes": ["read:users:name"]}],
        "local": {"systemUserPrefix": "astro-", "runAsSystemUsers": True},
    }
    settings.update(extra)
    return settings


@pytest.fixture(autouse=True)
def python_reachable(monkeypatch):
    """Pretend the hub's Python is reachable by other users (it may live under /root here)."""
    monkeypatch.setattr(sys.modules["astrohub_hub.configure"], "unreachable_by_others", lambda path: None)


def fake_spawner(name, groups):
    user = SimpleNamespace(name=name, groups=[SimpleNamespace(name=g) for g in groups])
    return SimpleNamespace(user=user)


def test_shared_password_authenticator_and_admins():
    c = Config()
    configure(c, base_settings())
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.SharedPasswordAuthenticator.admin_password == ADMIN_PW
    assert c.SharedPasswordAuthenticator.user_password == USER_PW
    assert c.Authenticator.admin_users == {"admin"}
    assert c.Authenticator.allowed_users == {"admin", "tina", "sam", "sue"}
    assert c.Authenticator.allow_existing_users is True
    assert c.Authenticator.allow_all is False


def test_roster_authenticator_is_the_default_with_its_pages():
    from astrohub_hub.auth import TEMPLATES, RosterAuthenticator

    c = Config()
    auth = {"adminUsers": ["admin"], "adminPassword": ADMIN_PW, "sharedPassword": USER_PW,
            "passwordFile": "/srv/state/passwords.sqlite"}
    configure(c, base_settings(auth=auth))
    assert c.JupyterHub.authenticator_class is RosterAuthenticator
    assert c.RosterAuthenticator.class_code == USER_PW and c.RosterAuthenticator.admin_password == ADMIN_PW
    assert c.RosterAuthenticator.password_file == "/srv/state/passwords.sqlite"
    assert c.Authenticator.allowed_users == {"admin", "tina", "sam", "sue"}
    assert c.JupyterHub.template_paths[0] == TEMPLATES
    assert {"login.html", "register.html"} <= {p.name for p in Path(TEMPLATES).iterdir()}


def test_external_authenticator_is_left_alone():
    c = Config()
    c.JupyterHub.authenticator_class = "generic-oauth"
    configure(c, base_settings(auth={"kind": "external", "adminUsers": ["boss"]}))
    assert c.JupyterHub.authenticator_class == "generic-oauth"
    assert c.Authenticator.admin_users == {"boss"}


def test_native_authenticator_needs_admin_approval():
    c = Config()
    configure(c, base_settings(auth={"kind": "native", "adminUsers": ["boss"]}))
    assert c.JupyterHub.authenticator_class == "nativeauthenticator.NativeAuthenticator"
    assert c.NativeAuthenticator.open_signup is False
    assert c.Authenticator.admin_users == {"boss"}
    assert any(p.endswith("templates") for p in c.JupyterHub.template_paths)


def test_groups_loaded_with_members():
    c = Config()
    configure(c, base_settings())
    assert c.JupyterHub.load_groups["astro101"]["users"] == ["sam", "sue"]
    assert c.JupyterHub.load_groups["astro101"]["properties"] == {"description": "Intro class"}
    assert set(c.JupyterHub.load_groups) == {"teachers", "astro101"}


def test_instructor_role_opens_student_servers():
    c = Config()
    configure(c, base_settings())
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    instructors = roles["instructors-teachers"]
    assert instructors["groups"] == ["teachers"]
    assert set(instructors["scopes"]) == {
        "access:servers!group=astro101", "read:users!group=astro101", "admin:servers!group=astro101"}


def test_user_and_server_roles_reach_services():
    roles = {r["name"]: r for r in build_roles(validate_settings(base_settings()))}
    for name in ("user", "server"):
        assert "access:services!service=dask-gateway" in roles[name]["scopes"]
        assert "access:services!service=archive" in roles[name]["scopes"]
    assert "self" in roles["user"]["scopes"]
    assert "access:servers!server" in roles["server"]["scopes"]
    assert roles["service-archive"] == {"name": "service-archive", "description": "Scopes of service archive",
                                        "scopes": ["read:users:name"], "services": ["archive"]}


def test_the_gateway_may_read_users_groups_only_while_cluster_sharing_is_on():
    """The gateway asks the hub whether a shared cluster's owner is still in its group, with its own token: a
    role with users' names and groups only (least scope); none while sharing is off."""
    from astrohub_hub.configure import GATEWAY_SCOPES

    roles = {r["name"]: r for r in build_roles(validate_settings(base_settings()))}
    assert roles["service-dask-gateway"] == {
        "name": "service-dask-gateway", "services": ["dask-gateway"], "scopes": ["read:users:name", "read:users:groups"],
        "description": "Reads users' groups: a shared Dask cluster's owner must still be in its group"}
    assert GATEWAY_SCOPES == ["read:users:name", "read:users:groups"]
    off = base_settings()
    off["daskGateway"] = {**off["daskGateway"], "server": {"clusterSharing": False}}
    assert "service-dask-gateway" not in {r["name"] for r in build_roles(validate_settings(off))}


def test_services_registered_with_tokens():
    c = Config()
    configure(c, base_settings())
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert services["dask-gateway"]["url"] == "http://127.0.0.1:8787"
    assert services["dask-gateway"]["api_token"] == "gw-token"
    assert services["archive"]["api_token"] == "arch"
    assert services["archive"]["oauth_no_confirm"] is True
    sync = services[GROUPSYNC_SERVICE]
    assert sync["command"][1:] == ["-m", "astrohub_hub.groupsync"]
    assert sync["environment"]["ASTROHUB_GROUPSYNC_ROOT"] == "/srv/groups"
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["service-astrohub-groupsync"]["services"] == [GROUPSYNC_SERVICE]
    assert set(roles["service-astrohub-groupsync"]["scopes"]) == {"list:groups", "read:groups"}


def test_gateway_listed_explicitly_is_not_duplicated():
    settings = base_settings()
    settings["services"].append({"name": "dask-gateway", "url": "http://gw:80", "apiToken": "x"})
    c = Config()
    configure(c, settings)
    names = [s["name"] for s in c.JupyterHub.services]
    assert names.count("dask-gateway") == 1
    assert next(s for s in c.JupyterHub.services if s["name"] == "dask-gateway")["url"] == "http://gw:80"


def test_environment_function_for_a_user():
    env = user_environment(validate_settings(base_settings()), "sam", ["astro101", "a-team"])
    assert env["PLATFORM_USER"] == "sam"
    assert json.loads(env["PLATFORM_GROUPS"]) == ["a-team", "astro101"]
    assert env["PLATFORM_HOME"] == "/srv/home/sam"
    assert env["PLATFORM_SCRATCH"] == "/srv/scratch/sam"
    assert env["TMPDIR"] == "/srv/scratch/sam"  # grade15: temporary files in her private scratch, not the shared /tmp
    assert env["PLATFORM_GROUPS_ROOT"] == "/srv/groups"
    assert env["PLATFORM_WORKSPACES_ROOT"] == "/srv/workspaces"  # beside the groups, as the classes service has it
    assert env["PLATFORM_DATASETS"] == "/srv/datasets"
    assert env["PLATFORM_ARCHIVE_URL"] == "http://127.0.0.1:9000/services/archive/"
    assert env["PLATFORM_DASK_GATEWAY_URL"] == "http://127.0.0.1:8000/services/dask-gateway"
    assert env["DASK_GATEWAY__ADDRESS"] == "http://127.0.0.1:8000/services/dask-gateway"
    assert env["DASK_GATEWAY__PROXY_ADDRESS"] == "gateway://127.0.0.1:8786"
    assert env["DASK_GATEWAY__PUBLIC_ADDRESS"] == "http://127.0.0.1:8000/services/dask-gateway"
    assert env["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"
    assert env["DASK_LABEXTENSION__FACTORY__MODULE"] == "dask_gateway"
    assert env["DASK_LABEXTENSION__FACTORY__CLASS"] == "GatewayCluster"
    # a kernel LocalCluster's dashboard link (and socket) is the user server's own (astrohub_server.dask_sockets)
    assert "DASK_DISTRIBUTED__DASHBOARD__LINK" not in env


def test_dask_reads_the_labextension_factory_and_temporary_directory(monkeypatch):
    """The variables, as dask itself parses them, make the sidebar build GatewayClusters."""
    import dask.config

    env = user_environment(validate_settings(base_settings()), "sam", [])
    for key, value in env.items():
        if key.startswith("DASK_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/sam/")
    parsed = dask.config.collect_env()
    assert parsed["labextension"]["factory"] == {"module": "dask_gateway", "class": "GatewayCluster"}
    assert parsed["gateway"]["address"] == "http://127.0.0.1:8000/services/dask-gateway"
    # a kernel's LocalCluster keeps its worker folders in the user's scratch, not under a /tmp name known in advance
    assert dask.config.get("temporary-directory", config=parsed) == "/srv/scratch/sam"


def test_environment_without_archive_or_gateway_and_override():
    settings = base_settings(services=[], daskGateway={"enabled": False}, environment={"PLATFORM_USER": "x"})
    env = user_environment(validate_settings(settings), "sam", [])
    assert "PLATFORM_ARCHIVE_URL" not in env
    assert not any(k.startswith("DASK_GATEWAY__") for k in env)
    assert env["PLATFORM_USER"] == "x"


def test_spawner_environment_callables_read_groups_at_spawn():
    c = Config()
    c.Spawner.environment = {"KEEP": "me"}
    configure(c, base_settings())
    env = c.Spawner.environment
    assert env["KEEP"] == "me"
    assert env["PLATFORM_HOME"](fake_spawner("sue", [])) == "/srv/home/sue"
    assert json.loads(env["PLATFORM_GROUPS"](fake_spawner("sue", ["astro101"]))) == ["astro101"]


def test_local_spawner_traits_and_default_url():
    c = Config()
    configure(c, base_settings())
    assert c.Spawner.default_url == "/lab"
    assert c.JupyterHub.spawner_class is AstroLocalSpawner
    assert c.AstroLocalSpawner.home_template == "/srv/home/{username}"
    assert c.AstroLocalSpawner.groups_root == "/srv/groups"
    assert c.AstroLocalSpawner.run_as_system_users is True
    assert c.AstroLocalSpawner.warm_kernels == 1
    assert [p["slug"] for p in c.AstroLocalSpawner.profiles] == ["small", "class"]
    assert c.Authenticator.username_pattern.startswith("^[a-z0-9]")
    assert "classes_root" not in c.AstroLocalSpawner  # no classes service: nobody gets formgrader
    c = Config()
    configure(c, base_settings(classes={"url": "http://127.0.0.1:8082", "apiToken": "cls"}))
    assert c.AstroLocalSpawner.classes_root == "/srv/classes"  # a class's instructors get formgrader on its course


def test_kubernetes_mode_without_builder_is_a_clear_error(monkeypatch):
    import astrohub_hub.kubernetes as k8s

    monkeypatch.delattr(k8s, "configure_kubernetes", raising=False)
    with pytest.raises(HubConfigError) as info:
        configure(Config(), base_settings(mode="kubernetes", local=None))
    assert info.value.key == "mode"
    assert "configure_kubernetes" in str(info.value)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"auth": {"kind": "shared-password", "adminPasword": ADMIN_PW}}, "auth.adminPasword"),
        ({"auth": {"kind": "shared-password", "adminPassword": "short"}}, "auth.adminPassword"),
        ({"auth": {"kind": "ldap"}}, "auth.kind"),
        ({"mode": "cloud"}, "mode"),
        ({"defaultUrl": ["/lab"]}, "defaultUrl"),
        ({"storage": {"home": "/h", "groupsRoot": "/g", "datasets": "/d"}}, "storage.scratch"),
        ({"profiles": [{"slug": "x", "displayName": "X", "memLimit": "lots"}]}, "profiles.0.memLimit"),
        ({"profiles": [{"slug": "x", "displayName": "X", "cpuLimit": "two"}]}, "profiles.0.cpuLimit"),
        ({"daskGateway": {"server": {"workerCores": 8, "workerCoresMax": 4}}}, "daskGateway.server"),
        ({"local": {"systemUserPrefix": "Bad Prefix"}}, "local.systemUserPrefix"),
        ({"local": {"warmKernels": -1}}, "local.warmKernels"),
        ({"grops": {}}, "grops"),
    ],
)
def test_validation_errors_name_the_key(change, key):
    with pytest.raises(HubConfigError) as info:
        validate_settings(base_settings(**change))
    assert info.value.key == key
    assert key in str(info.value)


def test_reference_to_undefined_group_is_named():
    settings = base_settings()
    settings["groups"]["teachers"]["instructorsOf"] = ["astro102"]
    with pytest.raises(HubConfigError, match=r"groups\.teachers\.instructorsOf: group 'astro102'"):
        validate_settings(settings)
    settings = base_settings()
    settings["profiles"][1]["groups"] = ["nobody"]
    with pytest.raises(HubConfigError, match=r"profiles\[1\]\.groups: group 'nobody'"):
        validate_settings(settings)


def test_unmappable_member_name_fails_configure():
    settings = base_settings()
    settings["groups"]["astro101"]["members"] = ["Sam Smith"]
    with pytest.raises(HubConfigError) as info:
        configure(Config(), settings)
    assert info.value.key == "groups.astro101.members"
    assert info.value.value == "Sam Smith"


def test_snake_case_keys_are_accepted():
    settings = validate_settings({"mode": "local", "default_url": "/tree", "storage": {
        "home": "/h/{username}", "groups_root": "/g", "datasets": "/d", "scratch": "/s"}})
    assert settings.default_url == "/tree"
    assert settings.storage.groups_root == "/g"


def test_service_without_url_gets_no_oauth_settings():
    settings = base_settings(services=[{"name": "cron", "apiToken": "t", "scopes": ["list:users"]}])
    c = Config()
    configure(c, settings)
    cron = next(s for s in c.JupyterHub.services if s["name"] == "cron")
    assert "oauth_no_confirm" not in cron and "url" not in cron
    assert not any(r["name"] == "user" and "access:services!service=cron" in r["scopes"]
                   for r in c.JupyterHub.load_roles)


def test_system_users_need_a_python_other_users_can_run(monkeypatch):
    monkeypatch.setattr(sys.modules["astrohub_hub.configure"], "unreachable_by_others", lambda path: "/root")
    with pytest.raises(HubConfigError) as info:
        configure(Config(), base_settings())
    assert info.value.key == "local.runAsSystemUsers"
    assert "chmod o+x /root" in str(info.value)
    c = Config()
    configure(c, base_settings(local={"runAsSystemUsers": False}))
    assert c.AstroLocalSpawner.run_as_system_users is False


def test_no_proxy_address_means_no_proxy_variable():
    settings = base_settings(daskGateway={"address": "http://hub/services/dask-gateway"})
    env = user_environment(validate_settings(settings), "sam", [])
    assert "DASK_GATEWAY__PROXY_ADDRESS" not in env
    assert env["DASK_GATEWAY__ADDRESS"] == "http://hub/services/dask-gateway"


def test_configure_merges_with_what_zero_to_jupyterhub_already_set():
    c = Config()
    c.JupyterHub.services = [{"name": "dask-gateway", "api_token": "from-secret"}]
    c.JupyterHub.load_roles = [{"name": "user", "scopes": ["self", "read:hub"]}]
    c.JupyterHub.load_groups = {"astro101": ["zoe"]}
    c.Authenticator.admin_users = {"ops"}
    c.KubeSpawner.environment = {"FROM_VALUES": "1"}
    import astrohub_hub.kubernetes as k8s

    seen = []
    k8s_settings = base_settings(mode="kubernetes", local=None)
    original = getattr(k8s, "configure_kubernetes", None)
    k8s.configure_kubernetes = lambda c, s: seen.append(s.mode)
    try:
        configure(c, k8s_settings)
    finally:
        if original is None:
            del k8s.configure_kubernetes
        else:
            k8s.configure_kubernetes = original
    assert seen == ["kubernetes"]
    gateway = [s for s in c.JupyterHub.services if s["name"] == "dask-gateway"]
    assert len(gateway) == 1
    assert gateway[0]["api_token"] == "from-secret"  # the chart's secret wins
    assert gateway[0]["url"] == "http://127.0.0.1:8787"  # our keys fill the gaps
    user_role = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert user_role["scopes"][:2] == ["self", "read:hub"]
    assert "access:services!service=dask-gateway" in user_role["scopes"]
    assert c.JupyterHub.load_groups["astro101"]["users"] == ["zoe", "sam", "sue"]
    assert c.Authenticator.admin_users == {"ops", "admin"}
    assert c.KubeSpawner.environment["FROM_VALUES"] == "1"
    assert callable(c.KubeSpawner.environment["PLATFORM_HOME"])
    assert c.KubeSpawner.default_url == "/lab"


def test_heap_freeze_waits_for_a_starting_hub():
    """No hub in this process: nothing is scheduled. A starting hub: its start-up heap is frozen
    once it is running (JupyterHub's own start future; the platform test checks the real hub)."""
    import asyncio
    import gc

    from jupyterhub.app import JupyterHub

    from astrohub_hub.heap import freeze_when_started

    assert not JupyterHub.initialized()
    assert freeze_when_started() is False
    loop = asyncio.new_event_loop()
    try:
        app = JupyterHub.instance()
        app._start_future = loop.create_future()  # what JupyterHub.initialize creates before loading its config
        before = gc.get_freeze_count()
        assert freeze_when_started() is True
        assert gc.get_freeze_count() == before  # not before the hub is running
        app._start_future.set_result(None)
        loop.run_until_complete(asyncio.sleep(0))  # run the future's callbacks
        assert gc.get_freeze_count() > before
        app._start_future = loop.create_future()
        app._start_future.set_result(None)
        assert freeze_when_started() is False  # already running: too late to schedule
    finally:
        gc.unfreeze()
        JupyterHub.clear_instance()
        loop.close()


def test_culling_runs_the_idle_culler_with_only_its_scopes_and_tells_servers():
    c = Config()
    configure(c, base_settings(cull={"enabled": True, "timeoutSeconds": 900, "everySeconds": 60,
                                     "warningSeconds": 120, "activityIntervalSeconds": 30}))
    culler = next(s for s in c.JupyterHub.services if s["name"] == "astrohub-culler")
    assert culler["command"][1:] == ["-m", "jupyterhub_idle_culler", "--timeout=900", "--cull-every=60"]
    role = next(r for r in c.JupyterHub.load_roles if r.get("services") == ["astrohub-culler"])
    assert sorted(role["scopes"]) == ["delete:servers", "list:users", "read:servers", "read:users:activity"]
    env = user_environment(validate_settings(base_settings(cull={"enabled": True, "timeoutSeconds": 900,
                                                                 "warningSeconds": 120})), "sam", [])
    assert (env["ASTROHUB_CULL_TIMEOUT"], env["ASTROHUB_CULL_WARNING"]) == ("900", "120")
    # Off by default: no culler, no variables.
    plain = Config()
    configure(plain, base_settings())
    assert not any(s["name"] == "astrohub-culler" for s in plain.JupyterHub.services)
    assert "ASTROHUB_CULL_TIMEOUT" not in user_environment(validate_settings(base_settings()), "sam", [])


def test_an_activity_interval_too_long_for_the_timeout_is_refused_naming_both():
    with pytest.raises(HubConfigError, match="activityIntervalSeconds=400.0 must be at most half of timeoutSeconds=600"):
        validate_settings(base_settings(cull={"enabled": True, "timeoutSeconds": 600, "activityIntervalSeconds": 400}))
