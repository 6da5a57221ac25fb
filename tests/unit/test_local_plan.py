"""Unit tests for the supervisor's pure parts: hub settings, generated files, process specs, state, ports."""

from __future__ import annotations

import ast
import json
import socket
import stat
from pathlib import Path

import pytest

from astrohub_hub import HubSettings
from astrohub_hub.settings import GatewayServerSettings
from platform_lib.local.config import LocalConfig, load_config
from platform_lib.local.errors import AlreadyRunningError, ConfigError, DataDirError, PortInUseError
from platform_lib.local.layout import DataLayout
from platform_lib.local.plan import (
    CLI_SERVICE,
    PROXY_GUARD,
    PROXY_MAX_HEADER_BYTES,
    hub_settings,
    plan_components,
    render_gateway_config,
    render_hub_config,
)
from platform_lib.local.ports import check_ports_free, free_ports
from platform_lib.local.state import Credentials, PlatformState
from platform_lib.local.supervisor import unreachable_by_others

CREDS = Credentials("admin", "a" * 40, "b" * 12)
TOKENS = {"proxy": "p" * 64, "gateway": "g" * 64, "archive": "r" * 64, "cli": "c" * 64}


def make(tmp_path: Path, **overrides) -> tuple[LocalConfig, DataLayout]:
    config = LocalConfig(data_dir=tmp_path / "data", **overrides)
    return config, DataLayout(config.data_dir)


def test_hub_settings_validate_against_the_hub_model(tmp_path):
    config, layout = make(tmp_path, groups={"astro101": {"members": ["ann"]}, "teachers": {"instructors_of": ["astro101"]}})
    settings = hub_settings(config, layout, CREDS, TOKENS, archive_command=["astrohub-archive"])
    model = HubSettings.model_validate(settings)
    assert model.storage.home == str(layout.home_root / "{username}")
    assert model.dask_gateway.address == "http://127.0.0.1:8000/services/dask-gateway"
    assert model.dask_gateway.proxy_address == "gateway://127.0.0.1:8786"
    assert model.groups["teachers"].instructors_of == ["astro101"]
    services = {s.name: s for s in model.services}
    assert services[CLI_SERVICE].api_token == TOKENS["cli"] and "admin:users" in services[CLI_SERVICE].scopes
    archive = services["archive"]
    assert archive.url == "http://127.0.0.1:8003" and archive.api_token == TOKENS["archive"]
    assert not archive.command, "the supervisor runs the archive, so it keeps serving while the hub restarts"


def test_the_supervisor_runs_the_archive_trusting_only_the_proxys_user(tmp_path):
    """Issue 22: the archive is a supervisor component (not a hub child) and gets ``--trusted-proxy uid:<proxy's>``."""
    config, layout = make(tmp_path, archive={"port": 9004})
    specs = {s.name: s for s in plan_components(config, layout, TOKENS, proxy_command="c", bin_dir=Path("/b"),
                                                archive_command=["astrohub-archive"], proxy_uid=123)}
    archive = specs["archive"]
    argv = archive.argv
    assert argv[0] == "astrohub-archive"
    assert argv[argv.index("--index") + 1] == str(layout.archive_images / "index.sqlite")
    assert argv[argv.index("--trusted-proxy") + 1] == "uid:123"
    assert archive.env["JUPYTERHUB_API_TOKEN"] == TOKENS["archive"]
    assert archive.env["JUPYTERHUB_API_URL"] == "http://127.0.0.1:8081/hub/api"
    assert archive.env["JUPYTERHUB_SERVICE_URL"] == "http://127.0.0.1:9004"
    assert archive.env["JUPYTERHUB_SERVICE_PREFIX"] == "/services/archive/"
    assert archive.health_url.startswith("http://127.0.0.1:9004/services/archive/")
    # The parser of the archive accepts what the plan passes.
    from astrohub_archive.app import build_parser
    from astrohub_archive.proxies import parse_trusted

    args = build_parser().parse_args(argv[1:])
    assert parse_trusted(args.trusted_proxy).uids == {123}


def test_astrohub_toml_sets_the_archives_hips_rest_expiry(tmp_path):
    """``archive.hips_rest_expiry`` reaches the archive's ``--hips-rest-expiry`` (unset: the archive's own default,
    no flag); below the archive's floor it is refused when the configuration is read, naming the key. Before, the
    600 s a HiPS's first part waits for its rest were a constant."""
    from astrohub_archive.app import build_parser

    def argv(**archive) -> list[str]:
        config, layout = make(tmp_path, archive={"port": 9004, **archive})
        return {s.name: s for s in plan_components(config, layout, TOKENS, proxy_command="c", bin_dir=Path("/b"),
                                                   archive_command=["astrohub-archive"])}["archive"].argv

    assert "--hips-rest-expiry" not in argv()
    given = argv(hips_rest_expiry=1800)
    assert build_parser().parse_args(given[1:]).hips_rest_expiry == 1800
    with pytest.raises(Exception, match="hips_rest_expiry"):
        argv(hips_rest_expiry=5)


def test_astrohub_toml_sets_the_archives_group_recheck(tmp_path):
    """``archive.group_recheck`` reaches the archive's ``--group-recheck-seconds`` (unset: the archive's own default,
    no flag; 0 passed on: asked at every request); negative or not a number is refused when the configuration is
    read, naming the key. Before, the flag had no setting: only its environment variable, which `astrohub up` does
    not pass on."""
    from astrohub_archive.app import build_parser

    def argv(**archive) -> list[str]:
        config, layout = make(tmp_path, archive={"port": 9004, **archive})
        return {s.name: s for s in plan_components(config, layout, TOKENS, proxy_command="c", bin_dir=Path("/b"),
                                                   archive_command=["astrohub-archive"])}["archive"].argv

    assert "--group-recheck-seconds" not in argv()
    for seconds in (0, 2.5, 30):
        assert build_parser().parse_args(argv(group_recheck=seconds)[1:]).group_recheck_seconds == seconds
    for bad in (-1, "soon", float("nan")):
        with pytest.raises(Exception, match="group_recheck"):
            argv(group_recheck=bad)


