/*
 * astrohub's JupyterLab extension "astrohub": the platform's own Lab plugins, written by hand as one prebuilt
 * (federated) extension, so no npm or webpack build is needed. JupyterLab 4 loads this file (package.json's
 * jupyterlab._build.load), reads the container `window._JUPYTERLAB.astrohub`, calls its init(shareScope), then
 * get("./extension") and the factory it resolves to; that module's `default` is the list of plugins.
 *
 * One plugin a file, beside this one, each an ES module that this file imports (import(), from its own URL):
 *   help.js            astrohub:help                   the platform's help (tutorials, guides) in the Help menu
 *   cull-warning.js    astrohub-cull-warning:plugin    the server's pre-cull warning as a notification
 *   run-when-ready.js  astrohub-run-when-ready:plugin  cells run before their kernel is up wait for it
 *   dask-sidebar.js    astrohub-dask-sidebar:plugin    the Dask sidebar forgets a cluster that is gone, follows a new one
 *   fits.js            astrohub-fits:plugin            FITS files open in a viewer tab
 *   nbgrader-cell-type.js  astrohub-nbgrader-cell-type:plugin  nbgrader's panel leaves generated notebooks unmodified
 * (The plugins' ids are those they had as extensions of their own; the help's settings, its Help menu entries,
 * are found by the extension's name: schemas/astrohub/help.json is astrohub:help's.)
 * A file's default export is a function of `shared` (below) that returns its plugin, or a promise of it. A file
 * that fails to load costs its own plugin only (an error on the console): the others load.
 */
(function () {
  "use strict";
  var NAME = "astrohub";
  var PLUGINS = ["help.js", "cull-warning.js", "run-when-ready.js", "dask-sidebar.js", "fits.js",
                 "nbgrader-cell-type.js"];
  var HERE = document.currentScript.src;  // the plugins' files are found beside this one
  var shareScope = null;

  function newer(a, b) {
    var x = String(a).split(/[.+-]/), y = String(b).split(/[.+-]/);
    for (var i = 0; i < Math.max(x.length, y.length); i++) {
      var p = parseInt(x[i] || "0", 10), q = parseInt(y[i] || "0", 10);
      if (p !== q) {
        return (isNaN(p) ? -1 : p) > (isNaN(q) ? -1 : q);
      }
    }
    return false;
  }

  /*
   * The package `name` from Lab's share scope (handed to init()), for a plugin that needs Lab's own classes or
   * singletons: the version Lab loaded (a singleton has one), else the newest, taken as webpack's consumers take
   * it (`entry.loaded = 1; entry.get()`, a promise of the module's factory).
   */
  function shared(name) {
    var versions = shareScope && shareScope[name];
    if (!versions || !Object.keys(versions).length) {
      return Promise.reject(new Error(NAME + ": JupyterLab shares no " + name));
    }
    var best = null;
    Object.keys(versions).forEach(function (version) {
      var entry = versions[version];
      if (best === null || (entry.loaded && !versions[best].loaded) ||
          (!!entry.loaded === !!versions[best].loaded && newer(version, best))) {
        best = version;
      }
    });
    var chosen = versions[best];
    chosen.loaded = 1;
    return Promise.resolve(chosen.get()).then(function (factory) {
      return typeof factory === "function" ? factory() : factory;
    });
  }

  var loaded = null;
  function load() {
    if (loaded === null) {
      loaded = Promise.allSettled(PLUGINS.map(function (file) {
        return import(new URL(file, HERE).href).then(function (module) {
          return module.default(shared);
        });
      })).then(function (results) {
        var plugins = [];
        results.forEach(function (result, i) {
          if (result.status === "fulfilled") {
            plugins.push(result.value);
          } else {
            console.error(NAME + ": the plugin of " + PLUGINS[i] + " did not load", result.reason);
          }
        });
        return { __esModule: true, default: plugins };
      });
    }
    return loaded;
  }

  var root = (window._JUPYTERLAB = window._JUPYTERLAB || {});
  root[NAME] = {
    get: function (module) {
      if (module !== "./extension") {
        return Promise.reject(new Error(NAME + ' has no module "' + module + '"'));
      }
      return load().then(function (exports) {
        return function () {
          return exports;
        };
      });
    },
    init: function (scope) {
      // Lab's share scope: the packages it shares with extensions, taken by shared() when a plugin asks
      shareScope = scope;
      return Promise.resolve();
    }
  };
})();
