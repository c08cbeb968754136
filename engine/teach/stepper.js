/* tracegrad's backprop stepper: shows step k of the timeline engine/teach/stepper.py wrote into the
   page (the graph's SVG, the steps tables, a JSON block). Every number was formatted in
   Python; this script only moves the highlight, swaps texts and handles the controls.
   No framework, no network, no build step. */
function tracegradStepper(root) {
  "use strict";
  var data = JSON.parse(root.querySelector("script.tg-data").textContent);
  var steps = data.steps, last = steps.length - 1;
  var page = root.hasAttribute("data-page");   // a saved page: owns the URL and the keyboard
  var step = 0, timer = null, speed = 1, selected = data.selected;
  var limit = last;        // practice mode (practice.js) holds back the steps not answered yet
  var seed = steps.findIndex(function (s) { return s.kind === "seed"; });

  var graph = root.querySelector(".tg-graph"), svg = graph.querySelector("svg");
  var main = root.querySelector(".tg-main"), overview = false;
  svg.removeAttribute("width");                         // the script sizes the graph
  svg.removeAttribute("height");

  function el(id) { return document.getElementById(data.uid + "-" + id); }
  function mark(id, cls) {        // a node or edge the drawing left out is passed over
    if (el(id)) el(id).classList.add(cls);
  }
  function all(selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); }
  function setText(id, cls, text) {
    var node = el(id), t = node && node.querySelector("text." + cls);
    if (t) t.textContent = cls.slice(3) + " " + text;
  }

  // Step k: every node's numbers, the highlight, the table rows, the text; then the state.
  function show(k) {
    step = Math.max(0, Math.min(limit, k));
    var now = steps[step];
    numbers();
    highlight(now);
    edgeLabels();
    all("tr[data-step]").forEach(function (row) {
      row.classList.toggle("current", +row.dataset.step === step);
    });
    keepRow();
    root.querySelector(".tg-say").innerHTML = now.say.map(function (line, i) {
      return "<div" + (i ? ' class="tg-part"' : "") + ">" + escape(line) + "</div>";
    }).join("");
    root.querySelector(".tg-k").textContent = step;
    root.dataset.step = step;
    if (page) {
      document.body.dataset.step = step;
      try {            // some browsers refuse this on file:// pages; the step still shows
        if (location.hash !== "#step=" + step) history.replaceState(null, "", "#step=" + step);
      } catch (e) {}
    }
    explainNode(selected);
    follow();
    root.dispatchEvent(new CustomEvent("tg-step", { detail: step }));
  }

  // Data once a node is computed; grads once the backward pass began: the start values,
  // then what each step so far wrote (replayed from the seed, so any step can be shown).
  function numbers() {
    var grads = {}, id, i;
    for (id in data.start) grads[id] = data.start[id];
    for (i = seed; i <= step && i > 0; i++)
      for (id in steps[i].grads) grads[id] = steps[i].grads[id];
    for (id in data.nodes) {
      var node = data.nodes[id];
      var known = node.leaf || node.forward === undefined || node.forward <= step;
      setText(id, "tg-data", known ? node.data : data.unknown);
      setText(id, "tg-grad", step >= seed ? grads[id] : data.unknown);
    }
  }

  // The current node (and its op), the parents it reads or feeds, the edges between.
  function highlight(now) {
    all(".current, .source, .flow, .feed").forEach(function (e) {
      e.classList.remove("current", "source", "flow", "feed");
    });
    if (!now.node) return;
    mark(now.node, "current");
    mark(now.node + "_op", "current");
    (now.sources || []).forEach(function (id) { mark(id, "source"); });
    (now.edges || []).forEach(function (id) {
      mark(id, now.kind === "forward" ? "feed" : "flow");
    });
  }

  // The presenter view: the graph as large as the room for it allows, but never so small
  // that its text (data.font points) is under data.min_px pixels: a graph too big for
  // that scrolls inside its pane, following the current node. A graph that fits beside
  // the text (less than 55% of the width at that size) goes beside it, else above it.
  // The zoom button toggles an overview: the whole graph in its pane, however small.
  function layout() {
    var box = svg.viewBox.baseVal, width = root.clientWidth;
    if (!box || !box.width || !width) return;
    var least = data.min_px / data.font, most = 2.5 * least;   // pixels per point
    var beside = box.width * least <= 0.55 * width && box.height > 0.8 * box.width;
    main.classList.toggle("tg-tall", beside);
    main.classList.toggle("tg-wide", !beside);
    var room = page ? main.clientHeight : 0.85 * window.innerHeight;
    var paneW = beside ? 0.55 * width : width, paneH = beside ? room : 0.6 * room;
    var fit = Math.min(paneW / box.width, paneH / box.height);
    var scale = overview ? fit : Math.max(least, Math.min(fit, most));
    svg.style.width = box.width * scale + "px";
    svg.style.height = box.height * scale + "px";
    graph.style.maxHeight = paneH + "px";
    graph.style.maxWidth = paneW + "px";
    graph.classList.toggle("tg-zoomed", scale > fit + 1e-9);
    follow();
    keepRow();
  }

  function zoom(on) {
    overview = on;
    root.querySelector('[data-do="zoom"]').textContent = on ? "presenter" : "overview";
    layout();
  }

  function follow() {
    var cur = root.querySelector("g.node.current");
    if (!cur || !graph.classList.contains("tg-zoomed")) return;
    var r = cur.getBoundingClientRect(), b = graph.getBoundingClientRect();
    if (r.left < b.left || r.right > b.right)
      graph.scrollLeft += r.left - b.left - (b.width - r.width) / 2;
    if (r.top < b.top || r.bottom > b.bottom)
      graph.scrollTop += r.top - b.top - (b.height - r.height) / 2;
  }

  // Each edge's label (local x upstream = contribution) appears at its backward step.
  function edgeLabels() {
    all("g.edge text.tg-local").forEach(function (t) {
      var at = data.labelled[t.parentNode.id.slice(data.uid.length + 1)];
      if (t.dataset.text === undefined) t.dataset.text = t.textContent;
      t.textContent = at !== undefined && at <= step ? t.dataset.text : "";
    });
  }

  function explainNode(id) {
    var box = root.querySelector(".tg-explain"), node = data.nodes[id];
    all(".selected").forEach(function (e) { e.classList.remove("selected"); });
    if (!node || !node.explain) {
      box.textContent = "click a node to see its gradient written out as the chain rule";
      return;
    }
    mark(id, "selected");
    box.textContent = node.explain;
  }

  // The current rows in the middle of the tables' pane, below its sticky header (not
  // scrollIntoView: that would scroll a notebook too).
  function keepRow() {
    var box = root.querySelector(".tg-tables"), rows = all("tr.current");
    if (!rows.length) return;
    var head = rows[0].closest("table").querySelector("thead").offsetHeight;
    var top = rows[0].getBoundingClientRect().top - box.getBoundingClientRect().top;
    var bottom = rows[rows.length - 1].getBoundingClientRect().bottom - box.getBoundingClientRect().top;
    if (top < head || bottom > box.clientHeight)
      box.scrollTop += top - head - Math.max(0, (box.clientHeight - head - (bottom - top)) / 2);
  }

  function escape(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function play(on) {
    clearInterval(timer);
    timer = null;
    if (on) {
      if (step === limit) show(0);
      timer = setInterval(function () {
        show(step + 1);
        if (step >= limit) play(false);       // at the end: the button says play again
      }, 1200 / speed);
    }
    var button = root.querySelector('[data-do="play"]');
    button.innerHTML = on ? "&#x25AE;&#x25AE; pause" : "&#x25B6; play";
    button.classList.toggle("on", on);
  }

  var actions = {
    reset: function () { play(false); show(0); },
    prev: function () { play(false); show(step - 1); },
    next: function () { play(false); show(step + 1); },
    end: function () { play(false); show(last); },
    play: function () { play(timer === null); },
    zoom: function () { zoom(!overview); }
  };
  all("button[data-do]").forEach(function (b) {
    b.addEventListener("click", function () { actions[b.dataset.do](); });
  });
  root.querySelector('[data-do="speed"]').addEventListener("change", function (e) {
    speed = +e.target.value;
    if (timer !== null) play(true);
  });

  // Click a table row to jump to its step; click a node to explain it and jump to the step
  // that finishes it (its forward step in the forward pass, else its last gradient step).
  all("tr[data-step]").forEach(function (row) {
    row.addEventListener("click", function () { play(false); show(+row.dataset.step); });
  });
  all("g[data-node]").forEach(function (g) {
    g.addEventListener("click", function () {
      var node = data.nodes[g.dataset.node];
      selected = g.dataset.node;
      play(false);
      if (step < seed && node.forward !== undefined) show(node.forward);
      else if (node.final !== undefined) show(node.final);
      else show(step);
    });
  });

  var keys = { ArrowRight: "next", ArrowDown: "next", ArrowLeft: "prev", ArrowUp: "prev",
               Home: "reset", End: "end", " ": "play", z: "zoom" };
  (page ? document : root).addEventListener("keydown", function (e) {
    if (!keys[e.key] || /^(SELECT|INPUT)$/.test(e.target.tagName) || e.altKey || e.ctrlKey ||
        e.metaKey)
      return;
    e.preventDefault();
    actions[keys[e.key]]();
  });

  if (page && /[#&]slide\b/.test(location.hash)) root.classList.add("tg-slide");   // png steps
  function fromHash() {
    var m = /step=(\d+)/.exec(location.hash);
    return m ? +m[1] : 0;
  }
  if (page) window.addEventListener("hashchange", function () { show(fromHash()); });
  window.addEventListener("resize", layout);
  if (window.matchMedia) window.matchMedia("print").addListener(function (m) {
    if (!m.matches) layout();
  });
  // what practice.js drives: show a step, hold the steps after k back (k = last: none)
  root.tgStepper = { show: show, hold: function (k) { limit = k; }, step: function () { return step; } };
  zoom(false);
  show(page ? fromHash() : 0);
}
