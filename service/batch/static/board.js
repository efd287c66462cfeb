/* The ops errors board (service/batch/board.py writes its data): filters reflected in the
   URL fragment, counts and the cause chart recomputed, rows grouped by error shape, one
   row's detail, CSV and JSONL export of the filtered rows. The same file is inlined into
   the batch HTML summary and served to /console/board; it needs nothing from the network.
   Every row is a few numbers in typed arrays, so a filter is one pass over them. */
(function () {
  "use strict";
  var FILTERS = ["code", "status", "shop", "region", "platform", "endpoint", "category", "owner", "retries",
    "from", "to", "q"];
  var SHAPE_FILTERS = {code: "code", status: "status", platform: "platform", endpoint: "endpoint",
    category: "category", owner: "owner"};
  var DIAG = ["category", "owner", "rule_id", "title", "first_step", "doc_url", "language"];
  var NO_RETRIES = 255, PAGE = 100, NONE = "(none)";  // NONE: the value of an empty key (summary.py's)

  function bytes(b64) {
    var text = atob(b64), out = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out.buffer;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c != null) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function isoMinute(m) {  // minutes since 1970 -> "YYYY-MM-DDTHH:MM" (UTC)
    var d = new Date(m * 60000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + "T" +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }
  function minuteOf(text) {  // "YYYY-MM-DDTHH:MM" (UTC) -> minutes, NaN when not a time
    var t = Date.parse(text.length === 10 ? text + "T00:00Z" : text + "Z");
    return Math.floor(t / 60000);
  }
  function fmt(n) { return n.toLocaleString("en-US"); }

  function Board(root, data) {
    this.root = root;
    this.data = data;
    this.w = data.labels.words;
    var p = data.packed;
    this.shape = new Uint16Array(bytes(p.shape));
    this.shop = new Uint16Array(bytes(p.shop));
    this.region = new Uint8Array(bytes(p.region));
    this.minute = new Uint32Array(bytes(p.minute));
    this.retries = new Uint8Array(bytes(p.retries));
    this.n = this.shape.length;
    this.byRow = {};
    this.keptOf = data.shapes.map(function () { return []; });
    var self = this;
    data.kept_rows.forEach(function (r) { self.byRow[r.row] = r; self.keptOf[self.shape[r.row]].push(r); });
    this.shapeText = data.shapes.map(function (s) {
      return [s.code, s.status, s.endpoint, s.message, s.title, s.rule_id || "", s.category, s.platform,
        self.category(s.category)].join(" ").toLowerCase();
    });
    this.shopText = data.shops.map(function (s) { return s.toLowerCase(); });
    this.state = {};
    this.shown = PAGE;
    root.removeAttribute("data-ready");
    this.build();
    this.onHash = function () { self.readHash(); self.update(); };
    window.addEventListener("hashchange", this.onHash);
    this.readHash();
    this.update();
  }

  Board.prototype.category = function (key) { return this.data.labels.categories[key] || key; };
  Board.prototype.owner = function (key) { return this.data.labels.owners[key] || key; };

  // -- the filters and the URL fragment -------------------------------------------------

  Board.prototype.options = function (name) {
    var d = this.data, counts = {}, i, key;
    if (name === "shop" || name === "region" || name === "retries") {
      var column = name === "shop" ? this.shop : name === "region" ? this.region : this.retries;
      var names = name === "shop" ? d.shops : name === "region" ? d.regions : null;
      var tally = new Uint32Array(name === "shop" ? d.shops.length : 256);
      for (i = 0; i < this.n; i++) tally[column[i]]++;
      for (i = 0; i < tally.length; i++) if (tally[i]) counts[i] = tally[i];
      var out = Object.keys(counts).map(function (k) {
        var label = names ? names[k] : (+k === NO_RETRIES ? d.labels.none : k);
        return {value: names ? names[k] : (+k === NO_RETRIES ? "none" : k), label: label, count: counts[k]};
      });
      if (name === "retries") {
        var many = out.filter(function (o) { return +o.value >= 3; }).reduce(function (a, o) { return a + o.count; }, 0);
        out.sort(function (a, b) { return (a.value === "none") - (b.value === "none") || (+a.value) - (+b.value); });
        out.unshift({value: "3+", label: this.w.three_or_more, count: many});
        return out;
      }
      return out.sort(function (a, b) { return b.count - a.count; });
    }
    var field = SHAPE_FILTERS[name], perShape = this.perShape();
    d.shapes.forEach(function (shape, s) {
      key = String(shape[field]) || NONE;
      counts[key] = (counts[key] || 0) + perShape[s];
    });
    var self = this;
    return Object.keys(counts).map(function (k) {
      var label = name === "category" ? self.category(k) : name === "owner" ? self.owner(k) :
        (k === NONE ? d.labels.none : k);
      return {value: k, label: label, count: counts[k]};
    }).sort(function (a, b) { return b.count - a.count; });
  };

  Board.prototype.perShape = function () {  // rows per shape, all rows
    if (!this._perShape) {
      var counts = new Uint32Array(this.data.shapes.length), shape = this.shape;
      for (var i = 0; i < this.n; i++) counts[shape[i]]++;
      this._perShape = counts;
    }
    return this._perShape;
  };

  Board.prototype.build = function () {
    var w = this.w, self = this, d = this.data;
    this.controls = {};
    var form = el("form", {id: "board-filters", class: "board-filters"});
    FILTERS.forEach(function (name) {
      var control;
      if (name === "from" || name === "to") {
        control = el("input", {type: "datetime-local", id: "f-" + name, name: name});
      } else if (name === "q") {
        control = el("input", {type: "search", id: "f-q", name: "q", placeholder: w.search});
      } else {
        control = el("select", {id: "f-" + name, name: name}, [el("option", {value: "", text: w.all})]);
        self.options(name).forEach(function (o) {
          control.appendChild(el("option", {value: o.value, text: o.label + " (" + fmt(o.count) + ")"}));
        });
      }
      control.addEventListener("change", function () { self.set(name, control.value); });
      if (name === "q") control.addEventListener("input", function () { self.set(name, control.value); });
      self.controls[name] = control;
      form.appendChild(el("label", {for: "f-" + name}, [w["filter_" + name], control]));
    });
    var sort = el("select", {id: "f-sort", name: "sort"}, [
      el("option", {value: "count", text: w.sort_count}), el("option", {value: "time", text: w.sort_time})]);
    sort.addEventListener("change", function () { self.set("sort", sort.value); });
    this.controls.sort = sort;
    form.appendChild(el("label", {for: "f-sort"}, [w.sort, sort]));
    var clear = el("button", {type: "button", id: "f-clear", text: w.clear});
    clear.addEventListener("click", function () { self.state = {}; self.writeHash(); });
    form.appendChild(clear);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    this.count = el("p", {id: "board-count", class: "board-count"});
    this.chart = el("div", {id: "board-chart", class: "board-chart", role: "img", "aria-label": w.causes});
    this.shapes = el("table", {id: "board-shapes", class: "board-shapes"});
    this.more = el("button", {type: "button", id: "board-more", text: w.more});
    this.more.addEventListener("click", function () { self.shown += PAGE; self.renderShapes(); });
    this.detail = el("section", {id: "board-detail", class: "board-detail", hidden: ""});
    var csv = el("button", {type: "button", id: "export-csv", text: w.export_csv});
    var jsonl = el("button", {type: "button", id: "export-jsonl", text: w.export_jsonl});
    csv.addEventListener("click", function () { self.exportRows("csv"); });
    jsonl.addEventListener("click", function () { self.exportRows("jsonl"); });
    var note = d.all_kept ? null : el("p", {class: "note", id: "board-sampled",
      text: w.sampled.replace("{kept}", fmt(d.kept)).replace("{rows}", fmt(d.rows))});
    this.root.replaceChildren.apply(this.root, [form, this.count, note, el("div", {class: "board-export"}, [csv, jsonl]),
      el("h3", {text: w.causes}), this.chart, el("h3", {text: w.shapes}), this.shapes, this.more, this.detail]
      .filter(Boolean));
  };

  Board.prototype.set = function (name, value) {
    if (value) this.state[name] = value; else delete this.state[name];
    if (name !== "row") delete this.state.row;
    this.writeHash();
  };

  Board.prototype.writeHash = function () {
    var state = this.state, parts = Object.keys(state).sort().map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(state[k]);
    });
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (location.hash !== hash) {
      history.replaceState(null, "", hash || location.pathname + location.search);
    }
    this.update();
  };

  Board.prototype.readHash = function () {
    var state = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      if (!part) return;
      var i = part.indexOf("=");
      if (i > 0) state[decodeURIComponent(part.slice(0, i))] = decodeURIComponent(part.slice(i + 1));
    });
    this.state = state;
    var controls = this.controls;
    Object.keys(controls).forEach(function (name) {
      controls[name].value = state[name] || (name === "sort" ? "count" : "");
    });
  };

  // -- filtering ----------------------------------------------------------------------

  Board.prototype.shapeOk = function () {
    var s = this.state, shapes = this.data.shapes, q = (s.q || "").toLowerCase(), text = this.shapeText;
    return shapes.map(function (shape) {
      for (var name in SHAPE_FILTERS) {
        if (s[name] !== undefined && (String(shape[SHAPE_FILTERS[name]]) || NONE) !== s[name]) return false;
      }
      return true;
    }).map(function (ok, i) { return ok ? (q && text[i].indexOf(q) < 0 ? 2 : 1) : 0; });  // 2: needs the shop to match q
  };

  Board.prototype.lookup = function (names, value) {
    var i = names.indexOf(value);
    return i;  // -1: no row can match
  };

  /* Calls visit(row) for every row that passes the filters, in input order. */
  Board.prototype.scan = function (visit) {
    var s = this.state, d = this.data, shapeOk = this.shapeOk();
    var shop = s.shop !== undefined ? this.lookup(d.shops, s.shop) : -2;
    var region = s.region !== undefined ? this.lookup(d.regions, s.region) : -2;
    var retries = s.retries === undefined ? -2 : s.retries === "3+" ? -3 : s.retries === "none" ? NO_RETRIES : +s.retries;
    var from = s.from ? minuteOf(s.from) : 0, to = s.to ? minuteOf(s.to) : 0;
    var q = (s.q || "").toLowerCase(), shopQ = null;
    if (q) shopQ = this.shopText.map(function (t) { return t.indexOf(q) >= 0; });
    var shapeA = this.shape, shopA = this.shop, regionA = this.region, minuteA = this.minute, retriesA = this.retries;
    for (var i = 0, n = this.n; i < n; i++) {
      var ok = shapeOk[shapeA[i]];
      if (!ok) continue;
      if (ok === 2 && !shopQ[shopA[i]]) continue;
      if (shop !== -2 && shopA[i] !== shop) continue;
      if (region !== -2 && regionA[i] !== region) continue;
      if (retries !== -2) {
        var r = retriesA[i];
        if (retries === -3 ? (r < 3 || r === NO_RETRIES) : r !== retries) continue;
      }
      if (from && (!minuteA[i] || minuteA[i] < from)) continue;
      if (to && (!minuteA[i] || minuteA[i] > to)) continue;
      visit(i);
    }
  };

  Board.prototype.update = function () {
    var started = performance.now(), d = this.data, self = this;
    var counts = new Uint32Array(d.shapes.length), latest = new Uint32Array(d.shapes.length);
    var minuteA = this.minute, shapeA = this.shape, total = 0;
    this.scan(function (i) {
      var s = shapeA[i];
      counts[s]++;
      total++;
      if (minuteA[i] > latest[s]) latest[s] = minuteA[i];
    });
    this.counts = counts;
    this.latest = latest;
    this.total = total;
    this.renderCount();
    this.renderChart();
    this.shown = PAGE;
    this.renderShapes();
    this.renderDetail();
    this.root.setAttribute("data-filter-ms", (performance.now() - started).toFixed(1));
    if (!this.root.hasAttribute("data-render-ms")) {  // since the page began to load (make bench reads it)
      this.root.setAttribute("data-render-ms", performance.now().toFixed(0));
    }
    this.root.setAttribute("data-ready", "true");
    if (window.__boardUpdated) window.__boardUpdated(self);
  };

  // -- rendering ----------------------------------------------------------------------

  Board.prototype.renderCount = function () {
    var w = this.w, active = 0;
    for (var i = 0; i < this.counts.length; i++) if (this.counts[i]) active++;
    this.count.setAttribute("data-rows", this.total);
    this.count.textContent = w.matching.replace("{rows}", fmt(this.total)).replace("{all}", fmt(this.data.rows))
      .replace("{shapes}", fmt(active));
  };

  Board.prototype.renderChart = function () {
    var byCategory = {}, shapes = this.data.shapes, self = this;
    for (var i = 0; i < shapes.length; i++) {
      if (this.counts[i]) byCategory[shapes[i].category] = (byCategory[shapes[i].category] || 0) + this.counts[i];
    }
    var ranked = Object.keys(byCategory).sort(function (a, b) { return byCategory[b] - byCategory[a] || (a < b ? -1 : 1); });
    var top = ranked.length ? byCategory[ranked[0]] : 1, total = this.total || 1;
    this.chart.replaceChildren.apply(this.chart, ranked.map(function (key) {
      var bar = el("span", {class: "bar" + (key === "unknown" ? " unknown" : "")});
      bar.style.width = Math.max(0.5, 100 * byCategory[key] / top).toFixed(1) + "%";
      return el("div", {class: "cause", "data-category": key, "data-count": byCategory[key],
        title: key + ": " + fmt(byCategory[key])}, [
        el("span", {class: "label", text: self.category(key)}),
        el("span", {class: "track"}, [bar]),
        el("span", {class: "n", text: fmt(byCategory[key]) + " · " + (100 * byCategory[key] / total).toFixed(1) + "%"})]);
    }));
  };

  Board.prototype.renderShapes = function () {
    var w = this.w, self = this, counts = this.counts, latest = this.latest;
    var order = [];
    for (var i = 0; i < counts.length; i++) if (counts[i]) order.push(i);
    var byTime = this.state.sort === "time";
    order.sort(function (a, b) { return (byTime ? latest[b] - latest[a] : 0) || counts[b] - counts[a] || a - b; });
    var head = el("tr", {}, [w.count, w.cause, w.code, w.status, w.endpoint, w.message, w.latest].map(function (t) {
      return el("th", {text: t});
    }));
    var rows = [head];
    order.slice(0, this.shown).forEach(function (s) {
      var shape = self.data.shapes[s];
      var tr = el("tr", {class: "shape", "data-shape": s, "data-count": counts[s], tabindex: "0"}, [
        el("td", {class: "n", text: fmt(counts[s])}),
        el("td", {text: self.category(shape.category)}),
        el("td", {}, [el("code", {text: shape.code})]),
        el("td", {text: String(shape.status)}),
        el("td", {}, [el("code", {text: shape.endpoint})]),
        el("td", {text: shape.message || shape.title}),
        el("td", {text: latest[s] ? isoMinute(latest[s]).replace("T", " ") : ""})]);
      tr.addEventListener("click", function () { self.openShape(s); });
      rows.push(tr);
      if (self.state.shape === String(s)) rows.push(self.keptRows(s));
    });
    this.shapes.replaceChildren.apply(this.shapes, rows);
    this.more.hidden = order.length <= this.shown;
  };

  Board.prototype.filteredKept = function (shape) {
    var ok = {}, list = shape === undefined ? this.data.kept_rows : this.keptOf[shape];
    if (!list.length) return [];
    var wanted = {};
    list.forEach(function (r) { wanted[r.row] = true; });
    this.scan(function (i) { if (wanted[i]) ok[i] = true; });
    return list.filter(function (r) { return ok[r.row]; });
  };

  Board.prototype.keptRows = function (s) {
    var self = this, w = this.w, kept = this.filteredKept(s);
    var items = kept.map(function (r) {
      var a = el("a", {href: "#", class: "open-row", "data-row": r.row,
        text: w.line + " " + r.line + " · " + self.summaryOf(r)});
      a.addEventListener("click", function (e) { e.preventDefault(); self.set("row", String(r.row)); });
      return el("li", {}, [a]);
    });
    var cell = el("td", {colspan: "7"}, [el("ul", {class: "kept"}, items.length ? items : [el("li", {text: w.none_kept})])]);
    return el("tr", {class: "kept-rows"}, [cell]);
  };

  Board.prototype.summaryOf = function (r) {
    var d = this.data, shop = d.shops[this.shop[r.row]], m = this.minute[r.row];
    return [shop, m ? isoMinute(m).replace("T", " ") : ""].filter(Boolean).join(" · ");
  };

  Board.prototype.openShape = function (s) {
    this.state.shape === String(s) ? delete this.state.shape : (this.state.shape = String(s));
    this.writeHash();
  };

  Board.prototype.renderDetail = function () {
    var d = this.data, w = this.w, self = this, r = this.state.row !== undefined ? this.byRow[this.state.row] : null;
    if (!r) { this.detail.hidden = true; this.detail.replaceChildren(); return; }
    var s = this.shape[r.row], shape = d.shapes[s];
    function part(role) {
      var dl = el("dl", {class: "raw " + role});
      d.columns.forEach(function (name, i) {
        if (d.roles[i] === role && r.cells[i] !== "") {
          dl.appendChild(el("dt", {text: name}));
          dl.appendChild(el("dd", {}, [el("pre", {text: r.cells[i]})]));
        }
      });
      return dl;
    }
    var evidence = el("dl", {class: "evidence"});
    Object.keys(shape.evidence || {}).forEach(function (k) {
      evidence.appendChild(el("dt", {text: k}));
      evidence.appendChild(el("dd", {}, [el("code", {text: JSON.stringify(shape.evidence[k])})]));
    });
    var others = this.filteredKept(s).filter(function (o) { return o.row !== r.row; }).map(function (o) {
      var a = el("a", {href: "#", class: "open-row", "data-row": o.row, text: w.line + " " + o.line + " · " + self.summaryOf(o)});
      a.addEventListener("click", function (e) { e.preventDefault(); self.set("row", String(o.row)); });
      return el("li", {}, [a]);
    });
    var close = el("button", {type: "button", id: "detail-close", text: w.close});
    close.addEventListener("click", function () { self.set("row", ""); });
    var doc = shape.doc_url ? el("a", {href: shape.doc_url, rel: "noreferrer", class: "doc", id: "detail-doc",
      text: w.doc}) : el("span", {text: w.no_doc});
    this.detail.replaceChildren(
      el("h3", {text: w.detail + " · " + w.line + " " + r.line}), close,
      el("div", {class: "detail-grid"}, [
        el("div", {}, [el("h4", {text: w.request}), part("request"), el("h4", {text: w.response}), part("response"),
          el("h4", {text: w.context}), part("context")]),
        el("div", {id: "detail-diagnosis"}, [
          el("h4", {text: shape.title}),
          el("p", {}, [el("b", {text: self.category(shape.category)}), " · " + self.owner(shape.owner) + " · ",
            el("code", {text: shape.rule_id || w.no_rule})]),
          el("p", {class: "explanation", text: shape.explanation}),
          el("h4", {text: w.evidence}), evidence, doc,
          el("h4", {text: w.steps}), el("ol", {id: "detail-steps"}, shape.steps.map(function (t) { return el("li", {text: t}); })),
          el("h4", {text: w.same_shape.replace("{n}", fmt(this.counts[s]))}),
          el("ul", {id: "detail-others"}, others.length ? others : [el("li", {text: w.none_kept})])])]));
    this.detail.hidden = false;
  };

  // -- export -------------------------------------------------------------------------

  Board.prototype.exportRows = function (kind) {
    var d = this.data, self = this, rows = this.filteredKept();
    var names = d.columns.concat(DIAG.map(function (n) { return d.columns.indexOf(n) >= 0 ? "opsdiag_" + n : n; }));
    function diag(r) {
      var s = d.shapes[self.shape[r.row]];
      return [s.category, s.owner, s.rule_id || "", s.title, s.steps[0] || "", s.doc_url || "", d.lang];
    }
    var text;
    if (kind === "csv") {
      var quote = function (v) { v = String(v); return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; };
      text = "\ufeff" + [names].concat(rows.map(function (r) { return r.cells.concat(diag(r)); }))
        .map(function (row) { return row.map(quote).join(","); }).join("\r\n") + "\r\n";
    } else {
      text = rows.map(function (r) {
        var values = r.cells.concat(diag(r)), out = {};
        names.forEach(function (n, i) { out[n] = values[i]; });
        return JSON.stringify(out);
      }).join("\n") + (rows.length ? "\n" : "");
    }
    var blob = new Blob([text], {type: kind === "csv" ? "text/csv;charset=utf-8" : "application/x-ndjson"});
    var a = el("a", {href: URL.createObjectURL(blob), download: "opsdiag-errors." + kind});
    document.body.appendChild(a);
    a.click();
    a.remove();
    return rows.length;
  };

  var current = null;
  window.OpsBoard = {
    render: function (root, data) {  // a new board in place of the one shown (console uploads)
      if (current) window.removeEventListener("hashchange", current.onHash);
      current = new Board(root, data);
      return current;
    }
  };
  var embedded = document.getElementById("board-data");
  if (embedded) window.OpsBoard.render(document.getElementById("board"), JSON.parse(embedded.textContent));
})();
