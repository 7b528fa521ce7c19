"""The episode page's template (jinja2, autoescaped): the view of
:func:`actors.report.episode.episode_view`, laid out.

From the top: the episode's identity and its figures, the ticket, the timeline (a
picture of the simulated clock: lanes, marks, turns, the SLA, the step rewards) with
its legend and the details panel, then the event list (every event's whole text: what
the marks show on hover) beside the grade report (criteria, weights, values, why;
penalties and the events that caused them) and the turns with their rewards.
"""

from __future__ import annotations

__all__ = ["EPISODE"]

EPISODE = """{% extends "page.html" %}
{% set v = view %}
{% set tl = view.timeline %}
{% set lanes_height = tl.lanes_bottom - tl.lanes_top %}
{% set grid_bottom = tl.reward_top + 96 %}
{% macro reason(parts) %}
{%- for part in parts %}
{%- if part.seq is not none %}<a href="#ev-{{ part.seq }}">{{ part.text }}</a>
{%- else %}{{ part.text }}{% endif %}
{%- endfor %}
{%- endmacro %}
{% macro card(term, value, tone="") %}
<div class="card"><dt>{{ term }}</dt><dd class="{{ tone }}">{{ value }}{{ caller() }}</dd></div>
{% endmacro %}
{% block title %}{{ v.task_id }} · seed {{ v.seed }} · {{ v.agent }} — episode
report{% endblock %}
{% block body %}
<header>
<h1>{{ v.title }}</h1>
<p class="meta"><b>{{ v.task_id }}</b>{% if v.family %} (family {{ v.family }}){% endif %}
 · seed <b>{{ v.seed }}</b> · agent <b>{{ v.agent }}</b>
{% if v.privileged %} (privileged: handed the gold){% endif %}
 · persona <b>{{ v.persona }}</b> · faults <b>{{ v.faults | join(", ") or "none" }}</b>
 · trace <code>{{ v.source }}</code></p>
<dl class="cards">
{% call card("score (re-graded)", "%.3f" | format(v.score)) %}
{% if v.stored_score is not none and (v.stored_score - v.score) | abs > 1e-9 %}
 <small>stored {{ "%.3f" | format(v.stored_score) }}</small>{% endif %}
{% endcall %}
{% call card("weighted, before penalties", "%.3f" | format(v.weighted_score)) %}{% endcall %}
{% call card("termination", v.termination or "no result line (cut short)") %}{% endcall %}
{% call card("SLA (%d min)" | format(v.sla_minutes), "breached" if v.sla_breached else "met",
             "bad" if v.sla_breached else "good") %}{% endcall %}
{% call card("turns · simulated time", "%d · %s min" | format(v.turns | length,
             v.sim_minutes if v.sim_minutes is not none else "?")) %}{% endcall %}
{% call card("invalid operations", v.invalid_operations,
             "bad" if v.invalid_operations else "") %}{% endcall %}
{% call card("penalties", v.penalties | length, "bad" if v.penalties else "") %}{% endcall %}
</dl>
{% if v.error %}<p class="bad">error: <span class="wrap">{{ v.error }}</span></p>{% endif %}
{% if v.premature %}
<p class="bad">Ended before the required fields came back: status, resolution code and SLA
earn nothing.</p>
{% endif %}
</header>

<section class="ticket" aria-label="the ticket">
<strong>Ticket: {{ v.ticket_subject }}</strong>
<dl>{% for name, value in v.ticket %}<dt>{{ name }}</dt><dd>{{ value }}</dd>{% endfor %}</dl>
<p class="wrap">{{ v.ticket_body }}</p>
<p class="muted">Objective: {{ v.objective }}</p>
</section>

<h2 id="timeline">Timeline (simulated clock)</h2>
<figure>
<svg class="timeline" viewBox="0 0 {{ tl.width }} {{ tl.height | n }}" width="{{ tl.width }}"
     height="{{ tl.height | n }}" role="img" aria-labelledby="tl-title tl-desc">
<title id="tl-title">The episode on the simulated clock: a lane per actor, a mark per event</title>
<desc id="tl-desc">{{ v.events | length }} events in {{ tl.lanes | length }} lanes;
{{ tl.turns | length }} turns; the SLA deadline at {{ tl.sla_minutes }} min,
{{ "breached" if tl.breached else "met" }}. The event list below the picture holds the same
events as text.</desc>
{% for lane in tl.lanes %}
<rect class="{{ loop.cycle('lane-odd', 'lane-even') }}" x="0" y="{{ lane.top | n }}"
      width="{{ tl.width }}" height="{{ lane.height | n }}"/>
<text class="label" x="8" y="{{ (lane.top + 18) | n }}"
      style="fill: {{ lane.colour }}">{{ lane.label }}</text>
{% endfor %}
{% if tl.breached %}
<rect class="breach" x="{{ tl.sla_x | n }}" y="{{ tl.lanes_top | n }}"
      width="{{ (tl.right - tl.sla_x) | n }}" height="{{ lanes_height | n }}"/>
{% endif %}
{% for tick in tl.ticks %}
<line class="grid" x1="{{ tick.x | n }}" x2="{{ tick.x | n }}"
      y1="{{ (tl.lanes_top - 4) | n }}" y2="{{ grid_bottom | n }}"/>
<text class="small" x="{{ tick.x | n }}" y="28" text-anchor="middle">{{ tick.label }}</text>
{% endfor %}
{% for turn in tl.turns %}
<line class="turnline" x1="{{ turn.x | n }}" x2="{{ turn.x | n }}" y1="44"
      y2="{{ grid_bottom | n }}"/>
{% if turn.labelled %}
<text class="small label" x="{{ (turn.x + 7) | n }}" y="44">T{{ turn.turn }}</text>
{% endif %}
{% endfor %}
<line class="sla" x1="{{ tl.sla_x | n }}" x2="{{ tl.sla_x | n }}" y1="2"
      y2="{{ tl.lanes_bottom | n }}"/>
<text class="small label sla-label" x="{{ (tl.sla_x - 4) | n }}" y="12"
      text-anchor="end">SLA deadline {{ tl.sla_minutes }} min</text>
{% if tl.breached %}
<text class="small label sla-label" x="{{ (tl.sla_x + 4) | n }}" y="12">SLA breached after
this line</text>
{% endif %}
<text class="label" x="8" y="{{ (tl.reward_zero - 4) | n }}">step reward</text>
<text class="small" x="8" y="{{ (tl.reward_zero + 12) | n }}">per turn; sum
{{ v.reward_total | signed }}</text>
<line class="zero" x1="{{ tl.left }}" x2="{{ tl.right }}" y1="{{ tl.reward_zero | n }}"
      y2="{{ tl.reward_zero | n }}"/>
{% for bar in tl.turns if bar.reward is not none %}
<rect x="{{ bar.bar_x | n }}" y="{{ bar.bar_y | n }}" width="{{ bar.bar_width | n }}"
      height="{{ bar.bar_height | n }}" fill="{{ bar.colour }}"><title>turn {{ bar.turn }}: step
reward {{ bar.reward | signed }}</title></rect>
{% if bar.labelled %}
<text class="small" x="{{ bar.x | n }}" y="{{ bar.value_y | n }}"
      text-anchor="middle">{{ bar.reward | signed(2) }}</text>
{% endif %}
{% endfor %}
{% if tl.lone_reward %}
{% set bar = tl.lone_reward %}
<rect x="{{ bar.bar_x | n }}" y="{{ bar.bar_y | n }}" width="{{ bar.bar_width | n }}"
      height="{{ bar.bar_height | n }}" fill="{{ bar.colour }}"><title>no turn: the whole
score, {{ bar.reward | signed }}</title></rect>
<text class="small" x="{{ (bar.x + 12) | n }}"
      y="{{ bar.value_y | n }}">{{ bar.reward | signed(2) }} (no turn)</text>
{% endif %}
{% for m in tl.marks %}
<a class="mark{{ ' invalid' if m.invalid }}{{ ' penalised' if m.penalised }}"
   href="#ev-{{ m.seq }}" data-seq="{{ m.seq }}" data-kind="{{ m.kind }}"
   aria-label="{{ m.title }}"><title>{{ m.title }}</title>
{% if m.penalised %}<circle class="ring" cx="{{ m.x | n }}" cy="{{ m.y | n }}" r="9"/>{% endif %}
<path d="{{ m.path }}" fill="{{ m.fill }}" stroke="{{ m.stroke }}"/></a>
{% endfor %}
</svg>
<ul class="legend" aria-label="legend">
{% for entry in legend %}
<li><svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">
{% if entry.ring %}
<circle cx="8" cy="8" r="6.5" fill="none" stroke="#d55e00" stroke-width="1.6"/>
{% else %}
<path d="{{ entry.path }}" fill="{{ entry.fill }}" stroke="{{ entry.stroke }}"
      stroke-width="{{ entry.width }}"{% if entry.dash %} stroke-dasharray="{{ entry.dash }}"
      {%- endif %}/>
{% endif %}
</svg>{{ entry.label }}</li>
{% endfor %}
</ul>
<figcaption>Hover a mark for its event, click (or tab to) it for the whole text; every event
is also in the list below. Marks at one instant stack inside their lane.</figcaption>
</figure>
<div id="detail" class="detail screen-only" aria-live="polite"><div class="detail-body">
<p class="muted">Click a mark on the timeline to see its event here.</p></div></div>

<div class="columns">
<section aria-labelledby="events-h">
<h2 id="events-h">Events</h2>
<table class="events fixed">
<thead><tr><th class="num">#</th><th>time</th><th>turn</th><th>who</th><th>kind</th>
<th>what</th></tr></thead>
<tbody>
{% for e in v.events %}
<tr id="ev-{{ e.seq }}" class="{{ 'turn-row' if e.kind == 'turn' }}{{ ' invalid' if e.invalid }}
{{- ' penalised' if e.penalised }}"><td class="num">{{ e.seq }}</td><td class="mono">
{{- e.time }}</td><td class="num">{{ e.turn if e.turn is not none else "" }}</td><td>
{{- e.actor }}</td><td class="kind">{{ e.kind }}</td><td class="wrap">{{ e.text }}</td></tr>
{% endfor %}
</tbody>
</table>
</section>

<section aria-labelledby="grade-h">
<h2 id="grade-h">Grade report</h2>
<p>Score <b>{{ "%.3f" | format(v.score) }}</b> = weighted {{ "%.3f" | format(v.weighted_score) }}
{%- for p in v.penalties %} − {{ "%.2f" | format(p.amount) }}{% endfor %}
{%- if v.penalties %} (floored at 0){% endif %}.</p>
<table class="criteria fixed">
<thead><tr><th>criterion</th><th class="num">weight</th><th class="num">value</th>
<th class="num">adds</th><th>why</th></tr></thead>
<tbody>
{% for c in v.criteria %}
<tr class="{{ 'na' if not c.applies }}"><td>{{ c.name }}</td>
<td class="num" title="weight {{ c.weight }}, renormalised over the criteria that apply">
{{- "%.3f" | format(c.effective_weight) }}</td>
<td class="num">{% if c.value is none %}n/a{% else %}<span class="bar" aria-hidden="true"><span
style="width: {{ (c.value * 100) | round(1) }}%"></span></span>
{{- "%.2f" | format(c.value) }}{% endif %}</td>
<td class="num">{{ "%.3f" | format(c.contribution) if c.contribution is not none }}</td>
<td>{{ reason(c.reason) }}</td></tr>
{% endfor %}
</tbody>
</table>
{% if v.dropped %}
<p class="muted">Not applicable in this world (weights renormalised):
{{ v.dropped | join(", ") }}.</p>
{% endif %}
<h3>Penalties</h3>
{% if v.penalties %}
<table class="penalties fixed">
<thead><tr><th>penalty</th><th class="num">amount</th><th>why (linked: the events that caused
it)</th></tr></thead>
<tbody>
{% for p in v.penalties %}
<tr><td>{{ p.name }}</td><td class="num bad">−{{ "%.2f" | format(p.amount) }}</td>
<td>{{ reason(p.reason) }}</td></tr>
{% endfor %}
</tbody>
</table>
{% else %}
<p class="muted">None.</p>
{% endif %}
<h3>Turns and step rewards</h3>
<table class="turns">
<thead><tr><th class="num">turn</th><th>time</th><th>SLA</th><th class="num">ops</th>
<th class="num">invalid</th><th class="num">reward</th><th class="num">running</th></tr></thead>
<tbody>
{% for t in v.turns %}
<tr><td class="num"><a href="#ev-{{ t.seq }}">{{ t.turn }}</a></td><td class="mono">
{{- t.time }}</td><td>{{ t.sla }}</td><td class="num">{{ t.operations }}</td>
<td class="num{{ ' bad' if t.invalid }}">{{ t.invalid }}</td><td class="num">
{{- t.reward | signed }}</td><td class="num">{{ t.cumulative | signed }}</td></tr>
{% endfor %}
{% if not v.turns %}
<tr><td colspan="5">no turn (the episode ended before the first)</td>
<td class="num">{{ v.reward_total | signed }}</td><td></td></tr>
{% endif %}
<tr class="total"><td colspan="5">sum of step rewards (= the score)</td>
<td class="num">{{ v.reward_total | signed }}</td><td></td></tr>
</tbody>
</table>
</section>
</div>
{% endblock %}
{% block footer %}Episode report of <code>{{ v.source }}</code> (support-sim
{{ v.code_version }}; the grade re-done from the trace).{% endblock %}
"""
