"""The page every report shares: the HTML shell, its stylesheet and its one script.

Self-contained by construction: the style and the script are inline, pictures are inline
SVG, and the Content-Security-Policy the page declares forbids every fetch
(``default-src 'none'``) and every script but the page's own, named by its hash — so
even text that slipped past escaping could run nothing. The layout reads at 1280 px
and prints: on paper the interactive parts (the details panel) give way to the tables,
which hold every figure and every event's text.
"""

from __future__ import annotations

__all__ = ["CSS", "PAGE", "SCRIPT"]

CSS = """
:root { --ink: #1a1a1a; --muted: #595959; --line: #d6d6d6; --panel: #f5f5f5;
  --accent: #0072b2; --bad: #d55e00; --good: #007a5a; }
* { box-sizing: border-box; }
html { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
  Arial, sans-serif; color: var(--ink); background: #fff; }
body { margin: 0; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 20px 32px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.15rem; margin: 28px 0 8px; border-bottom: 1px solid var(--line);
  padding-bottom: 4px; }
h3 { font-size: 1rem; margin: 16px 0 6px; }
p { margin: 4px 0 8px; }
a { color: var(--accent); }
.muted { color: var(--muted); }
.meta { color: var(--muted); margin: 0 0 12px; }
.meta b { color: var(--ink); font-weight: 600; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: .92em; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; padding: 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 8px 12px; min-width: 120px; margin: 0; }
.card dt { font-size: .8rem; color: var(--muted); }
.card dd { margin: 0; font-size: 1.25rem; font-weight: 600; }
.card dd small { font-size: .8rem; font-weight: 400; color: var(--muted); }
.bad { color: var(--bad); }
.good { color: var(--good); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; vertical-align: top; padding: 4px 6px;
  border-bottom: 1px solid var(--line); }
th { font-size: .85rem; color: var(--muted); font-weight: 600; background: #fafafa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 600; border-top: 2px solid var(--ink); }
.wrap { white-space: pre-wrap; overflow-wrap: anywhere; }
figure { margin: 8px 0 12px; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: 4px; }
svg { display: block; max-width: 100%; height: auto; font-family: inherit; }
svg text { font-size: 12px; fill: var(--ink); }
svg .small { font-size: 10.5px; }
svg .label { font-weight: 600; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 0;
  margin: 6px 0; font-size: .88rem; }
.legend li { display: flex; align-items: center; gap: 5px; }
.legend svg { display: inline-block; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #333;
  vertical-align: -1px; }
.notes { color: var(--muted); font-size: .9rem; }
.notes li { margin: 2px 0; }
footer { max-width: 1280px; margin: 0 auto; padding: 8px 20px 24px; color: var(--muted);
  font-size: .85rem; border-top: 1px solid var(--line); }
/* the episode */
.ticket { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 8px 12px; }
.ticket dl { display: flex; flex-wrap: wrap; gap: 2px 16px; margin: 4px 0; }
.ticket dt { color: var(--muted); }
.ticket dt::after { content: ":"; }
.ticket dd { margin: 0 8px 0 0; }
.columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 24px; }
.columns > section { min-width: 0; }
.columns td { overflow-wrap: break-word; }
table.fixed { table-layout: fixed; }
table.fixed td { overflow-wrap: anywhere; }
table.fixed td.mono { white-space: nowrap; overflow: hidden; }
.events th:nth-child(1) { width: 2.6em; } .events th:nth-child(2) { width: 4.6em; }
.events th:nth-child(3) { width: 2.8em; } .events th:nth-child(4) { width: 8em; }
.events th:nth-child(5) { width: 8.5em; }
.criteria { font-size: .93rem; }
.criteria th:nth-child(1) { width: 11.6em; } .criteria th:nth-child(2) { width: 4em; }
.criteria th:nth-child(3) { width: 7.4em; } .criteria th:nth-child(4) { width: 4em; }
.penalties th:nth-child(1) { width: 9em; } .penalties th:nth-child(2) { width: 4.6em; }
.timeline .lane-even { fill: #f7f7f7; }
.timeline .lane-odd { fill: #ffffff; }
.timeline .grid { stroke: #e3e3e3; stroke-width: 1; }
.timeline .turnline { stroke: #777; stroke-width: 1; stroke-dasharray: 2 3; }
.timeline .sla { stroke: var(--bad); stroke-width: 2; stroke-dasharray: 6 3; }
.timeline .breach { fill: var(--bad); fill-opacity: .08; }
.timeline .zero { stroke: #888; stroke-width: 1; }
.timeline .sla-label { fill: #b34700; }
.mark path { stroke-width: 1.6; }
.mark.invalid path { stroke-width: 2.6; }
.mark .ring { fill: none; stroke: var(--bad); stroke-width: 1.6; }
.mark:hover path, .mark:focus path, .mark.chosen path { stroke: #000; stroke-width: 2.6; }
.mark:focus { outline: none; }
.detail { background: #fffbe6; border: 1px solid #e0c96a; border-radius: 6px;
  padding: 6px 12px; margin: 8px 0; max-height: 40vh; overflow: auto; }
.detail .detail-head { font-weight: 600; margin: 0; }
.detail .detail-text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; }
tr.turn-row td { background: #eef4fa; font-weight: 600; }
tr.invalid td { background: #fdece3; }
tr.invalid td.kind::before { content: "✗ "; color: var(--bad); }
tr.penalised td.kind::after { content: " (penalised)"; color: var(--bad); font-weight: 400; }
tr.chosen td, tr:target td { outline: 2px solid #e0c96a; background: #fffbe6; }
.bar { display: inline-block; width: 44px; height: 8px; background: #e6e6e6;
  vertical-align: middle; margin-right: 6px; }
.bar > span { display: block; height: 100%; background: var(--accent); }
tr.na td { color: var(--muted); }
/* the sweep */
.heat .cell rect, .heat .total rect { stroke: #fff; stroke-width: 1.5; }
.heat .cell:hover rect, .heat .cell:focus rect { stroke: #000; stroke-width: 2.5; }
.heat .big { font-size: 14px; font-weight: 600; }
.crit td.v { text-align: center; font-variant-numeric: tabular-nums; }
.crit th.c { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap;
  vertical-align: bottom; text-align: left; height: 150px; padding: 4px 2px; }
.cells td { font-size: .9rem; }
.episodes { margin: 0; padding-left: 16px; }
.scroll { overflow-x: auto; }
@media (max-width: 1000px) { .columns { grid-template-columns: 1fr; } }
@media print {
  html { font-size: 10pt; }
  main, footer { max-width: none; padding: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .detail, .screen-only { display: none !important; }
  .columns { display: block; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
  figure, tr, .card { break-inside: avoid; }
  .scroll { overflow: visible; }
}
"""

