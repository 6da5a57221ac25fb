/*
 * astrohub's pre-cull warning plugin (astrohub-cull-warning:plugin, once an extension of its own). It imports
 * no package: it uses only the application object Lab passes to activate().
 *
 * What it does: the user server's extension (astrohub_server.activity) emits a warning on jupyter_server's
 * event bus when the server has been idle long enough that the hub's culler will soon stop it. Lab relays
 * the bus to `app.serviceManager.events.stream` (the /api/events/subscribe websocket); this plugin shows each
 * such event as a warning notification that stays until dismissed (`apputils:notify`). A Lab tab in view
 * polls the server and so keeps it from going idle; the warning matters for a tab left in the background,
 * where Lab's polls stand by, and is waiting there when the user comes back.
 */
var NAME = "astrohub-cull-warning";
var SCHEMA = "https://astrohub.org/events/cull-warning";

var plugin = {
  id: NAME + ":plugin",
  description: "Shows the server's pre-cull warning as a notification.",
  autoStart: true,
  activate: function (app) {
    var shown = null;
    function show(event) {
      if (!event || typeof event.message !== "string") {
        return;
      }
      if (shown !== null && app.commands.hasCommand("apputils:dismiss-notification")) {
        void app.commands.execute("apputils:dismiss-notification", { id: shown });
      }
      app.commands
        .execute("apputils:notify", {
          message: event.message,
          type: "warning",
          options: { autoClose: false }
        })
        .then(function (id) {
          shown = id;
        })
        .catch(function (reason) {
          console.warn(NAME + ": the cull warning could not be shown", reason, event.message);
        });
    }
    var events = app.serviceManager && app.serviceManager.events;
    if (!events || !events.stream) {
      console.warn(NAME + ": this JupyterLab has no event stream; cull warnings are not shown");
      return;
    }
    events.stream.connect(function (_, event) {
      if (event && event.schema_id === SCHEMA) {
        show(event);
      }
    });
  }
};

export default function () {
  return plugin;
}
