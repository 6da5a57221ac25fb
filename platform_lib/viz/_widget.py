"""The platform's Aladin Lite widget: ipyaladin's widget with Aladin Lite and every HiPS served by the
platform (no request leaves it), level-of-detail catalogues, messages in the widget, selections as rows.

ipyaladin's bundled JavaScript imports Aladin Lite from ``https://esm.sh`` at run time, and its default
background is a CDS survey. :class:`Aladin` keeps ipyaladin's Python API and JavaScript but rewrites
that one import: Aladin Lite is imported from the archive service (``<archive>/aladin-lite/aladin.js``,
the npm package pinned in the Makefile), and the default survey is the archive's ``hips/sky`` (a star
density map of the platform's own catalogues). Paths are made absolute against the page's origin in the
browser, so the widget works wherever the hub is reached from. May import ipyaladin, traitlets, astropy
and this package's modules.
"""

from __future__ import annotations

import pathlib
import uuid
import warnings
from urllib.parse import urlparse

import numpy as np
import traitlets

from platform_lib.errors import stacklevel_outside
from platform_lib.viz._errors import VizError
from platform_lib.viz._inputs import (color_values, field_of_view, find_coordinates, footprints, is_job, is_magnitude,
                                      job_result, numeric_column, positions, result_table, scaled, sky_position,
                                      warn_left_out)

__all__ = ["Aladin", "archive_path", "check_options", "local_esm", "platform_survey", "SHOW_OPTIONS", "TABLE_LIMIT",
           "VIEW_OPTIONS", "WIDEST"]

#: The most rows a table sends to the browser; larger ones go through level of detail.
TABLE_LIMIT = 5000
#: The view's own options, which :func:`platform_lib.viz.show` gives the widget (the rest go to what it shows).
VIEW_OPTIONS = frozenset({"target", "fov", "height", "projection", "survey", "archive_url", "coo_frame", "layout"})
#: Aladin Lite's options of a catalogue layer (what its ``A.catalog`` and ``A.catalogHiPS`` read), in ipyaladin's
#: snake case; ``show`` passes them on to it.
CATALOG_STYLE = frozenset({"color", "shape", "source_size", "hover_color", "selection_color", "selection_line_width",
                           "display_label", "label_column", "label_color", "label_font", "on_click"})
#: Aladin Lite's options of footprints (a graphic overlay, ``A.graphicOverlay``).
OVERLAY_STYLE = frozenset({"color", "line_width", "line_dash", "fill_color", "opacity", "hover_color",
                           "selection_color", "selection_line_width"})
#: Aladin Lite's options of a MOC layer.
MOC_STYLE = frozenset({"color", "opacity", "line_width", "fill", "edge", "perimeter"})
#: What ``show`` takes for each kind of thing it shows (Aladin Lite's own options are passed on; any other is
#: refused, naming these: a typo such as ``colour="red"`` did nothing).
SHOW_OPTIONS = {
    "a catalogue name": frozenset({"name"}) | CATALOG_STYLE,
    "a job's HATS output": frozenset({"name", "client"}) | CATALOG_STYLE,
    "a moving-object search": frozenset({"name", "zoom"}),
    "a sky map": frozenset({"name", "levels"}),
    "a MOC": frozenset({"name"}) | MOC_STYLE,
    "a table": frozenset({"name", "ra", "dec", "limit", "magnitude", "color", "size", "cmap", "hips"}) | CATALOG_STYLE,
    "footprints": frozenset({"name", "column"}) | OVERLAY_STYLE,
    "crossmatch pairs": frozenset({"name"}),
}
#: The widest field of view Aladin Lite (3.9.2-beta) shows in a projection, in degrees (360 where not listed): a
#: wider one is set to it. ``viz.show(..., fov=360)`` in the default SIN projection showed 180 deg while the kernel's
#: ``w.fov`` said 360, and the view once failed to start ("The sky viewer failed: TypeError: undefined is not
#: iterable", seen on the platform); the whole sky is ``projection="AIT"`` or ``"MOL"``.
WIDEST = {"TAN": 150.0, "SIN": 180.0, "ZEA": 359.9}
#: The code of the :class:`VizError` for an option ``show`` does not take: raised, not shown in the view.
UNKNOWN_OPTION = "viz-unknown-option"
#: The column that carries each row's number in the source table, for selections.
ROW_COLUMN = "_row"
_CDN_IMPORT = 'import C from"https://esm.sh/aladin-lite@3.9.2-beta";'
_HANDLERS_END = "add_table:this.messageHandler.handleAddTable}"
_EXPORT = "export{$ as default};"
#: ipyaladin's view, when Aladin Lite reports a move, locks out the echo of the ``_target`` it then sets; when that
#: value is the one already there (the last report of a pan by hand repeats the position) no echo comes, the lock
#: stays, and the notebook's next ``w.target = ...`` was dropped (seen in headless Chromium on the platform: after
#: a drag, a target set from the notebook left the view where the drag put it). It now locks only for a new value.
_MOVE_LOCK = "t.lock();let i=[e.ra,e.dec];"
_MOVE_LOCK_NEW_ONLY = 'let i=[e.ra,e.dec];if(this.model.get("_target")!==`${i[0]} ${i[1]}`)t.lock();'
#: ipyaladin's render, once a view is made and follows the model: the layers the kernel sent this widget so far are
#: drawn in it there (``__astrohubReplay``), before it tells the kernel it is loaded.
_LOADED = 'o.set("_is_loaded",!0)'
#: ipyaladin's handlers of a survey set later (``w.survey = "hips/images"``): the archive's path is made a URL of the
#: page's origin, as at the start; Aladin Lite took the path for a HiPS ID, asked CDS's MocServer (outside the
#: platform) for it and drew nothing (seen in headless Chromium on the platform).
_SURVEY_SET = {"survey:e=>{this.aladin.setImageSurvey(e)}": "survey:e=>{this.aladin.setImageSurvey(__astrohubAbs(e))}",
               'e!==""&&this.aladin.setOverlayImageLayer(e)': 'e!==""&&this.aladin.setOverlayImageLayer(__astrohubAbs(e))'}

#: The archive's ``sky`` background, while it is the empty placeholder (its ``properties`` say
#: ``astrohub_placeholder``: no catalogue was loaded when the archive started), is looked at again every
#: ``every`` ms until the real one replaces it; the view then sets its survey again, and Aladin Lite reads the
#: real sky's ``properties`` (its orders) and tiles afresh (checked with the archive's Aladin Lite: a real sky of
#: two orders replacing a placeholder of one is drawn from both).
FOLLOW_SKY = r"""
function __astrohubFollowSky(a,url,every){
  if(typeof url!=="string"||!/\/hips\/sky$/.test(url))return;
  let looks=0;
  const look=()=>fetch(url+"/properties",{cache:"no-store"}).then(r=>r.ok?r.text():null).then(t=>{
    if(t===null||t.includes("astrohub_placeholder")){if(++looks<720)setTimeout(look,every);return}
    if(looks>0)a.setImageSurvey(url);
  },()=>{if(++looks<720)setTimeout(look,every)});
  look();
}
"""

