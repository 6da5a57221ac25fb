"""Usage you can see, as real users on the running platform (issue 19 item 6).

A user in one group sees, from code (``platform_lib.usage()`` in their kernel) and from the hub (the classes
service's ``api/usage`` and page), their home and their group's folder with the quotas an operator set, and
neither another user's home nor a group they are not in; and their running Dask cluster's workers, cores and
memory, from code and on the hub (the classes service asks the gateway with its own token, for the signed-in
user only: another user sees none of it, and a user's token cannot read another's figures at the gateway).
The quotas are the operator's (``astrohub quotas set``, or an admin's ``PUT api/quotas/...``): a member can neither
raise nor remove their group's (group13: the quota file lay in the group's folder, which every member writes), and
the hub shows a change at once.
"""

from __future__ import annotations

import json
import re
import textwrap

import requests

#: In a member's kernel: every way to raise or remove the group's quota, and a write past it.
TAMPER = textwrap.dedent("""
    import json, os
    from platform_lib.storage import QuotaExceeded, Storage, StorageError
    st, out = Storage(), {}
    try:
        st.set_quota("group/MINE", 10**15); out["set_quota"] = "allowed"
    except StorageError as exc:
        out["set_quota"] = exc.code
    folder = os.path.normpath(st.local_path("group/MINE:"))
    quota = os.path.join(os.path.dirname(folder), ".astrohub-quotas", "MINE.json")
    big = '{"bytes": 1000000000000000}'
    open(os.path.join(folder, "q.json"), "w").write(big)
    open(os.path.join(folder, ".astrohub-quota.json"), "w").write(big)  # where the quota was read from
    for label, attempt in (("edit", lambda: open(quota, "w").write(big)), ("delete", lambda: os.unlink(quota)),
                           ("replace", lambda: os.rename(os.path.join(folder, "q.json"), quota))):
        try:
            attempt(); out[label] = "allowed"
        except OSError as exc:
            out[label] = type(exc).__name__
    out["quota"] = st.usage("group/MINE").quota
    try:
        st.write_bytes("group/MINE:big.bin", b"x" * 50_000_001); out["past it"] = "written"
    except QuotaExceeded:
        out["past it"] = "QuotaExceeded"
    for name in ("q.json", ".astrohub-quota.json"):
        os.unlink(os.path.join(folder, name))
    print(json.dumps(out))
""")

