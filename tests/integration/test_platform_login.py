"""Each user signs in as themselves only (issue 22 item 1), against the running platform's real hub.

Default sign-in is ``roster``: names on the roster set their own password once at ``/hub/register``
with the class code; the class code signs nobody in. Driven through the login and registration
forms, as a browser posts them.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def classmates(platform):
    """Two students on the roster; secbob has registered his own password, mallory hers."""
    bob, mallory = platform.unique("secbob"), platform.unique("mallory")
    platform.create_user(bob)
    platform.create_user(mallory)
    return bob, platform.password(bob), mallory, platform.password(mallory)


def _signed_in_as(platform, response) -> str | None:
    """The user a successful login redirected to, or None when the login page came back."""
    if response.status_code != 302:
        return None
    return response.headers["Location"]


def test_a_student_cannot_sign_in_as_a_classmate(platform, classmates):
    bob, _bob_pw, _mallory, mallory_pw = classmates
    # (At most 4 failures: a fifth would lock bob's name for a minute, see the rate-limit test.)
    attempts = [(bob, platform.user_password), (bob.upper(), platform.user_password),
                (f" {bob.upper()} ", mallory_pw), (f"{bob} ", mallory_pw)]
    for name, password in attempts:
        _session, response = platform.login_form(name, password)
        assert _signed_in_as(platform, response) is None, (name, password)
        assert "Invalid username or password" in response.text


def test_name_variants_are_the_same_account_and_need_its_own_password(platform, classmates):
    bob, bob_pw, _mallory, _mallory_pw = classmates
    for name in (bob.upper(), f"{bob} "):
        session, response = platform.login_form(name, bob_pw)
        assert response.status_code == 302, (name, response.text[:300])
        assert session.get(f"{platform.hub_api}/user", timeout=30).json()["name"] == bob


def test_the_class_code_registers_only_names_on_the_roster_without_a_password(platform, classmates):
    bob, _bob_pw, _mallory, _ = classmates
    # A classmate cannot take over an account that already has a password...
    for name in (bob, bob.upper(), f"{bob} "):
        response = platform.register(name, "taken-over-123")
        assert response.status_code == 400 and "already has a password" in response.text, name
    # ...nor register a name nobody put on the roster...
    stranger = platform.unique("stranger")
    response = platform.register(stranger, "strangers-pw-1")
    assert response.status_code == 400 and "not on the roster" in response.text
    assert platform.api("GET", f"/users/{stranger}").status_code == 404
    # ...nor register without the right class code.
    newcomer = platform.unique("newcomer")
    platform.create_user(newcomer)
    response = platform.register(newcomer, "newcomers-pw-1", code="wrong-code-123")
    assert response.status_code == 400 and "class code is wrong" in response.text
    # Bad choices are explained, and the admin account cannot be registered.
    assert "at least 8" in platform.register(newcomer, "short").text
    assert "admin account" in platform.register(platform.admin_user, "admins-pw-123").text


def test_a_deleted_users_password_is_forgotten(platform):
    name = platform.unique("leaver")
    platform.create_user(name)
    old = platform.password(name)
    platform.api("DELETE", f"/users/{name}").raise_for_status()
    platform.create_user(name)  # a new person gets the name: the old password does not open it
    assert platform.login_form(name, old)[1].status_code != 302
    assert platform.register(name, "newcomers-own-pw").status_code == 302


def test_failed_sign_ins_are_rate_limited_per_name(platform):
    victim = platform.unique("ratelimited")
    platform.create_user(victim)
    password = platform.password(victim)
    for _ in range(5):
        _session, response = platform.login_form(victim, "guess-guess-guess")
        assert response.status_code == 403 or "Invalid username or password" in response.text
    # Over the limit even the right password is refused for a while, with a clear message.
    _session, response = platform.login_form(victim, password)
    assert response.status_code == 429, response.status_code
    assert "Too many failed attempts" in response.text


def test_admin_adds_a_roster_in_bulk_and_a_bad_row_changes_nothing(platform, tmp_path):
    ann, ben, cat = (platform.unique(n) for n in ("rann", "rben", "rcat"))
    course, team = platform.unique("course"), platform.unique("rteam")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"username,groups\n{ann},{course}\nNot A Name,{course}\n{ben.upper()},{course}\n{ben},\n")
    result = platform.astrohub("users", "add", "--csv", str(bad))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "row 3" in result.stderr and "'not a name'" in result.stderr and "row 5" in result.stderr
    assert "nothing was changed" in result.stderr
    assert platform.api("GET", f"/users/{ann}").status_code == 404
    assert platform.api("GET", f"/groups/{course}").status_code == 404

    good = tmp_path / "roster.csv"
    good.write_text(f"Username,Email,Groups\n{ann.upper()},a@example.org,{course}\n{ben} ,,{course};{team}\n{cat},,\n")
    result = platform.astrohub("users", "add", "--csv", str(good))
    assert result.returncode == 0, result.stdout + result.stderr
    platform.users.update({ann, ben, cat})
    assert "3 new user(s), 2 new group(s)" in result.stdout
    assert f"once at {platform.url}hub/register with the class code" in result.stdout, result.stdout
    assert sorted(platform.api("GET", f"/groups/{course}").json()["users"]) == sorted([ann, ben])
    assert platform.api("GET", f"/groups/{team}").json()["users"] == [ben]
    # People on the roster register their own password, then sign in with it.
    _session, response = platform.login_form(cat, platform.password(cat))
    assert response.status_code == 302
    # Running it again changes nothing.
    again = platform.astrohub("users", "add", "--csv", str(good))
    assert again.returncode == 0 and "0 new user(s), 0 new group(s), 0 new membership(s)" in again.stdout
