/*
 * astrohub's JupyterLab extension "astrohub-run-when-ready", written by hand as a prebuilt (federated) extension,
 * as astrohub-cull-warning is (see its remoteEntry for how JupyterLab 4 loads one).
 *
 * What was wrong: a notebook opened and run at once (Run All, Shift-Enter) while its kernel was still starting
 * (Lab's "Kernel Initializing", 1-4 s; JupyterLab issue #8490) did not run: Lab's CodeCell.execute returns
 * without a word when the notebook's session has no kernel yet, clearing the cell, and every cell stayed "[ ]".
 * What this does: CodeCell.execute, called by every run command of the notebook (run, run and advance, run
 * all, above, below), first waits for the session to be ready when it has no kernel yet and is still starting,
 * showing the cell as queued ("[*]") meanwhile; the cells then run in the order they were asked for. A session
 * that is ready without a kernel ("No Kernel") is left to Lab, as before.
 *
 * Unlike the other astrohub extensions this one takes a package from Lab's share scope: @jupyterlab/cells, the
 * singleton module Lab's own notebook commands call (the one Lab loaded), from init(shareScope) as webpack's
 * module federation hands it over, so no webpack build is needed here either.
 */
(function () {
  "use strict";
  var NAME = "astrohub-run-when-ready";
  var CELLS = "@jupyterlab/cells";
  var MARK = "_astrohubRunWhenReady";
  var shareScope = null;

  function newer(a, b) {
    var x = a.split(/[.+-]/), y = b.split(/[.+-]/);
    for (var i = 0; i < Math.max(x.length, y.length); i++) {
      var p = parseInt(x[i], 10) || 0, q = parseInt(y[i], 10) || 0;
      if (p !== q) {
        return p > q;
      }
    }
    return false;
  }

  /* The module `name` of Lab's share scope: the version Lab loaded (a singleton has one), else the newest. */
  function shared(name) {
    var versions = shareScope && shareScope[name];
    if (!versions || !Object.keys(versions).length) {
      return Promise.reject(new Error(name + " is not in JupyterLab's share scope"));
    }
    var all = Object.keys(versions);
    var loaded = all.filter(function (v) { return versions[v].loaded; });
    var pick = (loaded.length ? loaded : all).reduce(function (a, b) { return newer(b, a) ? b : a; });
    return Promise.resolve(versions[pick].get()).then(function (factory) { return factory(); });
  }

  function starting(sessionContext) {
    return !!sessionContext && !sessionContext.isDisposed && !sessionContext.isReady &&
      !(sessionContext.session && sessionContext.session.kernel);
  }

  function waitForKernel(CodeCell) {
    var execute = CodeCell && CodeCell.execute;
    if (typeof execute !== "function" || execute[MARK]) {
      return;
    }
    var patched = function (cell, sessionContext) {
      var self = this, args = arguments;
      if (!starting(sessionContext) || !cell || !cell.model || !cell.model.sharedModel.getSource().trim()) {
        return execute.apply(self, args);
      }
      var model = cell.model;
      model.executionState = "running";  // "[*]": queued until the kernel is up
      function run() {
        if (cell.isDisposed) {
          return undefined;
        }
        model.executionState = "idle";
        return execute.apply(self, args);
      }
      return sessionContext.ready.then(run, run);
    };
    patched[MARK] = true;
    CodeCell.execute = patched;
  }

  var plugin = {
    id: NAME + ":plugin",
    description: "Cells run before the notebook's kernel is up wait for it, then run.",
    autoStart: true,
    activate: function () {
      return shared(CELLS)
        .then(function (cells) { waitForKernel(cells.CodeCell); })
        .catch(function (reason) {
          console.warn(NAME + ": cells run before their kernel is up are not kept for it", reason);
        });
    }
  };

  var exports = { __esModule: true, default: [plugin] };
  var modules = {
    "./extension": function () {
      return exports;
    }
  };
  var root = (window._JUPYTERLAB = window._JUPYTERLAB || {});
  root[NAME] = {
    get: function (module) {
      if (!Object.prototype.hasOwnProperty.call(modules, module)) {
        return Promise.reject(new Error(NAME + ' has no module "' + module + '"'));
      }
      return Promise.resolve(modules[module]);
    },
    init: function (scope) {
      // Lab's share scope: the packages it shares with extensions (only @jupyterlab/cells is taken, when activated)
      shareScope = scope;
      return Promise.resolve();
    }
  };
})();
