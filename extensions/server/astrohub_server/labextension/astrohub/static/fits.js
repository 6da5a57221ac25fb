/*
 * astrohub's FITS viewer plugin (astrohub-fits:plugin, once an extension of its own). It needs Lab's own classes
 * (a document widget factory is a subclass), so it takes them from Lab's share scope (`shared`, from the
 * extension's entry, remoteEntry.*.js): for each package, the version Lab registered there (its own singletons).
 *
 * What it does: double-clicking a FITS file (.fits, .fit, .fts, plain or compressed as .gz, .bz2, .xz, .zip or
 * Unix compress's .Z, and tile-compressed .fz; any case: Lab matches a name's extension in lower case; also File > Open With >
 * "FITS Viewer") opens a viewer tab instead of the file's bytes as text. The user's server reads the file
 * (astrohub_server.fitsview: GET astrohub/fits, and astrohub/fits/sky for the cursor) and the tab shows its
 * HDUs (name, type, size; a click shows another), the image drawn there (ZScale or asinh, origin lower, a
 * large one downsampled) with the sky position of its corners and of the cursor when the header has a
 * celestial WCS, or a table's columns with units and first rows, and the selected HDU's header. A HEALPix
 * map HDU (a gravitational-wave localisation, flat or multi-order, a Planck-like map) is drawn all-sky
 * (Mollweide, by the server) with a probability map's 90 % credible area and its 50 % and 90 % regions outlined, the cursor's sky position and the
 * map's value there; a button shows it as the table it is, and back. The file's
 * bytes never come to the browser: the document's model factory ("astrohub-fits-nothing") asks the contents
 * API for no content. Everything from the file is put in the page as text (textContent), never as HTML. A FITS
 * tab open when the page is reloaded opens again (Lab's layout restorer, as its own viewers do).
 */
var NAME = "astrohub-fits";
var FACTORY = "FITS Viewer";
var MODEL = "astrohub-fits-nothing";
var FILE_TYPE = "fits";
// what astropy.io.fits opens (the server reads the file with it); lower case, as Lab compares them
var EXTENSIONS = [".fits", ".fit", ".fts", ".fz",
  ".fits.gz", ".fit.gz", ".fts.gz", ".fits.bz2", ".fit.bz2", ".fts.bz2", ".fits.xz", ".fit.xz", ".fts.xz",
  ".fits.zip", ".fit.zip", ".fts.zip", ".fits.z", ".fit.z", ".fts.z"];
var NEEDED = {
  application: "@jupyterlab/application",
  apputils: "@jupyterlab/apputils",
  docregistry: "@jupyterlab/docregistry",
  services: "@jupyterlab/services",
  widgets: "@lumino/widgets",
  ui: "@jupyterlab/ui-components"
};
var STYLE = [
  ".astrohub-fits { overflow: auto; padding: 8px 12px; font-size: var(--jp-ui-font-size1); color: var(--jp-ui-font-color1); background: var(--jp-layout-color0); }",
  ".astrohub-fits h3 { font-size: var(--jp-ui-font-size2); margin: 12px 0 4px; }",
  ".astrohub-fits table { border-collapse: collapse; }",
  ".astrohub-fits th, .astrohub-fits td { border: 1px solid var(--jp-border-color2); padding: 2px 6px; text-align: left; vertical-align: top; white-space: nowrap; }",
  ".astrohub-fits-hdus tbody tr { cursor: pointer; }",
  ".astrohub-fits-hdus tbody tr:hover { background: var(--jp-layout-color2); }",
  ".astrohub-fits-hdus tr.astrohub-fits-current { background: var(--jp-brand-color3); font-weight: bold; }",
  ".astrohub-fits-error { color: var(--jp-error-color1); border: 1px solid var(--jp-error-color1); padding: 8px; margin: 8px 0; white-space: pre-wrap; }",
  ".astrohub-fits-picture { image-rendering: pixelated; max-width: 100%; height: auto; display: block; cursor: crosshair; background: repeating-conic-gradient(#808080 0 25%, #a0a0a0 0 50%) 0 0 / 16px 16px; }",
  ".astrohub-fits-cursor { font-family: var(--jp-code-font-family); min-height: 1.4em; margin: 4px 0; }",
  ".astrohub-fits-header { font-family: var(--jp-code-font-family); font-size: var(--jp-code-font-size); white-space: pre; overflow: auto; max-height: 40em; border: 1px solid var(--jp-border-color2); padding: 4px; margin: 0; }",
  ".astrohub-fits-rows td { font-family: var(--jp-code-font-family); }",
  ".astrohub-fits-mode { margin: 8px 0 4px; }",
  ".astrohub-fits-credible { font-weight: bold; margin: 4px 0; }",
  ".astrohub-fits-skymap { max-width: 100%; image-rendering: auto; background: none; }",
  ".astrohub-fits-swatch { text-shadow: 0 0 1px #000, 0 0 1px #000; }",
  ".astrohub-fits-unit { font-weight: normal; color: var(--jp-ui-font-color2); }"
].join("\n");