_LOADER = FOLLOW_SKY + r"""
function __astrohubAbs(u){return (typeof u==="string"&&u.startsWith("/"))?window.location.origin+u:u}
// Aladin Lite's WebAssembly view starts at the window's size and learns its div's 2 ms after each resize, keeping
// the degrees per pixel; ipyaladin makes the view in a div not yet on the page and sets its field at once, so the
// field was set for the width of the window, not of the view (fov=20 on a 900 px view in a 1280 px window: 14 deg,
// and the kernel was told 14), and a div still off the page when the view first looked (1 x 1 px) lost it all.
// The field last set (or the view's first) is set again the first time the view has a size of its own, and told
// (with the view's WCS) as after a zoom.
function __astrohubFieldOnceSized(v){
  const view=v.view,wasm=view.wasm,resize=wasm.resize,setFoV=v.setFoV;
  let wanted=view.fov;
  v.setFoV=function(f){wanted=f;return setFoV.call(this,f)};
  wasm.resize=function(w,h){
    const r=resize.call(this,w,h);
    if(w>1&&h>1){wasm.resize=resize;v.setFoV=setFoV;view.oldFov=undefined;setFoV.call(v,wanted)}
    return r;
  };
}
// Aladin Lite (2.6 MB, its WebAssembly compiled on load), imported once; a failed import is tried again by the
// next view. Awaited in render, not in initialize: anywidget 0.11 gives a model's initialize 2 s, and past them
// it drops, silently and for the model's life, every message from the kernel (the view drew the first state,
// RA 0 Dec 0, with no layer: seen on a first load of a loaded platform, the kernel's state right).
let __astrohubLoading=null;
function __astrohubLoad(model){
  if(!__astrohubLoading){
    const url=__astrohubAbs(model.get("_aladin_lite_url"));
    __astrohubLoading=import(url).then(async m=>{
      if(!l){
        const a=m.default,make=a.aladin;  // each view follows the platform's sky while it is the placeholder
        a.aladin=function(div,o){const v=make(div,o);try{__astrohubFollowSky(v,o&&o.survey,5000)}catch(e){}
          try{__astrohubFieldOnceSized(v)}catch(e){}return v};
        l=a;
      }
      await l.init;
    }).catch(async e=>{
      __astrohubLoading=null;
      const why=await __astrohubWhy(url,e);
      throw new Error("The sky viewer could not load Aladin Lite from the platform ("+url+"): "+why
                      +". Tell the platform's administrator; run the cell again once it is served.");
    });
  }
  return __astrohubLoading;
}
// Why Aladin Lite did not load, in words: the archive's answer (its status and, when plain text as the archive
// writes its errors, its reason), or that none came (the browser's import error says neither).
async function __astrohubWhy(url,e){
  let r;
  try{r=await fetch(url,{cache:"no-store"})}catch(f){return "the archive did not answer ("+f+")"}
  if(r.ok)return "the file came but did not start ("+e+")";
  const text=(r.headers.get("content-type")||"").startsWith("text/plain")?
    (await r.text().catch(()=>"")).trim().split("\n")[0].slice(0,300):"";
  return "the archive answered "+(/^\d{3}:/.test(text)?text:(r.status+" "+r.statusText).trim()+(text?": "+text:""));
}
// Each widget's layers (a table, a catalogue, footprints, a track...), as the kernel sent them, drawn in each of its
// views when it is made. ipyaladin's kernel held them until the view said it was drawn, a message the kernel reads
// only once it is free: a view drawn while a later cell ran (Run All, then a long cell) showed none of its layers
// until that cell ended. The kernel now sends them at once; anywidget hands a model no message before its
// initialize is done, so this log misses none. Requests of the moment (an image of the view, a selection) are not
// layers and are not kept.
const __astrohubLayers=new Map();
const __astrohubOnce=new Set(["save_view_as_image","get_JPG_thumbnail","trigger_selection"]);
function __astrohubKeep(model){
  const id=model.get("_astrohub_id"),kept=[];
  __astrohubLayers.set(id,kept);
  model.on("msg:custom",(m,b)=>{
    if(m&&typeof m.event_name==="string"&&!__astrohubOnce.has(m.event_name))kept.push([structuredClone(m),b||[]]);
  });
  model.on("destroy",()=>__astrohubLayers.delete(id));
}
function __astrohubReplay(model,view){
  for(const [m,b] of __astrohubLayers.get(model.get("_astrohub_id"))||[]){
    const handle=view.eventHandlers[m.event_name];
    if(!handle)continue;
    try{handle.call(view,structuredClone(m),b)}
    catch(e){model.set("astrohub_message","The sky viewer could not draw "+((m.options&&m.options.name)||m.event_name)
                       +": "+e);model.save_changes()}
  }
}
function __astrohubInit(ctx){
  const model=ctx.model;
  __astrohubKeep(model);
  __astrohubLoad(model).catch(()=>{});  // under way while the kernel's messages come in; render reports a failure
  const opts={...model.get("_init_options")};
  for(const k of ["survey","overlay_survey"]){if(opts[k])opts[k]=__astrohubAbs(opts[k])}
  if(opts.hips_list)opts.hips_list=opts.hips_list.map(__astrohubAbs);
  model.set("_init_options",opts);
  const s=model.get("survey");if(s&&s.startsWith("/"))model.set("survey",__astrohubAbs(s));
}
// A survey the archive does not serve when the view gets it (deleted, no longer shared, not built: the kernel looks
// for each one first, but it may go after that look): Aladin Lite threw in the page ("Cannot read properties of
// undefined (reading 'longitudeReversed')") and drew nothing, with no word. Each survey the view is given but the
// default sky is looked for (its properties) and one not there is said above the view with the archive's answer;
// the word goes once a survey that loads replaces it.
function __astrohubWatchSurveys(model,say){
  const said={},off=[];
  const look=async key=>{
    const u=__astrohubAbs(model.get(key));
    if(typeof u!=="string"||!u||/\/hips\/sky\/?$/.test(u)){if(said[key])say(said[key],null);said[key]=null;return}
    let why=null;
    try{const r=await fetch(u.replace(/\/+$/,"")+"/properties",{cache:"no-store"});
      if(!r.ok){const t=(await r.text().catch(()=>"")).trim().split("\n")[0].slice(0,300);
        why="the archive answered "+(/^\d{3}:/.test(t)?t:r.status+(t?": "+t:""))}}
    catch(e){why="the archive did not answer ("+e+")"}
    if(__astrohubAbs(model.get(key))!==u)return;  // set again meanwhile: that one is looked for
    const m=why&&("The sky viewer could not load the "+(key==="survey"?"survey ":"overlay survey ")+u+": "+why
      +". Set w."+key+" to a HiPS the archive serves.");
    say(said[key],m);said[key]=m;
  };
  for(const key of ["survey","overlay_survey"]){
    const f=()=>{look(key)};model.on("change:"+key,f);off.push(()=>model.off("change:"+key,f));look(key);
  }
  return ()=>off.forEach(o=>o());
}
async function __astrohubRender(ctx){
  const box=document.createElement("div");
  box.className="astrohub-aladin-message";
  box.style.cssText="display:none;padding:6px 10px;margin:4px 0;border-left:4px solid #c62828;background:#fdecea;color:#611a15;font:13px sans-serif";
  const show=()=>{const m=ctx.model.get("astrohub_message");box.textContent=m||"";box.style.display=m?"block":"none"};
  const fail=m=>{ctx.model.set("astrohub_message",m);ctx.model.save_changes();show()};
  ctx.model.on("change:astrohub_message",show);show();
  ctx.el.appendChild(box);
  // a view waiting for Aladin Lite (a busy archive, a slow network) says so rather than stay an empty box
  const note=document.createElement("div");
  note.className="astrohub-aladin-loading";
  note.style.cssText="padding:6px 10px;margin:4px 0;color:#555;font:13px sans-serif";
  note.textContent="Loading the sky viewer (Aladin Lite) from the platform\u2026";
  const slow=setTimeout(()=>ctx.el.appendChild(note),1500);
  let cleanup;
  try{await __astrohubLoad(ctx.model)}catch(e){fail(String(e.message||e));return}
  finally{clearTimeout(slow);note.remove()}
  try{cleanup=$.render(ctx)}catch(e){fail("The sky viewer failed: "+e)}
  ctx.el.insertBefore(box,ctx.el.firstChild);
  const unwatch=__astrohubWatchSurveys(ctx.model,(was,now)=>{
    if(now)fail(now);else if(was&&ctx.model.get("astrohub_message")===was)fail("");
  });
  return ()=>{unwatch();if(typeof cleanup==="function")cleanup()};
}
export default {initialize:__astrohubInit,render:__astrohubRender};
"""