#: The episode page's script: a click (or keyboard focus) on a timeline mark shows its
#: event in the details panel. It reads the event list's text (textContent in, never
#: markup), so nothing it shows can become markup.
SCRIPT = """
(function () {
  "use strict";
  var panel = document.getElementById("detail");
  if (!panel) { return; }
  var body = panel.querySelector(".detail-body");
  var chosen = [];
  function show(seq) {
    var row = document.getElementById("ev-" + seq);
    if (!row) { return; }
    chosen.forEach(function (el) { el.classList.remove("chosen"); });
    chosen = Array.prototype.slice.call(
      document.querySelectorAll('svg [data-seq="' + seq + '"]'));
    chosen.push(row);
    chosen.forEach(function (el) { el.classList.add("chosen"); });
    var cells = row.querySelectorAll("td");
    var head = document.createElement("p");
    head.className = "detail-head";
    head.textContent = "event " + seq + " \\u00b7 " + cells[1].textContent + " \\u00b7 " +
      cells[3].textContent + " \\u00b7 " + cells[4].textContent;
    var text = document.createElement("p");
    text.className = "detail-text";
    text.textContent = cells[5].textContent;
    var link = document.createElement("a");
    link.href = "#ev-" + seq;
    link.textContent = "show it in the event list";
    body.replaceChildren(head, text, link);
  }
  function chosenMark(event) {
    var target = event.target;
    return target && target.closest ? target.closest("svg [data-seq]") : null;
  }
  document.addEventListener("click", function (event) {
    var mark = chosenMark(event);
    if (mark) {
      event.preventDefault();
      show(mark.getAttribute("data-seq"));
    }
  });
  document.addEventListener("focusin", function (event) {
    var mark = chosenMark(event);
    if (mark) { show(mark.getAttribute("data-seq")); }
  });
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="generator" content="support-sim: run_sim.py report">
<title>{% block title %}{% endblock %}</title>
<style>{{ css | safe }}</style>
</head>
<body>
<main>
{% block body %}{% endblock %}
</main>
<footer>{% block footer %}{% endblock %} Made by <code>run_sim.py report</code>: one file,
no network; every figure is also in a table, and the page prints.</footer>
{% if script %}<script>{{ script | safe }}</script>
{% endif %}
</body>
</html>
"""
