"""What a saved notebook keeps of an interactive output (the stepper): a static picture and
one line, replaced by the live output when the cell runs or the notebook is trusted.
Untrusted, as a student opens a downloaded lesson, JupyterLab strips scripts and GitHub runs
none: the picture and the line are what stays."""
from __future__ import annotations


def until_run(live_html: str, png: bytes | None, size: dict[str, int], line: str) -> str:
    """HTML for an interactive output that a saved notebook still shows: a static picture
    (png, shown at size {'width', 'height'}) and one line, which a script replaces with
    live_html when the output runs (a cell just run, or a trusted notebook). Untrusted, as a
    student opens a downloaded lesson, JupyterLab strips scripts (and styles) and GitHub
    runs none: the picture and the line are what stays."""
    import base64
    import html
    import json
    picture = "" if png is None else (
        f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
        f'width="{size["width"]}" height="{size["height"]}" style="max-width: 100%" '
        f'alt="{html.escape(line)}">')
    # the live HTML as a JSON string inside the script; </ and <!-- cannot end the script
    code = json.dumps(live_html).replace("</", "<\\/").replace("<!--", "<\\!--")
    return (f'<div class="tg-saved">{picture}<p><em>{html.escape(line)}</em></p></div>'
            f"<script>{REPLACE % code}</script>")


# the saved part is the element just before this script; its scripts are made anew, since
# scripts written with innerHTML never run
REPLACE = """(function () {
var me = document.currentScript, saved = me && me.previousElementSibling;
if (!saved || saved.className !== "tg-saved") return;
var live = document.createElement("div");
live.innerHTML = %s;
saved.replaceWith(live);
live.querySelectorAll("script").forEach(function (old) {
  var run = document.createElement("script");
  Array.from(old.attributes).forEach(function (a) { run.setAttribute(a.name, a.value); });
  run.textContent = old.textContent;
  old.replaceWith(run);
});
me.remove();
})();"""
