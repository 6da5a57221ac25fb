"""Whether the archive serves a view's survey: a survey given to ``viz.Aladin`` / ``viz.show`` or set later
(``w.survey``, ``w.overlay_survey``) is looked for on the archive (its ``properties``, one request) before the view
is sent it. A survey the archive does not serve (a typo, ``hips/images`` before the archive has an image HiPS, a
HiPS deleted or no longer shared with you) is refused naming it and the image HiPS there are: Aladin Lite drew
nothing for it, with no word (the page's error only in the browser's console). Its warnings (a survey still being
built, an archive that does not answer) point at the user's line, past the widget packages between (traitlets
calls the view's validator). May import ``platform_lib.retrieval`` (the HTTP session carrying the user's token),
``platform_lib.settings`` and this package's modules.
"""

from __future__ import annotations

import difflib
import warnings
from urllib.parse import urlparse

from platform_lib.errors import stacklevel_outside
from platform_lib.viz._errors import VizError

__all__ = ["CHECK_TIMEOUT", "check_survey"]

#: The packages a survey set by the user passes through before the check: ipyaladin's constructor (through
#: anywidget and ipywidgets) sets the trait, and traitlets calls the view's validator.
_THROUGH = ("traitlets", "ipywidgets", "anywidget", "ipyaladin")

#: Seconds the look for a survey's ``properties`` may take: the archive answers one it has at once, and holds the
#: request of a registry catalogue's HiPS it is still building until it is built (then the survey is let through,
#: with a warning: the view draws it once it is there).
CHECK_TIMEOUT = 3.0
#: The archive's default background, always served (an empty sky until a catalogue is loaded): not looked for.
_ALWAYS = "hips/sky"


def _archive_root(base: str, settings):
    """(the archive's URL as this kernel reaches it, ``settings.archive_url``; the settings) where its path is
    ``base`` (the path the browser reaches it at); None where there is no archive, or the view was given another
    one. The settings carry the user's token, which the session sends to the archive: without it the list of the
    user's own HiPS was refused (401) and a mistyped ``hips/~/...`` had no did-you-mean."""
    try:
        if settings is None:
            from platform_lib.settings import get_settings

            settings = get_settings()
        url = settings.archive_url or ""
    except Exception:  # settings that do not validate outside the platform: nothing to ask
        return None
    where = urlparse(url)
    if not where.scheme or not where.netloc or where.path.rstrip("/") + "/" != base:
        return None
    return url.rstrip("/") + "/", settings


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=stacklevel_outside(__file__, *_THROUGH))


def _served(root: str, session, mine: bool) -> list[str]:
    """The image HiPS the archive serves (``hips/<name>``, those it is building too), or the user's own and those
    shared with them (``mine``: ``hips/~/<name>``); empty where it does not say."""
    try:
        if mine:
            answer = session.get(root + "hips/~/").json()
            records = [*answer.get("hips", ()), *answer.get("shared_with_me", ())]
            return sorted("hips/~/" + r["name"] for r in records if r.get("name"))
        # build=no: a typo must not start the build of every catalogue HiPS the archive lacks (it queued them all
        # ahead of the HiPS the user asks for next)
        answer = session.get(root + "hips/index.json", params={"build": "no"}).json()
    except Exception:  # the list is a hint: without it the message names the survey alone
        return []
    images = {"hips/" + h["name"] for h in answer.get("hips", ()) if h.get("type") != "catalog"}
    images |= {"hips/" + name for name in answer.get("building", ()) if name.endswith("-density")
               or name in ("sky", "images")}  # a catalogue's own HiPS being built is a catalogue
    return sorted(images)


def _properties(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            out[key.strip()] = value.strip()
    return out


def check_survey(survey: str, base: str, what: str = "survey", *, settings=None) -> None:
    """Look for ``survey`` (a path or URL under the archive's path ``base``, as
    :func:`~platform_lib.viz._widget.platform_survey` makes it) on the archive: a :class:`VizError` naming it, the
    archive's reason, what it may be a misspelling of and the image HiPS there are where the archive has no such
    HiPS (or only a HiPS catalogue, which is shown with ``w.show``, not as a survey); a warning where the archive
    is still building it or does not answer. Nothing is asked where this kernel has no archive at ``base``, and
    the default ``hips/sky`` is always there."""
    rel = urlparse(survey).path[len(base):].strip("/")
    if not survey or rel == _ALWAYS:
        return
    found = _archive_root(base, settings)
    if found is None:
        return
    root, settings = found
    import requests

    from platform_lib.retrieval import make_session

    with make_session(settings, retries=0, timeout=CHECK_TIMEOUT) as session:  # closed when done
        try:
            response = session.get(f"{root}{rel}/properties")
        except requests.Timeout:
            _warn(f"{what}={survey!r}: the archive did not answer within {CHECK_TIMEOUT:g} s (still building "
                  "it?); the view shows it once the archive serves it")
            return
        except requests.RequestException as exc:
            _warn(f"{what}={survey!r} could not be looked for on the archive ({exc}); the view says so if it cannot "
                  "load it")
            return
        if response.ok:
            kind = _properties(response.text).get("dataproduct_type", "")
            if kind == "catalog":
                raise VizError(f"{what}={survey!r} is a HiPS catalogue (sources), not an image survey: show it over "
                               f"the survey with w.show(...) or w.add_catalog_hips({survey!r})", value=survey)
            return
        if response.status_code != 404:
            _warn(f"{what}={survey!r} could not be looked for on the archive (it answered HTTP "
                  f"{response.status_code}); the view says so if it cannot load it")
            return
        reason = response.text.strip().splitlines()[0][:300] if response.text.strip() else "404"
        there = _served(root, session, rel.startswith("hips/~/"))
        close = difflib.get_close_matches(rel, there, n=2, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        listed = (f" The archive serves: {', '.join(there[:20])}{' ...' if len(there) > 20 else ''}" if there else
                  " The archive lists none you may read")
        mine = " (yours and those shared with you: viz.my_hips())" if rel.startswith("hips/~/") else ""
        raise VizError(f"{what}={survey!r} is not a HiPS the archive serves (the archive answered {reason}); the "
                       f"view would be blank.{hint}{listed}{mine}.", value=survey)
