/*
 * astrohub's Dask sidebar plugin (astrohub-dask-sidebar:plugin, once an extension of its own). It imports no
 * package.
 *
 * What was wrong (dask-labextension 7.0.0, its issue #164): when the cluster the Dask sidebar shows is stopped
 * (a notebook's cluster.shutdown(), the gateway's idle timeout), the sidebar's cluster list empties, and
 * DaskClusterManager._updateClusterList selects the first cluster left, here none: _setActiveById("") returns
 * early, so the sidebar keeps the dead cluster as its active one and its dashboard URL (dask/dashboard/<id>).
 * Lab then polls that dead dashboard (a 404 every up-to-2 minutes, per tab), the dashboard panes show the dead
 * cluster, and a reload restores the dead URL from Lab's state, until the user clears the box by hand.
 * What this does: once Lab has started, it finds dask-labextension's sidebar in the left area (its id
 * "dask-dashboard-launcher") and wraps that sidebar's cluster manager's _setActiveById: when asked to select
 * a cluster that is not in the list, it forgets the active cluster if that one is gone (activeClusterChanged
 * is emitted, so Lab's state saves no cluster) and, when the dashboard URL points to a cluster that is gone
 * (dask/dashboard/<id>, or the gone cluster's own dashboard link), empties the URL box and sets the URL's
 * info to "no URL" (urlInfoChanged is emitted: the panes go inactive, the state saves no URL, and the URL's
 * poll, which skips an empty URL, asks nothing more). Setting the URL through its setter would not do: an
 * empty URL there is checked as the server's base URL, polled (a 404) for good. Any other URL (a kernel's
 * LocalCluster found with the search button, one typed by hand) is left alone; a cluster started later is
 * selected by dask-labextension as before.
 *
 * Also (dask20): the URL box emptied by hand and Enter pressed (after a kernel's LocalCluster link, say) made
 * dask-labextension test the empty URL, which it takes as the server's own base URL (/user/<name>/): the URL's
 * info became that base URL, polled for good (a 404 of /user/<name>/individual-plots.json every 4 s backing off
 * to 2 minutes, per tab), saved in Lab's state, and after a reload shown in the box and polled again. Now the
 * box's URL setter takes an empty URL, or one naming the server's base URL (such a saved state), as "no URL":
 * the box and the URL's info are emptied (clearUrl) and nothing is asked.
 *
 * Also (dask21): the sidebar kept the cluster it had selected when a notebook started another (a second cell, a
 * cell run with other options, `platform_lib.gateway.cluster(new=True)`): its URL box and panes stayed on the first
 * cluster, and the user had to find the new one in the list and click it. dask-labextension 7.0.0 chooses so in
 * DaskClusterManager._updateClusterList (the selected cluster stays while it is listed; none selected: the first),
 * and it knows no kernel: its one selection per Lab tab is the user's, and the server lists the user's clusters,
 * not a kernel's. So the sidebar now follows the newest of the user's own clusters: when a look at the cluster
 * list (every 5 s, and after + NEW) finds a cluster of the user's that the previous look did not list, it is
 * selected (the last such one listed), as a click on it would. The first look after Lab starts only learns the
 * list (the selection restored from Lab's state stays), and a cluster another user shares with the user
 * ("(shared by <owner>)") is never selected by this. A click on an older cluster holds until the next new one.
 *
 * The names it relies on (_setActiveById, _activeCluster, _updateClusterList, _urlInfo, the box's `url` setter) are
 * dask-labextension
 * 7.0.0's, kept by its minified build; when they are not there, it warns on the console and leaves the sidebar
 * as it is.
 *
 * Also: a cluster another user shares with one of the user's hub groups is listed by the server as
 * "GatewayCluster <id> (shared by <owner>)" (astrohub_server.dask_clusters.SHARED_MARK), and only its owner (or a hub
 * admin) may stop or scale it (the server refuses with a 403 naming the owner). A style sheet hides its SHUTDOWN
 * and SCALE buttons, whose titles ("Shutdown <name>", "Rescale <name>") carry that name; its dashboard and the
 * client-code button stay.
 */
