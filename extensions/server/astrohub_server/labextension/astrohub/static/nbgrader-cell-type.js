/*
 * astrohub's nbgrader-cell-type plugin (astrohub-nbgrader-cell-type:plugin).
 *
 * What was wrong: an instructor who opened a notebook nbgrader generated (a student's released copy, a collected
 * or autograded submission, formgrader's preview of the release) with nbgrader's Create Assignment panel showing
 * found it marked modified at once, with nothing changed. nbgrader's generate_assignment writes each marked cell's
 * type into its nbgrader metadata (`cell_type`, which nbgrader's validator compares with the cell's type to tell
 * that a student changed it), and the panel (nbgrader 0.9.6, clearCellType, run for every marked cell as the panel
 * draws it) writes the cell's nbgrader metadata back without that key: a change to the document, though the
 * instructor did nothing, and saved it would leave the generated copy without what nbgrader's validator reads.
 * What this does: CellModel.setMetadata, which every writer of a cell's metadata calls, skips a write of the
 * "nbgrader" key whose only difference from the cell's metadata is `cell_type` taken away; any other write (a
 * type, points or id the instructor sets in the panel) is made as before. nbgrader's own bundle is not changed.
 * (A notebook written outside Lab, without the kernel's `language_info`, is still marked modified as its kernel
 * starts: JupyterLab writes what the kernel says it runs into the notebook's metadata, panel or not.)
 *
 * It takes a package from Lab's share scope (`shared`, from the extension's entry, remoteEntry.*.js):
 * @jupyterlab/cells, the singleton module whose cell models Lab's notebooks (and nbgrader's panel) use.
 */
var NAME = "astrohub-nbgrader-cell-type";
var CELLS = "@jupyterlab/cells";
var MARK = "_astrohubKeepsCellType";
var KEY = "nbgrader";

function same(a, b) {
  return JSON.stringify(a, Object.keys(a).sort()) === JSON.stringify(b, Object.keys(b).sort());
}

/* Whether writing `value` under "nbgrader" only takes `cell_type` away from `current`. */
function onlyDropsCellType(current, value) {
  if (!current || typeof current !== "object" || !("cell_type" in current) || current.cell_type === undefined ||
      !value || typeof value !== "object" || value.cell_type !== undefined) {
    return false;
  }
  var rest = {};
  Object.keys(current).forEach(function (key) {
    if (key !== "cell_type") {
      rest[key] = current[key];
    }
  });
  var written = {};
  Object.keys(value).forEach(function (key) {
    if (value[key] !== undefined) {
      written[key] = value[key];
    }
  });
  return same(rest, written);
}

function keepCellType(CellModel) {
  var proto = CellModel && CellModel.prototype;
  var setMetadata = proto && proto.setMetadata;
  if (typeof setMetadata !== "function" || setMetadata[MARK]) {
    return;
  }
  var patched = function (key, value) {
    if (key === KEY && onlyDropsCellType(this.getMetadata(KEY), value)) {
      return undefined;  // nbgrader's generated copy keeps its cell types, and is not modified
    }
    return setMetadata.apply(this, arguments);
  };
  patched[MARK] = true;
  proto.setMetadata = patched;
}

export default function (shared) {
  return {
    id: NAME + ":plugin",
    description: "Opening a notebook nbgrader generated does not mark it modified (nbgrader's cell types kept).",
    autoStart: true,
    activate: function () {
      return shared(CELLS)
        .then(function (cells) { keepCellType(cells.CellModel); })
        .catch(function (reason) {
          console.warn(NAME + ": nbgrader's panel may mark generated notebooks modified", reason);
        });
    }
  };
}
