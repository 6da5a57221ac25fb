/*
 * astrohub's help plugin (astrohub:help; it was the extension "astrohub-help"): the platform's own help, which
 * works with no internet. It defines two commands; the Help menu entries that call them are declared in its
 * settings' schema, schemas/astrohub/help.json (`jupyter.lab.menus`), which Lab's main menu reads: "Getting
 * started on astrohub" and an "astrohub Tutorials" submenu open the tutorials that the user server copies into
 * every home (astrohub_server.tutorials), "Show the tutorials folder" opens that folder in the file browser,
 * and an "astrohub Guides" submenu opens the platform's guides (docs/, copied into tutorials/guides/) rendered
 * (the entry's `factory`, "Markdown Preview"). The extension's package.json turns off the Help menu's links to
 * the Jupyter websites (Jupyter Reference, JupyterLab FAQ, Markdown Reference, Jupyter Forum, kernels' help
 * links), which cannot open on a platform without internet. It imports no package.
 */
var NAME = "astrohub-help";
var FOLDER = "tutorials";

var plugin = {
  id: "astrohub:help",
  description: "The platform's own help (the tutorials and the guides) in the Help menu.",
  autoStart: true,
  activate: function (app) {
    app.commands.addCommand("astrohub:open-tutorial", {
      label: function (args) {
        return (args && args.label) || "Open a tutorial";
      },
      caption: function (args) {
        return "Open " + ((args && args.path) || "a tutorial") + " from your home";
      },
      execute: function (args) {
        var path = args && args.path;
        if (typeof path !== "string" || !path) {
          return Promise.reject(new Error(NAME + ": astrohub:open-tutorial needs a path"));
        }
        var open = { path: path };
        if (args.factory) {
          open.factory = args.factory;  // e.g. "Markdown Preview": a guide opens rendered, not as its source
        }
        return app.commands.execute("docmanager:open", open);
      }
    });
    app.commands.addCommand("astrohub:show-tutorials", {
      label: "Show the tutorials folder",
      caption: "Show " + FOLDER + "/ (your own copies of the platform's tutorials) in the file browser",
      execute: function () {
        return app.commands.execute("filebrowser:go-to-path", { path: FOLDER + "/" });
      }
    });
  }
};

export default function () {
  return plugin;
}