_HIPS_HANDLER = (
    # a table coloured or sized by a column: the colour and size of each source from a column of its own
    # (Aladin Lite calls a catalogue's color and sourceSize per source when they are functions)
    ",add_table:function(t,a){const g=t.options||{};"
    "if(g.color_column){const k=g.color_column;delete g.color_column;g.color=s=>s.data[k]}"
    "if(g.size_column){const k=g.size_column;delete g.size_column;g.source_size=s=>+s.data[k]}"
    "return this.messageHandler.handleAddTable.call(this,t,a)}"
    ",astrohub_catalog_hips:function(t){const o={};const g=t.options||{};"
    "if(g.color_column){const k=g.color_column;delete g.color_column;g.color=s=>s.data[k]}"
    "if(g.size_column){const k=g.size_column;delete g.size_column;g.source_size=s=>+s.data[k]}"
    "for(const k in g)o[k.replace(/_([a-z])/g,(m,c)=>c.toUpperCase())]=g[k];"
    # Aladin Lite 3.9 asks for the tiles in view on every zoom, even before it has read the HiPS's properties:
    # its deepest order is then NaN and it asks for tiles of orders the HiPS does not have (404s, seen under
    # load). Tiles are asked for only once the catalogue is ready; Aladin asks for them itself at that point.
    "const c=l.catalogHiPS(__astrohubAbs(t.url),o);const n=c.loadNeededTiles;"
    "c.loadNeededTiles=function(){if(this.isReady)return n.apply(this,arguments)};"
    # It asks again for every tile in view it has not received, those on their way too: a new target and fov
    # set together (w.target, w.fov; a moving-object search's or a sky map's view) look for tiles twice, 0.3 s
    # and 1 s after the move, and a tile slower than the first look (a loaded archive) was fetched twice, both
    # 200. A tile asked for (its URL made: Aladin fetches it next) reads as held, with no sources yet, until it
    # comes or fails (both put it in the cache).
    "const asked=new Set(),cache=c.sourcesCache,get=cache.get,put=cache.set,url=c.getTileURL;"
    "c.getTileURL=function(k,p){asked.add(k+'-'+p);return url.call(this,k,p)};"
    "cache.get=function(key){const v=get.call(this,key);return v===undefined&&asked.has(key)?[]:v};"
    "cache.set=function(key,v){asked.delete(key);return put.call(this,key,v)};"
    "this.aladin.addCatalog(c)}"
    # polylines (a moving object's track): one graphic overlay, Aladin Lite's A.polyline per piece; a
    # failure becomes the widget's message (ipyaladin's message dispatch would swallow it)
    ",astrohub_polylines:function(t){const o={};const g=t.options||{};"
    "for(const k in g)o[k.replace(/_([a-z])/g,(m,c)=>c.toUpperCase())]=g[k];"
    "try{const v=l.graphicOverlay(o);this.aladin.addOverlay(v);"
    "for(const p of t.polylines)v.add(l.polyline(p,{}))}"
    "catch(e){this.model.set('astrohub_message','The sky viewer could not draw '+o.name+': '+e);"
    "this.model.save_changes()}}"
)



def local_esm() -> str:
    """ipyaladin's widget JavaScript with Aladin Lite imported from the platform instead of a CDN."""
    import ipyaladin

    source = (pathlib.Path(ipyaladin.__file__).parent / "static" / "widget.js").read_text(encoding="utf-8")
    for needle in (_CDN_IMPORT + "var l=C;", _HANDLERS_END, _EXPORT, _MOVE_LOCK, _LOADED, *_SURVEY_SET):
        if source.count(needle) != 1:
            raise VizError(
                f"ipyaladin {getattr(ipyaladin, '__version__', '?')}'s widget.js no longer contains {needle[:40]!r}: "
                "platform_lib.viz supports the ipyaladin version pinned in .ci/constraints.txt", value=needle)
    source = source.replace(_CDN_IMPORT + "var l=C;", "var l=null;")
    source = source.replace(_HANDLERS_END, _HANDLERS_END[:-1] + _HIPS_HANDLER + "}")
    source = source.replace(_MOVE_LOCK, _MOVE_LOCK_NEW_ONLY)
    source = source.replace(_LOADED, "__astrohubReplay(o,e)," + _LOADED)
    for needle, fixed in _SURVEY_SET.items():
        source = source.replace(needle, fixed)
    return source.replace(_EXPORT, _LOADER)