def test_astrohub_toml_sets_the_archives_hub_down_grace(tmp_path):
    """archive26: ``archive.hub_down_grace`` reaches the archive's ``--hub-down-grace-seconds`` (unset: the archive's
    own default, no flag; 0 passed on: no grace); negative or not a number is refused when the configuration is read,
    naming the key. Before, the grace was a constant (60 s) no setting reached."""
    from astrohub_archive.app import build_parser

    def argv(**archive) -> list[str]:
        config, layout = make(tmp_path, archive={"port": 9004, **archive})
        return {s.name: s for s in plan_components(config, layout, TOKENS, proxy_command="c", bin_dir=Path("/b"),
                                                   archive_command=["astrohub-archive"])}["archive"].argv

    assert "--hub-down-grace-seconds" not in argv()
    for seconds in (0, 2.5, 300):
        assert build_parser().parse_args(argv(hub_down_grace=seconds)[1:]).hub_down_grace_seconds == seconds
    for bad in (-1, "soon", float("nan"), float("inf")):
        with pytest.raises(Exception, match="hub_down_grace"):
            argv(hub_down_grace=bad)


def test_the_archive_loads_the_installs_compiled_kernel_from_a_cache_of_its_own(tmp_path):
    """The archive's positional joins call the crossmatch kernel: without a writable numba cache seeded
    from the install's, every start compiled it for 25 to 65 s (holding the GIL), joins meanwhile on
    DuckDB's range join. The plan gives it its own ``NUMBA_CACHE_DIR``; ``seed_cache`` fills it."""
    from platform_lib.crossmatch import seed_cache
    from platform_lib.crossmatch._warm import platform_cache_dir

    config, layout = make(tmp_path, archive={"port": 9004})
    specs = {s.name: s for s in plan_components(config, layout, TOKENS, proxy_command="c", bin_dir=Path("/b"),
                                                archive_command=["astrohub-archive"], proxy_uid=123)}
    cache = Path(specs["archive"].env["NUMBA_CACHE_DIR"])
    assert cache.parent == layout.state
    if not platform_cache_dir().is_dir():
        pytest.skip("no compiled kernel in this environment (`astrohub kernels compile` fills it at install)")
    seeded = sorted(p.relative_to(platform_cache_dir()) for p in platform_cache_dir().rglob("*") if p.is_file())
    assert seeded, "the install's cache is empty"
    assert seed_cache(cache) == len(seeded)
    assert sorted(p.relative_to(cache) for p in cache.rglob("*") if p.is_file()) == seeded
    assert seed_cache(cache) == 0  # unchanged files are not copied again


def test_archive_and_gateway_can_be_left_out(tmp_path):
    config, layout = make(tmp_path, gateway={"enabled": False})
    settings = hub_settings(config, layout, CREDS, TOKENS, archive_command=None)
    assert [s["name"] for s in settings["services"]] == [CLI_SERVICE]
    assert settings["dask_gateway"] == {"enabled": False}
    assert [s.name for s in plan_components(config, layout, TOKENS, proxy_command="chp", bin_dir=Path("/b"))] == [
        "proxy", "hub"]


@pytest.mark.parametrize(("flag", "backend"), [(None, "auto"), (True, "local"), (False, "unsafe")])
def test_gateway_backend_follows_the_user_mode(tmp_path, flag, backend):
    config, layout = make(tmp_path, users={"run_as_system_users": flag})
    settings = hub_settings(config, layout, CREDS, TOKENS)
    assert settings["dask_gateway"]["server"]["backend"] == backend
    assert settings["local"]["run_as_system_users"] is flag


def test_cluster_sharing_settings_reach_the_generated_gateway_configuration(tmp_path):
    """`daskGateway.server.clusterSharing` and `sharingRecheckSeconds` could be set in the Helm chart only: an
    astrohub.toml key for them was an unknown key, so a local platform always shared clusters, rechecked every 5 s.
    Now `gateway.cluster_sharing` and `gateway.sharing_recheck` (validated, named in errors) reach the gateway's
    authenticator through the generated dask_gateway_config.py; unset, the hub settings' defaults hold."""
    from traitlets.config import Config

    from platform_lib.local.config import load_config

    def authenticator(*overrides: str):
        empty = tmp_path / "astrohub.toml"  # not ./astrohub.toml, which a developer's platform may have
        empty.write_text("")
        config = load_config(empty, overrides=[f"data_dir={tmp_path / 'data'}", "users.run_as_system_users=false",
                                               *overrides], environ={})
        settings = hub_settings(config, DataLayout(config.data_dir), CREDS, TOKENS)
        c = Config()
        exec(compile(render_gateway_config(settings), "dask_gateway_config.py", "exec"), {"c": c})
        return c.HubTokenAuthenticator

    off = authenticator("gateway.cluster_sharing=false", "gateway.sharing_recheck=30")
    assert off.cluster_sharing is False and off.sharing_recheck_seconds == 30.0
    defaults = GatewayServerSettings()
    unset = authenticator()
    assert unset.cluster_sharing is defaults.cluster_sharing is True
    assert unset.sharing_recheck_seconds == defaults.sharing_recheck_seconds
    for bad in ("gateway.sharing_recheck=-1", "gateway.cluster_sharing=maybe"):
        with pytest.raises(ConfigError) as info:
            authenticator(bad)
        assert info.value.key == bad.partition("=")[0] and info.value.key in str(info.value)


