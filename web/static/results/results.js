/* Candor results charts, drawn with uPlot (npm "uplot", served from /vendor/uplot/).
 *
 * Each page embeds its data as JSON in <script id="chart-data"> and says which kind of page it
 * is in data-page on the chart root. Curves are told apart by colour (Okabe-Ito, colour-blind
 * safe) AND by line style, a marker shape and a text label, so colour is never needed alone.
 */
(function () {
  "use strict";

  var STYLES = [
    { color: "#0072B2", dash: [], width: 3, marker: "circle" },
    { color: "#D55E00", dash: [10, 5], width: 2, marker: "triangle" },
    { color: "#009E73", dash: [2, 4], width: 2.5, marker: "square" },
    { color: "#CC79A7", dash: [12, 4, 2, 4], width: 2, marker: "diamond" },
    { color: "#E69F00", dash: [20, 6], width: 2, marker: "down" },
    { color: "#56B4E9", dash: [6, 3, 6, 3, 1, 3], width: 2, marker: "cross" },
    { color: "#000000", dash: [1, 3], width: 2, marker: "plus" },
    { color: "#8C6D1F", dash: [14, 3, 3, 3, 3, 3], width: 2, marker: "star" },
  ];
  var NORM_COLOR = "#777777";

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function fmt(v, digits) {
    return v === null || v === undefined ? "–" : v.toFixed(digits === undefined ? 2 : digits);
  }

  function fmtTime(t) {
    var s = Math.max(0, t);
    var m = Math.floor(s / 60);
    var rest = s - m * 60;
    return m > 0 ? m + " min " + rest.toFixed(1) + " s" : rest.toFixed(1) + " s";
  }

  /* Marker shapes drawn on the canvas along each curve and in the legend swatches. */
  function drawMarker(ctx, shape, x, y, r) {
    ctx.beginPath();
    if (shape === "circle") {
      ctx.arc(x, y, r, 0, 2 * Math.PI);
    } else if (shape === "triangle") {
      ctx.moveTo(x, y - r); ctx.lineTo(x + r, y + r); ctx.lineTo(x - r, y + r); ctx.closePath();
    } else if (shape === "down") {
      ctx.moveTo(x, y + r); ctx.lineTo(x + r, y - r); ctx.lineTo(x - r, y - r); ctx.closePath();
    } else if (shape === "square") {
      ctx.rect(x - r, y - r, 2 * r, 2 * r);
    } else if (shape === "diamond") {
      ctx.moveTo(x, y - r * 1.3); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r * 1.3);
      ctx.lineTo(x - r, y); ctx.closePath();
    } else if (shape === "star") {
      for (var i = 0; i < 10; i++) {
        var rr = i % 2 ? r * 0.45 : r * 1.2;
        var a = Math.PI / 5 * i - Math.PI / 2;
        ctx[i ? "lineTo" : "moveTo"](x + rr * Math.cos(a), y + rr * Math.sin(a));
      }
      ctx.closePath();
    } else {
      // cross and plus are strokes in the curve's own colour, not outlined fills
      if (shape === "cross") {
        ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
        ctx.moveTo(x - r, y + r); ctx.lineTo(x + r, y - r);
      } else {
        ctx.moveTo(x - r * 1.2, y); ctx.lineTo(x + r * 1.2, y);
        ctx.moveTo(x, y - r * 1.2); ctx.lineTo(x, y + r * 1.2);
      }
      ctx.save();
      ctx.strokeStyle = ctx.fillStyle;
      ctx.lineWidth = Math.max(ctx.lineWidth, 2);
      ctx.stroke();
      ctx.restore();
      return;
    }
    ctx.fill();
    ctx.stroke();
  }

  function swatch(style) {
    var c = document.createElement("canvas");
    var dpr = window.devicePixelRatio || 1;
    c.width = 44 * dpr; c.height = 14 * dpr;
    c.style.width = "44px"; c.style.height = "14px";
    c.setAttribute("aria-hidden", "true");
    var ctx = c.getContext("2d");
    ctx.scale(dpr, dpr);
    ctx.strokeStyle = style.color; ctx.fillStyle = style.color; ctx.lineWidth = style.width;
    ctx.setLineDash(style.dash);
    ctx.beginPath(); ctx.moveTo(1, 7); ctx.lineTo(43, 7); ctx.stroke();
    ctx.setLineDash([]); ctx.lineWidth = 1.5; ctx.strokeStyle = "#fff";
    drawMarker(ctx, style.marker, 22, 7, 4);
    return c;
  }


  /* Curve end labels: HTML in a gutter right of the plot, each joined to its curve's last point
   * by a leader line. The gutter is as wide as the longest label (capped, with an ellipsis and
   * the whole text as a tooltip beyond that), so no label is cut off at the right edge. */
  var LEADER = 16;        // CSS px from the plot's right edge to a label
  var LABEL_CAP = 180;    // no label wider than this, nor than LABEL_SHARE of the chart
  var LABEL_SHARE = 0.3;
  var LABEL_GAP = 2;      // CSS px between two labels, so their colour bars read apart

  /* Tops for boxes of height h wanted at tops `want` (sorted ascending) so that none overlap and
   * all lie within [lo, hi]: overlapping neighbours are merged into a cluster that sits where its
   * members want on average (least squares), then pushed back inside the range. */
  function spread(want, h, lo, hi) {
    var clusters = [];
    function settle(c) {
      var sum = 0;
      for (var k = 0; k < c.items.length; k++) sum += want[c.items[k]] - k * h;
      c.top = Math.min(Math.max(sum / c.items.length, lo), hi - c.items.length * h);
      c.top = Math.max(c.top, lo);
    }
    for (var i = 0; i < want.length; i++) {
      var c = { items: [i] };
      settle(c);
      clusters.push(c);
      while (clusters.length > 1) {
        var prev = clusters[clusters.length - 2];
        var last = clusters[clusters.length - 1];
        if (prev.top + prev.items.length * h <= last.top) break;
        prev.items = prev.items.concat(last.items);
        clusters.pop();
        settle(prev);
      }
    }
    var tops = [];
    clusters.forEach(function (c) {
      c.items.forEach(function (item, k) { tops[item] = c.top + k * h; });
    });
    return tops;
  }

  function shortName(label) {
    // The action unit is in the picker and the tooltip; the label keeps the name.
    return label.replace(/\s*\(AU.*$/, "");
  }

  function padded(range) {
    var pad = (range[1] - range[0]) * 0.03;
    return [range[0] - pad, range[1] + pad];
  }

  /* A chart of groups (each: label, style, mean, low, high) over x, with optional extra bands
   * (norms), numbered vertical markers (key moments) and a playhead. */
  function makeChart(el, opts) {
    var data = [opts.x];
    var series = [{ label: opts.xLabel }];
    var bands = [];
    var groups = opts.groups.map(function (g) {
      var idx = { mean: data.length };
      data.push(g.mean);
      series.push({
        label: g.label, stroke: g.style.color, width: g.style.width, dash: g.style.dash,
        points: { show: false }, show: g.show !== false,
      });
      if (g.low && g.high) {
        idx.low = data.length; data.push(g.low);
        idx.high = data.length; data.push(g.high);
        var edge = { stroke: rgba(g.style.color, 0.35), width: 1, points: { show: false },
          show: g.show !== false };
        series.push(Object.assign({ label: g.label + " 95% low" }, edge));
        series.push(Object.assign({ label: g.label + " 95% high" }, edge));
        bands.push({ series: [idx.high, idx.low], fill: rgba(g.style.color, g.bandAlpha || 0.16) });
      }
      return Object.assign({}, g, { idx: idx });
    });
    (opts.normBands || []).forEach(function (nb) {
      var lo = data.length; data.push(nb.q1);
      var md = data.length; data.push(nb.median);
      var hi = data.length; data.push(nb.q3);
      var edge = { stroke: rgba(NORM_COLOR, 0.5), width: 1, points: { show: false } };
      series.push(Object.assign({ label: "norm lower quartile" }, edge));
      series.push({ label: "norm median", stroke: NORM_COLOR, width: 1.5, dash: [3, 3],
        points: { show: false } });
      series.push(Object.assign({ label: "norm upper quartile" }, edge));
      bands.push({ series: [hi, lo], fill: "rgba(120,120,120,0.14)" });
      void md;
    });

    var state = { playhead: null, markers: opts.markers || [] };

    // One label per curve, measured before the chart exists so its gutter fits the longest.
    var layer = document.createElement("div");
    layer.className = "curve-labels";
    layer.style.visibility = "hidden";
    layer.setAttribute("aria-hidden", "true");  // the names are in the picker and the toggles
    el.appendChild(layer);
    function labelEl(text, full) {
      var span = document.createElement("span");
      span.className = "curve-label";
      span.textContent = text;
      span.title = full;
      layer.appendChild(span);
      return span;
    }
    groups.forEach(function (g) {
      g.labelEl = labelEl(g.shortLabel || shortName(g.label), g.label);
      g.labelEl.style.borderLeftColor = g.style.color;
    });
    var sizers = (opts.gutterLabels || []).map(function (t) { return labelEl(shortName(t), t); });
    var natural = 0;
    groups.map(function (g) { return g.labelEl; }).concat(sizers).forEach(function (span) {
      natural = Math.max(natural, Math.ceil(span.getBoundingClientRect().width));
    });
    var labelHeight = groups.length ? Math.ceil(groups[0].labelEl.getBoundingClientRect().height)
      : 0;
    sizers.forEach(function (span) { layer.removeChild(span); });
    function labelWidth(chartWidth) {
      return Math.min(natural, LABEL_CAP, Math.floor(chartWidth * LABEL_SHARE));
    }
    function gutter(chartWidth) { return LEADER + labelWidth(chartWidth) + 4; }
    // Tall enough to hold every label apart beside the plot (the x axis takes ~60 px).
    var height = Math.max(opts.height || 320, groups.length * (labelHeight + LABEL_GAP) + 70);

    /* Put the visible curves' labels beside the plot, in the order their curves end, apart, and
     * draw each one's leader line from the curve's last point. */
    function placeLabels(u, ctx, dpr, n) {
      var plotRight = (u.bbox.left + u.bbox.width) / dpr;
      var plotTop = u.bbox.top / dpr;
      var plotBottom = plotTop + u.bbox.height / dpr;
      var shown = [];
      groups.forEach(function (g) {
        g.labelEl.style.display = "none";
        if (!u.series[g.idx.mean].show) return;
        for (var j = n - 1; j >= 0; j--) {
          if (g.mean[j] !== null && g.mean[j] !== undefined) {
            var y = u.valToPos(g.mean[j], "y");
            if (!isFinite(y)) return;
            shown.push({ g: g, x: u.valToPos(opts.x[j], "x") + u.bbox.left / dpr,
              y: Math.min(Math.max(y + plotTop, plotTop), plotBottom) });
            return;
          }
        }
      });
      shown.sort(function (a, b) { return a.y - b.y; });
      var h = labelHeight + LABEL_GAP;
      var lo = Math.max(0, plotTop - h / 2);
      var hi = Math.min(u.height, plotBottom + h / 2);
      if (shown.length * h > hi - lo) { lo = 0; hi = u.height; }
      var tops = spread(shown.map(function (s) { return s.y - h / 2; }), h, lo, hi);
      var width = labelWidth(u.width);
      ctx.save();
      ctx.lineWidth = 1 * dpr;
      shown.forEach(function (s, i) {
        var span = s.g.labelEl;
        span.style.display = "";
        span.style.maxWidth = width + "px";
        span.style.left = (plotRight + LEADER) + "px";
        span.style.top = tops[i] + "px";
        var mid = tops[i] + labelHeight / 2;
        ctx.strokeStyle = s.g.style.color;
        ctx.beginPath();
        ctx.moveTo((s.x + 3) * dpr, s.y * dpr);
        ctx.lineTo((plotRight + 4) * dpr, s.y * dpr);
        ctx.lineTo((plotRight + LEADER - 2) * dpr, mid * dpr);
        ctx.stroke();
      });
      ctx.restore();
    }

    function drawOverlays(u) {
      var ctx = u.ctx;
      var dpr = uPlot.pxRatio;
      ctx.save();
      // Markers every few points along each visible curve: shape tells curves apart.
      var n = opts.x.length;
      var every = Math.max(1, Math.ceil(n / 8));
      groups.forEach(function (g, gi) {
        if (!u.series[g.idx.mean].show) return;
        ctx.fillStyle = g.style.color; ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.5 * dpr;
        for (var i = (gi * 2) % every; i < n; i += every) {
          var v = g.mean[i];
          if (v === null || v === undefined) continue;
          drawMarker(ctx, g.style.marker, u.valToPos(opts.x[i], "x", true),
            u.valToPos(v, "y", true), 4.5 * dpr);
        }
      });
      // Seconds where a difference between the groups holds (docs/results.md): hatched, so
      // the shading is told from a key moment's without colour, and said in words under the
      // chart. Second s covers [s, s + 1) of ad time.
      (opts.significant || []).forEach(function (second) {
        var left = u.valToPos(second, "x", true);
        var right = u.valToPos(second + 1, "x", true);
        var top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
        ctx.save();
        ctx.fillStyle = "rgba(230,159,0,0.13)";
        ctx.fillRect(left, top, right - left, bottom - top);
        ctx.beginPath(); ctx.rect(left, top, right - left, bottom - top); ctx.clip();
        ctx.strokeStyle = "rgba(160,100,0,0.35)"; ctx.lineWidth = 1 * dpr;
        var step = 8 * dpr;
        for (var hx = left - (bottom - top); hx < right; hx += step) {
          ctx.beginPath(); ctx.moveTo(hx, bottom); ctx.lineTo(hx + (bottom - top), top); ctx.stroke();
        }
        ctx.restore();
        ctx.fillStyle = "rgba(160,100,0,0.9)";
        ctx.fillRect(left, bottom - 4 * dpr, right - left, 4 * dpr);
      });
      placeLabels(u, ctx, dpr, n);
      // Key moments: the second they name ("6 s" is 6.0-7.0 s of ad time), shaded, with a
      // dashed line and a numbered tag at its start, where the key moment's button seeks to.
      state.markers.forEach(function (m) {
        var x = u.valToPos(m.x, "x", true);
        var end = u.valToPos(m.x + 1, "x", true);
        ctx.fillStyle = "rgba(0,0,0,0.06)";
        ctx.fillRect(x, u.bbox.top, end - x, u.bbox.height);
        ctx.strokeStyle = "#333"; ctx.lineWidth = 1 * dpr; ctx.setLineDash([4 * dpr, 3 * dpr]);
        ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke(); ctx.setLineDash([]);
        ctx.fillStyle = "#222"; ctx.fillRect(x, u.bbox.top, 16 * dpr, 16 * dpr);
        ctx.fillStyle = "#fff"; ctx.font = "bold " + (11 * dpr) + "px system-ui, sans-serif";
        ctx.textAlign = "center"; ctx.textBaseline = "middle";
        ctx.fillText(String(m.label), x + 8 * dpr, u.bbox.top + 8 * dpr);
      });
      ctx.restore();
    }

    var u = new uPlot({
      width: Math.max(300, el.clientWidth),
      height: height,
      legend: { show: false },
      padding: [null, function (self) { return gutter(self.width); }, null, null],
      cursor: { drag: { x: false, y: false, setScale: false }, sync: { key: opts.syncKey || "c" },
        points: { show: false } },
      // A little room above and below the metric's range, so a curve at its limit (attention
      // 1.0) is drawn whole inside the plot instead of on its edge.
      scales: { x: { time: false, range: [opts.xMin, opts.xMax] },
        y: { range: padded(opts.yRange || [0, 1]) } },
      axes: [
        { label: opts.xLabel, values: opts.xValues },
        { label: opts.yLabel, size: 55,
          splits: opts.ySplits ? function () { return opts.ySplits; } : undefined },
      ],
      series: series,
      bands: bands,
      hooks: { draw: [drawOverlays], setCursor: [function (uu) {
        if (opts.onHover) opts.onHover(uu.cursor.idx);
      }] },
    }, data, el);
    // The labels sit on the canvas's own box (uPlot's wrap), so their positions are its pixels.
    u.root.querySelector(".u-wrap").appendChild(layer);
    layer.style.visibility = "";
    u.redraw(false, false);

    var playhead = document.createElement("div");
    playhead.className = "playhead";
    playhead.setAttribute("aria-hidden", "true");
    u.over.appendChild(playhead);
    state.setPlayhead = function (t) {
      state.playhead = t;
      playhead.style.left = u.valToPos(t, "x") + "px";
      playhead.style.display = "block";
    };
    if (opts.onSeek) {
      u.over.addEventListener("click", function (e) {
        var rect = u.over.getBoundingClientRect();
        opts.onSeek(u.posToVal(e.clientX - rect.left, "x"));
      });
    }
    var observer = null;
    if (window.ResizeObserver) {
      observer = new ResizeObserver(function () {
        var w = Math.max(300, el.clientWidth);
        if (Math.abs(w - u.width) > 2) {
          u.setSize({ width: w, height: u.height });
          if (state.playhead !== null) state.setPlayhead(state.playhead);
        }
      });
      observer.observe(el);
    }
    var destroy = function () {
      if (observer) observer.disconnect();
      u.destroy();
    };
    return { u: u, groups: groups, state: state, destroy: destroy };
  }

  function toggleButtons(container, groups, charts) {
    groups.forEach(function (g, gi) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "toggle";
      b.setAttribute("aria-pressed", g.show === false ? "false" : "true");
      b.appendChild(swatch(g.style));
      b.appendChild(document.createTextNode(" " + g.label));
      var tick = document.createElement("span");
      tick.className = "tick";
      tick.setAttribute("aria-hidden", "true");
      tick.textContent = "✓";
      b.appendChild(tick);
      b.addEventListener("click", function () {
        var on = b.getAttribute("aria-pressed") !== "true";
        b.setAttribute("aria-pressed", on ? "true" : "false");
        charts.forEach(function (c) {
          var idx = c.groups[gi].idx;
          [idx.mean, idx.low, idx.high].forEach(function (i) {
            if (i !== undefined) c.u.setSeries(i, { show: on });
          });
        });
      });
      container.appendChild(b);
    });
  }

  function readData() {
    return JSON.parse(document.getElementById("chart-data").textContent);
  }

  /* The lowest and highest value the picked metrics can take (valence reaches -1). */
  function rangeOf(info, metrics) {
    var lo = 0, hi = 1;
    metrics.forEach(function (m) {
      var i = info[m];
      if (!i) return;
      if (i.min < lo) lo = i.min;
      if (i.max !== null && i.max > hi) hi = i.max;
    });
    return [lo, hi];
  }

  /* The metric picker: a GET form whose checkboxes are the ?metric=… of the URL. On the ad page
   * a change redraws at once and rewrites the address (so it can be shared); elsewhere the form
   * is sent. At least one curve stays picked. */
  function picker(onChange) {
    var form = document.getElementById("picker");
    if (!form) return null;
    var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="metric"]'));
    function picked() {
      return boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    }
    function writeUrl(view) {
      var params = new URLSearchParams(window.location.search);
      params.delete("metric");
      view.forEach(function (m) { params.append("metric", m); });
      history.replaceState(null, "", window.location.pathname + "?" + params.toString() +
        window.location.hash);
    }
    boxes.forEach(function (b) {
      b.addEventListener("change", function () {
        if (!picked().length) { b.checked = true; return; }
        if (onChange) { writeUrl(picked()); onChange(picked()); } else { form.submit(); }
      });
    });
    if (onChange) form.classList.add("live");
    // An address that asked for curves this page left out (see the note) is rewritten to what is
    // shown, so copying it shares a view that opens cleanly.
    if (onChange && document.querySelector("[data-unavailable], #not-measured-note")) {
      writeUrl(picked());
    }
    return {
      picked: picked,
      add: function (metric) {
        var box = boxes.filter(function (b) { return b.value === metric; })[0];
        // A disabled box is a metric that is not measured: never drawn, not even from a link.
        if (box && !box.checked && !box.disabled) {
          box.checked = true; writeUrl(picked()); onChange(picked());
        }
      },
    };
  }

  /* Pictures of the ad under the chart, each centred on the time it shows, as many as fit at
   * FRAME_MIN_PX or wider; choosing one seeks the ad to its second. */
  var FRAME_MIN_PX = 72;
  function filmstrip(el, frames, chart, onSeek) {
    if (!el || !frames.length) return;
    var u = chart.u;
    var dpr = uPlot.pxRatio;
    var left = u.bbox.left / dpr;
    var width = u.bbox.width / dpr;
    var count = Math.max(1, Math.min(frames.length, Math.floor(width / FRAME_MIN_PX)));
    var picked = [];
    for (var i = 0; i < count; i++) {
      picked.push(frames[count === 1 ? 0 : Math.round(i * (frames.length - 1) / (count - 1))]);
    }
    var each = width / count - 4;
    el.textContent = "";
    var tallest = 0;
    picked.forEach(function (f) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "frame";
      b.dataset.time = f.time_s;
      b.setAttribute("aria-label", "Jump to " + f.start_s.toFixed(0) + " s");
      var x = left + u.valToPos(f.time_s, "x") - each / 2;
      b.style.left = Math.max(0, Math.min(x, left + width - each)) + "px";
      b.style.width = each + "px";
      var img = document.createElement("img");
      img.src = f.url;
      img.alt = "";
      img.addEventListener("load", function () {
        tallest = Math.max(tallest, b.getBoundingClientRect().height);
        el.style.height = tallest + "px";
      });
      var label = document.createElement("span");
      label.textContent = f.start_s.toFixed(0) + " s";
      b.appendChild(img);
      b.appendChild(label);
      b.addEventListener("click", function () { onSeek(f.start_s); });
      el.appendChild(b);
    });
    el.style.height = Math.round(each * 9 / 16) + "px";
    el.dataset.count = String(count);
  }

  /* Ad page: video with the curves, playhead follows, click/keys seek; the picker chooses the
   * curves drawn and the columns of the numbers table. */
  function adPage(root) {
    var d = readData();
    var video = document.getElementById("ad-video");
    var duration = d.duration;
    var x = d.seconds.map(function (s) { return s + 0.5; });
    var xMax = Math.max(duration, d.seconds.length);
    var readout = document.getElementById("readout");
    var chartEl = document.getElementById("chart");
    var current = 0;
    var chart = null;
    var nChart = null;

    function groupsFor(view) {
      // Styles follow the order picked, so the curves on screen never share one.
      return view.map(function (m, i) {
        var c = d.curves[m];
        return { metric: m, label: d.labels[m], style: STYLES[i % STYLES.length], mean: c.mean,
          low: c.ci_low, high: c.ci_high, n: c.n };
      });
    }

    function draw(view) {
      if (chart) chart.destroy();
      var range = rangeOf(d.info, view);
      chart = makeChart(chartEl, {
        x: x, xMin: 0, xMax: xMax, xLabel: "Ad time (s)",
        yLabel: range[0] < 0 ? "Mean (valence −1–1, others 0–1)" : "Mean (0–1)",
        groups: groupsFor(view), yRange: range,
        markers: d.moments.map(function (m) { return { x: m.second, label: m.rank }; }),
        onSeek: seek, gutterLabels: gutterLabels,
        onHover: function (idx) {
          if (idx !== null && idx !== undefined) readout.textContent = describe(idx);
        },
        height: 340,
      });
      document.querySelectorAll("#numbers [data-metric]").forEach(function (cell) {
        cell.hidden = view.indexOf(cell.getAttribute("data-metric")) < 0;
      });
      chart.state.setPlayhead(current);
      root.dataset.view = view.join(",");
      root.dataset.yRange = range.join(",");
      // The readout (what a screen reader reads) names the curves now drawn, not the old set.
      if (nChart) update(current, true);
    }

    function describe(idx) {
      if (!chart || idx === null || idx === undefined || idx < 0 || idx >= x.length) return "";
      var parts = chart.groups.filter(function (g) {
        return chart.u.series[g.idx.mean].show;
      }).map(function (g) {
        var ci = g.low[idx] === null ? "" : " (95% CI " + fmt(g.low[idx]) + "–" + fmt(g.high[idx]) + ")";
        return g.label + " " + fmt(g.mean[idx]) + ci;
      });
      var n = d.curves.attention.n[idx];
      return "Second " + d.seconds[idx] + ": " + parts.join("; ") + "; n = " +
        (n === null ? "hidden" : n) + ".";
    }

    function seek(t) {
      t = Math.min(Math.max(t, 0), duration);
      current = t;
      if (video && video.readyState > 0) video.currentTime = t;
      else if (video) video.dataset.pendingSeek = String(t);
      update(t, true);
    }

    function update(t, announce) {
      current = t;
      chart.state.setPlayhead(t);
      nChart.state.setPlayhead(t);
      chartEl.setAttribute("aria-valuenow", t.toFixed(1));
      var idx = Math.min(Math.floor(t), x.length - 1);
      var text = fmtTime(t) + ". " + describe(idx);
      chartEl.setAttribute("aria-valuetext", text);
      if (announce || !video || video.paused) readout.textContent = text;
    }

    // Both charts keep one gutter, wide enough for any metric's label, so their plots stay
    // aligned under each other whatever is picked.
    var gutterLabels = d.metrics.map(function (m) { return d.labels[m]; });
    draw(d.view);
    var chosen = picker(draw);
    var framesEl = document.getElementById("frames");
    var placeFrames = function () { filmstrip(framesEl, d.frames || [], chart, seek); };
    placeFrames();
    if (window.ResizeObserver && framesEl) new ResizeObserver(placeFrames).observe(chartEl);
    var nMax = Math.max.apply(null, [1].concat(d.curves.attention.n.filter(function (v) {
      return v !== null;
    })));
    nChart = makeChart(document.getElementById("n-chart"), {
      x: x, xMin: 0, xMax: xMax, xLabel: "Ad time (s)", yLabel: "n",
      groups: [{ label: "Panelists (n)", shortLabel: "n", style: { color: "#444", dash: [],
        width: 1.5, marker: "square" }, mean: d.curves.attention.n }],
      yRange: [0, nMax * 1.15], ySplits: [0, nMax], onSeek: seek, height: 120,
      gutterLabels: gutterLabels,
    });
    chartEl.addEventListener("keydown", function (e) {
      var step = e.shiftKey ? 5 : 1;
      var t = null;
      if (e.key === "ArrowRight" || e.key === "ArrowUp") t = current + step;
      else if (e.key === "ArrowLeft" || e.key === "ArrowDown") t = current - step;
      else if (e.key === "PageUp") t = current + 10;
      else if (e.key === "PageDown") t = current - 10;
      else if (e.key === "Home") t = 0;
      else if (e.key === "End") t = duration;
      else if ((e.key === " " || e.key === "k") && video) {
        e.preventDefault();
        if (video.paused) video.play(); else video.pause();
        return;
      }
      if (t !== null) { e.preventDefault(); seek(t); }
    });
    document.querySelectorAll("[data-seek]").forEach(function (b) {
      b.addEventListener("click", function () {
        // A key moment of a curve not on screen puts it on screen.
        if (chosen && b.getAttribute("data-metric")) chosen.add(b.getAttribute("data-metric"));
        seek(parseFloat(b.getAttribute("data-seek")));
      });
    });

    if (video) {
      var raf = null;
      var tick = function () {
        update(video.currentTime, false);
        raf = video.paused ? null : requestAnimationFrame(tick);
      };
      video.addEventListener("play", function () {
        readout.setAttribute("aria-live", "off");
        if (!raf) raf = requestAnimationFrame(tick);
      });
      video.addEventListener("pause", function () {
        readout.setAttribute("aria-live", "polite"); update(video.currentTime, true);
      });
      video.addEventListener("seeked", function () { update(video.currentTime, false); });
      video.addEventListener("loadedmetadata", function () {
        if (video.dataset.pendingSeek) {
          video.currentTime = parseFloat(video.dataset.pendingSeek);
          delete video.dataset.pendingSeek;
        }
      });
    }
    update(0, false);
    root.dataset.ready = "true";
  }

  /* Segments page: one metric, a curve per group, everyone as a grey reference. */
  function segmentsPage(root) {
    var d = readData();
    var x = d.seconds.map(function (s) { return s + 0.5; });
    var groups = d.segments.map(function (s, i) {
      return { label: s.value + " (n=" + s.n + ")", shortLabel: s.value,
        style: STYLES[(i + 1) % STYLES.length], mean: s.curve.mean, low: s.curve.ci_low,
        high: s.curve.ci_high, bandAlpha: 0.1 };
    });
    groups.unshift({ label: "Everyone", style: { color: "#555", dash: [1, 2], width: 1.5,
      marker: "circle" }, mean: d.overall.mean });
    var chart = makeChart(document.getElementById("chart"), {
      x: x, xMin: 0, xMax: Math.max(d.duration, x.length), xLabel: "Ad time (s)",
      yLabel: d.label + " (" + d.range[0] + "–" + (d.range[1] === null ? "" : d.range[1]) + ")",
      groups: groups, height: 340, yRange: d.range[1] === null ? undefined : d.range,
      significant: d.significant || [],
    });
    root.dataset.significant = (d.significant || []).join(",");
    toggleButtons(document.getElementById("toggles"), chart.groups, [chart]);
    root.dataset.ready = "true";
  }

  /* Compare page: a chart per metric, a curve per ad, the organisation's norms band. */
  function comparePage(root) {
    var d = readData();
    var percent = d.axis === "percent";
    var charts = [];
    var groupsFor = function (m) {
      return d.ads.map(function (ad, i) {
        var c = ad.curves[m];
        return { label: ad.title, style: STYLES[i % STYLES.length], mean: c.mean,
          low: c.ci_low, high: c.ci_high, bandAlpha: 0.08 };
      });
    };
    d.metrics.forEach(function (m) {
      var el = document.getElementById("chart-" + m);
      if (!el) return;
      charts.push(makeChart(el, {
        x: d.x, xMin: 0, xMax: percent ? 100 : d.x.length,
        xLabel: percent ? "Ad progress (%)" : "Ad time (s)", yLabel: d.labels[m],
        yRange: rangeOf(d.info, [m]),
        groups: groupsFor(m), normBands: d.norms[m] && d.norms[m].n_ads ? [d.norms[m]] : [],
        height: 230, syncKey: "compare",
        // On the percent axis no second is tested (the ads differ in length).
        significant: percent ? [] : (d.significant && d.significant[m]) || [],
      }));
    });
    if (charts.length) toggleButtons(document.getElementById("toggles"), charts[0].groups, charts);
    picker(null);
    root.dataset.ready = "true";
  }

  function start() {
    var root = document.querySelector("[data-page]");
    if (!root) return;
    if (typeof uPlot === "undefined") {
      var p = document.createElement("p");
      p.className = "warning";
      p.textContent = "The chart library is not installed (run scripts/setup); the tables below hold the numbers.";
      root.prepend(p);
      return;
    }
    var page = root.getAttribute("data-page");
    if (page === "ad" && !document.getElementById("chart")) root.dataset.ready = "true";  // no data yet
    else if (page === "ad") adPage(root);
    else if (page === "segments") segmentsPage(root);
    else if (page === "compare") comparePage(root);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
