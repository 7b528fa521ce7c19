"""The sweep page's template (jinja2, autoescaped): the view of
:func:`actors.report.sweep.sweep_view`, laid out.

From the top: the plan and the overall figures, the mean score by task × persona (a
heatmap; each cell links to its row in the cells table), the SLA breach rate the same
way, a row per task (pass rate, pass^k, breaches, terminations, the distribution) and
per persona, the per-criterion means by task, the score histogram, the termination
reasons, the cells with their lowest-scoring episodes (linked to their traces), and how
the figures were made.
"""

from __future__ import annotations

__all__ = ["SWEEP"]

SWEEP = """{% extends "page.html" %}
{% set v = view %}
{% set o = view.overall %}
{% macro heat(map, id, caption, kind) %}
<figure>
<div class="scroll">
<svg class="heat heat-{{ kind }}" id="{{ id }}"
     viewBox="0 0 {{ map.width | n }} {{ map.height | n }}" width="{{ map.width | n }}"
     height="{{ map.height | n }}" role="img" aria-labelledby="{{ id }}-title">
<title id="{{ id }}-title">{{ caption }}</title>
<defs><linearGradient id="{{ id }}-scale" x1="0" y1="0" x2="0" y2="1">
{% for offset, colour in map.legend.stops %}
<stop offset="{{ offset | n }}" stop-color="{{ colour }}"/>
{% endfor %}
</linearGradient></defs>
{% for label, x in map.columns %}
<text class="label" x="{{ x | n }}" y="20" text-anchor="middle">{{ label }}</text>
{% endfor %}
{% for label, y in map.rows %}
<text x="{{ (map.left - 8) | n }}" y="{{ (y + 4) | n }}" text-anchor="end">{{ label }}</text>
{% endfor %}
{% for c in map.cells %}
{% set tag = "a" if c.figure.href else "g" %}
<{{ tag }} class="{{ 'total' if c.margin else 'cell' }}"
{%- if c.figure.href %} href="{{ c.figure.href }}"{% endif %} data-task="{{ c.row }}"
   data-persona="{{ c.column }}"><title>{{ c.figure.title }}</title>
<rect x="{{ c.x | n }}" y="{{ c.y | n }}" width="{{ c.width | n }}" height="{{ c.height | n }}"
      fill="{{ c.fill }}"/>
<text class="big" x="{{ (c.x + c.width / 2) | n }}" y="{{ (c.y + 17) | n }}" text-anchor="middle"
      style="fill: {{ c.ink }}">{{ c.figure.label }}</text>
<text class="small" x="{{ (c.x + c.width / 2) | n }}" y="{{ (c.y + 31) | n }}"
      text-anchor="middle" style="fill: {{ c.ink }}">{{ c.figure.sub }}</text>
</{{ tag }}>
{% endfor %}
{% set lg = map.legend %}
<text class="small label" x="{{ lg.x | n }}" y="{{ (lg.y - 8) | n }}">{{ lg.title }}</text>
<rect x="{{ lg.x | n }}" y="{{ lg.y | n }}" width="{{ lg.width | n }}" height="{{ lg.height | n }}"
      fill="url(#{{ id }}-scale)" stroke="#333"/>
{% for y, label in lg.ticks %}
<text class="small" x="{{ (lg.x + lg.width + 4) | n }}" y="{{ (y + 4) | n }}">{{ label }}</text>
{% endfor %}
</svg>
</div>
<figcaption>{{ caller() }}</figcaption>
</figure>
{% endmacro %}
{% macro spark(h) %}
<svg width="{{ h.width | n }}" height="{{ h.height | n }}"
     viewBox="0 0 {{ h.width | n }} {{ h.height | n }}" role="img" aria-label="score distribution">
<rect x="0" y="0" width="{{ h.width | n }}" height="{{ h.height | n }}" fill="#f7f7f7"/>
{% for b in h.bars if b.count %}
<rect x="{{ b.x | n }}" y="{{ b.y | n }}" width="{{ b.width | n }}" height="{{ b.height | n }}"
      fill="{{ b.fill }}"><title>{{ b.title }}</title></rect>
{% endfor %}
</svg>
{% endmacro %}
{% macro stack(segments, width, height) %}
<svg width="{{ width | n }}" height="{{ height }}" viewBox="0 0 {{ width | n }} {{ height }}"
     role="img" aria-label="termination reasons">
{% for s in segments %}
<rect x="{{ s.x | n }}" y="0" width="{{ s.width | n }}" height="{{ height }}" fill="{{ s.fill }}"
      stroke="#fff"><title>{{ s.title }}</title></rect>
{% endfor %}
</svg>
{% endmacro %}
{% macro terms(pairs) %}
{%- for reason, count in pairs %}{{ reason }} {{ count }}{{ ", " if not loop.last }}{% endfor %}
{%- endmacro %}
{% macro figure_cells(f) %}
<td class="num">{{ f.episodes }}</td><td class="num">{{ f.mean | fixed(3) }}</td>
<td class="num">{{ f.ci95 | fixed(3) }}</td><td class="num">{{ f.pass_rate | pct }}</td>
{% for k, value in f.pass_hat_k %}<td class="num">{{ value | fixed(2) }}</td>{% endfor %}
<td class="num">{{ f.breach_rate | pct }}</td>
{% endmacro %}
{% macro figure_heads() %}
<th class="num">episodes</th><th class="num">mean</th><th class="num">± 95%</th>
<th class="num">pass</th>{% for k, _ in o.pass_hat_k %}<th class="num">pass^{{ k }}</th>{% endfor %}
<th class="num">SLA breach</th>
{% endmacro %}
{% block title %}sweep {{ v.folder }} · {{ v.agents | join(", ") }} — sweep report{% endblock %}
{% block body %}
<header>
<h1>Sweep: {{ v.agents | join(", ") or "no episodes" }}</h1>
<p class="meta">folder <code>{{ v.folder }}</code>
{%- for key, value in v.plan %} · {{ key }} <b>{{ value }}</b>{% endfor %}</p>
{% if v.status %}
<p class="meta">{% for key, value in v.status %}{{ key }}: <b>{{ value }}</b>
{{- " · " if not loop.last }}{% endfor %}</p>
{% endif %}
<dl class="cards">
<div class="card"><dt>episodes</dt><dd>{{ o.episodes | count }}</dd></div>
<div class="card"><dt>mean score</dt><dd>{{ o.mean | fixed(3) }}
{%- if o.ci95 is not none %} <small>± {{ o.ci95 | fixed(3) }} (95%)</small>{% endif %}</dd></div>
<div class="card"><dt>pass rate (score ≥ {{ v.threshold }})</dt><dd>{{ o.pass_rate | pct }}</dd>
</div>
{% for k, value in o.pass_hat_k %}
<div class="card"><dt>pass^{{ k }}</dt><dd>{{ value | fixed(2) }}</dd></div>
{% endfor %}
<div class="card"><dt>SLA breach rate</dt><dd class="{{ 'bad' if o.breaches else 'good' }}">
{{- o.breach_rate | pct }} <small>{{ o.breaches | count }}/{{ o.episodes | count }}</small></dd>
</div>
</dl>
</header>

<h2 id="scores">Mean score by task × persona</h2>
{% call heat(v.score_map, "score-map",
             "Mean score by task and persona; each cell also gives its number of episodes",
             "score") %}
Each cell: the mean score of its episodes and how many there are (n); click a cell for its row
in the cells table. The last column and row are the totals over personas and over tasks.
{% endcall %}

<h2 id="breaches">SLA breach rate by task × persona</h2>
{% call heat(v.breach_map, "breach-map",
             "Share of episodes whose SLA was breached, by task and persona", "breach") %}
Each cell: the share of its episodes whose SLA deadline passed unmet, and the count
(breached/episodes).
{% endcall %}

<h2 id="tasks">By task</h2>
<div class="scroll">
<table class="tasks">
<thead><tr><th>task</th>{{ figure_heads() }}<th>scores 0 → 1</th><th>terminations</th></tr>
</thead>
<tbody>
{% for t in v.tasks %}
<tr id="task-{{ loop.index0 }}"><td>{{ t.name }}</td>{{ figure_cells(t.figures) }}
<td>{{ spark(t.spark) }}</td><td>{{ stack(t.bar, 160, 12) }}
<span class="small muted">{{ terms(t.figures.terminations) }}</span></td></tr>
{% endfor %}
<tr class="total"><td>all tasks</td>{{ figure_cells(o) }}<td></td>
<td>{{ terms(o.terminations) }}</td></tr>
</tbody>
</table>
</div>

<h3 id="personas">By persona</h3>
<table class="personas">
<thead><tr><th>persona</th>{{ figure_heads() }}<th>terminations</th></tr></thead>
<tbody>
{% for name, f in v.personas %}
<tr><td>{{ name }}</td>{{ figure_cells(f) }}<td>{{ terms(f.terminations) }}</td></tr>
{% endfor %}
</tbody>
</table>

<h2 id="criteria">Per-criterion means</h2>
<div class="scroll">
<table class="crit">
<thead><tr><th>task</th>
{% for name in v.criteria %}<th class="c">{{ name }}</th>{% endfor %}
</tr></thead>
<tbody>
{% for name, cells in v.criteria_rows %}
<tr class="{{ 'total' if loop.last }}"><td>{{ name }}</td>
{% for c in cells %}
<td class="v" style="background: {{ c.fill }}; color: {{ c.ink }}">{{ c.value | fixed(2) }}</td>
{% endfor %}
</tr>
{% endfor %}
</tbody>
</table>
</div>
<p class="muted">A criterion's mean is over the episodes where it applies (– where it applied to
none); colours as the score heatmap's.</p>

<h2 id="distribution">Score distribution</h2>
{% set h = v.histogram %}
<figure>
<svg class="histogram" viewBox="0 0 {{ h.width | n }} {{ h.height | n }}"
     width="{{ h.width | n }}" height="{{ h.height | n }}" role="img"
     aria-labelledby="hist-title">
<title id="hist-title">How many episodes scored in each band of 0.05</title>
{% for y, label in h.y_ticks %}
<line x1="{{ h.left | n }}" x2="{{ (h.left + h.plot_width) | n }}" y1="{{ y | n }}"
      y2="{{ y | n }}" stroke="#e3e3e3"/>
<text class="small" x="{{ (h.left - 6) | n }}" y="{{ (y + 4) | n }}"
      text-anchor="end">{{ label }}</text>
{% endfor %}
{% for b in h.bars %}
<rect x="{{ b.x | n }}" y="{{ b.y | n }}" width="{{ b.width | n }}" height="{{ b.height | n }}"
      fill="{{ b.fill }}" stroke="#333" stroke-width="{{ 0.8 if b.count else 0 }}"><title>
{{- b.title }}</title></rect>
{% endfor %}
{% for x, label in h.x_ticks %}
<text class="small" x="{{ x | n }}" y="{{ (h.bottom + 15) | n }}"
      text-anchor="middle">{{ label }}</text>
{% endfor %}
{% if h.threshold_x is not none %}
<line x1="{{ h.threshold_x | n }}" x2="{{ h.threshold_x | n }}" y1="4" y2="{{ h.bottom | n }}"
      stroke="#d55e00" stroke-width="2" stroke-dasharray="5 3"/>
<text class="small label sla-label" x="{{ (h.threshold_x - 4) | n }}" y="12"
      text-anchor="end">pass ≥ {{ h.threshold }}</text>
{% endif %}
</svg>
<figcaption>Episodes by score, in bands of 0.05 (the last band includes 1.0).</figcaption>
</figure>
<table class="bins">
<thead><tr><th>score from</th>
{% for b in h.bars %}<th class="num">{{ "%.2f" | format(loop.index0 / loop.length) }}</th>
{% endfor %}
</tr></thead>
<tbody><tr><td>episodes</td>{% for b in h.bars %}<td class="num">{{ b.count }}</td>{% endfor %}
</tr></tbody>
</table>

<h2 id="terminations">Termination reasons</h2>
{{ stack(v.termination_bar, 620, 18) }}
<ul class="legend">
{% for reason, colour in v.termination_legend %}
<li><span class="swatch" style="background: {{ colour }}"></span>{{ reason }}</li>
{% endfor %}
</ul>
<table class="terms">
<thead><tr><th>reason</th><th class="num">episodes</th><th class="num">share</th></tr></thead>
<tbody>
{% for reason, count in o.terminations %}
<tr><td>{{ reason }}</td><td class="num">{{ count }}</td>
<td class="num">{{ (count / o.episodes) | pct }}</td></tr>
{% endfor %}
</tbody>
</table>

<h2 id="cells">Cells: task × persona</h2>
{% if v.trace_dir %}
<p>Traces: <a href="{{ v.trace_dir }}">{{ v.trace_dir }}</a>; each cell links its lowest-scoring
episodes' traces, and the folder that holds the others.</p>
{% else %}
<p>Each cell names its lowest-scoring episodes by seed; <code>run_sim.py report</code> with
<code>--trace-dir</code> (the sweep's) links their traces.</p>
{% endif %}
<div class="scroll">
<table class="cells">
<thead><tr><th>task</th><th>persona</th><th class="num">episodes</th><th class="num">mean</th>
<th class="num">pass</th><th class="num">SLA breach</th><th>terminations</th>
<th>lowest scores</th></tr></thead>
<tbody>
{% for c in v.cells %}
{% set f = c.figures %}
<tr id="{{ c.anchor }}"><td>{{ c.task }}</td><td>{{ c.persona }}</td>
<td class="num">{{ f.episodes }}</td><td class="num">{{ f.mean | fixed(3) }}</td>
<td class="num">{{ f.pass_rate | pct }}</td><td class="num">{{ f.breaches }}/{{ f.episodes }}</td>
<td>{{ terms(f.terminations) }}</td>
<td>{% if c.worst %}<ul class="episodes">
{% for e in c.worst %}
<li>{% if e.href %}<a href="{{ e.href }}">seed {{ e.seed }}</a>{% else %}seed {{ e.seed }}
{%- endif %}: {{ "%.3f" | format(e.score) }}, {{ e.termination }}
{{- ", SLA breached" if e.sla_breached }}
{%- if e.faults != "none" %}, faults {{ e.faults }}{% endif %}</li>
{% endfor %}
</ul>
{% if c.folder_href and c.pattern %}
<span class="small muted">all {{ f.episodes }}: <a href="{{ c.folder_href }}">
{{- c.folder_href }}</a><code>{{ c.pattern }}</code></span>
{% endif %}
{% else %}–{% endif %}</td></tr>
{% endfor %}
</tbody>
</table>
</div>

<h2 id="reading">How the figures were made</h2>
<ul class="notes">
{% for line in v.reading %}
<li>{{ line }}</li>
{% endfor %}
</ul>
{% endblock %}
{% block footer %}Sweep report of <code>{{ v.folder }}</code>.{% endblock %}
"""