def test_the_workspace_limit_reaches_the_classes_service_from_astrohub_toml(tmp_path):
    """teams24: nothing limited how many workspaces one person owns. `classes.max_workspaces_per_user` (unset: the
    hub setting `classes.maxWorkspacesPerUser`, its one owner and default) reaches the classes service's environment
    (ASTROHUB_CLASSES_MAX_WORKSPACES) and its workspaces' rule; a bad value names the key or the variable."""
    from astrohub_hub import HubConfigError
    from astrohub_hub.classes_service import from_environ, max_workspaces
    from astrohub_hub.configure import build_services
    from astrohub_hub.settings import ClassesSettings

    def service_environment(*overrides: str) -> dict:
        empty = tmp_path / "astrohub.toml"
        empty.write_text("")
        config = load_config(empty, overrides=[f"data_dir={tmp_path / 'data'}", "users.run_as_system_users=false",
                                               *overrides], environ={})
        settings = HubSettings.model_validate(hub_settings(config, DataLayout(config.data_dir), CREDS,
                                                           {**TOKENS, "classes": "k" * 64}))
        return next(s for s in build_services(settings) if s["name"] == "astrohub-classes")["environment"]

    env = service_environment("classes.max_workspaces_per_user=3")
    assert env["ASTROHUB_CLASSES_MAX_WORKSPACES"] == "3"
    teaching, _, _ = from_environ({**env, "JUPYTERHUB_API_URL": "http://127.0.0.1:1/hub/api",
                                   "JUPYTERHUB_API_TOKEN": "t", "ASTROHUB_CLASSES_GRADING": "off"})
    assert teaching.workspaces.max_per_user == 3
    default = ClassesSettings().max_workspaces_per_user
    assert default > 0 and service_environment()["ASTROHUB_CLASSES_MAX_WORKSPACES"] == str(default)
    assert service_environment("classes.max_workspaces_per_user=0")["ASTROHUB_CLASSES_MAX_WORKSPACES"] == "0"
    assert max_workspaces({}) == default  # the chart leaves it out when its value is not set
    with pytest.raises(ConfigError) as info:
        service_environment("classes.max_workspaces_per_user=-1")
    assert info.value.key == "classes.max_workspaces_per_user"
    with pytest.raises(HubConfigError, match="ASTROHUB_CLASSES_MAX_WORKSPACES: 'many' is not a whole number"):
        max_workspaces({"ASTROHUB_CLASSES_MAX_WORKSPACES": "many"})


def test_warm_kernels_reach_the_spawner_settings(tmp_path):
    config, layout = make(tmp_path, users={"warm_kernels": 0})
    assert hub_settings(config, layout, CREDS, TOKENS)["local"]["warm_kernels"] == 0
    with pytest.raises(ValueError, match="warm_kernels"):
        make(tmp_path, users={"warm_kernels": -1})


def test_generated_files_only_build_settings_and_call_configure(tmp_path):
    config, layout = make(tmp_path)
    settings = hub_settings(config, layout, CREDS, TOKENS)
    for text, func in ((render_hub_config(settings), "configure"), (render_gateway_config(settings), "configure_gateway")):
        tree = ast.parse(text)
        statements = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        assert all(isinstance(n, ast.ImportFrom) and n.module.startswith("astrohub_hub") for n in statements[:-1])
        call = statements[-1].value
        assert isinstance(call, ast.Call) and call.func.id == func
        inner = call.args[1]
        assert inner.func.attr == "model_validate_json"
        assert json.loads(inner.args[0].value) == json.loads(json.dumps(settings))


def test_plan_components_wires_ports_and_tokens(tmp_path):
    config, layout = make(tmp_path, hub={"port": 9000, "hub_port": 9001, "proxy_api_port": 9002}, gateway={"port": 9003})
    specs = {s.name: s for s in plan_components(config, layout, TOKENS, proxy_command="/x/chp", bin_dir=Path("/b"))}
    proxy, hub, gateway = specs["proxy"], specs["hub"], specs["dask-gateway"]
    assert proxy.argv[:4] == ["node", f"--max-http-header-size={PROXY_MAX_HEADER_BYTES}", str(PROXY_GUARD), "/x/chp"]
    assert PROXY_GUARD.is_file()
    assert "9000" in proxy.argv and "9002" in proxy.argv
    assert "--default-target" in proxy.argv and "http://127.0.0.1:9001" in proxy.argv
    assert proxy.env["CONFIGPROXY_AUTH_TOKEN"] == hub.env["CONFIGPROXY_AUTH_TOKEN"] == TOKENS["proxy"]
    assert "--JupyterHub.hub_port=9001" in hub.argv and "--ConfigurableHTTPProxy.should_start=False" in hub.argv
    assert f"--JupyterHub.db_url=sqlite:///{layout.hub_db}" in hub.argv
    assert hub.health_url == "http://127.0.0.1:9000/hub/api/"
    assert gateway.env["JUPYTERHUB_API_TOKEN"] == TOKENS["gateway"]
    assert gateway.env["JUPYTERHUB_API_URL"] == "http://127.0.0.1:9001/hub/api"
    assert gateway.health_url == "http://127.0.0.1:9000/services/dask-gateway/api/health"
    # polled through the proxy only once their own ports accept connections
    assert hub.listens_on == ("127.0.0.1", 9001) and gateway.listens_on == ("127.0.0.1", 9003)


def test_the_proxy_reads_request_lines_as_long_as_the_archive_does():
    """tap24: node's default limit (16 KiB) on a request's line and headers refused a longer URL (a pyvo SIA search
    of many IDs, a long ADQL GET) 431 with no body before the archive saw it; the proxy now reads what the archive
    reads, so the archive answers it (past its 64 KiB, with its own 414 naming the limit)."""
    from astrohub_archive.base import MAX_HEADER_BYTES, READ_HEADER_BYTES

    assert PROXY_MAX_HEADER_BYTES == READ_HEADER_BYTES > MAX_HEADER_BYTES


