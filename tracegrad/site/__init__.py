"""tracegrad in the browser: a static site that runs tracegrad's own Python in the page
(Pyodide), with viz-js drawing the graphs. build.py makes the folder (`python -m tracegrad.site`);
app.py is what the page's script calls; index.html, site.js and site.css are the page.
"""
