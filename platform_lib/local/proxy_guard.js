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

// A path the proxy cannot decode (a malformed percent-escape, `%zz` or a bare `%`, or escapes that are not
// UTF-8, `%FF`) is routed by the rest of it, its undecodable escapes read as the text they are, and sent on
// unchanged: the service that owns the path answers in its own format (a VOTable error for the archive, JSON
// for the APIs) naming the bad byte, where the proxy could only answer the hub's HTML error page.
function routable(url) {
  return url.replace(/(?:%[0-9A-Fa-f]{2})+|%/g, (run) => {
    try {
      decodeURIComponent(run);
      return run;
    } catch (e) {
      return run.replace(/%/g, "%25");
    }
  });
}

const targetForReq = ConfigurableProxy.prototype.targetForReq;
ConfigurableProxy.prototype.targetForReq = async function (req) {
  try {
    return await targetForReq.call(this, req);
  } catch (e) {
    if (!(e instanceof URIError)) throw e;
    const sent = req.url;
    req.url = routable(sent);
    try {
      return await targetForReq.call(this, req); // the route lookup reads req.url: the sent one is put back
    } finally {
      req.url = sent;
    }
  }
};

// The proxy reads a request's line and headers up to --max-http-header-size (1 MiB: the archive's limit, so that
// a long GET reaches it), but the hub, the classes service and users' servers (tornado) read 64 KiB and hang up
// on a longer one without an answer, which the proxy answered "503 Service Unavailable" (the hub's page): the
// client's long URL or headers as the platform's failure. A backend that hangs up on a request over that is
// answered 414 (the URL) or 431 (the headers), in JSON naming the sizes and what to do.
const BACKEND_HEAD_BYTES = 65536; // tornado's max_header_size: its request line and headers

function headBytes(req) {
  let bytes = `${req.method} ${req.url} HTTP/1.1\r\n\r\n`.length;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    bytes += req.rawHeaders[i].length + req.rawHeaders[i + 1].length + 4;
  }
  return bytes;
}

function answerTooLong(req, res) {
  const bytes = headBytes(req);
  const url = req.url.length > BACKEND_HEAD_BYTES / 2;
  const body = JSON.stringify({
    status: url ? 414 : 431,
    message: `this request's line and headers are ${bytes} bytes, more than the ${BACKEND_HEAD_BYTES} the service ` +
      "behind this path reads: " + (url ? "send a long query in the body of a POST" : "send fewer or shorter headers"),
  });
  res.writeHead(url ? 414 : 431, { "Content-Type": "application/json", Connection: "close" });
  res.end(body);
}

const handleProxyError = ConfigurableProxy.prototype.handleProxyError;
ConfigurableProxy.prototype.handleProxyError = function (code, kind, req, res, e) {
  if (code === 503 && kind === "web" && e && e.code === "ECONNRESET" && res && !res.headersSent &&
      headBytes(req) > BACKEND_HEAD_BYTES) {
    this.log.error("%s %s: hung up on by its service after %d bytes of line and headers", req.method,
      req.url.slice(0, 200), headBytes(req));
    return answerTooLong(req, res);
  }
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

// A byte a URL may not hold (not ASCII: a raw 0xFF, or UTF-8's raw é) is refused by node's HTTP parser before the
// proxy sees a request, with an empty "400 Bad Request": no route, no service, nothing said. The proxy's server
// answers it here with JSON naming the byte and where it is (the request could not be read, so no service can
// answer it in its own format); any other unreadable request gets node's own answer, as before.
const nodeAnswers = {
  HPE_HEADER_OVERFLOW: "431 Request Header Fields Too Large",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "413 Payload Too Large",
  ERR_HTTP_REQUEST_TIMEOUT: "408 Request Timeout",
};

function badUrlByte(err) {
  // {byte, position, before} of the byte node's parser stopped at in the request's URL, or null
  const packet = err.rawPacket;
  if (err.code !== "HPE_INVALID_URL" || !packet || !(err.bytesParsed < packet.length)) return null;
  const start = packet.indexOf(0x20) + 1; // the URL starts after the method and its space
  if (start < 1 || err.bytesParsed < start) return null;
  return {
    byte: packet[err.bytesParsed],
    position: err.bytesParsed - start + 1,
    before: packet.subarray(start, err.bytesParsed).toString("latin1"),
  };
}

function onClientError(err, socket) {
  if (socket.writable && socket.bytesWritten === 0) {
    const bad = badUrlByte(err);
    if (bad) {
      const hex = bad.byte.toString(16).toUpperCase().padStart(2, "0");
      const body = JSON.stringify({
        status: 400,
        message: `the URL has the byte 0x${hex} at character ${bad.position}, after ${JSON.stringify(bad.before)}, ` +
          "which a URL may not hold: percent-encode the path's text as UTF-8 (é is %C3%A9, a space %20)",
      });
      this.log.error("400 (byte 0x%s at character %d of the URL) %s", hex, bad.position, bad.before.slice(0, 200));
      socket.end("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    socket.write(`HTTP/1.1 ${nodeAnswers[err.code] || "400 Bad Request"}\r\nConnection: close\r\n\r\n`);
  }
  socket.destroy(err);
}

// the constructor sets this.proxyServer: listen for its unreadable requests as it does
Object.defineProperty(ConfigurableProxy.prototype, "proxyServer", {
  configurable: true,
  set(server) {
    Object.defineProperty(this, "proxyServer", { value: server, writable: true, configurable: true, enumerable: true });
    server.on("clientError", onClientError.bind(this));
  },
});

if (!preloaded) {
  // run the proxy's own command line as if started directly: argv = [node, bin, options...]
  process.argv.splice(1, 2, bin);
  proxyRequire(bin);
}
