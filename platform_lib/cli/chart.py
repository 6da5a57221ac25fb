"""``astrohub chart render -f my-values.yaml``: the Helm chart rendered offline, as ``helm template`` would.

``helm dependency build`` fetches the two community charts from the internet; this renders without them (stub
subcharts from ``helm/upstream``, :mod:`platform_lib.offlinechart`), so an operator checks a values file (every
section against its schema, astrohub's own checks, astrohub's objects) on a machine with no network. Owns
argument parsing and printing; needs the ``[chart]`` extra (helm-python-sdk).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from platform_lib.errors import PlatformError

__all__ = ["register"]


def _render(args: argparse.Namespace) -> int:
    try:
        import helm_python
    except ImportError:
        raise PlatformError("astrohub chart render needs helm-python-sdk: install the chart extra "
                            "(`make chart-render`, or `.venv/bin/uv pip install --python .venv/bin/python "
                            "-e '.[chart]'`)", code="chart") from None
    from platform_lib import offlinechart

    values = offlinechart.values(args.values, args.set, args.set_file)
    chart = Path(args.chart) if args.chart else offlinechart.default_chart()
    stubs = [d for d in offlinechart.dependencies(chart) if d.stub]
    with tempfile.TemporaryDirectory(prefix="astrohub-chart-") as folder:
        try:
            with helm_python.Chart.load(offlinechart.build_chart(Path(folder), chart)) as loaded:
                rendered = offlinechart.render(loaded, values, kube_version=args.kube_version,
                                               release=args.release, namespace=args.namespace)
        except helm_python.HelmError as exc:
            raise offlinechart.ChartError(f"the chart does not render with these values: {exc}") from exc
    out = open(args.output, "w") if args.output else sys.stdout
    try:
        for path, text in sorted(rendered.items()):
            if path.endswith("NOTES.txt") or not text.strip():
                continue
            out.write(f"---\n# Source: {path}\n{text.strip()}\n")
    finally:
        if args.output:
            out.close()
    if args.notes:
        notes = next((t for p, t in rendered.items() if p.endswith("NOTES.txt")), "")
        print(notes.rstrip(), file=sys.stderr)
    if stubs:
        names = ", ".join(f"{d.name} {d.version}" for d in stubs)
        print(f"astrohub: note: {names}: values checked against the upstream schema, objects not rendered (no "
              f"archive in {chart / 'charts'}; `helm dependency build` puts them there where the network allows)",
              file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    chart = subparsers.add_parser("chart", help="the Helm chart, offline (render your values without the network)")
    sub = chart.add_subparsers(dest="chart_command", required=True, metavar="COMMAND")
    render = sub.add_parser(
        "render", help="render the chart with your values, as `helm template` (exit 2 naming what is wrong)")
    render.add_argument("-f", "--values", action="append", default=[], metavar="FILE",
                        help="a values file (repeatable; later ones win)")
    render.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="as helm's --set (repeatable)")
    render.add_argument("--set-file", action="append", default=[], metavar="KEY=PATH",
                        help="as helm's --set-file: the value is the file's text (repeatable)")
    render.add_argument("--kube-version", default="1.33.0", help="the cluster's Kubernetes version (default %(default)s)")
    render.add_argument("--release", default="astrohub", help="the release name (default %(default)s)")
    render.add_argument("--namespace", "-n", default="astrohub", help="the namespace (default %(default)s)")
    render.add_argument("--chart", help="the chart folder (default: helm/astrohub of this checkout)")
    render.add_argument("--output", "-o", metavar="FILE", help="write the manifests here instead of stdout")
    render.add_argument("--notes", action="store_true", help="print the post-install notes (NOTES.txt) to stderr")
    render.set_defaults(func=_render)