def archive_path(archive_url: str | None = None) -> str:
    """The archive service's URL path as the browser reaches it (``/services/archive/``).

    From ``archive_url`` or the platform settings' ``archive_url``; only the path is kept, so the
    browser resolves it against the page it is on.
    """
    if archive_url is None:
        try:
            from platform_lib.settings import get_settings

            archive_url = get_settings().archive_url
        except Exception:  # settings that do not validate outside the platform
            archive_url = ""
    path = urlparse(archive_url or "").path or "/services/archive/"
    return path if path.endswith("/") else path + "/"


def platform_survey(survey, base: str, what: str = "survey") -> str:
    """``survey`` as a HiPS the platform serves: a path or URL under the archive (``base``: its path), or
    ``hips/<name>`` (the archive's ``hips/images``...) made a path under it; ``""`` (no overlay) as it is.
    Anything else is a :class:`VizError` naming it: Aladin Lite fetches a HiPS ID (``"P/DSS2/color"``) through
    CDS's servers and any other URL from its host, outside the platform (refused offline: the layer stayed
    blank), and read a relative ``"hips/sky"`` as such an ID."""
    if not isinstance(survey, str):
        raise VizError(f"{what}={survey!r} must be a HiPS survey's URL (text), e.g. the archive's "
                       f"'{base}hips/sky'", value=str(survey))
    if survey == "" and what != "survey":
        return survey
    if survey.startswith("hips/"):
        survey = base + survey
    where = urlparse(survey)
    if where.path.startswith(base) and (survey.startswith("/") or where.scheme in ("http", "https")):
        return survey
    raise VizError(f"{what}={survey!r} is not a HiPS the platform serves: Aladin Lite would fetch it from outside "
                   "the platform (a HiPS ID through CDS's servers, a URL from its host), which has no internet. "
                   f"Give one of the archive's: '{base}hips/sky' (the default, the star density of the platform's "
                   "catalogues), "
                   f"'{base}hips/images' (its images) or '{base}hips/<name>' (a catalogue's '<name>-density'; "
                   f"the list is at {base}hips/)", value=survey)


def _stcs(poly: np.ndarray) -> str:
    return "Polygon ICRS " + " ".join(f"{ra:.7f} {dec:.7f}" for ra, dec in poly)


class Aladin:  # replaced below by the real class when ipyaladin imports (kept importable without it)
    pass


try:
    import ipyaladin as _ipyaladin
    import ipyaladin.widget as _ipyaladin_widget
except ImportError:  # pragma: no cover - ipyaladin is a dependency of the hub/user environment
    _ipyaladin = None