def test_layout_prepare_modes(tmp_path):
    layout = DataLayout(tmp_path / "data")
    layout.groups_root.mkdir(parents=True, mode=0o755)  # privacy14: an older data folder, listable by every user
    layout.groups_root.chmod(0o755)
    layout.prepare(as_root=False)
    assert stat.S_IMODE(layout.datasets.stat().st_mode) == 0o755
    assert stat.S_IMODE(layout.groups_root.stat().st_mode) == 0o711  # passable, not listable
    assert stat.S_IMODE(layout.state.stat().st_mode) == 0o700
    for path in (layout.home_root, layout.groups_root, layout.scratch_root, layout.logs):
        assert path.is_dir()
    assert layout.home("ann") == layout.root / "home" / "ann"
    assert layout.scratch("ann") == layout.root / "scratch" / "ann"


def test_layout_unwritable(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataDirError) as info:
        DataLayout(tmp_path / "file" / "data").check_writable()
    assert info.value.path == str(tmp_path / "file" / "data")


def test_state_secrets_are_generated_once_and_private(tmp_path):
    layout = DataLayout(tmp_path)
    layout.state.mkdir()
    state = PlatformState(layout)
    first = state.credentials("admin")
    assert len(first.admin_password) >= 32 and len(first.user_password) >= 8
    assert state.credentials("admin") == first
    assert state.credentials("admin", user_password="given-password").user_password == "given-password"
    tokens = state.tokens()
    assert state.tokens() == tokens and set(tokens) == {"proxy", "gateway", "archive", "cli", "classes"}
    for path in (layout.credentials_file, layout.tokens_file, state.ensure_cookie_secret()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_deleting_credentials_renews_the_admin_password_and_keeps_the_class_code(tmp_path):
    """An operator who deletes state/credentials.json to reset the admin password (as the docs say) had the class
    code renewed as well: every student who had not registered yet held a dead code. The class code is kept in its
    own file now (state/class-code.json), which renews it when deleted; an older credentials.json's is moved there."""
    layout = DataLayout(tmp_path)
    layout.state.mkdir()
    state = PlatformState(layout)
    first = state.credentials("admin")
    layout.credentials_file.unlink()
    second = state.credentials("admin")
    assert second.admin_password != first.admin_password and second.user_password == first.user_password
    layout.class_code_file.unlink()
    third = state.credentials("admin")
    assert third.admin_password == second.admin_password and third.user_password != second.user_password
    assert stat.S_IMODE(layout.class_code_file.stat().st_mode) == 0o600
    # an older version kept both in credentials.json: the class code moves out at the next start
    layout.class_code_file.unlink()
    layout.credentials_file.write_text(json.dumps({"admin_user": "admin", "admin_password": "a" * 32,
                                                   "user_password": "old-code-1"}))
    assert state.credentials("admin").user_password == "old-code-1"
    assert "user_password" not in json.loads(layout.credentials_file.read_text())
    layout.credentials_file.unlink()
    assert state.credentials("admin").user_password == "old-code-1"


def test_lock_refuses_a_second_holder(tmp_path):
    layout = DataLayout(tmp_path)
    first, second = PlatformState(layout), PlatformState(layout)
    first.acquire_lock()
    try:
        assert second.is_locked()
        with pytest.raises(AlreadyRunningError) as info:
            second.acquire_lock()
        assert info.value.pid == first.read_pid()
    finally:
        first.release_lock()
    assert not second.is_locked()
    assert not layout.pid_file.exists()


def test_ports(tmp_path):
    a, b = free_ports(2)
    check_ports_free({"hub.port": a, "hub.hub_port": b})
    with pytest.raises(ConfigError, match="both use port"):
        check_ports_free({"hub.port": a, "gateway.port": a})
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", a))
        busy.listen()
        with pytest.raises(PortInUseError) as info:
            check_ports_free({"hub.hub_port": b, "hub.port": a})
    assert info.value.key == "hub.port" and info.value.port == a and "--set hub.port=" in str(info.value)



def test_free_ports_are_none_the_kernel_gives_out_itself():
    """honest24: free_ports took its ports from the kernel (bind to port 0) and let them go, so the kernel could give
    the same port at once to any socket bound to port 0 or to an outgoing connection (a spawner, a Dask worker, the
    other xdist worker's platform) before the test's server listened on it: "address already in use" now and then
    under ``-n 2``. Its ports are now outside the kernel's ephemeral range, where the kernel gives none out."""
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = free_ports(4)
    assert len(set(ports)) == 4 and not [port for port in ports if low <= port <= high], (ports, low, high)
    assert not set(ports) & set(free_ports(4))  # and never twice to one process


def test_free_ports_never_gives_one_port_to_two_processes():
    """Two processes (the two xdist workers, or two test runs on one machine) asking at the same time get different
    ports: each port is held, while the process that got it lives, by an abstract Unix socket named after it."""
    import subprocess
    import sys

    ask = ("import sys\nfrom platform_lib.local.ports import free_ports\n"
           "print(*free_ports(6), flush=True)\nsys.stdin.read()")  # holds them until told to end
    first = subprocess.Popen([sys.executable, "-c", ask], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        mine = [int(port) for port in first.stdout.readline().split()]
        second = subprocess.run([sys.executable, "-c", ask], input="", capture_output=True, text=True, timeout=60,
                                check=True)
    finally:
        first.communicate(timeout=60)
    theirs = [int(port) for port in second.stdout.split()]
    assert len(mine) == len(theirs) == 6 and not set(mine) & set(theirs), (mine, theirs)


def _held(port: int) -> socket.socket | None:
    """A socket listening on ``port``, or None when another program holds it already (taken either way)."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    sock.listen()
    return sock


def test_up_with_only_a_public_port_moves_the_taken_internal_defaults_next_to_it():
    # first17: `up --port 8700` beside a platform on the defaults failed on port 8081 (hub.hub_port); the operator
    # had to set five ports by hand. The taken defaults now move to the public port + their offset, stably.
    from platform_lib.local.ports import move_taken_internal_ports

    public = free_ports(1)[0]
    held = [_held(8081), _held(8786)]  # hub.hub_port's and gateway.port's defaults: taken, by us or another
    try:
        config = load_config(overrides=[f"hub.port={public}", "archive.port=8123"],
                             environ={})
        moved, notes = move_taken_internal_ports(config)
        again, _ = move_taken_internal_ports(config)
        untouched, none = move_taken_internal_ports(load_config(overrides=[], environ={}))
    finally:
        for sock in held:
            if sock is not None:
                sock.close()
    assert (moved.hub.hub_port, moved.gateway.port) == (public + 1, public + 3)
    assert moved.archive.port == 8123  # set explicitly: kept
    assert moved.hub.port == public and moved.classes.port in (8004, public + 5)
    assert f"port 8081 (hub.hub_port) is in use by another program; using {public + 1}" in notes[0], notes
    assert any("--set gateway.port=PORT" in n for n in notes), notes
    assert again.ports() == moved.ports()  # the same `up` again: the same ports
    assert untouched.hub.hub_port == 8081 and not none  # no public port given: the clear error, as before
    # what up-config.json keeps and `status`/`down` read back
    assert LocalConfig.model_validate_json(moved.model_dump_json()).ports() == moved.ports()


def test_unreachable_by_others(tmp_path):
    private = tmp_path / "private"
    (private / "bin").mkdir(parents=True)
    exe = private / "bin" / "python"
    exe.write_text("")
    private.chmod(0o700)

    def first_blocked() -> str | None:  # computed independently, from the outermost folder in
        for folder in [*reversed(exe.parents)]:
            if not folder.stat().st_mode & 0o001:
                return str(folder)
        return None

    try:
        assert unreachable_by_others(str(exe)) == first_blocked() is not None
        private.chmod(0o711)
        assert unreachable_by_others(str(exe)) == first_blocked()
        assert unreachable_by_others(str(exe)) != str(private)
    finally:
        private.chmod(0o755)


def test_hub_runs_as_jupyterhub_without_the_slow_import(tmp_path):
    import subprocess
    import sys

    from platform_lib.local.plan import SKIPPED_HUB_IMPORTS, entry_point_command

    config, layout = make(tmp_path)
    hub = next(s for s in plan_components(config, layout, TOKENS, proxy_command="c", bin_dir=Path("/b")) if s.name == "hub")
    assert hub.argv[:2] == ["/b/python", "-c"]
    assert "from jupyterhub.app import main" in hub.argv[2] and "sys.modules['rfc3987_syntax'] = None" in hub.argv[2]
    assert hub.argv[3:5] == ["-f", str(layout.hub_config)]
    hub = next(s for s in plan_components(config, layout, TOKENS, proxy_command="c", bin_dir=Path("/b"),
                                          python="/py") if s.name == "hub")
    assert hub.argv[0] == "/py"
    # The generated command really runs an entry point with argv[0] set and the module hidden.
    (tmp_path / "probe.py").write_text(
        "import sys\ndef main():\n    import jsonschema._format\n"
        "    print(sys.argv, sys.modules['rfc3987_syntax'])\n    return 3\n"
    )
    result = subprocess.run(
        [*entry_point_command(sys.executable, "probe:main", "jupyterhub", SKIPPED_HUB_IMPORTS), "-f", "x"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout.strip() == "['jupyterhub', '-f', 'x'] None"


def test_sample_data_command_follows_the_setting_and_the_archive_paths(tmp_path):
    from platform_lib.local.config import load_config
    from platform_lib.local.layout import DataLayout
    from platform_lib.local.plan import sample_data_command

    layout = DataLayout(tmp_path)
    on = load_config(overrides=[f"data_dir={str(tmp_path)!r}", "archive.registry='/x/reg.sqlite'"], environ={})
    command = sample_data_command(on, layout, "/py")
    assert command[:4] == ["/py", "-m", "platform_lib.sampledata", str(layout.datasets)]
    assert command[command.index("--registry") + 1] == "/x/reg.sqlite"
    assert command[command.index("--images") + 1] == str(layout.archive_images)  # the archive's full tree
    off = load_config(overrides=["sample_data.enabled=false"], environ={})
    assert sample_data_command(off, layout, "/py") is None


def test_the_guides_loading_commands_write_where_the_platform_reads(tmp_path):
    """docs/local-platform.md, "Loading your data": the images an operator copies and indexes with its commands are
    the archive's image tree and index (which the archive serves and the platform publishes), and the catalogue
    goes into the registry the archive reads. The guide once said ``<data>/datasets/images``, the published view:
    an image loaded that way was never served (SIA found nothing)."""
    import re
    import shlex

    from platform_lib.local.config import load_config
    from platform_lib.local.plan import archive_paths

    guide = (Path(__file__).resolve().parents[2] / "docs" / "local-platform.md").read_text()
    section = guide[guide.index("## Loading your data"):]
    block = section[section.index("```console"): section.index("```", section.index("```console") + 3)]
    lines = [shlex.split(command) for line in block.splitlines()  # a line may be several commands (mkdir && cp)
             for command in line.replace("<data>", str(tmp_path)).split(" && ")
             if command.startswith(("astrohub ", "cp "))]
    index, images, registry = archive_paths(load_config(overrides=[], environ={}),
                                            DataLayout(tmp_path))
    update = next(argv for argv in lines if argv[:3] == ["astrohub", "archive", "update"])
    assert (Path(update[3]), Path(update[update.index("--index") + 1])) == (images, index), update
    copy = next(argv for argv in lines if argv[0] == "cp" and re.search(r"images", argv[-1]))
    assert Path(copy[-1]).parent == images, copy
    ingest = next(argv for argv in lines if argv[:3] == ["astrohub", "catalogs", "ingest"])
    assert Path(ingest[ingest.index("--registry") + 1]) == registry, ingest


def test_a_data_dir_that_is_a_file_is_named_as_not_a_directory(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataDirError, match=r"data directory .*/file is not a directory; choose another"):
        DataLayout(tmp_path / "file").check_writable()


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ('[groups."Bad Name"]\nmembers = ["ann"]\n', "groups", "group name 'Bad Name'"),
        ('[auth]\nadmin_password = "short"\n', "auth.admin_password", "at least 32 characters"),
        ('[auth]\nuser_password = "abc"\n', "auth.user_password", "at least 8 characters"),
        ('[auth]\nadmin_user = "Bad Admin"\n', "auth.admin_user", "hub user name 'Bad Admin' cannot be a system user"),
        ('[profiles.big]\ngroups = ["nope"]\n', "profiles.big.groups", "group 'nope' of profile 'big' is not defined"),
        ('[groups.t]\ninstructors_of = ["nope"]\n', "groups.t.instructors_of", "group 'nope' is not defined in groups"),
    ],
)
def test_up_refuses_what_the_hub_would_refuse_before_anything_starts(tmp_path, toml, key, words):
    """astrohub.toml values only the hub's settings judge (a group name that cannot name a folder, a short
    password) passed the checks of `up`, which then started the proxy and the hub; the hub died on its
    configuration and `up` printed its traceback (and a configured password was already kept in
    credentials.json). They are now one ConfigError naming the key, before the lock or any file is taken: the key
    as astrohub.toml spells it (a group or profile naming an undefined group was named as the hub's Helm values
    spell it, `groups.t.instructorsOf`, `profiles[0].groups`, or not at all)."""
    from platform_lib.local.config import load_config
    from platform_lib.local.supervisor import Supervisor

    path = tmp_path / "astrohub.toml"
    path.write_text(f"data_dir = {str(tmp_path / 'data')!r}\n" + toml)
    supervisor = Supervisor(load_config(path, environ={}), log=lambda line: None)
    with pytest.raises(ConfigError) as info:
        supervisor.preflight()
    assert info.value.key == key and words in str(info.value), str(info.value)
    assert f"configuration key '{key}'" in str(info.value) and "instructorsOf" not in str(info.value)
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "data" / "state").exists()


@pytest.mark.parametrize("key", ["admin_password", "user_password"])
def test_a_bad_stored_password_is_one_line_naming_the_file(tmp_path, key):
    """A password configured in astrohub.toml is kept in state/credentials.json and stays in use after the key is
    removed. One stored by older code unchecked (`admin_password = "short"`) passed `up`'s checks, which judged the
    configuration only, and the hub failed at start with a traceback. Now `up` refuses it before anything starts,
    in one line naming the file and what to do, without printing the password."""
    from platform_lib.local.config import load_config
    from platform_lib.local.supervisor import Supervisor

    state = tmp_path / "data" / "state"
    state.mkdir(parents=True)
    stored = {"admin_user": "admin", "admin_password": "a" * 32, "user_password": "u" * 8, key: "short"}
    (state / "credentials.json").write_text(json.dumps(stored))
    supervisor = Supervisor(load_config(overrides=[f"data_dir={str(tmp_path / 'data')!r}"], environ={}),
                            log=lambda line: None)
    with pytest.raises(ConfigError) as info:
        supervisor.preflight()
    message = str(info.value)
    assert info.value.key == f"auth.{key}" and str(state / "credentials.json") in message, message
    assert "delete" in message and "\n" not in message and "short" not in message, message
    assert json.loads((state / "credentials.json").read_text()) == stored
    # configured again, the configuration's value is used (and kept)
    good = Supervisor(load_config(overrides=[f"data_dir={str(tmp_path / 'data')!r}",
                                             f"auth.{key}={'c' * 40!r}"], environ={}), log=lambda line: None)
    from platform_lib.local.plan import check_hub_settings
    check_hub_settings(good.config, good.layout)


def test_what_a_killed_supervisor_left_running_is_named_and_stopped_by_down(tmp_path):
    """A supervisor killed with SIGKILL (the OOM killer) leaves the proxy, hub, gateway and archive running, each in
    its own process group: `status` said "not running" (exit 3), `down` "not running" (exit 2) and `up` "port ...
    is already in use by another program", with no command to stop them. Now `status` names them (exit 1), `up`
    refuses naming them and `astrohub down`, and `down` stops them. Real processes stand in for the components;
    the status file is the supervisor's own (`_write_status`), so it records when each started and a reused pid
    is never taken for one."""
    import subprocess
    import sys

    from platform_lib.local import control
    from platform_lib.local.config import load_config
    from platform_lib.local.plan import ComponentSpec
    from platform_lib.local.supervisor import Supervisor

    config = load_config(overrides=[f'data_dir="{tmp_path}"'], environ={})  # never the default data directory
    supervisor = Supervisor(config, log=lambda line: None)
    supervisor.layout.prepare(as_root=False)
    procs = {name: subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
             for name in ("proxy", "hub")}
    try:
        supervisor.procs = procs
        supervisor.specs = [ComponentSpec(name=name, argv=[]) for name in procs]
        supervisor._write_status(ready=True)  # then the supervisor dies: no lock held, the status file stays
        lines: list[str] = []
        assert control.status(config, echo=lines.append) == 1
        assert f"proxy (pid {procs['proxy'].pid}), hub (pid {procs['hub'].pid})" in lines[0], lines
        assert "`astrohub down`" in lines[0], lines
        with pytest.raises(AlreadyRunningError, match="ended without stopping proxy .* `astrohub down`, then start"):
            Supervisor(config, log=lambda line: None).preflight()
        assert control.down(config, echo=lines.append) == 0
        for proc in procs.values():
            assert proc.wait(timeout=5) is not None
        assert control.status(config, echo=lines.append) == 3
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()


def test_a_reused_pid_is_not_taken_for_a_component_left_running(tmp_path):
    layout = DataLayout(tmp_path)
    layout.prepare(as_root=False)
    state = PlatformState(layout)
    import os

    from platform_lib.processes import process_start_ticks

    mine = {"pid": os.getpid(), "url": "", "health_url": ""}
    state.write_status({"components": {"hub": {**mine, "start_ticks": process_start_ticks(os.getpid()) + 1}}})
    assert state.orphans() == {}
    state.write_status({"components": {"hub": {**mine, "start_ticks": process_start_ticks(os.getpid())}}})
    assert state.orphans() == {"hub": os.getpid()}


def test_readiness_through_the_proxy_waits_for_the_components_own_port_first(tmp_path, monkeypatch):
    """`up` polls the hub's and the gateway's health through the proxy every 0.1 s; while the hub was still
    starting each poll was a '503 GET /hub/api/ connect ECONNREFUSED' and a 'Failed to get custom error page' error
    in proxy.log, dozens at every start, which an operator reading the logs takes for a fault. Readiness now polls
    the health URL only once the component's own port accepts connections. Here a real HTTP server stands for the
    proxy and counts the polls; the component's port starts listening once the supervisor has found it closed three
    times (it slept 0.5 s: a readiness that polled at once passed whenever its first poll came later than that)."""
    import http.server
    import subprocess
    import sys
    import threading
    import time

    from platform_lib.local.config import load_config
    from platform_lib.local.plan import ComponentSpec
    from platform_lib.local.supervisor import Supervisor

    polls: list[float] = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            polls.append(time.monotonic())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    component = socket.socket()
    component.bind(("127.0.0.1", 0))
    listened: list[float] = []
    refused = threading.Semaphore(0)  # released at each connection to the component's port while it is closed
    connect = socket.create_connection

    def counted(address, *args, **kwargs):
        try:
            return connect(address, *args, **kwargs)
        except OSError:
            if tuple(address) == component.getsockname():
                refused.release()
            raise

    monkeypatch.setattr(socket, "create_connection", counted)

    def listen_later():
        for _ in range(3):  # (at most 30 s each: a readiness that never looks at the port is seen by its polls)
            refused.acquire(timeout=30)
        listened.append(time.monotonic())
        component.listen()

    config = load_config(overrides=[], environ={})
    supervisor = Supervisor(config, log=lambda line: None)
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        supervisor.procs = {"hub": process}
        spec = ComponentSpec(name="hub", argv=[], health_url=f"http://127.0.0.1:{proxy.server_port}/hub/api/",
                             listens_on=("127.0.0.1", component.getsockname()[1]))
        threading.Thread(target=listen_later, daemon=True).start()
        supervisor._wait_ready(spec, time.monotonic() + 30, {})
    finally:
        process.kill()
        process.wait()
        proxy.shutdown()
        component.close()
    assert listened and polls and all(at >= listened[0] for at in polls), (listened, polls)



def test_up_removes_the_catalogue_versions_a_replace_kept_once_their_time_is_up(tmp_path):
    """A replace keeps the version it replaced for the queries reading it (KEEP_REPLACED_S, then the next ingest
    removes it); a platform with no more ingests kept it for good. `up` removes those whose time is up, and only
    those: the current version and one replaced just now stay."""
    import os
    import time

    from platform_lib.catalogs import KEEP_REPLACED_S, Registry
    from platform_lib.local.config import load_config
    from platform_lib.local.plan import archive_paths
    from platform_lib.local.supervisor import Supervisor

    lines = []
    supervisor = Supervisor(load_config(overrides=[f"data_dir={str(tmp_path / 'data')!r}"], environ={}),
                            log=lines.append)
    registry = Registry(archive_paths(supervisor.config, supervisor.layout)[2])
    root = registry.data_root
    for name in ("cat_=aaaa", "cat_=bbbb", "cat_=cccc"):
        (root / name / "t").mkdir(parents=True)
    os.symlink("cat_=cccc", root / "cat")
    (root / ".replaced-cat_=aaaa").touch()
    (root / ".replaced-cat_=bbbb").touch()
    past = time.time() - KEEP_REPLACED_S - 1
    os.utime(root / ".replaced-cat_=aaaa", (past, past))
    supervisor._remove_replaced_catalogs()
    assert sorted(p.name for p in root.iterdir()) == [".ingest.lock", ".replaced-cat_=bbbb", "cat", "cat_=bbbb",
                                                     "cat_=cccc"]
    assert lines == ["catalogues: removed 1 replaced version(s) no query reads any more"]


def test_up_and_the_sample_data_load_keep_replaced_versions_for_the_operators_time(tmp_path):
    """code16: ``archive.keep_replaced`` (seconds) is how long `up` keeps a replaced catalogue version, and the
    sample data's load (which ingests and removes them too) gets it: a version replaced more than an hour ago but
    less than the operator's two stays, one replaced longer ago goes."""
    import os
    import time

    from platform_lib.catalogs import KEEP_REPLACED_S, Registry
    from platform_lib.cli import build_parser
    from platform_lib.local.config import load_config
    from platform_lib.local.plan import archive_paths, sample_data_command
    from platform_lib.local.supervisor import Supervisor

    config = load_config(overrides=[f"data_dir={str(tmp_path / 'data')!r}", "archive.keep_replaced=7200"],
                         environ={})
    supervisor = Supervisor(config, log=lambda line: None)
    root = Registry(archive_paths(config, supervisor.layout)[2]).data_root
    for name in ("cat_=aaaa", "cat_=bbbb", "cat_=cccc"):
        (root / name / "t").mkdir(parents=True)
    os.symlink("cat_=cccc", root / "cat")
    for name, age in (("cat_=aaaa", 7201), ("cat_=bbbb", KEEP_REPLACED_S + 1)):
        (root / f".replaced-{name}").touch()
        os.utime(root / f".replaced-{name}", (time.time() - age, time.time() - age))
    supervisor._remove_replaced_catalogs()
    assert sorted(p.name for p in root.iterdir()) == [".ingest.lock", ".replaced-cat_=bbbb", "cat", "cat_=bbbb",
                                                     "cat_=cccc"]
    command = sample_data_command(config, supervisor.layout, "/py")
    assert build_parser().parse_args(["sample-data", "load", *command[3:]]).keep_replaced == 7200


def test_the_archive_and_the_sample_data_load_index_with_the_operators_mappings(tmp_path):
    """code16: ``archive.mappings`` (folders of instrument mappings) reach both writers of the image index: the
    archive's updates and the sample data's load, which indexed the sample images without them."""
    from platform_lib.cli import build_parser
    from platform_lib.local.config import load_config
    from platform_lib.local.layout import DataLayout
    from platform_lib.local.plan import plan_components, sample_data_command

    config = load_config(overrides=[f"data_dir={str(tmp_path)!r}", "archive.mappings=['/srv/ours', '/srv/theirs']"],
                         environ={})
    from astrohub_archive.app import build_parser as archive_parser

    layout = DataLayout(tmp_path)
    folders = [Path("/srv/ours"), Path("/srv/theirs")]
    command = sample_data_command(config, layout, "/py")
    assert build_parser().parse_args(["sample-data", "load", *command[3:]]).mappings == folders
    specs = {s.name: s for s in plan_components(config, layout, TOKENS, proxy_command="c", bin_dir=Path("/b"),
                                                archive_command=["astrohub-archive"], proxy_uid=123)}
    assert archive_parser().parse_args(specs["archive"].argv[1:]).mappings == folders
    # a misspelt folder or a broken mapping stops `up` naming the key, not an index without them
    from platform_lib.local.errors import ConfigError
    from platform_lib.local.supervisor import check_mappings

    with pytest.raises(ConfigError, match="archive.mappings: /srv/ours is not a folder") as info:
        check_mappings(config)
    assert info.value.key == "archive.mappings"
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "cam.json").write_text("{'name': 'cam'}")
    with pytest.raises(ConfigError, match=r"archive.mappings: instrument mapping .*cam.json is not valid JSON"):
        check_mappings(load_config(overrides=[f"archive.mappings=[{str(ours)!r}]"], environ={}))
    (ours / "cam.json").write_text('{"name": "cam", "match": {"INSTRUME": "CAM"}}')
    check_mappings(load_config(overrides=[f"archive.mappings=[{str(ours)!r}]"], environ={}))


