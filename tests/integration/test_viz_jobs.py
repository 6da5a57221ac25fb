"""``viz.show(job)`` and ``viz.plot(job)`` on real background jobs (:mod:`platform_lib.jobs`: detached
runner processes writing to the user's storage): a crossmatch job's pairs reach the widget's model state
and the browser as two catalogues, its static figure is the separation diagnostic; a job not finished (or
failed) is a message in the widget and a ``VizError`` from ``plot``, never a traceback or a blank view.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from platform_lib import get_settings, jobs, viz

SLOW_KIND = textwrap.dedent(
    """
    import time

    def slow(params, ctx):
        ctx.progress(0.25, "working")
        time.sleep(600)
    """
)


@pytest.fixture()
def home(tmp_path):
    home = tmp_path / "home"
    (home / "in").mkdir(parents=True)
    rng = np.random.default_rng(7)
    n = 200
    left = Table({"ra": rng.uniform(150, 151, n), "dec": rng.uniform(2, 3, n), "id": np.arange(n)})
    right = Table({"ra": left["ra"] + rng.normal(0, 1e-4, n), "dec": left["dec"] + rng.normal(0, 1e-4, n),
                   "gmag": rng.uniform(12, 20, n)})
    left.write(home / "in" / "left.parquet", format="parquet")
    right.write(home / "in" / "right.parquet", format="parquet")
    return home


def _widget():
    w = viz.Aladin(archive_url="http://hub.example:8000/services/archive/")
    w.sent = []
    w.send = lambda content, buffers=None: w.sent.append((content, buffers))  # the comm to the browser
    w._is_loaded = True
    return w


def _png(fig) -> np.ndarray:
    import matplotlib.image as mpimg

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    buf.seek(0)
    return mpimg.imread(buf)


def test_show_and_plot_a_real_crossmatch_job(home):
    from astropy.io.votable import parse_single_table

    settings = get_settings(home=home)
    job = jobs.submit("crossmatch", {"left": "in/left.parquet", "right": "in/right.parquet", "radius": "2 arcsec"},
                      settings=settings, output="out/pairs.parquet")
    assert job.wait(timeout=240) == "succeeded", job.log()
    pairs = job.result()
    assert len(pairs) >= 190  # 200 sources moved by ~0.5 arcsec: nearly all matched

    w = _widget().show(job)
    assert w.astrohub_message == ""
    assert [(layer["kind"], layer["name"]) for layer in w.layers] == [("table", "crossmatch left"),
                                                                      ("table", "crossmatch right")]
    left, right = w.layers
    assert left["rows"] == right["rows"] == left["total"] == len(pairs)
    assert left["ra"] == [float(v) for v in pairs["ra_1"][:3]] and right["dec"] == [float(v) for v in pairs["dec_2"][:3]]
    sent = [parse_single_table(io.BytesIO(bytes(b[0]))).to_table() for c, b in w.sent
            if c.get("event_name") == "add_table"]
    assert [len(t) for t in sent] == [len(pairs), len(pairs)]
    np.testing.assert_allclose(np.sort(sent[1]["ra_2"]), np.sort(np.asarray(pairs["ra_2"])))

    fig = viz.plot(job)  # the separation diagnostic: histogram against a Rayleigh fit, and the offsets
    img = _png(fig)
    assert img.shape[:2] == (460, 1100)
    assert img[..., :3].std() > 0.05  # not blank
    hist = fig.axes[0]
    assert hist.get_xlabel() == "separation (arcsec)"
    assert sum(p.get_height() for p in hist.patches) == len(pairs)


def test_a_job_not_finished_or_cancelled_is_a_message(home, tmp_path):
    settings = get_settings(home=home)
    kinds = tmp_path / "kinds"
    kinds.mkdir()
    (kinds / "astrohub_viz_slow.py").write_text(SLOW_KIND)
    job = jobs.submit("astrohub_viz_slow:slow", {}, settings=settings, sys_path=[str(kinds)])
    try:
        with pytest.warns(UserWarning, match="nothing to show yet: job .* call wait"):
            w = _widget().show(job)
        assert w.layers == [] and "nothing to show yet" in w.astrohub_message
        with pytest.raises(viz.VizError, match="nothing to show yet"):
            viz.plot(job)
    finally:
        assert job.cancel() == "cancelled"
    with pytest.raises(viz.VizError, match="nothing to show: job .* cancelled"):
        viz.plot(job)
    with pytest.warns(UserWarning, match="nothing to show: job .* cancelled"):
        assert "cancelled" in _widget().show(job).astrohub_message
