"""The tutorials built by ``examples/_src/build.py`` are the notebooks in ``examples/``.

The journeys run the notebooks; the cell lists in build.py are where they are edited. An edit made to a
notebook alone is undone by the next build (it happened once to gw-skymap's text), so the two must agree.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _build_module():
    spec = importlib.util.spec_from_file_location("examples_build", EXAMPLES / "_src" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _build_module()


@pytest.mark.parametrize("name", sorted(BUILD.TUTORIALS))
def test_notebook_is_what_build_py_writes(name):
    on_disk = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    built = BUILD.notebook(name)
    assert [(c.cell_type, c.id, c.source) for c in on_disk.cells] == [
        (c.cell_type, c.id, c.source) for c in built.cells
    ], f"examples/{name}.ipynb differs from examples/_src/build.py: edit build.py and run it"


#: The sample archive's images (obs_id, s_ra, s_dec), as the platform's first load indexes them.
SAMPLE_IMAGES = [("sample/ngc1316_optical", 50.2101, -37.3788), ("sample/m1_dss", 83.63297, 22.01469),
                 ("sample/m1_ukidss_wfcam", 83.63307, 22.01451), ("sample/m51_irsa_dust", 202.4817, 47.2374),
                 ("sample/m13_dss", 250.4226, 36.4602), ("sample/g10.5_magpis_effelsberg", 272.1988, -19.8531),
                 ("sample/sa110_apogee", 280.5461, 0.1126), ("sample/sa110_cfht_megaprime", 280.8382, 0.3902)]


def _sky_map_cell():
    """The images tutorial's all-sky map cell run on the sample archive's images: its figure."""
    import ast

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from astropy.table import Table

    (source,) = [src for kind, src in BUILD.IMAGES if kind == "code" and "everything = image_search()" in src]
    images = Table(rows=SAMPLE_IMAGES, names=("obs_id", "s_ra", "s_dec"))
    tree = ast.parse(source)
    if isinstance(tree.body[-1], ast.Expr):  # the figure the cell shows, as IPython keeps its last value
        tree.body[-1] = ast.Assign([ast.Name("shown", ast.Store())], tree.body[-1].value)
        ast.fix_missing_locations(tree)
    plt.show = lambda: None
    scope = {"np": np, "plt": plt, "image_search": lambda: images, "shown": None}
    exec(compile(tree, "images-sky-map", "exec"), scope)
    fig = scope["shown"] if hasattr(scope["shown"], "savefig") else plt.gcf()
    return fig, images


def test_the_images_sky_map_names_every_image_beside_it_and_no_text_overlaps():
    """polish21: the images tutorial's all-sky map wrote each image's name with ``ax.annotate`` at its point:
    the two M1 images (the same field) and the two SA 110 ones were drawn over each other, SA 110's over the RA
    labels 16h-18h, and the top Dec label over the title. Each name is now on the map once, beside its image
    (images of one field share a label), and no label, tick label, axis label or title touches another.
    (first11, kept: each name sits at its image's right ascension, by the meridians' labels.)"""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, images = _sky_map_cell()
    canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    texts = [*ax.texts, *ax.get_xticklabels(), *ax.get_yticklabels(), ax.title, ax.xaxis.label, ax.yaxis.label]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text()]
    clashes = [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:] if box_a.overlaps(box_b)]
    assert not clashes, clashes
    written = [line for note in ax.texts for line in note.get_text().splitlines()]
    assert sorted(written) == sorted(str(o).split("/")[-1] for o in images["obs_id"])
    meridians = [(np.degrees(x) % 360, t.get_text()) for x, t in zip(ax.get_xticks(), ax.get_xticklabels())]
    for note in ax.texts:  # the meridian nearest each name says its image's right ascension
        name = note.get_text().splitlines()[0]
        ra = float(images["s_ra"][[str(o).endswith("/" + name) for o in images["obs_id"]]][0])
        x = np.degrees(note.xy[0]) % 360
        label = min(meridians, key=lambda m: abs((m[0] - x + 180) % 360 - 180))[1]
        hours = float(label.rstrip("h°").replace("−", "-"))
        said = hours * 15 if label.endswith("h") else hours
        assert abs((said - ra + 180) % 360 - 180) <= 15, (name, ra, label)
    plt.close("all")


def test_the_setup_cell_prints_the_archive_as_a_browser_reaches_it(monkeypatch, capsys):
    """tut19: the tutorials' setup cell printed the archive's internal address (``http://127.0.0.1:8003/...``
    locally, an in-cluster name on Kubernetes), which a newcomer pasted into her browser in vain. It prints the
    path the hub's proxy serves the archive's page at, on JupyterLab's own address."""
    monkeypatch.setenv("PLATFORM_ARCHIVE_URL", "http://astrohub-archive:8080/services/archive/")
    source = BUILD.SETUP.replace("%matplotlib inline", "")
    scope: dict = {}
    exec(source, scope)
    printed = capsys.readouterr().out
    assert scope["archive"] == "http://astrohub-archive:8080/services/archive/"  # what the code still uses
    assert "astrohub-archive" not in printed and "8080" not in printed, printed
    assert "/services/archive/" in printed, printed