def test_a_user_sees_their_own_and_their_groups_usage_and_quota_and_their_dask_cluster(platform, poll):
    ann, bob = platform.unique("useann"), platform.unique("usebob")
    mine, theirs = platform.unique("usemine"), platform.unique("usetheirs")
    for user in (ann, bob):
        platform.create_user(user)
    platform.create_group(mine, [ann])
    platform.create_group(theirs, [bob])
    groups = platform.data_dir / "groups"
    poll(lambda: (groups / mine).is_dir() and (groups / theirs).is_dir(), 60, "the group folders")
    # Quotas are the operator's (astrohub quotas set), kept beside the folders, out of the members' reach.
    for space, size in ((f"group/{mine}", "50MB"), (f"group/{theirs}", "7")):
        assert platform.astrohub("quotas", "set", space, size).returncode == 0
    # teams22: her workspace's hub group ws-<name> (no group folder) was listed as an empty space group/ws-<name>
    team = platform.unique("useteam")
    assert platform.classes_api(ann, "POST", "workspaces", {"name": team}).status_code == 200
    platform.start_server(ann)
    try:
        assert platform.astrohub("quotas", "set", f"home/{ann}", "20000000").returncode == 0
        if platform.system_user(ann):  # group13: a member raised or removed the group's quota (a file in its folder)
            tamper = json.loads(platform.execute(ann, TAMPER.replace("MINE", mine)).strip().splitlines()[-1])
            assert tamper == {"set_quota": "not-the-operator", "edit": "PermissionError",
                              "delete": "PermissionError", "replace": "PermissionError",
                              "quota": 50_000_000, "past it": "QuotaExceeded"}, tamper
        code = textwrap.dedent("""
            import json, platform_lib
            from platform_lib.storage import Storage
            Storage().write_bytes("home:usage/data.bin", b"x" * 300_000)
            Storage().write_bytes("group/MINE:notes/plan.txt", b"n" * 1_000)
            from dask_gateway import Gateway
            cluster = Gateway().new_cluster(shutdown_on_close=False)   # kept running for the hub's view
            cluster.scale(1)
            with cluster.get_client() as client:
                client.wait_for_workers(1, timeout=120)
                report = platform_lib.usage()
            print(json.dumps({"name": cluster.name, **report.to_dict()}))
        """)
        report = json.loads(platform.execute(ann, code.replace("MINE", mine), timeout=240).strip().splitlines()[-1])
        spaces = report["storage"]
        assert spaces["home"]["quota"] == 20_000_000 and spaces["home"]["used"] >= 300_000, spaces
        assert spaces[f"group/{mine}"]["quota"] == 50_000_000, spaces
        assert f"group/{theirs}" not in spaces and "datasets" not in spaces, sorted(spaces)
        assert f"workspace/{team}" in spaces and f"group/ws-{team}" not in spaces, sorted(spaces)
        assert report["problems"] == [], report
        (cluster,) = report["dask"]
        assert cluster["status"] == "running" and cluster["workers"] == 1, cluster
        assert cluster["cores"] >= 1 and cluster["memory"] > 0, cluster
        assert report["totals"]["workers"] == 1
        name = report["name"]
        # The hub's view of Dask: the classes service asks the gateway with its own token, for ann only.
        def hub_usage(user):
            return platform.classes_api(user, "GET", "usage").json()

        def shown():  # the gateway learns worker counts from the scheduler's heartbeat (soon after a join)
            clusters = hub_usage(ann)["dask"]["clusters"]
            return clusters if clusters and clusters[0]["workers"] == 1 else None

        (seen,) = poll(shown, 60, "ann's Dask worker on the hub's usage")
        assert seen == {"name": name, "status": "running", "workers": 1, "cores": cluster["cores"],
                        "memory": cluster["memory"]}, (seen, cluster)
        assert hub_usage(bob)["dask"] == {"clusters": [], "problem": None}
        # At the gateway, each token alone (no shared session: the gateway's cookie would stand for its first user).
        gateway = f"{platform.url}services/dask-gateway/usage"
        mine_direct = requests.get(gateway, timeout=60,
                                   headers={"Authorization": f"token {platform.user_token(ann)}"})
        assert mine_direct.status_code == 200 and [c["name"] for c in mine_direct.json()["clusters"]] == [name]
        for query in ({"user": ann}, {}):  # bob may not read ann's figures, and his own list is empty
            answer = requests.get(gateway, params=query, timeout=60,
                                  headers={"Authorization": f"token {platform.user_token(bob)}"})
            assert (answer.status_code, name in answer.text) == ((403, False) if query else (200, False)), answer.text
        # The hub's view: the same quotas, only ann's spaces; bob's token sees bob's.
        used = platform.classes_api(ann, "GET", "usage").json()
        assert used["user"] == ann and used["home"]["quota"] == 20_000_000 and used["home"]["bytes"] >= 300_000
        assert used["groups"] == {mine: used["groups"][mine]} and used["groups"][mine]["quota"] == 50_000_000
        # team12: the hub counted disk blocks (4096 bytes for this file) where the quota counts sizes
        assert (used["groups"][mine]["bytes"], used["groups"][mine]["files"]) == (1_000, 1) == (
            spaces[f"group/{mine}"]["used"], spaces[f"group/{mine}"]["files"]), (used["groups"], spaces)
        other = platform.classes_api(bob, "GET", "usage").json()
        assert other["user"] == bob and list(other["groups"]) == [theirs] and other["home"]["quota"] is None
        page = platform.login(ann).get(f"{platform.url}services/astrohub-classes/", timeout=60).text
        # teams23: each size in the unit it reaches (the group's 1,000 bytes showed as 0.0 MB); one formatter for
        # what is used and for the quota
        assert f"<tr><td>group {mine}</td><td>1.0 kB</td><td>1</td><td>50.0 MB</td></tr>" in page, page
        assert re.search(r"<tr><td>home</td><td>[0-9.,]+ [kM]B</td><td>\d+</td><td>20.0 MB</td></tr>", page), page
        assert theirs not in page and bob not in page
        assert f"<td>{name}</td><td>running</td><td>1</td><td>{cluster['cores']}</td>" in page, page
        assert name not in platform.login(bob).get(f"{platform.url}services/astrohub-classes/", timeout=60).text
        # an admin changes a quota (the classes service's API; a member may not), and the hub shows it at once
        refused = platform.classes_api(ann, "PUT", f"quotas/group/{mine}", {"bytes": 10**15})
        assert refused.status_code == 403 and "operator" in refused.json()["message"], refused.text
        changed = platform.classes_api(platform.admin_user, "PUT", f"quotas/group/{mine}", {"bytes": 60_000_000})
        assert changed.status_code == 200 and changed.json() == {"space": f"group/{mine}", "bytes": 60_000_000}
        assert platform.classes_api(ann, "GET", "usage").json()["groups"][mine]["quota"] == 60_000_000
        assert f"group/{mine}\t60000000" in platform.astrohub("quotas", "show", "--bytes").stdout
    finally:
        platform.execute(ann, "from dask_gateway import Gateway\n"
                              "with Gateway() as g:\n    [g.stop_cluster(c.name) for c in g.list_clusters()]")
        platform.stop_server(ann)