if _ipyaladin is not None:

    class _CallsUntilDrawn:
        """One widget's calls made before its view was drawn (ipyaladin's ``CallStore`` interface), each run
        once when the view says it is loaded."""

        def __init__(self) -> None:
            self.calls: list[tuple] = []

        def add(self, func, *args, **kwargs) -> None:
            self.calls.append((func, args, kwargs))

        def run_all(self) -> None:
            calls, self.calls = self.calls, []
            for func, args, kwargs in calls:
                func(*args, **kwargs)

    def _projection(projection) -> str:
        """``projection`` as Aladin Lite's name of it (``"AIT"``; ``viz.plot``'s ``"aitoff"`` and ``"mollweide"``
        too, and lower case); a :class:`VizError` naming the ones there are otherwise."""
        names = {"aitoff": "AIT", "mollweide": "MOL"}
        known = _ipyaladin_widget.SupportedProjections
        name = names.get(projection.lower(), projection.upper()) if isinstance(projection, str) else None
        if name not in known:
            raise VizError(f"projection={projection!r} is not one of Aladin Lite's: {', '.join(known)} (or 'aitoff', "
                           "'mollweide')", value=str(projection))
        return name

    def _widest(fov: float, projection: str) -> float:
        """``fov`` (degrees), at most the widest field Aladin Lite shows in ``projection`` (:data:`WIDEST`)."""
        return min(fov, WIDEST.get(projection, 360.0))

    class Aladin(_ipyaladin_widget.Aladin):  # noqa: F811
        """Aladin Lite in a notebook, served entirely by the platform.

        Takes ipyaladin's options (``target``, ``fov``, ``height``, ``projection``...); ``survey``
        defaults to the archive's star-density HiPS. Adds :meth:`show` (anything the platform returns),
        :meth:`add_catalog_hips` (a HiPS catalogue: more sources as you zoom), :meth:`selection` (the
        selected sources as rows of the table they came from), ``layers`` (what was added, synced with
        the browser) and ``astrohub_message`` (a message shown above the view).

        Examples
        --------
        >>> from platform_lib import viz                         # doctest: +SKIP
        >>> w = viz.Aladin(target="M31", fov=2)                  # doctest: +SKIP
        >>> w.show("I/311/hip2")                                 # doctest: +SKIP
        """

        _esm = local_esm()
        _aladin_lite_url = traitlets.Unicode("").tag(sync=True)
        astrohub_message = traitlets.Unicode("", help="A message shown above the view (bad input, no data).").tag(sync=True)
        layers = traitlets.List(traitlets.Dict(), help="What the platform added: kind, name, rows sent, rows in all, url.").tag(sync=True)
        _astrohub_id = traitlets.Unicode(help="This widget, for the browser's record of its layers.").tag(sync=True)

        @traitlets.default("_astrohub_id")
        def _new_astrohub_id(self) -> str:
            return uuid.uuid4().hex

        def __init__(self, *, archive_url: str | None = None, **options) -> None:
            base = archive_path(archive_url)
            self._user_view = "target" in options or "fov" in options  # then show() keeps the view
            self._user_target, self._user_fov = "target" in options, "fov" in options
            # Aladin Lite sends a target it cannot read as coordinates ('03h47m +24d07m', 'M45') to CDS's
            # Sesame, outside the platform (refused offline, and the view failed to draw): text is read here (a
            # name from the platform's catalogues), and one that is neither is left out with a message
            unread = None
            if isinstance(options.get("target"), str):
                try:
                    options["target"] = sky_position(options["target"], "target").icrs
                except VizError as exc:
                    unread = str(exc)
                    del options["target"]
            if options.get("target") is not None and not isinstance(options["target"], str):
                options["target"] = sky_position(options["target"], "target").icrs  # 5 was ipyaladin's TraitError
            if "fov" in options:  # ipyaladin takes degrees or a Quantity; '2 deg' was a bare TraitError
                options["fov"] = field_of_view(options["fov"])
            if "projection" in options:  # ipyaladin reads only its private _projection at the start: it was ignored
                options["_projection"] = _projection(options.pop("projection"))
            if "fov" in options:
                options["fov"] = _widest(options["fov"], options.get("_projection", "SIN"))
            height = options.get("height", 400)
            whole = isinstance(height, (int, np.integer)) and not isinstance(height, bool)
            if not whole or not (height > 0 or height == -1):
                raise VizError(f"height={height!r} must be the view's height in pixels, a whole number more than 0 "
                               "(or -1: all of its container's height)", value=str(height))
            for key in ("survey", "overlay_survey"):
                if key in options:
                    options[key] = platform_survey(options[key], base, key)
            options.setdefault("survey", base + "hips/sky")
            options.setdefault("log", False)  # Aladin Lite otherwise reports each start to CDS
            options.setdefault("show_simbad_pointer_control", False)  # asks CDS's SIMBAD
            options.setdefault("hips_list", [options["survey"]])  # no CDS survey list to fetch
            self._archive = base  # read by the trait default below, in the state the browser starts from
            self._sources: dict[str, object] = {}
            self._uploads: dict[str, object] = {}  # name -> TableHips: a table's HiPS, its deeper orders maybe under way
            # ipyaladin keeps the calls made before a view is drawn in one store of the class, shared by every
            # widget of the kernel and never emptied: each later widget's first view ran them all again (a
            # second catalogue layer in the earlier views, one more per widget), and ran another widget's calls
            # before that widget's view could take them. Each view runs its own calls, once.
            self._call_store = _CallsUntilDrawn()
            super().__init__(**options)
            if unread:
                self.astrohub_message = unread
                warnings.warn(unread, stacklevel=stacklevel_outside(__file__))

        @property
        def target(self):
            """Where the view is centred: a SkyCoord (ipyaladin's ``target``). Set it to a SkyCoord, or to text
            read as :func:`~platform_lib.viz._inputs.sky_position` reads it (a position, or a name the platform's
            catalogues hold): text that is neither is a :class:`VizError` naming it and a form that works, not
            astropy's parse error nor a Sesame look-up outside the platform."""
            return _ipyaladin_widget.Aladin.target.fget(self)

        @target.setter
        def target(self, target) -> None:
            if isinstance(target, str) and getattr(self, "_survey_body", "sky") == "sky":
                target = sky_position(target, "target").icrs
            _ipyaladin_widget.Aladin.target.fset(self, target)

        @property
        def fov(self):
            """The view's width, an ``Angle`` (ipyaladin's ``fov``). Set it in degrees, as an angle Quantity or as
            text with its unit (``"2 arcmin"``): anything else is a :class:`VizError` naming it."""
            return _ipyaladin_widget.Aladin.fov.fget(self)

        @fov.setter
        def fov(self, fov) -> None:
            _ipyaladin_widget.Aladin.fov.fset(self, _widest(field_of_view(fov), self._projection))

        @traitlets.validate("survey", "overlay_survey")
        def _served_here(self, proposal):
            """``w.survey = ...`` later is read as the constructor reads it (:func:`platform_survey`), and a new
            survey is looked for on the archive (:func:`~platform_lib.viz._surveys.check_survey`): one it does not
            serve was a blank view with no word. The browser's absolute URL of the survey the kernel has (a URL of
            the same path) is not looked for again."""
            from platform_lib.viz._surveys import check_survey

            base, name = getattr(self, "_archive", None) or archive_path(), proposal["trait"].name
            survey = platform_survey(proposal["value"], base, name)
            had, where = self._trait_values.get(name), urlparse(survey)
            if not (where.scheme and had and urlparse(had).path.rstrip("/") == where.path.rstrip("/")):
                check_survey(survey, base, name)
            return survey

        @traitlets.default("_aladin_lite_url")
        def _default_aladin_lite_url(self) -> str:
            return (getattr(self, "_archive", None) or archive_path()) + "aladin-lite/aladin.js"

        # -- adding things ------------------------------------------------------------------------

        def _note(self, **layer) -> None:
            self.layers = [*self.layers, layer]

        def add_catalog_hips(self, url: str, *, name: str | None = None, **options) -> None:
            """A HiPS catalogue (tiles served by the archive or any platform path), shown with level of detail."""
            # Aladin Lite adds "/properties", "/Norder3/..." to the URL: a large table's HiPS URL from the archive
            # ends in a slash, and every file of it was asked for as ".../<name>//properties"
            url = url.rstrip("/")
            options.setdefault("name", name or url.split("/")[-1])
            # a source clicked shows its row under the view, as for a table (ipyaladin's add_table); Aladin Lite's
            # HiPS catalogue did nothing on a click
            options.setdefault("on_click", "showTable")
            self._send_when_loaded({"event_name": "astrohub_catalog_hips", "url": url, "options": options})
            self._note(kind="catalog_hips", name=options["name"], url=url)

        def _send_when_loaded(self, message: dict) -> None:
            # a layer: sent at once, kept by the browser for each view of this widget (_send_or_queue)
            self.send(message)

        def _send_or_queue(self, message: dict, buffers: list | None = None) -> None:
            """A layer (ipyaladin's ``add_table``, ``add_moc``, ``add_graphic_overlay_from_region``... and ours),
            sent now. ipyaladin held it until the view said it was drawn (``_is_loaded``), which the kernel hears
            only once it is free: ``viz.show`` then a long cell in the same run left the view without its layers
            until that cell ended. The browser keeps each widget's layers and draws them in every view of it."""
            self.send(message, buffers=buffers)

        # ipyaladin's layers sent by their own methods, held as the others were until the kernel heard the view was
        # drawn: a FITS image and the colour map, now sent at once too (and kept by the browser likewise)
        add_fits = _ipyaladin_widget.Aladin.add_fits.__wrapped__
        set_color_map = _ipyaladin_widget.Aladin.set_color_map.__wrapped__

        def show_table(self, table, *, name: str = "table", ra: str | None = None, dec: str | None = None,
                       limit: int = TABLE_LIMIT, magnitude: str | None = None, color: str | None = None,
                       size: str | None = None, cmap: str = "viridis", hips: bool = True, **options) -> None:
            """Positions of a table. Up to ``limit`` rows go to the browser. A larger table becomes a HiPS
            catalogue (``hips``): built here and kept on the archive as the user's own HiPS (reused when the
            same table is shown again; :func:`~platform_lib.viz.table_hips`), so the view shows the brightest
            sources of each region zoomed out and every source zoomed in; without an archive or room there
            (or with ``hips=False``) the ``limit`` most representative rows go (brightest first when
            ``magnitude`` is known, spread over the sky by the HiPS level-of-detail plan) and the widget says
            so. ``color``: a colour, or a column to colour the sources by (``cmap``, between its 2nd and 98th
            percentiles; no value: grey); ``size``: a column to size them by (3 to 15 pixels; a magnitude: the
            brightest largest)."""
            from astropy.table import Table

            if hasattr(table, "to_table") and not hasattr(table, "colnames"):
                table = result_table(table)  # a pyvo result, its COOSYS kept
            if not isinstance(table, Table):
                attrs = dict(getattr(table, "attrs", None) or {})  # a DataFrame's frame (equinox) as meta
                table = Table.from_pandas(table) if hasattr(table, "iloc") else Table(table)
                table.meta.update(attrs)
            if not isinstance(limit, (int, np.integer)) or isinstance(limit, bool) or limit < 1:
                raise VizError(f"limit={limit!r} must be the most rows sent to the viewer, a whole number of 1 or "
                               f"more (the default: {TABLE_LIMIT})", value=str(limit))
            pos = positions(table, ra, dec)
            warn_left_out(len(table), pos.rows, (pos.ra_column, pos.dec_column), f"the view's layer {name!r}")
            # columns to colour and size by, and the magnitude to rank by, are checked before anything is sent
            by_color = color_values(table, color, css=True)
            by_size = None if size is None else numeric_column(table, size, "size")
            if magnitude is not None:
                numeric_column(table, magnitude, "magnitude")
            rows = pos.rows
            total = rows.size
            why = ""
            if total > limit:
                from platform_lib.viz._build import pick_magnitude

                mag_col = magnitude or pick_magnitude([c for c in table.colnames if table[c].dtype.kind in "iuf"])
            if total > limit and hips:
                from platform_lib.viz._errors import HipsError
                from platform_lib.viz._publish import start_table_hips

                carried = table.copy(copy_data=False)
                carried[ROW_COLUMN] = np.arange(len(table))
                columns = [ROW_COLUMN]
                if by_color is not None:
                    carried["_color"] = _colours(by_color, cmap)
                    columns.append("_color")
                    options["color_column"] = "_color"
                elif color is not None:
                    options["color"] = color
                if by_size is not None:
                    carried["_size"] = np.round(np.nan_to_num(scaled(by_size, 3.0, 15.0, is_magnitude(table, size)),
                                                              nan=3.0), 1)
                    columns.append("_size")
                    options["size_column"] = "_size"
                others = [c for c in table.colnames if c not in (pos.ra_column, pos.dec_column, mag_col)
                          and table[c].dtype.kind in "biufUS" and getattr(table[c], "ndim", 1) == 1]
                try:
                    # the whole-sky orders now, the deeper ones sent from a thread while the view loads
                    upload = start_table_hips(carried, title=name, magnitude=mag_col, columns=columns + others[:6],
                                              on_error=lambda message: setattr(self, "astrohub_message", message))
                except HipsError as exc:
                    why = f" ({exc})"
                    for key in ("color_column", "size_column"):
                        options.pop(key, None)
                else:
                    self._sources[name] = table
                    self._uploads[name] = upload
                    self.add_catalog_hips(upload.url, name=name, **options)
                    self.layers = [*self.layers[:-1], {**self.layers[-1], "rows": int(total), "total": int(total)}]
                    return
            if total > limit:
                from platform_lib.viz._hips import healpix29, plan_catalog_orders, priority_rank

                mag = None if mag_col is None else _numbers(table[mag_col])[rows]
                rank = priority_rank(mag, total)
                order = plan_catalog_orders(healpix29(pos.ra, pos.dec), rank, max(1, limit // 768), 10)
                keep = np.lexsort((rank, order))[:limit]
                rows = rows[np.sort(keep)]
                self.astrohub_message = (f"{name}: showing {rows.size} of {total} sources (the most representative "
                                         f"ones){why}; as a HiPS catalogue on the archive (hips=True) every source "
                                         "appears as you zoom in")
            sent = table[rows]
            sent[ROW_COLUMN] = rows
            keep_cols = [c for c in sent.colnames if sent[c].dtype.kind in "biufUS" and getattr(sent[c], "ndim", 1) == 1]
            sent = sent[keep_cols]
            # Aladin Lite reads the position columns as numbers in degrees, whatever their unit (radians
            # were drawn as degrees), and text only in the '05 35 17.3' / '05:35:17.3' forms ('5h35m17.3s'
            # became 5 deg): any other column goes with degree columns of its own, as positions() read it
            at = np.searchsorted(pos.rows, rows)
            for field, column, degrees in (("ra_field", pos.ra_column, pos.ra[at]), ("dec_field", pos.dec_column, pos.dec[at])):
                if not _same_degrees(sent[column] if column in sent.colnames else None, degrees, field == "ra_field"):
                    column = f"_{field[:-6]}_deg"
                    sent[column] = degrees
                options.setdefault(field, column)
            if by_color is not None:  # one colour per source, read by the viewer from a column of its own
                sent["_color"] = _colours(by_color[rows], cmap)
                options["color_column"] = "_color"
            elif color is not None:
                options["color"] = color
            if by_size is not None:
                sent["_size"] = np.round(np.nan_to_num(scaled(by_size[rows], 3.0, 15.0, is_magnitude(table, size)),
                                                       nan=3.0), 1)
                options["size_column"] = "_size"
            options.setdefault("name", name)
            self._sources[name] = table
            self.add_table(sent, **options)
            self._note(kind="table", name=name, rows=int(rows.size), total=int(total),
                       ra=[float(v) for v in pos.ra[:3]], dec=[float(v) for v in pos.dec[:3]])

        def show_footprints(self, result, *, name: str = "footprints", column: str = "s_region", **options) -> None:
            """The footprints (``s_region``) of an SIA v2 / ObsCore result, and their centres as a table."""
            polys, rows = footprints(result, column)
            warn_left_out(len(result), np.unique(rows), (column,), f"the view's layer {name!r}",
                          trouble="no footprint (a blank or null value)")
            options.setdefault("color", "#ff8800")
            options.setdefault("name", name)
            self.add_graphic_overlay_from_stcs([_stcs(p) for p in polys], **options)
            self._note(kind="footprints", name=name, rows=len(np.unique(rows)),
                       vertices=[[float(v) for v in polys[0].ravel()[:8]]])

        def add_polylines(self, polylines, *, name: str = "lines", **options) -> None:
            """Lines through (n, 2) [ra, dec] degree arrays, drawn as one layer (Aladin Lite's ``polyline``)."""
            pieces = [[[float(ra), float(dec)] for ra, dec in np.asarray(p, dtype=float)] for p in polylines]
            options.setdefault("name", name)
            options.setdefault("color", "#dddddd")
            options.setdefault("line_width", 2)
            self._send_when_loaded({"event_name": "astrohub_polylines", "polylines": pieces, "options": options})
            self._note(kind="polylines", name=options["name"], pieces=len(pieces),
                       points=int(sum(len(p) for p in pieces)))

        def show_moving_search(self, search, *, name: str | None = None, zoom: bool | None = None) -> None:
            """A moving-object search (``platform_lib.moving.find_images``): the body's track as a line,
            its space-time boxes, the matched footprints (hits red, near misses orange) and the body's
            predicted position at each match (circles on hits, crosses on near misses), zoomed on the
            first hit (nothing matched: framing the track) unless the widget was given a ``target`` or ``fov``
            (``zoom`` decides otherwise).
            Layers are named after the body (or ``name``)."""
            from astropy.coordinates import SkyCoord

            if not hasattr(search, "sky_layers"):
                raise VizError(f"expected a moving-object search (find_images), got {type(search).__name__}",
                               value=type(search).__name__)
            sky = search.sky_layers()
            body, table = name or sky["body"], sky["table"]
            if not sky["track"]:
                raise VizError(f"the search for {body} has no track to draw (an empty time range?)", value=body)
            self.add_polylines(sky["track"], name=f"{body} track")
            if sky["boxes"]:
                self.add_graphic_overlay_from_stcs([_stcs(b) for b in sky["boxes"]], name=f"{body} boxes",
                                                   color="#4f8cff")
                self._note(kind="boxes", name=f"{body} boxes", rows=len(sky["boxes"]))
            for key, colour, label in (("hits", "#e53935", "images containing"),
                                       ("near_misses", "#ff9800", "near misses of")):
                polys = sky[key]
                if polys:
                    layer = f"{label} {body}"
                    self.add_graphic_overlay_from_stcs([_stcs(p) for p in polys.values()], name=layer, color=colour)
                    self._note(kind="footprints", name=layer, rows=len(polys), obs_id=sorted(polys))
            if len(table):
                hit = np.asarray(table["hit"], dtype=bool)
                for mask, shape, colour, label in ((hit, "circle", "#e53935", "hits"),
                                                   (~hit, "cross", "#ff9800", "near misses")):
                    if mask.any():
                        self.show_table(table[mask], name=f"{body} {label}", ra="ra", dec="dec", shape=shape,
                                        color=colour)
            else:
                self.astrohub_message = (f"no image contains {body} in this range: the track and its "
                                         f"{len(sky['boxes'])} boxes are shown")
            if sky["focus"] is not None and (zoom if zoom is not None else not self._user_view):
                ra, dec, fov = sky["focus"]
                self.target = SkyCoord(ra, dec, unit="deg")
                self.fov = fov

        def show_moc(self, moc, *, name: str = "coverage", **options) -> None:
            """A MOC (a catalogue's coverage: ``Registry.moc(name)``)."""
            if not hasattr(moc, "to_string"):
                raise VizError(f"expected a mocpy MOC, got {type(moc).__name__}", value=type(moc).__name__)
            if moc.empty():
                raise VizError("the MOC is empty: it covers no sky", value=0)
            options.setdefault("name", name)
            self.add_moc(moc, **options)
            self._note(kind="moc", name=name, sky_fraction=float(moc.sky_fraction))
            self._look_at(moc)

        def _look_at(self, moc) -> None:
            """Turn the view to ``moc`` (a region of under a quarter of the sky), unless the widget was given a
            ``target``, and fit the field to it unless it was given a ``fov``: a sky map's 90 % region of 23 deg²
            was drawn off screen, at (0, 0) the view was blank (and with a ``fov`` alone, as the see-the-sky
            tutorial's ``viz.show(skymap, fov=60)``, it still was)."""
            if self._user_target or moc.empty() or moc.sky_fraction > 0.25:
                return
            centre = moc.barycenter()
            reach = float(moc.largest_distance_from_coo_to_vertices(centre).to_value("deg"))
            self.target = centre
            if not self._user_fov:
                self.fov = float(np.clip(5.0 * reach, 0.5, 180.0))  # the width: a notebook's view is 2-3 times wider than high

        def show_skymap(self, skymap, *, levels=(0.5, 0.9), name: str = "skymap") -> None:
            """A probability sky map's credible regions (50 % and 90 % by default) as MOCs."""
            from platform_lib.viz._static import credible_region

            colors = ["#ffffff", "#ff9900", "#ff0000"]
            for i, level in enumerate(sorted(levels)):
                moc = credible_region(skymap, level)
                self.add_moc(moc, name=f"{name} {int(round(100 * level))} %", color=colors[i % 3], opacity=0.25,
                             fill=True, edge=True)
                self._note(kind="skymap", name=f"{name} {int(round(100 * level))} %", level=level,
                           sky_fraction=float(moc.sky_fraction))
            self._look_at(moc)  # the widest region

        def show_crossmatch(self, pairs, *, name: str = "crossmatch") -> None:
            """Crossmatch pairs: the left and right positions as two catalogues."""
            from platform_lib.viz._static import _pair_columns

            ra1, de1, ra2, de2 = _pair_columns(pairs)
            self.show_table(pairs, name=f"{name} left", ra=ra1, dec=de1, color="#00bfff", shape="circle")
            self.show_table(pairs, name=f"{name} right", ra=ra2, dec=de2, color="#ff3366", shape="cross")

        def show(self, obj, **options) -> "Aladin":
            """Show what the platform returned: a registry catalogue name (its HiPS catalogue), a table of
            positions, an SIA result (footprints), a MOC, a sky map, crossmatch pairs, a finished job or a
            moving-object search (its track, boxes, matched footprints and hits).
            Bad input is shown as a message in the widget (and warned), never a blank view."""
            try:
                _dispatch(self, obj, **options)
            except VizError as exc:
                if exc.code == UNKNOWN_OPTION:  # a wrong call, not bad data: refused as Python refuses a keyword
                    raise
                self.astrohub_message = str(exc)
                warnings.warn(str(exc), stacklevel=stacklevel_outside(__file__))
            return self

        def selection(self, name: str | None = None):
            """The sources selected in the view (the selection tool), as rows of the table they were shown
            from (``show_table``), or as the columns the tiles carry for a HiPS catalogue."""
            from astropy.table import Table, vstack

            out = []
            for group in self._selected_objects:
                data = [obj.get("data", {}) for obj in group if isinstance(obj, dict)]
                rows = [d.get(ROW_COLUMN) for d in data]
                src = self._sources.get(name) if name else (next(iter(self._sources.values())) if len(self._sources) == 1 else None)
                if src is not None and rows and all(r is not None for r in rows):
                    out.append(src[np.asarray([int(r) for r in rows])])
                elif data:
                    out.append(Table(rows=[tuple(d.values()) for d in data], names=list(data[0].keys())))
            if not out:
                return Table()
            return out[0] if len(out) == 1 else vstack(out)


def _colours(values: np.ndarray, cmap: str) -> np.ndarray:
    """Each value's colour (``#rrggbb``) on the colour map ``cmap`` between the values' 2nd and 98th
    percentiles (256 steps); grey where there is no value."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if cmap not in colormaps:
        raise VizError(f"cmap={cmap!r} is not a matplotlib colour map (say 'viridis', 'plasma', 'coolwarm')", value=cmap)
    palette = np.array([to_hex(c) for c in colormaps[cmap](np.linspace(0, 1, 256))] + ["#9e9e9e"])
    level = scaled(values, 0.0, 1.0)
    step = np.where(np.isfinite(level), np.round(np.nan_to_num(level) * 255), 256).astype(np.int64)
    return palette[step]


def _numbers(col) -> np.ndarray:
    """A column's values as floats, masked (null) values NaN (never the value under the mask)."""
    values = np.asarray(col, dtype=np.float64)
    if np.ma.isMaskedArray(col):
        values = np.where(np.ma.getmaskarray(col), np.nan, values)
    return values


def _same_degrees(col, degrees: np.ndarray, wrap: bool) -> bool:
    """Whether ``col`` (sent to the browser) holds ``degrees`` as plain numbers, as Aladin Lite reads them
    (``wrap``: modulo 360, as positions keep right ascensions)."""
    if col is None or col.dtype.kind not in "iuf" or str(getattr(col, "unit", None) or "deg") != "deg":
        return False
    values = np.asarray(col, dtype=np.float64)
    return bool(np.allclose(values % 360 if wrap else values, degrees))


def _registered_name(obj) -> str:
    """The registry's name of the catalogue table ``obj`` names (``"I/311"`` -> ``"I/311/hip2"``), so its HiPS is
    found; unchanged for a path, or where no registry is configured; a :class:`VizError` for a name the
    registry does not know (the view stayed blank: the archive has no HiPS of that name)."""
    name = str(obj)
    if isinstance(obj, pathlib.Path) or "://" in name or name.startswith(("/", ".", "~")):
        return name  # a folder, not a registry name
    from platform_lib.settings import get_settings

    path = get_settings().registry_path
    if path is None or not pathlib.Path(path).is_file():
        return name
    from platform_lib.catalogs import CatalogError, Registry

    try:
        registry = Registry(path, readonly=True)
        try:
            return registry.get(name).full_name
        finally:
            registry.close()
    except CatalogError as exc:
        raise VizError(f"cannot show {name!r}: {exc}", value=name) from exc


def check_options(kind: str, options: dict) -> None:
    """Refuse an option that ``show`` does not take for ``kind`` (a key of :data:`SHOW_OPTIONS`): a
    :class:`VizError` (code :data:`UNKNOWN_OPTION`) naming it, what it may be a misspelling of and the options
    there are. Before, ``viz.show(table, colour="red")`` was passed on to Aladin Lite, which ignored it."""
    import difflib

    allowed = SHOW_OPTIONS[kind]
    unknown = sorted(set(options) - allowed)
    if not unknown:
        return
    words = []
    for key in unknown:
        if key in VIEW_OPTIONS:  # w.show(obj, fov=2): the view's, not the layer's
            words.append(f"{key!r} (the view's own: give it to viz.show or viz.Aladin, or set w.{key} = ...)")
            continue
        close = difflib.get_close_matches(key, sorted(allowed | VIEW_OPTIONS), n=2, cutoff=0.6)
        words.append(repr(key) + (f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""))
    raise VizError(f"show() of {kind} takes no option {', '.join(words)}: its options are "
                   f"{', '.join(sorted(allowed))}; the view's (viz.show, viz.Aladin) {', '.join(sorted(VIEW_OPTIONS))}",
                   code=UNKNOWN_OPTION, value=unknown[0])


def _dispatch(widget, obj, **options) -> None:
    from astropy.coordinates import SkyCoord

    if isinstance(obj, (str, pathlib.Path)):
        check_options("a catalogue name", options)
        name = _registered_name(obj)
        from platform_lib.viz._hips import hips_name

        url = f"{widget._archive}hips/{hips_name(name)}"
        widget.add_catalog_hips(url, name=options.pop("name", name), **options)
        return
    if is_job(obj):
        info = obj.info() if callable(getattr(obj, "info", None)) else {}
        if isinstance(info, dict) and info.get("format") == "hats" and info.get("state") == "succeeded":
            # a catalogue output (any size): its HiPS, built on the user's cluster and served by the archive
            from platform_lib.viz._errors import HipsError
            from platform_lib.viz._publish import job_hips

            check_options("a job's HATS output", options)
            try:
                url = job_hips(obj, client=options.pop("client", None))
            except HipsError as exc:
                raise VizError(f"cannot show job {getattr(obj, 'id', '')}: {exc}", value=getattr(obj, "id", None)) from exc
            name = url.rstrip("/").rsplit("/", 1)[-1]
            widget.add_catalog_hips(f"{widget._archive}hips/~/{name}",
                                    name=options.pop("name", f"job {getattr(obj, 'id', '')}"), **options)
            return
        obj = job_result(obj)
    if hasattr(obj, "sky_layers") and hasattr(obj, "track"):  # a moving-object search (find_images)
        check_options("a moving-object search", options)
        widget.show_moving_search(obj, **options)
        return
    if hasattr(obj, "uniq") and hasattr(obj, "probdensity") or isinstance(obj, np.ndarray):
        check_options("a sky map", options)
        widget.show_skymap(obj, **options)
        return
    if hasattr(obj, "to_string") and hasattr(obj, "sky_fraction"):
        check_options("a MOC", options)
        widget.show_moc(obj, **options)
        return
    if isinstance(obj, SkyCoord):
        from astropy.table import Table

        check_options("a table", options)
        icrs = obj.icrs
        widget.show_table(Table({"ra": np.atleast_1d(icrs.ra.deg), "dec": np.atleast_1d(icrs.dec.deg)}), **options)
        return
    if hasattr(obj, "to_table") and not hasattr(obj, "colnames"):
        obj = result_table(obj)
    names = list(obj.colnames) if hasattr(obj, "colnames") else [str(c) for c in getattr(obj, "columns", [])]
    if not names:
        raise VizError(f"cannot show a {type(obj).__name__}: give a table, an SIA result, a MOC, a sky map, "
                       "crossmatch pairs, a job or a catalogue name", value=type(obj).__name__)
    if "s_region" in names:
        check_options("footprints", options)
        widget.show_footprints(obj, **options)
        try:
            find_coordinates(obj)
        except VizError:  # footprints without centre columns: the outlines are the picture
            return
        # the centres in the footprints' colour (their other options are the outlines': name= twice was a TypeError)
        widget.show_table(obj, name="images", **{k: v for k, v in options.items() if k == "color"})
        return
    if "separation_arcsec" in names:
        check_options("crossmatch pairs", options)
        widget.show_crossmatch(obj, **options)
        return
    check_options("a table", options)
    widget.show_table(obj, **options)
