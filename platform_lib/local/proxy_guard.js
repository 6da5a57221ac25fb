// The public proxy's guard: configurable-http-proxy's own command line, with one repair.
//
// configurable-http-proxy (4.x, and 5.x up to 5.3.0 at least) decodes each request's path with
// decodeURIComponent to find its route and does not catch the URIError of a malformed percent-escape
// (`/hub/%zz`, a bare `%`): the client's own bad URL is answered "500 Internal Server Error", with a
// stack trace in the log. This guard makes that error a 400, sent through the proxy's usual error
// handling (the --error-target page, i.e. the hub's error page), and changes nothing else.
//
// It runs two ways, from this one file:
//   * as a wrapper (the local platform, plan.py's proxy component):
//         node proxy_guard.js /path/to/configurable-http-proxy [its options...]
//   * preloaded as an ES module before the proxy's own command (the Helm chart, whose proxy pod runs
//     Zero to JupyterHub's command unchanged): the chart ships this file in the ConfigMap
//     astrohub-proxy-guard and sets NODE_OPTIONS=--import=data:text/javascript;base64,<this file>.
// Either way the proxy's library is found beside its (resolved) executable, so the patched class is
// the one its command line then loads, CommonJS (4.x) or ES module (5.x, loaded with require(esm):
// node >= 20.19). The file is therefore plain script syntax valid as both (no require/import
// statements: builtins come from process.getBuiltinModule), and synchronous, so the class is patched
// before the proxy's own code runs. Remove it when upstream catches the URIError itself;
// tests/integration/test_platform_proxy.py and tests/helm/test_helm_proxy.py send the bad escapes.
"use strict";

const builtin = typeof require === "function" ? require : process.getBuiltinModule;
const fs = builtin("fs");
const path = builtin("path");
const { createRequire } = builtin("module");

// Loaded as an ES module (a data: URL from NODE_OPTIONS) there is no `require`: the proxy is already
// node's main script, argv[1]. As a wrapper, argv[2] is the proxy and argv[1] this file.
const preloaded = typeof require !== "function";
const bin = fs.realpathSync(process.argv[preloaded ? 1 : 2]);
const proxyRequire = createRequire(bin);
const library = proxyRequire(path.join(path.dirname(bin), "..", "lib", "configproxy.js"));
const { ConfigurableProxy } = library; // 5.x: the named export; 4.x: module.exports.ConfigurableProxy
if (typeof ConfigurableProxy !== "function") {
  throw new Error(`proxy_guard.js: no ConfigurableProxy class beside ${bin}`);
}

const handleProxyError = ConfigurableProxy.prototype.handleProxyError;
ConfigurableProxy.prototype.handleProxyError = function (code, kind, req, res, e) {
  if (code === 500 && e instanceof URIError) {
    // the request's URL could not be decoded: the client's error, and nothing to log a trace for
    if (kind === "ws") {
      // a websocket upgrade: `res` is the raw socket, which the proxy's error page would reach without
      // a status line; answer it as HTTP and close it
      this.log.error("400 %s %s (malformed percent-escape)", req.method, req.url);
      res.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    return handleProxyError.call(this, 400, kind, req, res);
  }
  return handleProxyError.call(this, code, kind, req, res, e);
};

if (!preloaded) {
  // run the proxy's own command line as if started directly: argv = [node, bin, options...]
  process.argv.splice(1, 2, bin);
  proxyRequire(bin);
}
