"""The Aladin Lite the archive serves: where its npm package is, and ``aladin.js`` as the platform ships it.

Aladin Lite (the npm package pinned in the Makefile, ``ALADIN_LITE``) is served as it comes, but for fixes of
its own bugs that users see, each a replacement of one exact piece of its minified code (:data:`PATCHES`),
made when the file is read. If a piece is not there (another version of the package), the file is served as
it comes and the archive's log says which fix was left out; ``tests/unit/test_aladin_lite.py`` fails for the
pinned version. May import only the standard library.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["PATCHES", "aladin_lite_dir", "patched"]

log = logging.getLogger("astrohub_archive")

#: Aladin Lite 3.9.2-beta writes a sexagesimal angle by taking the whole hours (degrees) and minutes first and
#: rounding the seconds last, so a value just under a minute's end rounds to 60: 3h47m (56.75 deg) was written
#: "03 46 60.00" (the view's position, the coordinates under the mouse). The replacement rounds once, in the
#: last unit written, and then splits hours, minutes and seconds (3h47m: "03 47 00.00"); each precision keeps
#: the form it had (zero-padded fields from precision 6 on). A fourth argument, the value that is 0 again (24
#: for hours, given by :data:`_RA_FORMAT`), wraps an angle that rounds up to it: 23h59m59.9999s is "00 00 00.00".
_SEXAGESIMAL = (
    'wA.toSexagesimal=function(Q,A,I){var g=Q<0?"-":I?"+":"",C=Math.abs(Q);switch(A){case 1:var B=Math.round(C);'
    'return g+B.toString();case 2:return g+wA.format(C,1);case 3:var B=Math.floor(C),i=Math.round((C-B)*60);'
    'return g+B+" "+i;case 4:var B=Math.floor(C),i=(C-B)*60;return g+B+" "+wA.format(i,1);case 5:var '
    'B=Math.floor(C),i=(C-B)*60,E=Math.floor(i),o=Math.round((i-E)*60);return g+B+" "+E+" "+o;case 6:case 7:case '
    '8:var B=Math.floor(C);B<10&&(B="0"+B);var i=(C-B)*60,E=Math.floor(i);E<10&&(E="0"+E);var o=(i-E)*60;return '
    'g+B+" "+E+" "+wA.format(o,A-5);default:return g+wA.format(C,1)}}'
)
_SEXAGESIMAL_ROUNDED_ONCE = (
    'wA.toSexagesimal=function(Q,A,I,W){var g=Q<0?"-":I?"+":"",C=Math.abs(Q);'
    'const two=n=>(n<10?"0":"")+n;'
    # q: the last unit written, in hours (degrees); an angle that rounds to W in it is W less (at least 0)
    'const q=[1,.1,1/60,1/600,1/3600,1/36e3,1/36e4,1/36e5][A-1]||.1;'
    'if(W&&Math.round(C/q)>=Math.round(W/q))C=Math.max(0,C-W);'
    # t: the angle in its last unit written (a whole number), then split into hours/degrees, minutes, seconds
    'switch(A){case 1:return g+Math.round(C).toString();case 2:return g+wA.format(C,1);'
    'case 3:{const t=Math.round(C*60);return g+Math.floor(t/60)+" "+t%60}'
    'case 4:{const t=Math.round(C*600),B=Math.floor(t/600);return g+B+" "+((t-B*600)/10).toFixed(1).padStart(4,"0")}'
    'case 5:{const t=Math.round(C*3600),B=Math.floor(t/3600),E=Math.floor((t-B*3600)/60);'
    'return g+B+" "+E+" "+(t-B*3600-E*60)}'
    'case 6:case 7:case 8:{const d=A-5,f=Math.pow(10,d),t=Math.round(C*3600*f),B=Math.floor(t/(3600*f)),'
    'E=Math.floor((t-B*3600*f)/(60*f)),s=(t-B*3600*f-E*60*f)/f;'
    'return g+two(B)+" "+two(E)+" "+s.toFixed(d).padStart(d+3,"0")}'
    'default:return g+wA.format(C,1)}}'
)

#: A position's right ascension (``Coo.format``: the view's position, the coordinates under the mouse, the
#: "Copy position" menu) is written in hours that wrap at 24: 359.9999999 deg was written "24 00 00.00".
_RA_FORMAT = "var A=this.lon/15,I=wA.toSexagesimal(A,this.prec+1,!1)"
_RA_FORMAT_WRAPPED = "var A=this.lon/15,I=wA.toSexagesimal(A,this.prec+1,!1,24)"

#: (what it fixes, the exact text in the pinned package, its replacement)
PATCHES = (
    ("sexagesimal rounding carried to 60 (3h47m written 03 46 60.00)", _SEXAGESIMAL, _SEXAGESIMAL_ROUNDED_ONCE),
    ("right ascension rounded up to 24h (23h59m59.9999s written 24 00 00.00)", _RA_FORMAT, _RA_FORMAT_WRAPPED),
)


def aladin_lite_dir() -> Path | None:
    """Aladin Lite's ``dist`` folder: ``ASTROHUB_ARCHIVE_ALADIN_LITE``, else ``.npm/node_modules/aladin-lite/dist``
    in the working directory or the checkout this package was installed from, else None."""
    env = os.environ.get("ASTROHUB_ARCHIVE_ALADIN_LITE")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [base / ".npm" / "node_modules" / "aladin-lite" / "dist" for base in (Path.cwd(), *here.parents[:4])]
    for c in candidates:
        if (c / "aladin.js").is_file():
            return c
    return None


def patched(source: bytes) -> bytes:
    """``aladin.js`` as the platform serves it: ``source`` with each of :data:`PATCHES` that applies made (one
    not found is logged and left out: the file is served as it came)."""
    text = source.decode("utf-8")
    for what, old, new in PATCHES:
        if text.count(old) != 1:
            log.error("Aladin Lite: the fix of %s does not apply to this aladin.js (not the version pinned in the "
                      "Makefile?): served without it", what)
            continue
        text = text.replace(old, new)
    return text.encode("utf-8")
