/* tracegrad's practice mode: the stepper holds each step back until the student has typed
   its numbers (or pressed "show me"). Every right number, and the number each known mistake
   gives, was computed in Python (engine/teach/mistakes.py) and written into the page; this
   script only reads the typed number and compares it with them, as answers.py does. */
function tracegradPractice(root) {
  "use strict";
  var data = JSON.parse(root.querySelector("script.tg-practice-data").textContent);
  var timeline = JSON.parse(root.querySelector("script.tg-data").textContent).steps;
  var stepper = root.tgStepper, end = timeline.length - 1;
  var order = Object.keys(data.steps).map(Number).sort(function (a, b) { return a - b; });
  var cells = [];
  order.forEach(function (k) {
    data.steps[k].forEach(function (c) {
      c.at = k; c.tries = []; c.outcome = null;
      cells.push(c);
    });
  });
  var current = 0;                         // index in order of the step being asked
  var panel = document.createElement("div");
  panel.className = "tg-practice";
  root.querySelector(".tg-info").insertBefore(panel, root.querySelector(".tg-say"));
  root.classList.add("tg-practising");

  // ---- reading and comparing numbers (answers.py's read_answer and agrees) ----
  function read(text) {
    var t = String(text).trim().replace(/\u2212/g, "-"), m;
    if (t.length > 60) return null;
    if ((m = /^([+-]?\d+)\s*\/\s*([+-]?\d+)$/.exec(t))) {
      var q = BigInt(m[2]), p = BigInt(m[1]);
      if (q === BigInt(0)) return null;
      if (q < 0) { p = -p; q = -q; }
      return { p: p, q: q, value: Number(m[1]) / Number(m[2]), digits: null, place: null };
    }
    if (!(m = /^([+-]?)(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?$/.exec(t))) return null;
    var parts = m[2].split("."), whole = parts[0], decimals = parts[1] || "";
    var power = m[3] ? parseInt(m[3], 10) : 0;
    if (Math.abs(power) > 400) return null;
    var place = power - decimals.length, p10 = BigInt(10);
    var num = BigInt(m[1] + ((whole + decimals) || "0")), den = BigInt(1);
    if (place >= 0) num = num * p10 ** BigInt(place); else den = p10 ** BigInt(-place);
    return { p: num, q: den, value: parseFloat(t), place: place,
             digits: (whole + decimals).replace(/^0+/, "").length || 1 };
  }

  function close(v, t, rel) {
    return Math.abs(v - t) <= Math.max(rel * Math.max(Math.abs(v), Math.abs(t)), 1e-12);
  }
  function rounded(answer, t) {
    return answer.place !== null && Math.abs(answer.value - t) <=
      0.5 * Math.pow(10, answer.place) * (1 + 1e-9);
  }
  function agrees(target, answer) {
    if (target.p !== undefined) return answer.p * BigInt(target.q) === BigInt(target.p) * answer.q;
    var t = parseFloat(target.f);
    if (!isFinite(t)) return false;
    if (close(answer.value, t, data.close)) return true;
    return answer.digits !== null && answer.digits >= data.min_digits && rounded(answer, t);
  }
  function number(target) {
    return target.p !== undefined ? Number(target.p) / Number(target.q) : parseFloat(target.f);
  }

  // mistakes.py's diagnose(): right, a known mistake, or what else the answer is
  function verdict(cell, text) {
    var said = data.messages;
    if (String(text).trim() === "") return { right: false, message: said.blank };
    var answer = read(text);
    if (answer === null)
      return { right: false, message: said.unreadable.replace(
        "{text}", "'" + String(text).trim().slice(0, 30) + "'") };
    if (agrees(cell.right, answer)) return { right: true, message: said.right };
    for (var i = 0; i < cell.mistakes.length; i++)
      if (agrees(cell.mistakes[i].value, answer))
        return { right: false, mistake: cell.mistakes[i], message: cell.mistakes[i].says };
    var exact = cell.right.p !== undefined;
    if (!exact && rounded(answer, number(cell.right)))
      return { right: false, message: said.digits.replace("{min_digits}", data.min_digits) };
    if (exact && close(answer.value, number(cell.right), data.near))
      return { right: false, message: said.exact };
    return { right: false, message: said.unknown };
  }

  // ---- the panel: the cells of the step being asked, the score, the export ----
  function escape(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function render() {
    var k = order[current], html = "";
    if (k === undefined) {
      html = '<div class="tg-p-head">all done: every step answered</div>';
    } else {
      var first = data.steps[k][0];
      html = '<div class="tg-p-head">your turn, step ' + k + ": " +
        escape(first.table === "forward" ? "compute " + first.asks + " = ?"
               : timeline[k].say[0].replace(/^backward: /, "")) + "</div>";
      data.steps[k].forEach(function (c, i) {
        html += '<div class="tg-p-cell" data-cell="' + i + '"><label>' + escape(c.label) +
          ' <span class="tg-p-asks">' + escape(c.table === "forward" ? "" : c.asks) +
          '</span> <input type="text" inputmode="decimal" autocomplete="off" size="9"></label>' +
          '<span class="tg-p-says" aria-live="polite"></span></div>';
      });
      html += '<div class="tg-p-do"><button type="button" data-p="check">check</button>' +
        '<button type="button" data-p="show">show me</button></div>';
    }
    html += '<div class="tg-p-score"></div><div class="tg-p-export">export: ' +
      '<a data-p="csv" download="practice.csv">CSV</a> ' +
      '<a data-p="json" download="practice.json">JSON</a></div>';
    panel.innerHTML = html;
    panel.querySelectorAll("input").forEach(function (input) {
      input.addEventListener("keydown", function (e) { if (e.key === "Enter") check(); });
    });
    var go = panel.querySelector('[data-p="check"]'), show = panel.querySelector('[data-p="show"]');
    if (go) go.addEventListener("click", check);
    if (show) show.addEventListener("click", showMe);
    score();
  }

  function rowOf(i) { return panel.querySelector('[data-cell="' + i + '"]'); }

  function settle(i, cell, kind, message) {
    var row = rowOf(i), input = row.querySelector("input");
    cell.outcome = kind;
    input.readOnly = true;
    if (kind === "shown") input.value = cell.show;
    row.className = "tg-p-cell tg-p-" + (kind === "shown" ? "shown" : "right");
    row.querySelector(".tg-p-says").textContent = message;
  }

  function check() {
    var k = order[current], retry = null;
    data.steps[k].forEach(function (cell, i) {
      if (cell.outcome) return;
      var row = rowOf(i), text = row.querySelector("input").value;
      if (String(text).trim() === "") return;
      var v = verdict(cell, text);
      cell.tries.push({ text: text, right: v.right, mistake: v.mistake ? v.mistake.kind : "",
                        says: v.message });
      if (v.right) settle(i, cell, cell.tries.length === 1 ? "first" : "retry",
                          "right: " + cell.show);
      else {
        row.className = "tg-p-cell tg-p-wrong";
        row.querySelector(".tg-p-says").textContent = "not yet: " + v.message;
        retry = retry || row.querySelector("input");
      }
    });
    if (retry) {                       // the first wrong number, selected for another try
      retry.focus({ preventScroll: true });
      retry.select();
    }
    next();
  }

  function showMe() {
    data.steps[order[current]].forEach(function (cell, i) {
      if (!cell.outcome) settle(i, cell, "shown", "shown: " + cell.show);
    });
    next();
  }

  // the step is revealed once every cell is right or shown (with any step after it that
  // asks nothing, as the seed); then the next one is asked
  function next() {
    var k = order[current];
    score();
    if (data.steps[k].some(function (c) { return !c.outcome; })) return;
    current += 1;
    hold();
    stepper.show(order[current] === undefined ? end : order[current] - 1);  // and the seed
    render();
    var input = panel.querySelector("input");
    if (input) input.focus({ preventScroll: true });
  }

  function hold() {
    var k = order[current];
    stepper.hold(k === undefined ? end : k - 1);
    root.classList.toggle("tg-p-finished", k === undefined);
  }

  function counts() {
    var n = { first: 0, retry: 0, shown: 0, left: 0 };
    cells.forEach(function (c) { n[c.outcome || "left"] += 1; });
    return n;
  }

  function score() {
    var n = counts();
    panel.querySelector(".tg-p-score").textContent = "right first time " + n.first +
      " \u00b7 after a retry " + n.retry + " \u00b7 shown " + n.shown + " \u00b7 to go " + n.left;
    root.dataset.score = [n.first, n.retry, n.shown, n.left].join(" ");
    var csv = panel.querySelector('[data-p="csv"]'), json = panel.querySelector('[data-p="json"]');
    csv.href = "data:text/csv;charset=utf-8," + encodeURIComponent(exported("csv"));
    json.href = "data:application/json;charset=utf-8," + encodeURIComponent(exported("json"));
  }

  // the attempt, for a teacher: every cell, what was typed, the diagnoses, the outcome
  function exported(kind) {
    var rows = cells.map(function (c) {
      return { step: c.at, table: c.table, table_step: c.step, quantity: c.quantity,
               node: c.node, parent: c.parent, asks: c.asks, right: c.show,
               answers: c.tries.map(function (t) { return t.text; }),
               mistakes: c.tries.map(function (t) { return t.mistake; }),
               outcome: c.outcome || "" };
    });
    if (kind === "json")
      return JSON.stringify({ title: root.querySelector(".tg-title").textContent,
                              min_digits: data.min_digits, score: counts(), cells: rows }, null, 1);
    var header = ["step", "table", "table_step", "quantity", "node", "parent", "asks", "right",
                  "answers", "mistakes", "outcome"];
    var quote = function (x) { return '"' + String(x).replace(/"/g, '""') + '"'; };
    return [header.join(",")].concat(rows.map(function (r) {
      return header.map(function (h) {
        return quote(Array.isArray(r[h]) ? r[h].join(" | ") : r[h]);
      }).join(",");
    })).join("\n") + "\n";
  }

  // rows of the tables not revealed yet are hidden (they hold the answers)
  root.addEventListener("tg-step", function () {
    var k = order[current], open = k === undefined ? end : k - 1;
    root.querySelectorAll("tr[data-step]").forEach(function (row) {
      row.classList.toggle("tg-p-hidden", +row.dataset.step > open);
    });
  });
  root.tgPractice = { verdict: verdict, exported: exported };   // for tests and notebooks
  hold();
  render();
  stepper.show(Math.min(stepper.step(), order.length ? order[0] - 1 : end));
}
