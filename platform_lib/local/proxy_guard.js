// The local platform's public proxy: configurable-http-proxy's own command line, with one repair.
//
// configurable-http-proxy (4.x, and 5.x up to 5.3.0 at least) decodes each request's path with
// decodeURIComponent to find its route and does not catch the URIError of a malformed percent-escape
// (`/hub/%zz`, a bare `%`): the client's own bad URL is answered "500 Internal Server Error", with a
// stack trace in the log. This wrapper makes that error a 400, sent through the proxy's usual error
// handling (the --error-target page, i.e. the hub's error page), and changes nothing else.
//
// Usage (plan.py's proxy component):
//     node proxy_guard.js /path/to/configurable-http-proxy [its options...]
// The proxy's library is found beside its (resolved) executable, so the patched class is the one its
// command line then loads. Remove this file when upstream catches the URIError itself;
// tests/integration/test_platform_proxy.py sends the bad escapes.
"use strict";

const fs = require("fs");
const path = require("path");

const bin = fs.realpathSync(process.argv[2]);
const { ConfigurableProxy } = require(path.join(path.dirname(bin), "..", "lib", "configproxy.js"));

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

// run the proxy's own command line as if started directly: argv = [node, bin, options...]
process.argv.splice(1, 2, bin);
require(bin);
