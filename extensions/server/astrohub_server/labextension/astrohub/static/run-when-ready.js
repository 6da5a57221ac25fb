/*
 * astrohub's run-when-ready plugin (astrohub-run-when-ready:plugin, once an extension of its own).
 *
 * What was wrong: a notebook opened and run at once (Run All, Shift-Enter) while its kernel was still starting
 * (Lab's "Kernel Initializing", 1-4 s; JupyterLab issue #8490) did not run: Lab's CodeCell.execute returns
 * without a word when the notebook's session has no kernel yet, clearing the cell, and every cell stayed "[ ]".
 * What this does: CodeCell.execute, called by every run command of the notebook (run, run and advance, run
 * all, above, below), first waits for the session to be ready when it has no kernel yet and is still starting,
 * showing the cell as queued ("[*]") meanwhile; the cells then run in the order they were asked for. A session
 * that is ready without a kernel ("No Kernel") is left to Lab, as before.
 *
 * It takes a package from Lab's share scope (`shared`, from the extension's entry, remoteEntry.*.js):
 * @jupyterlab/cells, the singleton module Lab's own notebook commands call (the one Lab loaded).
 */
var NAME = "astrohub-run-when-ready";
var CELLS = "@jupyterlab/cells";
var MARK = "_astrohubRunWhenReady";

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

export default function (shared) {
  return {
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
}