def test_the_groups_cell_says_so_for_a_user_in_no_group(capsys):
    """tut19: getting-started's groups cell printed nothing at all for a user in no group."""
    from types import SimpleNamespace

    (source,) = [src for kind, src in BUILD.GETTING_STARTED if kind == "code" and src.startswith("for group in")]
    exec(source, {"settings": SimpleNamespace(groups=[], groups_root=None), "Path": Path})
    assert "you are in no group yet" in capsys.readouterr().out
    exec(source, {"settings": SimpleNamespace(groups=["survey"], groups_root="/nowhere"), "Path": Path})
    assert capsys.readouterr().out == "survey -> /nowhere/survey (being created)\n"


@pytest.mark.parametrize("name", sorted(path.stem for path in EXAMPLES.glob("*.ipynb")))
def test_every_code_cell_is_python(name):
    """Each code cell compiles, as IPython reads it (``%pip``, ``!ls`` become calls): a syntax error in one cell
    (an unescaped apostrophe in getting-started's groups cell, once) failed only its journey on the platform, 20
    minutes into CI; here it fails in the unit tier."""
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    for number, cell in enumerate(nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4).cells):
        if cell.cell_type == "code":
            try:
                compile(transform(cell.source), f"examples/{name}.ipynb cell {number}", "exec")
            except SyntaxError as exc:
                pytest.fail(f"examples/{name}.ipynb cell {number} is not Python: {exc}")


@pytest.mark.parametrize("name", sorted(path.stem for path in EXAMPLES.glob("*.ipynb")))
def test_every_example_is_as_nbformat_writes_it(name):
    """polish24: see-the-sky.ipynb, edited outside build.py, had its keys unsorted and each source as one string;
    Lab's first save of an untouched copy (jupyter_server writes with nbformat) rewrote every line of it. An
    example must be byte for byte what nbformat writes for it: build it with build.py, or normalize it with
    ``nbformat.write(nbformat.read(path, as_version=4), path)``."""
    text = (EXAMPLES / f"{name}.ipynb").read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)
    assert nbformat.writes(nb, version=nbformat.NO_CONVERT) + "\n" == text, (
        f"examples/{name}.ipynb is not as nbformat writes it: run examples/_src/build.py, or normalize it with "
        f"nbformat.write(nbformat.read(path, as_version=4), path)")


def test_the_catalogues_tutorial_names_every_catalogue_a_fresh_platform_has():
    """firsthour25: its first lines said a fresh platform has Hipparcos and OpenNGC, and its first cell showed three
    tables (StarNames too); the same cell's sky_fraction of 0.009 for all-sky Hipparcos was not explained."""
    from platform_lib.sampledata import CATALOGS

    intro = BUILD.CATALOGS[0][1]
    assert [c.name for c in CATALOGS if c.name not in intro] == []
    assert "`sky_fraction` is" in "".join(text for kind, text in BUILD.CATALOGS if kind == "md")


def test_the_images_search_cell_names_a_target_no_image_covers_and_the_archives_images(monkeypatch):
    """polish25: changing the images tutorial's target to one no image covers gave numpy's IndexError in the
    download cell (``found[...][0]`` of an empty table). The search cell now says that no image covers the
    target, and where the archive's images are, so a newcomer can pick a target that has one."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.table import Table

    import platform_lib.retrieval

    images = Table(rows=SAMPLE_IMAGES, names=("obs_id", "s_ra", "s_dec"))
    monkeypatch.setattr(platform_lib.retrieval, "image_search",
                        lambda *cone: images[:0] if cone else images)  # the cone meets nothing
    (source,) = [src for kind, src in BUILD.IMAGES if kind == "code" and "image_search(m1" in src]
    source = source.replace("SkyCoord(83.633, 22.0145, unit='deg')", "SkyCoord(10.6847, 41.2690, unit='deg')")
    with pytest.raises(LookupError) as raised:
        exec(compile(source, "images-search", "exec"), {"u": u, "SkyCoord": SkyCoord})
    message = str(raised.value)
    assert "no image in the archive covers 10.6847 41.269" in message
    assert all(f"{obs_id} ({ra:.2f} {dec:+.2f})" in message for obs_id, ra, dec in SAMPLE_IMAGES)
