/* tracegrad in the browser: starts Python (Pyodide) from this folder, installs tracegrad's
   wheel into it and wires the form to tracegrad.site.app.compute (Python). Every number shown
   was written by Python; this script passes the form in, puts the results on the page and keeps
   the address (#expr=...&at=...&step=N) in step with what is shown. */
(function () {
  "use strict";
  var build = JSON.parse(document.getElementById("tg-build").textContent);
  var app = null, shown = null, stepperRoot = null;
  var times = window.tgTimes = {};        // for benchmarks/site.py: ms since the page opened

  function $(id) { return document.getElementById("tg-" + id); }
  function say(text) { $("status").textContent = text; }

  // --- the state: the form <-> the address ---------------------------------------------
  function fromForm() {
    return { expr: $("expr").value, at: $("at").value, wrt: $("wrt").value,
             expect: $("expect").value, exact: $("exact").checked, focus: $("focus").checked,
             practice: $("practice").checked };
  }
  function fromHash() {
    var p = new URLSearchParams(location.hash.slice(1));
    if (!p.has("expr")) return null;
    return { expr: p.get("expr"), at: p.get("at") || "", wrt: p.get("wrt") || "",
             expect: p.get("expect") || "", exact: p.get("exact") === "1",
             focus: p.get("focus") === "1", practice: p.get("practice") === "1",
             step: +(p.get("step") || 0) };
  }
  function toHash(state, step) {
    var p = new URLSearchParams();
    ["expr", "at", "wrt", "expect"].forEach(function (k) { if (state[k]) p.set(k, state[k]); });
    if (state.exact) p.set("exact", "1");
    if (state.focus) p.set("focus", "1");
    if (state.practice) p.set("practice", "1");
    if (step) p.set("step", step);
    try { history.replaceState(null, "", "#" + p.toString()); } catch (e) {}
  }
  function fill(state) {
    $("expr").value = state.expr; $("at").value = state.at; $("expect").value = state.expect;
    $("exact").checked = state.exact; $("focus").checked = state.focus;
    $("practice").checked = state.practice;
    options([state.wrt], state.wrt);
  }
  function options(names, chosen) {
    $("wrt").innerHTML = "";
    names.forEach(function (n) { $("wrt").add(new Option(n, n, false, n === chosen)); });
    document.querySelector(".tg-wrt-name").textContent = chosen || "?";
  }

  // --- showing a result ----------------------------------------------------------------
  function table(el, t) {
    el.innerHTML = "";
    el.createCaption().textContent = t.caption;
    var head = el.createTHead().insertRow();
    t.header.forEach(function (h) { head.appendChild(document.createElement("th")).textContent = h; });
    var body = el.createTBody();
    t.rows.forEach(function (row) {
      var tr = body.insertRow();
      row.forEach(function (cell) { tr.insertCell().textContent = cell; });
    });
  }
  function part(el, got, html) {       // an SVG or stepper, or the one line saying why not
    el.classList.toggle("tg-failed", !!got.error);
    if (got.error) el.textContent = got.error; else el.innerHTML = html(got);
  }
  function stepper(got, step) {
    part($("stepper"), got, function (g) { return g.html; });
    // scripts set through innerHTML do not run: put each back as a new script element
    $("stepper").querySelectorAll("script:not([type])").forEach(function (old) {
      var script = document.createElement("script");
      script.textContent = old.textContent;
      old.replaceWith(script);
    });
    var root = stepperRoot = $("stepper").querySelector(".tg-stepper");
    if (!root) return;
    if (step) {                        // a table row jumps to its step; else step there
      var row = root.querySelector('tr[data-step="' + step + '"]');
      if (row) row.click();
      else for (var i = 0; i < step; i++) root.querySelector('[data-do="next"]').click();
    }
    new MutationObserver(function () { toHash(shown, +root.dataset.step); })
      .observe(root, { attributes: true, attributeFilter: ["data-step"] });
  }
  function show(state, r) {
    $("error").hidden = !!r.ok;
    $("results").classList.toggle("tg-stale", !r.ok);
    if (!r.ok) { $("error").textContent = r.error; return false; }
    $("results").hidden = false;
    $("results").classList.toggle("tg-practicing", !!state.practice && build.practice);
    shown = state;
    options(r.names, r.wrt);
    document.querySelectorAll(".tg-root").forEach(function (e) { e.textContent = r.root; });
    table($("grads"), r.grads);
    table($("forward"), r.forward);
    table($("steps"), r.steps);
    $("explain").textContent = r.explain;
    $("check").hidden = !r.check;
    if (r.check) {
      $("check").textContent = r.check.text;
      $("check").className = r.check.passed ? "tg-pass" : "tg-fail";
    }
    part($("drawing"), r.drawing, function (g) { return g.svg; });
    stepper(r.stepper, state.step);
    return true;
  }

  // --- running Python ----------------------------------------------------------------------
  function compute(state) {
    var t = performance.now();
    var request = { expr: state.expr, at: state.at, wrt: state.wrt, expect: state.expect,
                    exact: state.exact, focus: state.focus, practice: state.practice };
    var result;
    try {
      result = JSON.parse(app.compute(JSON.stringify(request)));
    } catch (err) {                    // not a refusal but a bug: its last line, to report
      result = { ok: false, error: "tracegrad failed (please report it): " +
                 String(err.message || err).trim().split("\n").pop() };
    }
    var ok = show(state, result);
    if (ok) toHash(state, state.step);
    times.last = performance.now() - t;
    if (times.first === undefined) times.first = performance.now();
    document.body.dataset.runs = (+(document.body.dataset.runs || 0) + 1).toString();
  }

  async function start() {
    if (location.protocol === "file:") {
      say("This page runs Python from the files beside it, which browsers refuse to load " +
          "for a page opened as a file. Serve the folder instead: python3 -m http.server " +
          "-d FOLDER 8000, then open http://127.0.0.1:8000/");
      return;
    }
    var wheels = Promise.all(build.wheels.map(function (name) {
      return fetch("wheels/" + name).then(function (r) {
        if (!r.ok) throw new Error("wheels/" + name + ": " + r.status + " " + r.statusText);
        return r.arrayBuffer();
      });
    }));
    var viz = Viz.instance();
    var py = await loadPyodide({ indexURL: new URL("pyodide/", location.href).href });
    times.python = performance.now();
    var site = py.runPython("import sysconfig; sysconfig.get_path('purelib')");
    (await wheels).forEach(function (buffer) {
      py.unpackArchive(buffer, "wheel", { extractDir: site });
    });
    app = py.pyimport("tracegrad.site.app");
    times.tracegrad = performance.now();
    var renderer = await viz;
    app.use_renderer(function (dot, format) {
      return renderer.renderString(dot, { format: format });
    });
    times.ready = performance.now();
    say("Python " + py.runPython("import sys; sys.version.split()[0]") + " and tracegrad " +
        build.tracegrad + " are running in this page (ready in " +
        (times.ready / 1000).toFixed(1) + " s).");
    $("go").disabled = false;
    var state = fromHash();
    if (!state) {
      location.hash = document.querySelector("a.tg-example").getAttribute("href");
      return;                          // the hashchange below computes it
    }
    fill(state);
    compute(state);
  }

  // the arrow keys, space, Home and End step the stepper unless a box of the form has them
  document.addEventListener("keydown", function (e) {
    if (e.target !== document.body || !stepperRoot || !stepperRoot.isConnected) return;
    var passed = new KeyboardEvent("keydown", { key: e.key, cancelable: true });
    stepperRoot.dispatchEvent(passed);
    if (passed.defaultPrevented) e.preventDefault();
  });
  window.addEventListener("hashchange", function () {
    var state = fromHash();
    if (!app || !state) return;
    fill(state);
    compute(state);
  });
  $("form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (app) compute(fromForm());
  });
  $("practice-box").hidden = !build.practice;      // where this tracegrad's stepper has it
  ["wrt", "exact", "focus", "practice"].forEach(function (id) {
    $(id).addEventListener("change", function () { if (app) compute(fromForm()); });
  });
  start().catch(function (err) {
    say("Python could not start in this page: " + err);
    document.body.dataset.failed = "1";
  });
})();