function element(tag, className, text) {
  var node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined && text !== null) {
    node.textContent = String(text);
  }
  return node;
}

function number(value) {
  if (value === null || value === undefined) {
    return "blank";
  }
  return Math.abs(value) >= 1e5 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(4) : String(+value.toPrecision(6));
}

function activate(app, m, restorer) {
  var Widget = m.widgets.Widget;
  var settings = app.serviceManager.serverSettings;

  function request(route, params) {
    var query = Object.keys(params).filter(function (k) {
      return params[k] !== null && params[k] !== undefined;
    }).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    }).join("&");
    var url = settings.baseUrl + route + "?" + query;
    return m.services.ServerConnection.makeRequest(url, { method: "GET" }, settings).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try {
          body = JSON.parse(text);
        } catch (e) {
          body = null;
        }
        if (!response.ok) {
          throw new Error((body && body.message) || ("the server answered " + response.status + " " + response.statusText));
        }
        if (!body) {
          throw new Error("the server's answer was not JSON");
        }
        return body;
      });
    });
  }

  class FitsView extends Widget {
    constructor(context) {
      super();
      this.addClass("astrohub-fits");
      this.context = context;
      this.hdu = null;
      this.stretch = "zscale";
      this.mode = null;  // how a HEALPix map is shown: null (the server's default, "map") or "table"
      this.serial = 0;
      this.cursor = { busy: false, pending: null };
      this.status = element("div", "astrohub-fits-status", "Reading the file…");
      this.body = element("div", "astrohub-fits-body");
      this.node.appendChild(this.status);
      this.node.appendChild(this.body);
      context.pathChanged.connect(function () {
        this.load();
      }, this);
      this.load();
    }

    get path() {
      return app.serviceManager.contents.localPath(this.context.path);
    }

    load() {
      var serial = ++this.serial;
      var self = this;
      this.status.className = "astrohub-fits-status";
      this.status.textContent = "Reading " + this.path + "…";
      return request("astrohub/fits", { path: this.path, hdu: this.hdu, stretch: this.stretch, show: this.mode }).then(function (answer) {
        if (serial === self.serial && !self.isDisposed) {
          self.display(answer);
        }
      }, function (error) {
        if (serial === self.serial && !self.isDisposed) {
          self.body.textContent = "";
          self.status.className = "astrohub-fits-error";
          self.status.setAttribute("role", "alert");
          self.status.textContent = "Cannot show " + self.path + ": " + (error && error.message ? error.message : String(error));
        }
      });
    }

    display(answer) {  // not show(): that is Lumino's Widget.show(), which Lab may call to reveal the widget
      var self = this;
      this.hdu = answer.hdu;
      this.status.className = "astrohub-fits-status";
      this.status.removeAttribute("role");
      this.status.textContent = answer.path + ": " + answer.hdus.length + " HDU" + (answer.hdus.length === 1 ? "" : "s");
      var body = this.body;
      body.textContent = "";
      // the HDUs
      var hdus = element("table", "astrohub-fits-hdus");
      var head = hdus.createTHead().insertRow();
      ["#", "Name", "Type", "Size"].forEach(function (label) {
        head.appendChild(element("th", null, label));
      });
      var rows = hdus.createTBody();
      answer.hdus.forEach(function (hdu) {
        var row = rows.insertRow();
        row.setAttribute("data-hdu", hdu.index);
        if (hdu.index === answer.hdu) {
          row.className = "astrohub-fits-current";
        }
        [hdu.index, hdu.name, hdu.type, hdu.size].forEach(function (value) {
          row.appendChild(element("td", null, value));
        });
        row.addEventListener("click", function () {
          self.hdu = hdu.index;
          self.mode = null;
          self.load();
        });
      });
      body.appendChild(element("h3", null, "HDUs"));
      body.appendChild(hdus);
      if (answer.hdus[answer.hdu].skymap) {
        var toggle = element("button", "astrohub-fits-mode jp-mod-styled", answer.skymap ? "Show as table" : "Show as sky map");
        toggle.addEventListener("click", function () {
          self.mode = answer.skymap ? "table" : "map";
          self.load();
        });
        body.appendChild(toggle);
      }
      if (answer.skymap_error) {
        body.appendChild(element("div", "astrohub-fits-error", answer.skymap_error));
      }
      if (answer.image) {
        this.showImage(answer.image);
      } else if (answer.skymap) {
        this.showSkymap(answer.skymap);
      } else if (answer.table) {
        this.showTable(answer.table);
      }
      body.appendChild(element("h3", null, "Header of HDU " + answer.hdu + (answer.hdus[answer.hdu].name ? " (" + answer.hdus[answer.hdu].name + ")" : "")));
      body.appendChild(element("pre", "astrohub-fits-header", answer.header));
    }

    showImage(image) {
      var self = this;
      var body = this.body;
      body.appendChild(element("h3", null, "Image"));
      body.appendChild(this.stretchChoice(image.stretch));
      var picture = element("img", "astrohub-fits-picture");
      picture.alt = "HDU " + this.hdu + " drawn with " + image.stretch;
      picture.src = "data:image/png;base64," + image.png;
      var width = image.shown[0];
      picture.style.width = Math.max(width, Math.min(512, width * 4)) + "px";
      body.appendChild(picture);
      var about = image.width + " × " + image.height + " pixels" +
        (image.step > 1 ? ", drawn from every " + image.step + "th pixel (" + image.shown[0] + " × " + image.shown[1] + ")" : "") +
        (image.plane ? ", " + image.plane : "") + "; " + image.stretch + " from " + number(image.limits[0]) +
        " to " + number(image.limits[1]) + (image.unit ? " " + image.unit : "") + (image.wcs ? "" : "; no celestial WCS in the header");
      body.appendChild(element("div", "astrohub-fits-about", about));
      var cursor = element("div", "astrohub-fits-cursor", "Move the cursor over the image for its pixel value" + (image.wcs ? " and sky position." : "."));
      body.appendChild(cursor);
      picture.addEventListener("mousemove", function (event) {
        var box = picture.getBoundingClientRect();
        var col = Math.floor((event.clientX - box.left) / box.width * image.shown[0]);
        var row = image.shown[1] - 1 - Math.floor((event.clientY - box.top) / box.height * image.shown[1]);
        var x = Math.min(image.width - 1, Math.max(0, col * image.step));
        var y = Math.min(image.height - 1, Math.max(0, row * image.step));
        self.pointAt(x, y, cursor);
      });
      if (image.corners.length) {
        var corners = element("table", "astrohub-fits-corners");
        var head = corners.createTHead().insertRow();
        ["Where", "Pixel (x, y)", "Sky"].forEach(function (label) {
          head.appendChild(element("th", null, label));
        });
        var rows = corners.createTBody();
        image.corners.forEach(function (corner) {
          var row = rows.insertRow();
          [corner.name, "(" + corner.x + ", " + corner.y + ")", corner.sky ? corner.sky.text : "off the sky"].forEach(function (value) {
            row.appendChild(element("td", null, value));
          });
        });
        body.appendChild(corners);
      }
    }

    showSkymap(skymap) {
      var self = this;
      var body = this.body;
      body.appendChild(element("h3", null, "Sky map"));
      if (skymap.credible) {
        body.appendChild(element("div", "astrohub-fits-credible", Math.round(skymap.credible.level * 100) +
          " % credible area: " + number(skymap.credible.area) + " deg²" +
          (skymap.credible.nside ? " (at nside " + skymap.credible.nside + ")" : "") +
          "; total probability " + number(skymap.credible.total)));
      }
      if (skymap.contours && skymap.contours.length) {
        var legend = element("div", "astrohub-fits-contours", "Outlined: ");
        skymap.contours.forEach(function (contour, i) {
          var swatch = element("span", "astrohub-fits-swatch", "■");
          swatch.style.color = contour.colour;
          legend.appendChild(swatch);
          legend.appendChild(document.createTextNode(" " + Math.round(contour.level * 100) + " %" +
            (i < skymap.contours.length - 1 ? ", " : " credible regions (smallest areas holding that probability)")));
        });
        body.appendChild(legend);
      }
      if (!skymap.probability) {
        body.appendChild(this.stretchChoice(skymap.stretch));
      }
      var picture = element("img", "astrohub-fits-picture astrohub-fits-skymap");
      picture.alt = "HDU " + this.hdu + ": " + skymap.column + " on the sky (Mollweide)";
      picture.src = "data:image/png;base64," + skymap.png;
      picture.style.width = skymap.width + "px";
      body.appendChild(picture);
      var frame = { C: "equatorial", G: "galactic", E: "ecliptic" }[skymap.frame] || skymap.frame;
      body.appendChild(element("div", "astrohub-fits-about", skymap.about + "; " + skymap.column +
        (skymap.probability ? " as probability per deg²" : (skymap.unit ? " [" + skymap.unit + "]" : "")) +
        " from " + number(skymap.limits[0]) + " to " + number(skymap.limits[1]) + ", averaged over the pixels of nside " +
        skymap.display_nside + "; Mollweide, " + frame + ", centre " + skymap.centre + "°, longitude increasing to the left"));
      var cursor = element("div", "astrohub-fits-cursor", "Move the cursor over the map for its sky position and value.");
      body.appendChild(cursor);
      picture.addEventListener("mousemove", function (event) {
        var box = picture.getBoundingClientRect();
        var x = Math.min(skymap.width - 1, Math.max(0, Math.floor((event.clientX - box.left) / box.width * skymap.width)));
        var y = Math.min(skymap.height - 1, Math.max(0, Math.floor((event.clientY - box.top) / box.height * skymap.height)));
        self.pointAt(x, y, cursor);
      });
    }

    stretchChoice(current) {
      var self = this;
      var bar = element("label", "astrohub-fits-stretch", "Stretch ");
      var select = element("select");
      [["zscale", "ZScale (linear)"], ["asinh", "asinh (99.5 %)"]].forEach(function (pair) {
        var option = element("option", null, pair[1]);
        option.value = pair[0];
        option.selected = pair[0] === current;
        select.appendChild(option);
      });
      select.addEventListener("change", function () {
        self.stretch = select.value;
        self.load();
      });
      bar.appendChild(select);
      return bar;
    }

    pointAt(x, y, cursor) {
      var self = this;
      if (this.cursor.busy) {
        this.cursor.pending = [x, y];
        return;
      }
      this.cursor.busy = true;
      request("astrohub/fits/sky", { path: this.path, hdu: this.hdu, x: x, y: y }).then(function (answer) {
        if (answer.map) {
          cursor.textContent = !answer.sky ? "off the sky" : answer.sky.text + ("value" in answer ? "; " + answer.column +
            " " + number(answer.value) + (answer.unit ? " " + answer.unit : "") : "");
          return;
        }
        var value = "value" in answer ? ": " + number(answer.value) + (answer.unit ? " " + answer.unit : "") : "";
        cursor.textContent = "x " + answer.x + ", y " + answer.y + " (0-based)" + value + (answer.sky ? "; " + answer.sky.text : "");
      }, function (error) {
        cursor.textContent = error && error.message ? error.message : String(error);
      }).then(function () {
        self.cursor.busy = false;
        var next = self.cursor.pending;
        self.cursor.pending = null;
        if (next && !self.isDisposed) {
          self.pointAt(next[0], next[1], cursor);
        }
      });
    }

    showTable(table) {
      var body = this.body;
      body.appendChild(element("h3", null, "Table: " + (table.shown < table.total ? "the first " + table.shown + " of " : "") +
        table.total.toLocaleString() + " rows"));
      var grid = element("table", "astrohub-fits-rows");
      var head = grid.createTHead().insertRow();
      table.columns.forEach(function (column) {
        var cell = element("th", null, column.name);
        cell.title = "format " + column.format;
        if (column.unit) {
          cell.appendChild(element("br"));
          cell.appendChild(element("span", "astrohub-fits-unit", "[" + column.unit + "]"));
        }
        head.appendChild(cell);
      });
      var rows = grid.createTBody();
      table.rows.forEach(function (values) {
        var row = rows.insertRow();
        values.forEach(function (value) {
          row.appendChild(element("td", null, value));
        });
      });
      body.appendChild(grid);
    }
  }

  class NoContentModelFactory extends m.docregistry.TextModelFactory {
    constructor() {
      super(false);
    }

    get name() {
      return MODEL;
    }

    get fileFormat() {
      return null;  // the contents API sends no content: the server reads the file, not the browser
    }
  }

  class FitsViewerFactory extends m.docregistry.ABCWidgetFactory {
    createNewWidget(context) {
      var widget = new m.docregistry.DocumentWidget({ content: new FitsView(context), context: context });
      widget.addClass("astrohub-fits-document");
      if (m.ui && m.ui.imageIcon) {
        widget.title.icon = m.ui.imageIcon;
      }
      return widget;
    }
  }

  var style = document.createElement("style");
  style.id = NAME + "-style";
  style.textContent = STYLE;
  document.head.appendChild(style);
  app.docRegistry.addModelFactory(new NoContentModelFactory());
  var fileType = {
    name: FILE_TYPE,
    displayName: "FITS file",
    extensions: EXTENSIONS,
    mimeTypes: ["application/fits", "image/fits"],
    contentType: "file",
    fileFormat: "base64"
  };
  if (m.ui && m.ui.imageIcon) {
    fileType.icon = m.ui.imageIcon;
  }
  app.docRegistry.addFileType(fileType);
  var factory = new FitsViewerFactory({
    name: FACTORY,
    label: FACTORY,
    modelName: MODEL,
    fileTypes: [FILE_TYPE],
    defaultFor: [FILE_TYPE],
    readOnly: true
  });
  app.docRegistry.addWidgetFactory(factory);
  // A FITS tab open when the page is reloaded opens again, as Lab's own viewers do.
  var tracker = new m.apputils.WidgetTracker({ namespace: NAME });
  factory.widgetCreated.connect(function (sender, widget) {
    widget.context.pathChanged.connect(function () {
      void tracker.save(widget);
    });
    void tracker.add(widget);
  });
  if (restorer) {
    void restorer.restore(tracker, {
      command: "docmanager:open",
      args: function (widget) {
        return { path: widget.context.path, factory: FACTORY };
      },
      name: function (widget) {
        return widget.context.path;
      }
    });
  }
}

export default function (shared) {
  var keys = Object.keys(NEEDED);
  return Promise.all(keys.map(function (key) {
    return shared(NEEDED[key]);
  })).then(function (modules) {
    var m = {};
    keys.forEach(function (key, i) {
      m[key] = modules[i];
    });
    return {
      id: NAME + ":plugin",
      description: "Opens FITS files in a viewer tab (HDUs, image, table, header), drawn by the user's server.",
      autoStart: true,
      optional: [m.application.ILayoutRestorer],
      activate: function (app, restorer) {
        activate(app, m, restorer);
      }
    };
  });
}