def test_status_shows_the_sample_datas_first_load(tmp_path):
    # first17: right after `up` the sample data loads for about a minute; `status` did not say so
    import time

    from platform_lib.local import control
    from platform_lib.sampledata import LOADING, MARKER

    config = load_config(overrides=[f'data_dir="{tmp_path / "data"}"'], environ={})
    layout = DataLayout(config.data_dir)
    layout.prepare(as_root=False)
    state = PlatformState(layout)
    state.acquire_lock()
    try:
        state.layout.status_file.write_text(json.dumps({"pid": 1, "url": "http://127.0.0.1:1/", "ready": True,
                                                         "components": {}}))
        (layout.datasets / LOADING).write_text(json.dumps({"started": time.time() - 30, "pid": 1}))
        lines: list[str] = []
        control.status(config, echo=lines.append)  # no hub answers here: unhealthy, the loading line first
        loading = [line for line in lines if "sample data" in line]
        assert loading and "sample data: loading, first load (started 3" in loading[0], lines
        assert str(layout.log("sampledata")) in loading[0], lines
        (layout.datasets / MARKER).write_text("{}")  # loaded
        lines.clear()
        control.status(config, echo=lines.append)
        assert not [line for line in lines if "sample data" in line], lines
    finally:
        state.release_lock()


def test_free_ports_skip_a_port_an_earlier_servers_connections_linger_on(monkeypatch):
    """A port whose earlier server closed a connection first keeps it in TIME_WAIT for a minute: servers bind it
    anyway (SO_REUSEADDR) but a plain ``bind``, as tests do to hold a port busy, fails with "address already in
    use" (seen once: test_ports). free_ports checks strictly, so it gives no such port."""
    from platform_lib.local import ports as ports_module

    [port] = free_ports(1)
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()  # the server's side closes first: its end lingers in TIME_WAIT
            client.recv(1)
    assert ports_module._bind_error(port, "127.0.0.1") is None  # a server could listen on it, a plain bind not
    ports_module._RESERVED.pop(port).close()  # let it go, and make it the only port free_ports may look at
    monkeypatch.setattr(ports_module, "FREE_PORT_RANGE", range(port, port + 1))
    with pytest.raises(RuntimeError, match="fewer than 1 free ports"):
        free_ports(1)