var NAME = "astrohub-dask-sidebar";
var SIDEBAR = "dask-dashboard-launcher";
var MARK = "_astrohubForgetsGoneClusters";
var STYLE_ID = "astrohub-dask-shared-clusters";
var SHARED_BUTTONS = [".dask-ClusterListingItem-stop", ".dask-ClusterListingItem-scale"].map(function (cls) {
  return "button" + cls + '[title*="(shared by "]';
}).join(", ") + " { display: none; }";
var SHARED = " (shared by ";  // how the server names a cluster another user shares (dask_clusters.SHARED_MARK)
var CLUSTER_URL = /(?:^|\/)dask\/dashboard\/([^/?#]+)\/?(?:status\/?)?$/;

function find(shell) {
  var left = shell && typeof shell.widgets === "function" ? Array.from(shell.widgets("left")) : [];
  return left.filter(function (w) { return w.id === SIDEBAR; })[0] || null;
}

/* Empty the URL box and the URL's info, without the setter's check of an empty URL (see above). */
function clearUrl(input) {
  var old = input.urlInfo;
  input.input.value = "";
  if (!old || !old.url) {
    return;
  }
  var none = { isActive: false, url: "", plots: {} };
  input._urlInfo = none;
  input.urlInfoChanged.emit({ oldValue: old, newValue: none });
  input.update();
}

/* Whether `url` is no dashboard: empty, or the server's base URL (what dask-labextension makes of an empty one). */
function noUrl(url, baseUrl) {
  var text = String(url || "").trim();
  if (!text) {
    return true;
  }
  try {
    var here = new URL(baseUrl, document.baseURI);
    var there = new URL(text, here);
    var path = function (u) { return u.pathname.replace(/\/+$/, ""); };
    return there.origin === here.origin && path(there) === path(here);
  } catch (e) {
    return false;
  }
}

/* The box's URL setter, taking "no URL" as such instead of testing (and then polling) the server's base URL. */
function guardUrl(input, baseUrl) {
  var proto = Object.getPrototypeOf(input);
  var desc = Object.getOwnPropertyDescriptor(proto, "url");
  if (!desc || typeof desc.set !== "function") {
    return false;
  }
  Object.defineProperty(input, "url", {
    configurable: true,
    get: desc.get ? function () { return desc.get.call(input); } : undefined,
    set: function (value) {
      if (noUrl(value, baseUrl)) {
        clearUrl(input);
      } else {
        desc.set.call(input, value);
      }
    }
  });
  if (input.urlInfo && input.urlInfo.url && noUrl(input.urlInfo.url, baseUrl)) {
    clearUrl(input);  // restored from a state saved before this guard, or tested before Lab had started
  }
  return true;
}

function forgetGone(manager, input) {
  var clusters = manager.clusters || [];
  function alive(id) {
    return clusters.some(function (c) { return c.id === id; });
  }
  var active = manager.activeCluster;
  var gone = active && !alive(active.id) ? active : null;
  if (gone) {
    manager._activeCluster = undefined;
    manager.activeClusterChanged.emit({ name: "cluster", oldValue: gone, newValue: undefined });
    manager.update();
  }
  var urls = [input.input.value, input.urlInfo && input.urlInfo.url].filter(Boolean);
  var dead = urls.some(function (url) {
    var m = CLUSTER_URL.exec(url);
    return (m && !alive(decodeURIComponent(m[1]))) || (gone && url === gone.dashboard_link);
  });
  if (dead) {
    clearUrl(input);
  }
}

/* Select a cluster of the user's own that a look at the cluster list finds and the previous look did not (above). */
function followNewest(manager) {
  var update = manager._updateClusterList;
  if (typeof update !== "function") {
    return false;
  }
  var seen = null;  // the ids of the previous look; null: none yet (the first look only learns the list)
  manager._updateClusterList = function () {
    return update.apply(this, arguments).then(function (result) {
      var clusters = manager.clusters || [];
      var fresh = clusters.filter(function (c) {
        return seen !== null && !seen[c.id] && String(c.name || "").indexOf(SHARED) === -1;
      });
      seen = {};
      clusters.forEach(function (c) { seen[c.id] = true; });
      var newest = fresh[fresh.length - 1];
      if (newest && !(manager.activeCluster && manager.activeCluster.id === newest.id)) {
        manager._setActiveById(newest.id);
      }
      return result;
    });
  };
  return true;
}

function patch(sidebar, baseUrl) {
  var manager = sidebar.clusterManager;
  var input = sidebar.dashboardLauncher && sidebar.dashboardLauncher.input;
  var setActive = manager && manager._setActiveById;
  if (typeof setActive !== "function" || !input || !input.input || !("_urlInfo" in input)) {
    console.warn(NAME + ": this Dask sidebar is not dask-labextension 7's; a stopped cluster's dashboard " +
                 "URL stays in it");
    return;
  }
  if (setActive[MARK]) {
    return;
  }
  if (!guardUrl(input, baseUrl)) {
    console.warn(NAME + ": the Dask sidebar's URL box has no url setter; an emptied box polls the server's base URL");
  }
  var patched = function (id) {
    if (!(manager.clusters || []).some(function (c) { return c.id === id; })) {
      forgetGone(manager, input);
      return undefined;
    }
    return setActive.apply(this, arguments);
  };
  patched[MARK] = true;
  manager._setActiveById = patched;
  if (!followNewest(manager)) {
    console.warn(NAME + ": the Dask sidebar's cluster manager has no _updateClusterList; it keeps the cluster " +
                 "selected when a notebook starts another");
  }
}

/* The members of a shared cluster's group see no stop or scale button for it (see above). */
function hideSharedButtons(doc) {
  if (!doc || doc.getElementById(STYLE_ID)) {
    return;
  }
  var style = doc.createElement("style");
  style.id = STYLE_ID;
  style.textContent = SHARED_BUTTONS;
  doc.head.appendChild(style);
}

var plugin = {
  id: NAME + ":plugin",
  description: "The Dask sidebar forgets a cluster that is gone and stops polling its dashboard (or an empty URL), " +
               "and selects a cluster of the user's that a notebook started since.",
  autoStart: true,
  activate: function (app) {
    hideSharedButtons(typeof document === "undefined" ? null : document);
    // dask-labextension adds its sidebar while activating; look for it once Lab has started (none: no Dask).
    // Not returned: Lab's start (and so its restored layout) waits for every plugin's activation.
    void app.restored.then(function () {
      var sidebar = find(app.shell);
      if (sidebar) {
        patch(sidebar, app.serviceManager.serverSettings.baseUrl);
      }
    });
  }
};

export default function () {
  return plugin;
}
